/**
 * Typed errors of the Redis client. Like the rest of pushwire, each carries a
 * stable `code` string to branch on (messages may change; codes do not):
 *
 * - `RespProtocolError` — the bytes from the server are not RESP (the reader
 *   stops; the connection is dropped and re-established);
 * - `RedisReplyError` — the server answered a command with an error reply
 *   (`-ERR …`, `-NOSCRIPT …`, RESP3 `!…`): a value, not a broken connection;
 * - `RedisConnectionError` — the command's fate depends on a connection that
 *   is down, lost, slow, refused our credentials or was closed by us;
 * - `RedisConfigError` — a URL or option that cannot work;
 * - `RedisArgumentError` — a command argument that cannot be encoded.
 *
 * Sans-I/O: this module imports nothing.
 */

/** Why the reader refused the server's bytes (RESP protocol spec; RESP3 spec). */
export type RespProtocolErrorCode =
  | 'PW_ERR_REDIS_BAD_TYPE' // a first byte that is no RESP type, or push data inside an aggregate
  | 'PW_ERR_REDIS_BAD_LENGTH' // a length or count that is not a decimal integer ≥ -1
  | 'PW_ERR_REDIS_BAD_VALUE' // an integer, double, boolean, null, big number, verbatim or simple string that breaks its grammar
  | 'PW_ERR_REDIS_MISSING_CRLF' // a line ended by a bare LF, a CR inside a line, or bulk data not followed by CRLF
  | 'PW_ERR_REDIS_LINE_TOO_LONG' // no CRLF within maxLineLength bytes
  | 'PW_ERR_REDIS_BULK_TOO_LONG' // a bulk string, bulk error or verbatim string longer than maxBulkLength
  | 'PW_ERR_REDIS_TOO_MANY_ELEMENTS' // an aggregate declaring more than maxAggregateLength elements
  | 'PW_ERR_REDIS_TOO_DEEP' // aggregates nested deeper than maxDepth
  | 'PW_ERR_REDIS_UNSUPPORTED'; // RESP3 streamed strings or aggregates (`$?`, `*?`): Redis never sends them

/** The server sent bytes that are not RESP; the reader is failed for good. */
export class RespProtocolError extends Error {
  override readonly name = 'RespProtocolError';
  /** Stable reason to branch on. */
  readonly code: RespProtocolErrorCode;

  constructor(code: RespProtocolErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * The server answered with an error reply (RESP protocol spec §Simple errors,
 * §Bulk errors). The reader returns it as a value; `RedisClient.command`
 * rejects with it. `redisCode` is the error prefix — the first word, upper
 * case by convention: `ERR`, `WRONGTYPE`, `NOSCRIPT`, `WRONGPASS`, `NOAUTH`, …
 */
export class RedisReplyError extends Error {
  override readonly name = 'RedisReplyError';
  /** Always `PW_ERR_REDIS_REPLY`; branch on `redisCode` for the server's reason. */
  readonly code = 'PW_ERR_REDIS_REPLY';
  /** The server's error prefix, e.g. `NOSCRIPT`. Empty when the message has no upper-case first word. */
  readonly redisCode: string;

  /** `text` is the whole error as sent, e.g. `NOSCRIPT No matching script. Please use EVAL.` */
  constructor(text: string) {
    super(text);
    // RESP protocol spec §Simple errors: "The first upper-case word after the
    // `-`, up to the first space or newline, represents the kind of error".
    const space = text.indexOf(' ');
    const first = space === -1 ? text : text.slice(0, space);
    this.redisCode = /^[A-Z][A-Z0-9_]*$/.test(first) ? first : '';
  }
}

/** Why a command could not be run on (or lost) its connection. */
export type RedisConnectionErrorCode =
  | 'PW_ERR_REDIS_NOT_CONNECTED' // issued while disconnected or reconnecting: refused at once, never queued
  | 'PW_ERR_REDIS_CONNECTION_LOST' // in flight when the connection dropped: it may or may not have run
  | 'PW_ERR_REDIS_CONNECT_FAILED' // the TCP/TLS connection or the handshake failed (see `cause`)
  | 'PW_ERR_REDIS_CONNECT_TIMEOUT' // no connection and handshake within connectTimeout
  | 'PW_ERR_REDIS_COMMAND_TIMEOUT' // no reply within commandTimeout: the connection is presumed dead and is dropped
  | 'PW_ERR_REDIS_AUTH_FAILED' // the server refused our credentials (WRONGPASS, NOAUTH, …): never retried
  | 'PW_ERR_REDIS_TOO_MANY_PENDING' // maxPending commands already await replies
  | 'PW_ERR_REDIS_CLOSED'; // quit() or close() was called

/** A command failed because of its connection, not because of the server's answer. */
export class RedisConnectionError extends Error {
  override readonly name = 'RedisConnectionError';
  /** Stable reason to branch on. */
  readonly code: RedisConnectionErrorCode;

  constructor(code: RedisConnectionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A Redis URL or client option that cannot work. */
export class RedisConfigError extends Error {
  override readonly name = 'RedisConfigError';
  /** Stable code to branch on; the message says what is wrong. */
  readonly code = 'PW_ERR_REDIS_INVALID_CONFIG';
}

/** A command argument that RESP cannot carry (not a string, Buffer, finite number or bigint). */
export class RedisArgumentError extends TypeError {
  override readonly name = 'RedisArgumentError';
  /** Stable code to branch on. */
  readonly code = 'PW_ERR_REDIS_INVALID_ARGUMENT';
}
