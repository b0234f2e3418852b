// RFC 6455 §5.2 Base Framing Protocol (decoding side), §5.3 masking,
// §5.5 control-frame limits. Bytes in, frame events out; no I/O.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-------+-+-------------+-------------------------------+
//  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//  | |1|2|3|       |K|             |                               |
//  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//  |     Extended payload length continued, if payload len == 127  |
//  + - - - - - - - - - - - - - - - +-------------------------------+
//  |                               |Masking-key, if MASK set to 1  |
//  +-------------------------------+-------------------------------+
//  | Masking-key (continued)       |          Payload Data         |
//  +-------------------------------- - - - - - - - - - - - - - - - +
import { ProtocolError } from './errors.js';
import { MAX_CONTROL_PAYLOAD, applyMask, isControlOpcode, isKnownOpcode, maskKey } from './frame.js';

/** Receives the parts of each frame, in order. May throw a ProtocolError to fail the connection. */
export interface FrameSink {
  /** A header is complete. `rsv` holds the RSV bits as 0x40/0x20/0x10. */
  onFrameStart(fin: boolean, rsv: number, opcode: number, length: number): void;
  /** Unmasked payload bytes as they arrive; the buffer is a view into the received chunk. */
  onFramePayload(data: Buffer): void;
  /** The frame's last payload byte has been delivered. */
  onFrameEnd(): void;
}

export interface FrameParserOptions {
  /** Frames from a client must be masked, frames from a server must not be (§5.1). */
  expectMasked: boolean;
  /** RSV bits that a negotiated extension defines (§5.2: otherwise they MUST be 0). */
  allowedRsv?: number;
}

/**
 * Header bytes are copied here and read at once, within one synchronous
 * `push`, so every parser can share it.
 */
const scratch = new Uint8Array(8);
const NO_CHUNKS: Buffer[] = [];

const enum State {
  Header,
  Length16,
  Length64,
  MaskKey,
  Payload,
  /** After a close or a failure: input is dropped. */
  Stopped,
}

/**
 * Incremental frame parser. `push` accepts input split at any byte; the
 * parser keeps the chunks it was given, copies only header bytes, and hands
 * payload on as views into those chunks, unmasked in place. It therefore
 * takes ownership of the chunks passed to `push`.
 */
export class FrameParser {
  /** Starts as the shared, never-pushed NO_CHUNKS: an idle connection holds no array. */
  private chunks: Buffer[] = NO_CHUNKS;
  /** Bytes already consumed from chunks[0]. */
  private offset = 0;
  private buffered = 0;
  private state = State.Header;
  /** The current frame's masking key as one number (no per-parser buffer). */
  private mask = 0;
  /** The current frame's first header byte: FIN, RSV1-3 and the opcode (fewer fields per connection). */
  private firstByte = 0;
  private masked = false;
  private remaining = 0;
  private payloadOffset = 0;

  private readonly expectMasked: boolean;
  private readonly allowedRsv: number;

  constructor(
    private readonly sink: FrameSink,
    options: FrameParserOptions,
  ) {
    this.expectMasked = options.expectMasked;
    this.allowedRsv = options.allowedRsv ?? 0;
  }

  /** Stop delivering events; later input is dropped (after a close or a failure). */
  stop(): void {
    this.state = State.Stopped;
    this.chunks.length = 0;
    this.buffered = 0;
    this.offset = 0;
  }

  push(chunk: Buffer): void {
    if (this.state === State.Stopped || chunk.length === 0) return;
    if (this.chunks === NO_CHUNKS) this.chunks = [];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      // `as State`: the sink may stop the parser from inside any step.
      switch (this.state as State) {
        case State.Header:
          if (this.buffered < 2) return;
          this.readHeader();
          break;
        case State.Length16:
          if (this.buffered < 2) return;
          this.take(2);
          this.remaining = (scratch[0] << 8) | scratch[1];
          this.afterLength();
          break;
        case State.Length64:
          if (this.buffered < 8) return;
          this.take(8);
          this.readLength64();
          break;
        case State.MaskKey:
          if (this.buffered < 4) return;
          this.take(4);
          this.mask = maskKey(scratch);
          this.startPayload();
          break;
        case State.Payload:
          if (this.buffered === 0) return;
          this.readPayload();
          break;
        case State.Stopped:
          return;
      }
    }
  }

  private readHeader(): void {
    this.take(2);
    const b0 = scratch[0];
    const b1 = scratch[1];
    const fin = (b0 & 0x80) !== 0;
    const rsv = b0 & 0x70;
    const opcode = b0 & 0x0f;
    this.firstByte = b0;
    this.masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;

    // §5.2 RSV1-3: "MUST be 0 unless an extension is negotiated that defines meanings".
    if ((rsv & ~this.allowedRsv) !== 0) {
      throw new ProtocolError('PW_ERR_UNEXPECTED_RSV', 1002, 'reserved bits set without a negotiated extension');
    }
    // §5.2 Opcode: "If an unknown opcode is received, the receiving endpoint MUST _Fail_".
    if (!isKnownOpcode(opcode)) {
      throw new ProtocolError('PW_ERR_INVALID_OPCODE', 1002, `reserved opcode 0x${opcode.toString(16)}`);
    }
    // §5.5: "All control frames MUST have a payload length of 125 bytes or less
    // and MUST NOT be fragmented."
    if (isControlOpcode(opcode)) {
      if (!fin) throw new ProtocolError('PW_ERR_FRAGMENTED_CONTROL_FRAME', 1002, 'fragmented control frame');
      if (length7 > MAX_CONTROL_PAYLOAD) {
        throw new ProtocolError('PW_ERR_CONTROL_FRAME_TOO_BIG', 1002, 'control frame payload longer than 125 bytes');
      }
    }
    // §5.1: a server MUST close on an unmasked client frame; a client MUST close
    // on a masked server frame.
    if (this.masked !== this.expectMasked) {
      throw this.expectMasked
        ? new ProtocolError('PW_ERR_UNMASKED_FRAME', 1002, 'client frame is not masked')
        : new ProtocolError('PW_ERR_MASKED_FRAME', 1002, 'server frame is masked');
    }

    if (length7 === 126) this.state = State.Length16;
    else if (length7 === 127) this.state = State.Length64;
    else {
      this.remaining = length7;
      this.afterLength();
    }
  }

  private readLength64(): void {
    const s = scratch;
    // §5.2: "the most significant bit MUST be 0".
    if (s[0] & 0x80) throw new ProtocolError('PW_ERR_INVALID_LENGTH', 1002, '64-bit payload length has its top bit set');
    const high = ((s[0] << 24) | (s[1] << 16) | (s[2] << 8) | s[3]) >>> 0;
    const low = ((s[4] << 24) | (s[5] << 16) | (s[6] << 8) | s[7]) >>> 0;
    if (high > 0x1fffff) throw new ProtocolError('PW_ERR_MESSAGE_TOO_BIG', 1009, 'payload length beyond 2^53 bytes');
    this.remaining = high * 0x100000000 + low;
    this.afterLength();
  }

  private afterLength(): void {
    if (this.masked) this.state = State.MaskKey;
    else this.startPayload();
  }

  private startPayload(): void {
    this.payloadOffset = 0;
    this.state = State.Payload;
    const b0 = this.firstByte;
    this.sink.onFrameStart((b0 & 0x80) !== 0, b0 & 0x70, b0 & 0x0f, this.remaining);
    if (this.remaining === 0) this.endFrame();
  }

  private readPayload(): void {
    const chunk = this.chunks[0];
    const available = chunk.length - this.offset;
    const size = available < this.remaining ? available : this.remaining;
    const data = chunk.subarray(this.offset, this.offset + size);
    this.offset += size;
    this.buffered -= size;
    if (this.offset === chunk.length) {
      this.chunks.shift();
      this.offset = 0;
    }
    if (this.masked) applyMask(data, this.mask, this.payloadOffset);
    this.payloadOffset += size;
    this.remaining -= size;
    this.sink.onFramePayload(data);
    if (this.remaining === 0 && this.state !== State.Stopped) this.endFrame();
  }

  private endFrame(): void {
    if (this.state === State.Stopped) return;
    this.state = State.Header;
    this.sink.onFrameEnd();
  }

  /** Copy the next `n` buffered bytes into `scratch` and consume them. */
  private take(n: number): void {
    let chunk = this.chunks[0];
    let offset = this.offset;
    for (let i = 0; i < n; i++) {
      if (offset === chunk.length) {
        this.chunks.shift();
        chunk = this.chunks[0];
        offset = 0;
      }
      scratch[i] = chunk[offset++];
    }
    if (offset === chunk.length) {
      this.chunks.shift();
      offset = 0;
    }
    this.offset = offset;
    this.buffered -= n;
  }
}
