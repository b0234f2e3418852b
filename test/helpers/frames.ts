// An independent, deliberately simple frame encoder/decoder for tests, written
// straight from the RFC 6455 §5.2 diagram (not from src/), so tests do not
// check the implementation against itself.

export interface RawFrame {
  fin: boolean;
  rsv: number; // 0..7 as RSV1<<2 | RSV2<<1 | RSV3
  opcode: number;
  payload: Buffer;
}

/** Build a frame; masked with `mask` (client → server) unless mask is null. */
export function buildFrame(
  opcode: number,
  payload: Buffer | string = Buffer.alloc(0),
  options: { fin?: boolean; rsv?: number; mask?: Buffer | null; lengthForm?: 7 | 16 | 64 } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const fin = options.fin ?? true;
  const mask = options.mask === undefined ? Buffer.from([0x37, 0xfa, 0x21, 0x3d]) : options.mask;
  const form = options.lengthForm ?? (data.length < 126 ? 7 : data.length < 65536 ? 16 : 64);
  const bytes: number[] = [(fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (form === 7) bytes.push(maskBit | data.length);
  else if (form === 16) bytes.push(maskBit | 126, data.length >> 8, data.length & 0xff);
  else {
    bytes.push(maskBit | 127);
    const big = BigInt(data.length);
    for (let shift = 56n; shift >= 0n; shift -= 8n) bytes.push(Number((big >> shift) & 0xffn));
  }
  if (mask) bytes.push(...mask);
  const body = Buffer.from(data);
  if (mask) for (let i = 0; i < body.length; i++) body[i] ^= mask[i % 4];
  return Buffer.concat([Buffer.from(bytes), body]);
}

/** Decode as many complete frames as `bytes` holds; returns them and the unused rest. */
export function decodeFrames(bytes: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let offset = 0;
  for (;;) {
    if (bytes.length - offset < 2) break;
    const b0 = bytes[offset];
    const b1 = bytes[offset + 1];
    let length = b1 & 0x7f;
    let at = offset + 2;
    if (length === 126) {
      if (bytes.length - at < 2) break;
      length = bytes.readUInt16BE(at);
      at += 2;
    } else if (length === 127) {
      if (bytes.length - at < 8) break;
      length = Number(bytes.readBigUInt64BE(at));
      at += 8;
    }
    let mask: Buffer | null = null;
    if (b1 & 0x80) {
      if (bytes.length - at < 4) break;
      mask = bytes.subarray(at, at + 4);
      at += 4;
    }
    if (bytes.length - at < length) break;
    const payload = Buffer.from(bytes.subarray(at, at + length));
    if (mask) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0xf, payload });
    offset = at + length;
  }
  return { frames, rest: bytes.subarray(offset) };
}

export function closePayload(code: number, reason: Buffer | string = ''): Buffer {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason) : reason]);
}
