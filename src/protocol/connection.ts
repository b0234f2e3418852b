// The WebSocket protocol after the opening handshake, as a sans-I/O state
// machine: RFC 6455 §5.4 Fragmentation, §5.5 Control Frames, §5.6 Data Frames,
// §7 Closing the Connection, §8.1 UTF-8 handling. Received bytes go in through
// `receive`; events and the bytes to send come out through the handler.
import { CloseCode, decodeClosePayload, encodeClosePayload, MAX_CLOSE_REASON_BYTES } from './close.js';
import { InvalidStateError, ProtocolError } from './errors.js';
import { encodeFrame, isControlOpcode, Opcode, RSV1 } from './frame.js';
import { FrameParser, type FrameSink } from './frame-parser.js';
import { Utf8Validator } from './utf8.js';

/** Which end of the connection this object plays (§5.1 masking depends on it). */
export type Role = 'server' | 'client';

/**
 * `open`: both directions usable. `closing`: we sent a close frame and wait
 * for the peer's (§7.1.2). `closed`: the closing handshake is complete or the
 * connection failed; the transport should close TCP (§7.1.1: the server
 * first, the client after the server or a timeout).
 */
export type ConnectionState = 'open' | 'closing' | 'closed';

/** Where a Connection delivers events and outgoing bytes. */
export interface ConnectionHandler {
  /** Bytes for the transport to write, in order. */
  write(data: Buffer): void;
  /**
   * A complete data message (§5.6). Uncompressed text has been checked as
   * UTF-8; a `compressed` message (RFC 7692 §6.1) is delivered as received.
   */
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void;
  /** A ping arrived; with `autoPong` its pong has already been written (§5.5.2). */
  onPing(data: Buffer): void;
  onPong(data: Buffer): void;
  /** The peer's close frame arrived; if we had not sent one, our reply is already written (§5.5.1). */
  onCloseReceived(code: number, reason: string): void;
  /** The peer broke the protocol; a close frame with `error.closeCode` is already written (§7.1.7). */
  onProtocolError(error: ProtocolError): void;
}

export interface ConnectionOptions {
  role: Role;
  /** Largest message, summed over its fragments, before failing with 1009. Default 100 MiB. */
  maxPayload?: number;
  /**
   * Most frames one message may arrive in (§5.4 puts no limit; a peer
   * sending endless 1-byte continuations costs work per frame). More fail
   * the connection with 1009. Default 100 000.
   */
  maxFragments?: number;
  /** Source of fresh 4-byte masking keys; required for the client role (§5.3). */
  generateMask?: () => Uint8Array;
  /** Answer pings with pongs automatically (§5.5.2). Default true. */
  autoPong?: boolean;
  /**
   * permessage-deflate was negotiated (RFC 7692): RSV1 marks compressed
   * messages. Their payload reaches `onMessage` still compressed, UTF-8
   * unchecked; inflating (and checking) is the transport's job.
   */
  perMessageDeflate?: boolean;
}

export const DEFAULT_MAX_PAYLOAD = 100 * 1024 * 1024;
/** Above Autobahn's largest case (4 MiB in 64-byte frames: 65 536 frames). */
export const DEFAULT_MAX_FRAGMENTS = 100_000;
/** First size of a message's assembly buffer; it doubles as fragments arrive. */
const MIN_ASSEMBLY = 256;

const EMPTY = Buffer.alloc(0);

/**
 * One WebSocket connection after its opening handshake, as a state machine:
 * hand it received bytes with `receive`, give it commands (`send`, `ping`,
 * `pong`, `close`), and it calls the handler with events and with the bytes to
 * write. It does no I/O and keeps no timers; the transport owns both.
 *
 * @example
 * const connection = new Connection(handler, { role: 'server' });
 * socket.on('data', (chunk) => connection.receive(chunk));
 * connection.send('hello', false);
 */
export class Connection implements FrameSink {
  private readonly parser: FrameParser;
  // Created on first use: an idle connection holds no buffers or validator (memory per connection).
  private utf8: Utf8Validator | null = null;
  private readonly maxPayload: number;
  private readonly maxFragments: number;
  private readonly autoPong: boolean;
  private readonly generateMask: (() => Uint8Array) | null;

  private stateValue: ConnectionState = 'open';
  private closeSent = false;
  private closeReceived = false;

  // The frame being received.
  private frameOpcode = 0;
  private frameFin = false;
  private controlChunks: Buffer[] | null = null;
  // The message being assembled from data frames (§5.4).
  private messageOpcode = 0; // 0: no message in progress
  private messageCompressed = false;
  private messageFrames = 0;
  /** Bytes announced by the headers of the message's frames so far (checked against maxPayload). */
  private messageLength = 0;
  // A message's bytes: the first piece as a view into the received chunk
  // (zero-copy, the common single-chunk case); from the second piece on, all
  // of it copied into one buffer, so memory tracks bytes, not pieces.
  private messageFirst: Buffer | null = null;
  private assembly: Buffer | null = null;
  private assembled = 0;
  // The message being sent in fragments, if any.
  private sendingFragmented = false;

  constructor(
    private readonly handler: ConnectionHandler,
    options: ConnectionOptions,
  ) {
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.maxFragments = options.maxFragments ?? DEFAULT_MAX_FRAGMENTS;
    this.autoPong = options.autoPong ?? true;
    this.generateMask = options.generateMask ?? null;
    if (options.role === 'client' && !this.generateMask) {
      throw new TypeError('a client connection needs generateMask (RFC 6455 §5.3)');
    }
    this.parser = new FrameParser(this, {
      expectMasked: options.role === 'server',
      allowedRsv: options.perMessageDeflate ? RSV1 : 0,
    });
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** Feed received bytes. Takes ownership of `data` (payloads are unmasked in place). */
  receive(data: Buffer): void {
    try {
      this.parser.push(data);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      this.fail(error);
    }
  }

  /**
   * Send a data message, or one fragment of it when `fin` is false (§5.4);
   * the fragments that follow are sent with `fin` false until the last.
   */
  send(data: Uint8Array | string, isBinary: boolean, fin = true, compressed = false): void {
    this.assertCanSend();
    const first = !this.sendingFragmented;
    const opcode = first ? (isBinary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation;
    this.sendingFragmented = !fin;
    // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
    this.writeFrame(fin, opcode, data, compressed && first ? RSV1 : 0);
  }

  /** Send a ping (§5.5.2); payload at most 125 bytes. */
  ping(data: Uint8Array | string = EMPTY): void {
    this.sendControl(Opcode.Ping, data);
  }

  /** Send a pong (§5.5.3), solicited or as a unidirectional heartbeat. */
  pong(data: Uint8Array | string = EMPTY): void {
    this.sendControl(Opcode.Pong, data);
  }

  /**
   * Start (or complete) the closing handshake (§7.1.2). Without a code the
   * close frame is empty. Does nothing once a close frame was sent.
   * Throws a RangeError for a code that may not be sent or an overlong reason.
   */
  /**
   * Send a complete, unfragmented, unmasked data frame encoded once for many
   * connections (a broadcast). Servers only: a client must mask each frame
   * with a fresh key (RFC 6455 §5.3), so a shared encoding is impossible.
   */
  sendEncoded(frame: Buffer): void {
    this.assertCanSend();
    if (this.generateMask) throw new InvalidStateError('a client must mask every frame itself (RFC 6455 §5.3)');
    if (this.sendingFragmented) throw new InvalidStateError('a fragmented message is being sent (RFC 6455 §5.4)');
    this.handler.write(frame);
  }

  close(code?: number, reason = ''): void {
    if (this.closeSent) return;
    const payload = encodeClosePayload(code, reason);
    this.writeCloseFrame(payload);
  }

  /**
   * Fail the connection (§7.1.7): send a close frame with the error's code
   * unless one was sent already, stop reading, and report it.
   */
  fail(error: ProtocolError): void {
    if (this.stateValue === 'closed') return;
    this.parser.stop();
    this.resetMessage();
    if (!this.closeSent) {
      this.writeCloseFrame(encodeClosePayload(error.closeCode, truncateReason(error.message)));
    }
    this.stateValue = 'closed';
    this.handler.onProtocolError(error);
  }

  // ---- FrameSink: events from the parser ----

  onFrameStart(fin: boolean, rsv: number, opcode: number, length: number): void {
    this.frameOpcode = opcode;
    // RFC 7692 §6.1: RSV1 ("Per-Message Compressed") only on a message's first frame.
    if (rsv !== 0 && (opcode === Opcode.Continuation || isControlOpcode(opcode))) {
      throw new ProtocolError(
        'PW_ERR_UNEXPECTED_RSV',
        1002,
        `RSV1 set on a ${opcode === Opcode.Continuation ? 'continuation' : 'control'} frame`,
      );
    }
    if (isControlOpcode(opcode)) return; // size and FIN already checked by the parser (§5.5)
    // §5.4: a fragmented message is one frame with FIN clear and opcode != 0,
    // then zero or more with FIN clear and opcode 0, then one with FIN set and opcode 0.
    if (opcode === Opcode.Continuation) {
      if (this.messageOpcode === 0) {
        throw new ProtocolError('PW_ERR_UNEXPECTED_CONTINUATION', 1002, 'continuation frame without a message to continue');
      }
    } else {
      if (this.messageOpcode !== 0) {
        throw new ProtocolError('PW_ERR_EXPECTED_CONTINUATION', 1002, 'new data frame inside a fragmented message');
      }
      this.messageOpcode = opcode;
      this.messageCompressed = rsv !== 0;
    }
    // §10.4: limit message size, judged from the header before buffering any of it.
    if (this.messageLength + length > this.maxPayload) {
      throw new ProtocolError('PW_ERR_MESSAGE_TOO_BIG', 1009, `message exceeds maxPayload (${this.maxPayload} bytes)`);
    }
    if (++this.messageFrames > this.maxFragments) {
      throw new ProtocolError('PW_ERR_TOO_MANY_FRAGMENTS', 1009, `message arrives in more than ${this.maxFragments} frames`);
    }
    this.messageLength += length;
    this.frameFin = fin;
  }

  onFramePayload(data: Buffer): void {
    if (isControlOpcode(this.frameOpcode)) {
      (this.controlChunks ??= []).push(data);
      return;
    }
    // §8.1: fail fast — reject invalid UTF-8 as soon as the byte arrives.
    if (this.messageOpcode === Opcode.Text && !this.messageCompressed && !(this.utf8 ??= new Utf8Validator()).push(data)) {
      throw new ProtocolError('PW_ERR_INVALID_UTF8', 1007, 'text message is not valid UTF-8');
    }
    if (this.messageFirst === null && this.assembly === null) this.messageFirst = data;
    else this.append(data);
  }

  /** Copy `data` behind the message's bytes so far, growing the buffer by doubling (up to maxPayload). */
  private append(data: Buffer): void {
    const needed = this.assembled + (this.messageFirst?.length ?? 0) + data.length;
    if (this.assembly === null || needed > this.assembly.length) {
      // A final frame's header gave the message's whole length: allocate exactly that.
      const size = this.frameFin
        ? this.messageLength
        : Math.min(this.maxPayload, Math.max(needed, MIN_ASSEMBLY, 2 * (this.assembly?.length ?? 0)));
      const grown = Buffer.allocUnsafe(Math.max(size, needed));
      if (this.assembly !== null) this.assembly.copy(grown, 0, 0, this.assembled);
      this.assembly = grown;
    }
    if (this.messageFirst !== null) {
      this.assembled += this.messageFirst.copy(this.assembly, this.assembled);
      this.messageFirst = null;
    }
    this.assembled += data.copy(this.assembly, this.assembled);
  }

  onFrameEnd(): void {
    if (isControlOpcode(this.frameOpcode)) {
      const chunks = this.controlChunks;
      const payload =
        chunks === null || chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      if (chunks) chunks.length = 0;
      this.onControlFrame(this.frameOpcode, payload);
      return;
    }
    if (!this.frameFin) return;
    const isBinary = this.messageOpcode === Opcode.Binary;
    const compressed = this.messageCompressed;
    if (!isBinary && !compressed && this.utf8 !== null && !this.utf8.isComplete()) {
      throw new ProtocolError('PW_ERR_INVALID_UTF8', 1007, 'text message ends inside a UTF-8 character');
    }
    const message = this.assembly !== null ? this.assembly.subarray(0, this.assembled) : (this.messageFirst ?? EMPTY);
    this.resetMessage();
    this.handler.onMessage(message, isBinary, compressed);
  }

  private onControlFrame(opcode: number, payload: Buffer): void {
    switch (opcode) {
      case Opcode.Ping:
        // §5.5.2: respond with a pong carrying the same application data, unless
        // a close frame was already sent.
        if (this.autoPong && !this.closeSent) this.writeFrame(true, Opcode.Pong, payload);
        this.handler.onPing(payload);
        return;
      case Opcode.Pong:
        this.handler.onPong(payload);
        return;
      case Opcode.Close:
        this.onCloseFrame(payload);
        return;
    }
  }

  // §5.5.1 / §7.1.3: the closing handshake from the receiving side.
  private onCloseFrame(payload: Buffer): void {
    const { code, reason } = decodeClosePayload(payload);
    this.closeReceived = true;
    this.parser.stop(); // nothing after a close frame is data (§5.5.1)
    this.resetMessage();
    if (!this.closeSent) {
      // "it MUST send a Close frame in response ... typically echos the status code it received"
      this.writeCloseFrame(code === CloseCode.NoStatus ? EMPTY : encodeClosePayload(code));
    }
    this.stateValue = 'closed';
    this.handler.onCloseReceived(code, reason);
  }

  // ---- sending ----

  private assertCanSend(): void {
    // §5.5.1: "After sending a Close frame, the endpoint MUST NOT send any further data frames."
    if (this.closeSent) throw new InvalidStateError('cannot send after the close frame was sent');
  }

  private sendControl(opcode: number, data: Uint8Array | string): void {
    this.assertCanSend();
    const length = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    if (length > 125) throw new RangeError('control frame payload must be at most 125 bytes (§5.5)');
    this.writeFrame(true, opcode, data);
  }

  private writeCloseFrame(payload: Uint8Array): void {
    this.writeFrame(true, Opcode.Close, payload);
    this.closeSent = true;
    this.stateValue = this.closeReceived ? 'closed' : 'closing';
  }

  private writeFrame(fin: boolean, opcode: number, payload: Uint8Array | string, rsv = 0): void {
    const frame = encodeFrame({
      fin,
      rsv,
      opcode,
      payload,
      mask: this.generateMask ? this.generateMask() : null,
    });
    if (Array.isArray(frame)) {
      this.handler.write(frame[0]);
      this.handler.write(frame[1]);
    } else {
      this.handler.write(frame);
    }
  }

  private resetMessage(): void {
    this.messageOpcode = 0;
    this.messageCompressed = false;
    this.messageFrames = 0;
    this.messageLength = 0;
    this.messageFirst = null;
    this.assembly = null;
    this.assembled = 0;
    this.utf8?.reset();
  }
}

/** Cut a reason to the 123 bytes a close frame holds, on a character boundary. */
function truncateReason(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text) > MAX_CLOSE_REASON_BYTES) text = text.slice(0, -1);
  return text;
}
