// Random frame streams for the property runs, drawn from a seeded Random so
// run N of a property under seed S is always the same stream. Each
// generator builds frames only; what the server must do with them comes
// from the model (model.ts). Shrinking candidates live here too, since they
// know the shape of a stream.
import { DEFLATE_OFFERS, type PlainMessage } from './deflate.js';
import { isValidCloseCode } from './model.js';
import { Random } from './random.js';
import { closeBody, encodeFrame, frame, headerSize, minimalForm, Op, type WireFrame } from './wire.js';

/** A generated stream: its frames and where the writes are cut. */
export interface Generated {
  frames: WireFrame[];
  /** End offsets of writes (random TCP chunking); empty: one write per frame. */
  cuts: number[];
  /**
   * permessage-deflate (RFC 7692): offer this and send these messages
   * compressed (their frames depend on what the server agrees to, so
   * `frames` is empty), a ping after the messages listed in `pingsAfter`.
   */
  deflate?: { offer: string; messages: PlainMessage[]; fragment?: number; pingsAfter: number[] };
}

/** What a property may assume about the server. */
export interface PropertyContext {
  maxMessage?: number;
}

/** A property: a family of random streams under one part of the RFC. */
export interface PropertyDef {
  name: string;
  title: string;
  /** RFC 6455 sections it exercises. */
  rfc: string;
  /** Runs only when the server's message limit is known. */
  needsMaxMessage?: boolean;
  /** Runs only when the server accepts permessage-deflate. */
  needsDeflate?: boolean;
  generate(rng: Random, context: PropertyContext): Generated;
}

// ---- building blocks ----

/** Random valid UTF-8 of about `n` bytes, mixing 1- to 4-byte characters. */
export function randomText(rng: Random, n: number): Buffer {
  const parts: string[] = [];
  let bytes = 0;
  while (bytes < n) {
    const kind = rng.int(0, 9);
    let cp: number;
    if (kind < 6) cp = rng.int(0x20, 0x7e);
    else if (kind < 7) cp = rng.int(0x80, 0x7ff);
    else if (kind < 9) {
      cp = rng.int(0x800, 0xfffd);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000 + (cp & 0xfff);
    } else cp = rng.int(0x10000, 0x10ffff);
    const s = String.fromCodePoint(cp);
    parts.push(s);
    bytes += Buffer.byteLength(s);
  }
  return Buffer.from(parts.join(''));
}

/** Invalid UTF-8 sequences, each impossible at a known byte. */
const INVALID_SEQUENCES = [
  'eda080', 'edbfbf', 'f4908080', 'f5808080', 'c0af', 'c1bf', 'e080af', 'f08080af', 'f8888080', 'fe', 'ff', '80', 'bf',
  'c241', 'e2a841', 'f09f9841', 'fc8080808080',
].map((h) => Buffer.from(h, 'hex'));

/** A payload with one invalid UTF-8 sequence at a random place (or a truncated character at the end). */
function invalidText(rng: Random): Buffer {
  const before = randomText(rng, rng.int(0, 30));
  if (rng.chance(0.15)) {
    // a message that ends inside a character
    const char = Buffer.from(String.fromCodePoint(rng.pick([0x20ac, 0x1f600, 0x7ff, 0xffff])));
    return Buffer.concat([before, char.subarray(0, rng.int(1, char.length - 1))]);
  }
  return Buffer.concat([before, rng.pick(INVALID_SEQUENCES), randomText(rng, rng.int(0, 30))]);
}

/** A masking key: usually random, sometimes all zero (still a mask). */
function maskFor(rng: Random): Uint8Array {
  return rng.chance(0.05) ? new Uint8Array(4) : rng.bytes(4);
}

/** Split `payload` into 1–`max` fragments at random places (inside characters too). */
function fragment(rng: Random, opcode: number, payload: Buffer, max = 4): WireFrame[] {
  const pieces = rng.chance(0.5) ? 1 : rng.int(2, max);
  const cuts = [...new Set(Array.from({ length: pieces - 1 }, () => rng.int(0, payload.length)))].sort((a, b) => a - b);
  const bounds = [0, ...cuts, payload.length];
  const frames: WireFrame[] = [];
  for (let i = 0; i < bounds.length - 1; i++) {
    frames.push(
      frame(i === 0 ? opcode : Op.Continuation, payload.subarray(bounds[i], bounds[i + 1]), {
        fin: i === bounds.length - 2,
        mask: maskFor(rng),
        lengthForm: lengthFormFor(rng, bounds[i + 1] - bounds[i]),
      }),
    );
  }
  return frames;
}

/** Usually the minimal length form; now and then a longer one (§5.2 binds the sender only). */
function lengthFormFor(rng: Random, length: number): 7 | 16 | 64 {
  const minimal = minimalForm(length);
  if (!rng.chance(0.05)) return minimal;
  return minimal === 7 ? rng.pick([16, 64] as const) : 64;
}

/** A control frame that may sit between fragments: a ping (answered) or an unsolicited pong. */
function control(rng: Random): WireFrame {
  const payload = rng.chance(0.5) ? randomText(rng, rng.int(0, 20)) : Buffer.from(rng.bytes(rng.int(0, 125)));
  return frame(rng.chance(0.7) ? Op.Ping : Op.Pong, payload.subarray(0, 125), { mask: maskFor(rng) });
}

/** Insert control frames at random places between frames. */
function interleave(rng: Random, frames: WireFrame[]): WireFrame[] {
  const out: WireFrame[] = [];
  for (const f of frames) {
    while (rng.chance(0.2)) out.push(control(rng));
    out.push(f);
  }
  return out;
}

/** A valid message, fragmented. */
function message(rng: Random, maxLength: number): WireFrame[] {
  const length = rng.length(maxLength);
  if (rng.chance(0.5)) return fragment(rng, Op.Text, randomText(rng, length));
  return fragment(rng, Op.Binary, Buffer.from(rng.bytes(length)));
}

/** A few valid messages with control frames among their fragments. */
function validPrefix(rng: Random, count = rng.int(0, 3), maxLength = 300): WireFrame[] {
  const frames: WireFrame[] = [];
  for (let i = 0; i < count; i++) frames.push(...message(rng, maxLength));
  return interleave(rng, frames);
}

/** A close code, biased to the edges of §7.4's ranges. */
function closeCode(rng: Random): number {
  const edges = [0, 999, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1011, 1012, 1014, 1015, 1016, 2999, 3000, 3999, 4000, 4999, 5000, 65535];
  return rng.chance(0.6) ? rng.pick(edges) : rng.int(0, 65535);
}

/** A valid close frame (random valid code, UTF-8 reason of at most 123 bytes), or an empty one. */
function validClose(rng: Random): WireFrame {
  if (rng.chance(0.15)) return frame(Op.Close, new Uint8Array(0), { mask: maskFor(rng) });
  let code = closeCode(rng);
  while (!isValidCloseCode(code)) code = rng.int(1000, 4999);
  let reason = randomText(rng, rng.int(0, 60));
  while (reason.length > 123) reason = reason.subarray(0, reason.length - 1);
  if (!isUtf8Complete(reason)) reason = Buffer.from('bye');
  return frame(Op.Close, closeBody(code, reason), { mask: maskFor(rng) });
}

function isUtf8Complete(bytes: Buffer): boolean {
  return Buffer.from(bytes.toString('utf8')).equals(bytes);
}

/** Random write boundaries over the stream (random TCP chunking). */
function chop(rng: Random, frames: WireFrame[]): number[] {
  const total = frames.reduce((sum, f) => sum + headerSize(f) + f.payload.length, 0);
  if (total <= 1 || rng.chance(0.25)) return [];
  if (total < 300 && rng.chance(0.15)) return Array.from({ length: total - 1 }, (_, i) => i + 1);
  const cuts = Array.from({ length: rng.int(1, 8) }, () => rng.int(1, total - 1));
  return [...new Set(cuts)].sort((a, b) => a - b);
}

function done(rng: Random, frames: WireFrame[]): Generated {
  return { frames, cuts: chop(rng, frames) };
}

// ---- the properties ----

/** The server properties, in report order. */
export const PROPERTIES: readonly PropertyDef[] = [
  {
    name: 'valid-streams',
    title: 'random valid streams are echoed: fragmentation, interleaved pings and pongs, masks, length forms, TCP chunking',
    rfc: '5.4',
    generate(rng) {
      const frames = validPrefix(rng, rng.int(1, 5), rng.chance(0.1) ? 70_000 : 300);
      if (rng.chance(0.5)) frames.push(validClose(rng));
      return done(rng, frames);
    },
  },
  {
    name: 'invalid-utf8',
    title: 'invalid UTF-8 split anywhere fails with 1007',
    rfc: '8.1',
    generate(rng) {
      const frames = validPrefix(rng);
      if (rng.chance(0.15)) {
        frames.push(frame(Op.Close, closeBody(1000, invalidText(rng).subarray(0, 123)), { mask: maskFor(rng) }));
      } else frames.push(...interleave(rng, fragment(rng, Op.Text, invalidText(rng), 5)));
      frames.push(...validPrefix(rng, rng.int(0, 1)));
      return done(rng, frames);
    },
  },
  {
    name: 'protocol-violations',
    title: 'one protocol violation (RSV, opcode, mask, control frame, fragmentation, close body, length) fails with 1002',
    rfc: '5.2',
    generate(rng) {
      const frames = validPrefix(rng);
      const kind = rng.int(0, 9);
      const m = maskFor(rng);
      const some = (n = rng.int(0, 20)): Buffer => randomText(rng, n);
      switch (kind) {
        case 0: {
          const f = rng.pick([frame(Op.Text, some(), { mask: m }), frame(Op.Binary, some(), { mask: m }), frame(Op.Ping, some(), { mask: m }), validClose(rng)]);
          frames.push({ ...f, rsv: rng.int(1, 7) });
          break;
        }
        case 1:
          frames.push(frame(rng.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), some(), { mask: m }));
          break;
        case 2: {
          const f = rng.pick([frame(Op.Text, some(), { mask: null }), frame(Op.Ping, some(), { mask: null }), frame(Op.Close, closeBody(1000), { mask: null })]);
          frames.push(f);
          break;
        }
        case 3: {
          const n = rng.int(126, 300);
          const payload = rng.chance(0.5) ? Buffer.from(rng.bytes(n)) : closeBody(1000, 'x'.repeat(n - 2));
          frames.push(frame(rng.pick([Op.Ping, Op.Pong, Op.Close]), payload, { mask: m }));
          break;
        }
        case 4:
          frames.push(frame(rng.pick([Op.Ping, Op.Pong]), some(), { fin: false, mask: m }), frame(Op.Continuation, some(), { mask: maskFor(rng) }));
          break;
        case 5:
          frames.push(frame(Op.Continuation, some(), { fin: rng.chance(0.5), mask: m }));
          break;
        case 6: {
          const first = frame(rng.pick([Op.Text, Op.Binary]), some(), { fin: false, mask: m });
          frames.push(first, ...interleave(rng, [frame(rng.pick([Op.Text, Op.Binary]), some(), { fin: rng.chance(0.5), mask: maskFor(rng) })]));
          break;
        }
        case 7:
          frames.push(frame(Op.Close, Buffer.from([rng.int(0, 255)]), { mask: m }));
          break;
        case 8: {
          let code = closeCode(rng);
          while (isValidCloseCode(code)) code = closeCode(rng);
          frames.push(frame(Op.Close, closeBody(code, some(rng.int(0, 10))), { mask: m }));
          break;
        }
        default: {
          // 64-bit length with the top bit set: nothing can follow it
          frames.push(frame(rng.pick([Op.Text, Op.Binary]), some(rng.int(0, 8)), { mask: m, declaredLength: (1n << 63n) | BigInt(rng.int(0, 1 << 20)) }));
          return { frames, cuts: chop(rng, frames) };
        }
      }
      frames.push(...validPrefix(rng, rng.int(0, 2)));
      return done(rng, frames);
    },
  },
  {
    name: 'close',
    title: 'close frames with random codes and reasons are echoed, or fail with 1002 / 1007',
    rfc: '7.4',
    generate(rng) {
      const frames = validPrefix(rng);
      const code = closeCode(rng);
      const roll = rng.int(0, 9);
      let reason = roll < 7 ? randomText(rng, rng.int(0, 40)) : roll < 9 ? invalidText(rng) : Buffer.alloc(124, 0x72);
      if (roll < 7) reason = Buffer.from(reason.toString('utf8').slice(0, 40));
      if (roll < 9 && reason.length > 123) reason = reason.subarray(0, 123);
      const body = rng.chance(0.1) ? new Uint8Array(0) : closeBody(code, reason);
      frames.push(frame(Op.Close, body, { mask: maskFor(rng) }));
      if (rng.chance(0.5)) frames.push(...validPrefix(rng, 1));
      return done(rng, frames);
    },
  },
  {
    name: 'deflate',
    title: 'random compressed messages (permessage-deflate, every offer of 13.x, context takeover, fragments, pings) are echoed',
    rfc: '7692 §7.2',
    needsDeflate: true,
    generate(rng) {
      const messages: PlainMessage[] = Array.from({ length: rng.int(1, 6) }, () => {
        const n = rng.chance(0.1) ? rng.int(0, 70_000) : rng.length(3000);
        if (rng.chance(0.5)) return { opcode: Op.Text, payload: randomText(rng, n) };
        const payload = rng.chance(0.5) ? Buffer.from(rng.bytes(n)) : Buffer.alloc(n, rng.int(0, 255));
        return { opcode: Op.Binary, payload };
      });
      const pingsAfter = messages.map((_, i) => i).filter(() => rng.chance(0.3));
      const cuts = rng.chance(0.5) ? [] : [...new Set(Array.from({ length: rng.int(1, 6) }, () => rng.int(1, 4000)))].sort((a, b) => a - b);
      return { frames: [], cuts, deflate: { offer: rng.pick(DEFLATE_OFFERS), messages, fragment: rng.chance(0.4) ? rng.int(1, 64) : undefined, pingsAfter } };
    },
  },
  {
    name: 'deflate-limits',
    title: 'compressed messages around the declared limit (deflate bombs among them) are echoed or fail with 1009',
    rfc: '10.4',
    needsMaxMessage: true,
    needsDeflate: true,
    generate(rng, context) {
      const max = context.maxMessage!;
      const n = Math.max(0, rng.chance(0.5) ? max + rng.int(-2, 2) : max * rng.int(2, 8));
      const payload = rng.chance(0.7) ? Buffer.alloc(n, rng.int(0, 255)) : Buffer.from(randomText(rng, n).subarray(0, n).toString('utf8'));
      return { frames: [], cuts: [], deflate: { offer: 'permessage-deflate', messages: [{ opcode: Op.Binary, payload }], fragment: rng.chance(0.5) ? rng.int(1, 64) : undefined, pingsAfter: [] } };
    },
  },
  {
    name: 'limits',
    title: 'messages around the declared limit are echoed or fail with 1009',
    rfc: '10.4',
    needsMaxMessage: true,
    generate(rng, context) {
      const max = context.maxMessage!;
      const frames = validPrefix(rng, rng.int(0, 1));
      const length = Math.max(0, max + rng.int(-2, 2) + (rng.chance(0.2) ? rng.int(0, max) : 0));
      const payload = Buffer.alloc(length, 0x61);
      frames.push(...fragment(rng, rng.pick([Op.Text, Op.Binary]), payload, 6));
      return done(rng, frames);
    },
  },
];

// ---- shrinking ----

/** Total bytes of a stream. */
export function streamLength(frames: readonly WireFrame[]): number {
  return frames.reduce((sum, f) => sum + headerSize(f) + f.payload.length, 0);
}

/**
 * Smaller variants of `g`, most aggressive first: fewer writes, fewer
 * frames, shorter payloads, fragments merged, minimal lengths, zero masks.
 * Each is re-judged against the model, so dropping a frame may change what
 * is expected — that is the point.
 */
export function* shrinkCandidates(g: Generated): Generator<Generated> {
  if (g.deflate) return yield* shrinkDeflate(g, g.deflate);
  const { frames, cuts } = g;
  if (cuts.length > 0) {
    yield { frames, cuts: [] };
    if (cuts.length > 1) {
      yield { frames, cuts: cuts.slice(0, Math.floor(cuts.length / 2)) };
      for (let i = 0; i < cuts.length; i++) yield { frames, cuts: cuts.filter((_, j) => j !== i) };
    }
  }
  const total = streamLength(frames);
  const keep = (next: WireFrame[]): Generated => {
    const max = streamLength(next);
    return { frames: next, cuts: cuts.filter((c) => c < max && c < total) };
  };
  // drop a run of frames, then single frames
  for (let size = Math.floor(frames.length / 2); size >= 1; size = Math.floor(size / 2)) {
    for (let at = 0; at + size <= frames.length; at += size) {
      if (frames.length - size >= 1) yield keep([...frames.slice(0, at), ...frames.slice(at + size)]);
    }
  }
  // merge a fragment with the continuation after it
  for (let i = 0; i + 1 < frames.length; i++) {
    const [a, b] = [frames[i], frames[i + 1]];
    if (!a.fin && b.opcode === Op.Continuation && a.declaredLength === undefined && b.declaredLength === undefined) {
      const merged: WireFrame = { ...a, fin: b.fin, payload: Buffer.concat([a.payload, b.payload]), lengthForm: undefined };
      yield keep([...frames.slice(0, i), merged, ...frames.slice(i + 2)]);
    }
  }
  // shorter payloads
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    const n = f.payload.length;
    if (n === 0 || f.declaredLength !== undefined) continue;
    const variants = new Set<string>();
    const tries: Uint8Array[] = [];
    const push = (p: Uint8Array): void => {
      const k = `${p.byteOffset}:${p.length}:${Buffer.from(p).toString('hex').slice(0, 16)}`;
      if (!variants.has(k) && p.length < n) {
        variants.add(k);
        tries.push(p);
      }
    };
    if (f.opcode !== Op.Close) push(new Uint8Array(0));
    push(f.payload.subarray(0, Math.floor(n / 2)));
    push(f.payload.subarray(n - Math.floor(n / 2)));
    push(f.payload.subarray(1));
    push(f.payload.subarray(0, n - 1));
    // A payload only shrinks, so the frame's length form still holds it.
    for (const payload of tries) yield keep(frames.map((g2, j) => (j === i ? { ...g2, payload } : g2)));
  }
  // minimal length forms, zero masks (readable hex), RSV and FIN as they are
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    if (f.lengthForm !== undefined && f.lengthForm !== minimalForm(f.payload.length) && f.declaredLength === undefined) {
      yield keep(frames.map((g2, j) => (j === i ? { ...g2, lengthForm: undefined } : g2)));
    }
  }
  if (frames.some((f) => f.mask && f.mask.some((b) => b !== 0))) {
    yield keep(frames.map((f) => (f.mask ? { ...f, mask: new Uint8Array(4) } : f)));
  }
}

/** The stream's bytes (for reports). */
export function streamBytes(frames: readonly WireFrame[]): Buffer {
  return Buffer.concat(frames.map(encodeFrame));
}

/** Shrinking a compressed stream works on its messages (their frames depend on the handshake). */
function* shrinkDeflate(g: Generated, d: NonNullable<Generated['deflate']>): Generator<Generated> {
  const next = (change: Partial<NonNullable<Generated['deflate']>>, cuts = g.cuts): Generated => ({ frames: [], cuts, deflate: { ...d, ...change } });
  if (g.cuts.length > 0) yield next({}, []);
  if (d.offer !== 'permessage-deflate') yield next({ offer: 'permessage-deflate' });
  if (d.fragment !== undefined) yield next({ fragment: undefined });
  if (d.pingsAfter.length > 0) yield next({ pingsAfter: [] });
  for (let i = 0; i < d.messages.length && d.messages.length > 1; i++) {
    yield next({ messages: d.messages.filter((_, j) => j !== i), pingsAfter: d.pingsAfter.filter((p) => p !== i).map((p) => (p > i ? p - 1 : p)) });
  }
  for (let i = 0; i < d.messages.length; i++) {
    const p = d.messages[i].payload;
    // the same length of one repeated byte first: it compresses to almost nothing (a bomb stays a bomb)
    const same = Buffer.alloc(p.length, 0x61);
    if (!same.equals(p)) yield next({ messages: d.messages.map((m, j) => (j === i ? { ...m, payload: same } : m)) });
    for (const shorter of [p.subarray(0, 0), p.subarray(0, Math.floor(p.length / 2)), p.subarray(0, p.length - 1)]) {
      if (shorter.length < p.length && (d.messages[i].opcode !== Op.Text || isUtf8Complete(Buffer.from(shorter)))) {
        yield next({ messages: d.messages.map((m, j) => (j === i ? { ...m, payload: shorter } : m)) });
      }
    }
  }
}
