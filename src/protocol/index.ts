// The sans-I/O protocol core: no sockets, no timers, no clock.
export * from './errors.js';
export * from './frame.js';
export * from './frame-parser.js';
export * from './utf8.js';
export * from './close.js';
export * from './connection.js';
export * from './http-head.js';
export * from './handshake.js';
export * from './extensions.js';
export * from './sse.js';
