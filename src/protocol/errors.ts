/**
 * Typed errors of the protocol core. Each carries what the peer is told:
 * a WebSocket close code (RFC 6455 §7.4.1) or an HTTP status (RFC 9110 §15).
 */

/** A peer broke RFC 6455 after the handshake; the connection is failed with `closeCode` (§7.1.7). */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    /** Close code sent to the peer: 1002, 1007, 1009, … */
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** An opening handshake was refused; the peer is answered with `status` (RFC 6455 §4.2.1, §4.2.2). */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    /** HTTP status of the refusal: 400, 403, 404, 405, 426, 431, … */
    readonly status: number,
    message: string,
    /** Extra response headers, e.g. `Sec-WebSocket-Version: 13` with a 426 (§4.2.2 step 4). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** The server's opening-handshake response did not satisfy RFC 6455 §4.1 (client side). */
export class ClientHandshakeError extends Error {
  override readonly name = 'ClientHandshakeError';
  constructor(
    message: string,
    /** HTTP status the server answered with, when it answered at all. */
    readonly status?: number,
  ) {
    super(message);
  }
}

/** An API call that the connection's state does not allow (e.g. `send` after `close`). */
export class InvalidStateError extends Error {
  override readonly name = 'InvalidStateError';
}
