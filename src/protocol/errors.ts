/**
 * Typed errors of the protocol core. Each carries what the peer is told — a
 * WebSocket close code (RFC 6455 §7.4.1) or an HTTP status (RFC 9110 §15) —
 * and a stable `code` string to branch on (messages may change; codes do not).
 * The README's "Errors" table lists every code.
 */

/** Which rule of RFC 6455 (or RFC 7692) a peer broke. */
export type ProtocolErrorCode =
  // 1002 protocol error
  | 'PW_ERR_UNEXPECTED_RSV' // §5.2 reserved bit without an extension; RFC 7692 §6.1 RSV1 off a message's first frame
  | 'PW_ERR_INVALID_OPCODE' // §5.2 reserved opcode
  | 'PW_ERR_FRAGMENTED_CONTROL_FRAME' // §5.5 control frame with FIN clear
  | 'PW_ERR_CONTROL_FRAME_TOO_BIG' // §5.5 control frame payload over 125 bytes
  | 'PW_ERR_UNMASKED_FRAME' // §5.1 a client frame without a mask
  | 'PW_ERR_MASKED_FRAME' // §5.1 a server frame with a mask
  | 'PW_ERR_INVALID_LENGTH' // §5.2 64-bit length with its top bit set
  | 'PW_ERR_UNEXPECTED_CONTINUATION' // §5.4 continuation frame with no message to continue
  | 'PW_ERR_EXPECTED_CONTINUATION' // §5.4 new data frame inside a fragmented message
  | 'PW_ERR_INVALID_CLOSE_PAYLOAD' // §5.5.1 close payload of 1 byte
  | 'PW_ERR_INVALID_CLOSE_CODE' // §7.4 close code that may not be sent
  // 1007 invalid frame payload data
  | 'PW_ERR_INVALID_UTF8' // §8.1 text or close reason that is not UTF-8
  | 'PW_ERR_INVALID_COMPRESSED_DATA' // RFC 7692 §7.2.2 data that does not inflate
  // 1009 message too big
  | 'PW_ERR_MESSAGE_TOO_BIG' // §10.4 over maxPayload (also once inflated), or a length beyond 2^53
  | 'PW_ERR_TOO_MANY_FRAGMENTS' // §10.4 a message in more than maxFragments frames
  // built with the older constructor, `new ProtocolError(closeCode, message)`
  | 'PW_ERR_PROTOCOL';

/** A peer broke RFC 6455 after the handshake; the connection is failed with `closeCode` (§7.1.7). */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  /** Stable reason to branch on. */
  readonly code: ProtocolErrorCode;
  /** Close code sent to the peer: 1002, 1007, 1009, … */
  readonly closeCode: number;

  constructor(code: ProtocolErrorCode, closeCode: number, message: string);
  /** The older form; its `code` is `PW_ERR_PROTOCOL`. */
  constructor(closeCode: number, message: string);
  constructor(...args: [ProtocolErrorCode, number, string] | [number, string]) {
    const [code, closeCode, message] = args.length === 3 ? args : (['PW_ERR_PROTOCOL', ...args] as const);
    super(message);
    this.code = code;
    this.closeCode = closeCode;
  }
}

/** Why an opening handshake was refused (server side). */
export type HandshakeErrorCode =
  | 'PW_ERR_HEAD_TOO_LARGE' // 431 head over maxHeaderSize
  | 'PW_ERR_TOO_MANY_HEADERS' // 431 more than maxHeaderCount fields
  | 'PW_ERR_URI_TOO_LONG' // 414 request target over maxUrlLength (RFC 9112 §3)
  | 'PW_ERR_MALFORMED_REQUEST' // 400 not an HTTP/1.1 request head (RFC 9112)
  | 'PW_ERR_INVALID_METHOD' // 405 not GET (§4.2.1 item 1)
  | 'PW_ERR_INVALID_HTTP_VERSION' // 400 below HTTP/1.1
  | 'PW_ERR_NOT_WEBSOCKET' // 426 no `Upgrade: websocket`: a plain HTTP request
  | 'PW_ERR_INVALID_CONNECTION_HEADER' // 400 `Connection` lacks `upgrade`
  | 'PW_ERR_MISSING_HOST' // 400
  | 'PW_ERR_MISSING_VERSION' // 400 no `Sec-WebSocket-Version`
  | 'PW_ERR_UNSUPPORTED_VERSION' // 426 a version other than 13
  | 'PW_ERR_INVALID_KEY' // 400 `Sec-WebSocket-Key` is not 16 bytes in base64
  | 'PW_ERR_INVALID_SUBPROTOCOL' // 400 malformed or repeated subprotocol
  | 'PW_ERR_HANDSHAKE_TIMEOUT' // 408 head not complete within handshakeTimeout
  | 'PW_ERR_NO_ENDPOINT' // 404 path not served
  | 'PW_ERR_SHUTTING_DOWN' // 503
  | 'PW_ERR_REFUSED' // verifyClient said no: 403 or the status it chose
  | 'PW_ERR_INTERNAL' // 500 a hook threw
  // built with the older constructor, `new HandshakeError(status, message, headers?)`
  | 'PW_ERR_HANDSHAKE';

/** An opening handshake was refused; the peer is answered with `status` (RFC 6455 §4.2.1, §4.2.2). */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  /** Stable reason to branch on. */
  readonly code: HandshakeErrorCode;
  /** HTTP status of the refusal: 400, 403, 404, 405, 426, 431, … */
  readonly status: number;
  /** Extra response headers, e.g. `Sec-WebSocket-Version: 13` with a 426 (§4.2.2 step 4). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: HandshakeErrorCode, status: number, message: string, headers?: Readonly<Record<string, string>>);
  /** The older form; its `code` is `PW_ERR_HANDSHAKE`. */
  constructor(status: number, message: string, headers?: Readonly<Record<string, string>>);
  constructor(...args: [HandshakeErrorCode, number, string, ResponseHeaders?] | [number, string, ResponseHeaders?]) {
    const [code, status, message, headers = {}] = typeof args[0] === 'string' ? args : (['PW_ERR_HANDSHAKE', ...args] as const);
    super(message);
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

type ResponseHeaders = Readonly<Record<string, string>>;

/** Why the server's handshake response was not accepted (client side, RFC 6455 §4.1). */
export type ClientHandshakeErrorCode =
  | 'PW_ERR_UNEXPECTED_STATUS' // the server answered something other than 101 (see `status`)
  | 'PW_ERR_MALFORMED_RESPONSE' // not an HTTP/1.1 response head
  | 'PW_ERR_INVALID_UPGRADE_RESPONSE' // 101 without `Upgrade: websocket` or `Connection: Upgrade`
  | 'PW_ERR_INVALID_ACCEPT' // `Sec-WebSocket-Accept` does not match our key
  | 'PW_ERR_UNEXPECTED_EXTENSION' // an extension we did not offer
  | 'PW_ERR_INVALID_EXTENSION' // permessage-deflate parameters we cannot accept (RFC 7692 §7.1)
  | 'PW_ERR_UNEXPECTED_SUBPROTOCOL' // a subprotocol we did not offer
  | 'PW_ERR_HANDSHAKE_TIMEOUT' // no answer within handshakeTimeout
  | 'PW_ERR_CONNECTION_CLOSED' // the connection ended (or close() was called) before the handshake completed
  // built with the older constructor, `new ClientHandshakeError(message, status?)`
  | 'PW_ERR_CLIENT_HANDSHAKE';

/** The server's opening-handshake response did not satisfy RFC 6455 §4.1 (client side). */
export class ClientHandshakeError extends Error {
  override readonly name = 'ClientHandshakeError';
  /** Stable reason to branch on. */
  readonly code: ClientHandshakeErrorCode;
  /** HTTP status the server answered with, when it answered at all. */
  readonly status: number | undefined;

  constructor(code: ClientHandshakeErrorCode, message: string, status?: number);
  /** The older form; its `code` is `PW_ERR_CLIENT_HANDSHAKE`. */
  constructor(message: string, status?: number);
  constructor(...args: [ClientHandshakeErrorCode, string, number?] | [string, number?]) {
    // Told apart by the second argument: a message (string) follows a code.
    const [code, message, status] =
      typeof args[1] === 'string'
        ? (args as [ClientHandshakeErrorCode, string, number?])
        : (['PW_ERR_CLIENT_HANDSHAKE', ...(args as [string, number?])] as const);
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** An API call that the connection's state does not allow (e.g. `send` after `close`). */
export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
  /** Stable code to branch on; the message says which state. */
  readonly code = 'PW_ERR_INVALID_STATE';
}
