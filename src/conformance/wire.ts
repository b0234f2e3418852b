// RFC 6455 §5.2 Base Framing Protocol and §5.3 masking, as the conformance
// tool needs them: an encoder that can break every rule on purpose (RSV bits,
// reserved opcodes, no mask, non-minimal or lying length fields) and a
// tolerant, incremental decoder for what the server under test sends back.
// Independent of src/protocol/, which is one of the implementations judged.

/** Opcodes of §5.2 (3–7 and 0xB–0xF are reserved). */
export const Op = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** One frame as the client writes it, every header field under control. */
export interface WireFrame {
  fin: boolean;
  /** RSV1 RSV2 RSV3 as a 3-bit number (RSV1 = 4). */
  rsv: number;
  /** 0–15, reserved ones included. */
  opcode: number;
  /** The 4-byte masking key, or null to send the frame unmasked (§5.1 forbids that for clients). */
  mask: Uint8Array | null;
  /** The payload before masking. */
  payload: Uint8Array;
  /** Length field form: 7 bits, 7+16 or 7+64; default the minimal one (§5.2). */
  lengthForm?: 7 | 16 | 64;
  /**
   * A length field that does not match `payload` (only the 64-bit form):
   * a frame announced larger than what is sent, or with the top bit set.
   * The frame is then cut short: nothing may follow it.
   */
  declaredLength?: bigint;
  /**
   * On the first frame of a permessage-deflate message (RSV1 set, RFC 7692
   * §6): the message before compression, which the server must echo.
   */
  inflated?: Uint8Array;
}

/** A frame with defaults: FIN set, no RSV, masked with `mask`. */
export function frame(
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  options: Partial<Omit<WireFrame, 'opcode' | 'payload'>> = {},
): WireFrame {
  return {
    fin: options.fin ?? true,
    rsv: options.rsv ?? 0,
    opcode,
    mask: options.mask === undefined ? DEFAULT_MASK : options.mask,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    lengthForm: options.lengthForm,
    declaredLength: options.declaredLength,
  };
}

/** The masking key of RFC 6455 §5.7's example, used when a case does not draw one. */
export const DEFAULT_MASK = Uint8Array.of(0x37, 0xfa, 0x21, 0x3d);

/** The smallest length form that can carry `length` bytes (§5.2). */
export function minimalForm(length: number): 7 | 16 | 64 {
  return length < 126 ? 7 : length < 65536 ? 16 : 64;
}

/** Header length (bytes before the payload) of `f` on the wire. */
export function headerSize(f: WireFrame): number {
  const form = f.declaredLength !== undefined ? 64 : (f.lengthForm ?? minimalForm(f.payload.length));
  return 2 + (form === 16 ? 2 : form === 64 ? 8 : 0) + (f.mask ? 4 : 0);
}

/** The bytes of `f`: header, then the payload XORed with the mask (§5.3). */
export function encodeFrame(f: WireFrame): Buffer {
  const length = f.payload.length;
  const form = f.declaredLength !== undefined ? 64 : (f.lengthForm ?? minimalForm(length));
  if (form === 7 && length > 125) throw new RangeError(`a 7-bit length cannot hold ${length}`);
  if (form === 16 && length > 0xffff) throw new RangeError(`a 16-bit length cannot hold ${length}`);
  const out = Buffer.allocUnsafe(headerSize(f) + length);
  out[0] = (f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0xf);
  const maskBit = f.mask ? 0x80 : 0;
  let at = 2;
  if (form === 7) out[1] = maskBit | length;
  else if (form === 16) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(length, 2);
    at = 4;
  } else {
    out[1] = maskBit | 127;
    out.writeBigUInt64BE(f.declaredLength ?? BigInt(length), 2);
    at = 10;
  }
  if (f.mask) {
    out.set(f.mask.subarray(0, 4), at);
    at += 4;
    for (let i = 0; i < length; i++) out[at + i] = f.payload[i] ^ f.mask[i & 3];
  } else out.set(f.payload, at);
  return out;
}

/** A frame read off the wire. */
export interface DecodedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  mask: Uint8Array | null;
  /** The payload, unmasked. */
  payload: Buffer;
  /** The length form used on the wire, and whether it was the minimal one. */
  lengthForm: 7 | 16 | 64;
  /** The raw header bytes. */
  header: Buffer;
}

/** Thrown by `FrameDecoder` for a length it will not buffer. */
export class FrameTooLargeError extends Error {
  constructor(readonly length: bigint) {
    super(`frame announces ${length} bytes`);
  }
}

/**
 * Incremental frame decoder: `push` any chunk, get the complete frames.
 * Keeps its input as a list of chunks and joins only what a frame needs.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** @param maxFrame largest payload it accepts before throwing `FrameTooLargeError`. */
  constructor(private readonly maxFrame = 256 * 1024 * 1024) {}

  /** Bytes received and not yet part of a complete frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Buffer): DecodedFrame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: DecodedFrame[] = [];
    for (;;) {
      const next = this.next();
      if (!next) return frames;
      frames.push(next);
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0];
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const head = this.peek(n);
    const taken = head.subarray(0, n);
    if (head.length === n) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    this.buffered -= n;
    return taken;
  }

  private next(): DecodedFrame | null {
    if (this.buffered < 2) return null;
    const head = this.peek(Math.min(this.buffered, 14));
    const b1 = head[1];
    const code = b1 & 0x7f;
    const masked = (b1 & 0x80) !== 0;
    const form: 7 | 16 | 64 = code === 126 ? 16 : code === 127 ? 64 : 7;
    const headerLength = 2 + (form === 16 ? 2 : form === 64 ? 8 : 0) + (masked ? 4 : 0);
    if (this.buffered < headerLength) return null;
    let length: number;
    if (form === 7) length = code;
    else if (form === 16) length = head.readUInt16BE(2);
    else {
      const big = head.readBigUInt64BE(2);
      if (big > BigInt(this.maxFrame)) throw new FrameTooLargeError(big);
      length = Number(big);
    }
    if (length > this.maxFrame) throw new FrameTooLargeError(BigInt(length));
    if (this.buffered < headerLength + length) return null;
    const header = Buffer.from(this.take(headerLength));
    const mask = masked ? header.subarray(headerLength - 4) : null;
    const payload = Buffer.from(this.take(length));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
    return {
      fin: (header[0] & 0x80) !== 0,
      rsv: (header[0] >> 4) & 7,
      opcode: header[0] & 0xf,
      masked,
      mask,
      payload,
      lengthForm: form,
      header,
    };
  }
}

/** A close frame's body (§5.5.1): empty, or a code and a reason. */
export function closeBody(code?: number, reason: Uint8Array | string = ''): Buffer {
  if (code === undefined) return Buffer.alloc(0);
  const why = typeof reason === 'string' ? Buffer.from(reason) : Buffer.from(reason);
  const out = Buffer.alloc(2 + why.length);
  out.writeUInt16BE(code, 0);
  why.copy(out, 2);
  return out;
}

/** `text`, `ping`, `reserved-3` … */
export function opcodeName(opcode: number): string {
  switch (opcode) {
    case Op.Continuation:
      return 'continuation';
    case Op.Text:
      return 'text';
    case Op.Binary:
      return 'binary';
    case Op.Close:
      return 'close';
    case Op.Ping:
      return 'ping';
    case Op.Pong:
      return 'pong';
    default:
      return `reserved-0x${opcode.toString(16)}`;
  }
}

/** Control frames have the opcode's top bit set (§5.5). */
export function isControl(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** The opcodes §5.2 defines. */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 2 || (opcode >= 8 && opcode <= 0xa);
}
