// `pushwire/protocol`: the sans-I/O protocol core — bytes in, events out;
// commands in, bytes out; no sockets, no timers, no clock. For embedding
// WebSocket in your own transport, testing another implementation, or
// reading RFC 6455 beside the code (spec-notes.md maps sections to files).
//
// Every name is listed, by spec area, rather than `export *`: a helper made
// public inside a module does not become package API by accident, and
// test/unit/exports.test.ts fails when this list changes.

// Errors, each carrying the close code or HTTP status the peer is told.
export { ProtocolError, HandshakeError, ClientHandshakeError, InvalidStateError } from './errors.js';
export type { ProtocolErrorCode, HandshakeErrorCode, ClientHandshakeErrorCode } from './errors.js';

// RFC 6455 §5.2 framing and §5.3 masking.
export {
  Opcode,
  FIN,
  RSV1,
  RSV2,
  RSV3,
  MAX_CONTROL_PAYLOAD,
  isControlOpcode,
  isKnownOpcode,
  headerLength,
  writeFrameHeader,
  encodeFrame,
  maskKey,
  applyMask,
} from './frame.js';
export type { FrameSpec } from './frame.js';
export { FrameParser } from './frame-parser.js';
export type { FrameParserOptions, FrameSink } from './frame-parser.js';

// §8.1 UTF-8, validated incrementally.
export { Utf8Validator, isValidUtf8 } from './utf8.js';

// §5.5.1 close frames and §7.4 close codes.
export { CloseCode, MAX_CLOSE_REASON_BYTES, isValidCloseCode, decodeClosePayload, encodeClosePayload } from './close.js';
export type { ClosePayload } from './close.js';

// The connection after the handshake: frames → messages, and back.
export { Connection, DEFAULT_MAX_PAYLOAD, DEFAULT_MAX_FRAGMENTS } from './connection.js';
export type { ConnectionHandler, ConnectionOptions, ConnectionState, Role } from './connection.js';

// HTTP/1.1 heads (RFC 9112), as the opening handshake needs them.
export {
  HeadReader,
  parseRequestHead,
  parseResponseHead,
  serializeHead,
  splitList,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_MAX_HEADER_COUNT,
  DEFAULT_MAX_URL_LENGTH,
} from './http-head.js';
export type { HeadLimits, HeaderMap, RequestHead, ResponseHead } from './http-head.js';

// §4 the opening handshake, server side (§4.2) and client side (§4.1).
export {
  WEBSOCKET_GUID,
  WEBSOCKET_VERSION,
  acceptKey,
  headerValue,
  validateUpgradeRequest,
  parseProtocolList,
  acceptResponse,
  errorResponse,
  keyFromNonce,
  clientRequest,
  verifyServerResponse,
} from './handshake.js';
export type { UpgradeRequest, ClientOffer, ClientRequest } from './handshake.js';

// RFC 7692 permessage-deflate negotiation (the compression itself needs zlib: src/ws/deflate.ts).
export {
  PERMESSAGE_DEFLATE,
  MIN_ZLIB_WINDOW_BITS,
  parseExtensions,
  negotiateDeflate,
  deflateOffer,
  acceptDeflateResponse,
} from './extensions.js';
export type { ExtensionItem, DeflateParams, DeflateOptions } from './extensions.js';

// WHATWG HTML §9.2 Server-Sent Events: encoding an event stream.
export { encodeSseEvent, encodeSseRetry, encodeSseComment } from './sse.js';
export type { SseEvent } from './sse.js';
