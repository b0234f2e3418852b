// pushwire: public API.
export { WebSocket, CONNECTING, OPEN, CLOSING, CLOSED } from './websocket.js';
export type {
  ClientOptions,
  SocketOptions,
  SendOptions,
  SendCallback,
  Sendable,
  ReadyState,
  WebSocketEvents,
  PerMessageDeflateOptions,
} from './websocket.js';
export { setDeflateConcurrency } from './deflate.js';
export { WebSocketServer } from './server.js';
export type { WebSocketServerOptions, WebSocketServerEvents, VerifyInfo, VerifyResult } from './server.js';
export type { WebSocketHandler } from './handler.js';
export * as protocol from './protocol/index.js';
export { ProtocolError, HandshakeError, ClientHandshakeError, InvalidStateError } from './protocol/errors.js';
export { CloseCode } from './protocol/close.js';
export { Hub } from './hub/hub.js';
export type { HubMessage, HubOptions, PublishInput, Replay, Session, SessionSink, Target } from './hub/hub.js';
export { signToken, verifyToken, TokenError } from './auth/jwt.js';
export type { TokenClaims } from './auth/jwt.js';
