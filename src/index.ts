// `pushwire`: the public API. The browser client is `pushwire/client`; the
// sans-I/O protocol core is `pushwire/protocol`. Every name is listed
// (no `export *`), and test/unit/exports.test.ts fails when the list
// changes, so nothing becomes — or stops being — API by accident.

// The WebSocket binding: client, server, and the server's handler object.
export { WebSocket, PreparedMessage, CONNECTING, OPEN, CLOSING, CLOSED } from './ws/websocket.js';
export type {
  ClientOptions,
  SocketOptions,
  SendOptions,
  SendCallback,
  Sendable,
  ReadyState,
  WebSocketEvents,
  WebSocketHandler,
  PerMessageDeflateOptions,
} from './ws/websocket.js';
export { setDeflateConcurrency } from './ws/deflate.js';
export { WebSocketServer } from './ws/server.js';
export type { WebSocketServerOptions, WebSocketServerEvents, VerifyInfo, VerifyResult } from './ws/server.js';

// Errors and close codes of the protocol core, for `instanceof` and `code` checks.
export { ProtocolError, HandshakeError, ClientHandshakeError, InvalidStateError } from './protocol/errors.js';
export type { ProtocolErrorCode, HandshakeErrorCode, ClientHandshakeErrorCode } from './protocol/errors.js';
export { CloseCode } from './protocol/close.js';

// The protocol core as one namespace, kept for code written before the
// `pushwire/protocol` entry existed. (The doc comment sits on the export
// specifier: that is where editors look for @deprecated.)
import * as protocolCore from './protocol/index.js';
export {
  /** @deprecated Import the same names from the `pushwire/protocol` entry instead. */
  protocolCore as protocol,
};

// The dispatch core under the push server.
export { Hub } from './hub/hub.js';
export type { HubMessage, HubOptions, PublishInput, Replay, Session, SessionSink, Target } from './hub/hub.js';

// The push server, its tokens and its wire contract.
export { createServer, PushServer } from './push/push-server.js';
export type { PushServerOptions, PushServerEvents, PublishResult } from './push/push-server.js';
export type { PushHandler, ChannelCheck } from './push/core.js';
export type { Identity } from './push/identity.js';
export { signToken, verifyToken, TokenError } from './auth/jwt.js';
export type { TokenClaims, TokenErrorCode } from './auth/jwt.js';
export type { Ack, Command, ErrorReply, GapNotice, MessageEnvelope, PollReply, ReadyNotice, Ref, ServerFrame } from './push/contract.js';
export { FINAL_CLOSE_CODES, isFinalCloseCode, refusalCloseCode } from './push/contract.js';
export { CommandError } from './push/wire.js';
export type { CommandErrorCode, PublishRequest } from './push/wire.js';
export type { ScheduledPublish } from './push/scheduler.js';
export { HttpError, ConfigError } from './push/http-io.js';
export type { HttpErrorCode } from './push/http-io.js';
