// pushwire: public API.
export { WebSocket, PreparedMessage, CONNECTING, OPEN, CLOSING, CLOSED } from './ws/websocket.js';
export type {
  ClientOptions,
  SocketOptions,
  SendOptions,
  SendCallback,
  Sendable,
  ReadyState,
  WebSocketEvents,
  PerMessageDeflateOptions,
} from './ws/websocket.js';
export { setDeflateConcurrency } from './ws/deflate.js';
export { WebSocketServer } from './ws/server.js';
export type { WebSocketServerOptions, WebSocketServerEvents, VerifyInfo, VerifyResult } from './ws/server.js';
export type { WebSocketHandler } from './ws/websocket.js';
export * as protocol from './protocol/index.js';
export { ProtocolError, HandshakeError, ClientHandshakeError, InvalidStateError } from './protocol/errors.js';
export { CloseCode } from './protocol/close.js';
export { Hub } from './hub/hub.js';
export type { HubMessage, HubOptions, PublishInput, Replay, Session, SessionSink, Target } from './hub/hub.js';
export { signToken, verifyToken, TokenError } from './auth/jwt.js';
export type { TokenClaims } from './auth/jwt.js';
export { createServer, PushServer } from './push/push-server.js';
export type { PushServerOptions, PushServerEvents, PublishResult } from './push/push-server.js';
export type { PushHandler, ChannelCheck } from './push/core.js';
export type { Identity } from './push/identity.js';
export type { Ack, Command, ErrorReply, GapNotice, MessageEnvelope, PollReply, ReadyNotice, Ref, ServerFrame } from './push/contract.js';
export { FINAL_CLOSE_CODES, isFinalCloseCode, refusalCloseCode } from './push/contract.js';
export type { PublishRequest } from './push/wire.js';
export type { ScheduledPublish } from './push/scheduler.js';
export { HttpError, ConfigError } from './push/http-io.js';
