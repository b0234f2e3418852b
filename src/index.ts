// pushwire: public API.
export { WebSocket, PreparedMessage, CONNECTING, OPEN, CLOSING, CLOSED } from './websocket.js';
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
export { createServer, PushServer } from './push/push-server.js';
export type { PushServerOptions, PushServerEvents, PublishResult } from './push/push-server.js';
export type { PushHandler, ChannelCheck, Ack } from './push/core.js';
export type { Identity } from './push/identity.js';
export type { MessageEnvelope, Command, PublishRequest } from './push/wire.js';
export type { ScheduledPublish } from './push/scheduler.js';
export { HttpError, ConfigError } from './push/http-io.js';
