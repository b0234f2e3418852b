// The deterministic cases of the server suite, numbered as in the Autobahn
// TestSuite (sections 1–7, 9 and 10) so results can be set beside
// Autobahn's reports, plus a few of pushwire's own (length encodings,
// masking, UTF-8 split inside a sequence, declared limits), marked as such.
// A case is only the frames and how they are written: what the server
// should do comes from the model (model.ts), not from the case.
import { DEFLATE_OFFERS, type PlainMessage } from './deflate.js';
import { deriveSeed, Random } from './random.js';
import { utf8Groups } from './utf8-vectors.js';
import { closeBody, frame, headerSize, Op, type WireFrame } from './wire.js';
import type { Scenario } from './runner.js';

/** A group of cases under one RFC section (how reports are laid out). */
export interface CaseGroup {
  key: string;
  /** RFC 6455 section, e.g. `5.4`. */
  rfc: string;
  title: string;
}

/** The groups, in report order. */
export const GROUPS: readonly CaseGroup[] = [
  { key: 'handshake', rfc: '4.1', title: 'Opening handshake' },
  { key: 'lengths', rfc: '5.2', title: 'Base framing: payload lengths and their encodings' },
  { key: 'masking', rfc: '5.3', title: 'Client-to-server masking' },
  { key: 'ping', rfc: '5.5.2', title: 'Ping and Pong' },
  { key: 'rsv', rfc: '5.2', title: 'Reserved bits' },
  { key: 'opcodes', rfc: '5.2', title: 'Reserved opcodes' },
  { key: 'fragmentation', rfc: '5.4', title: 'Fragmentation' },
  { key: 'utf8', rfc: '8.1', title: 'UTF-8 in text messages' },
  { key: 'close', rfc: '5.5.1', title: 'Closing handshake' },
  { key: 'close-codes', rfc: '7.4', title: 'Close status codes' },
  { key: 'misc', rfc: '5.4', title: 'Miscellaneous (Autobahn 10)' },
  { key: 'limits', rfc: '10.4', title: 'Implementation limits (with --max-message)' },
  { key: 'performance', rfc: '10.4', title: 'Performance and large messages (Autobahn 9, opt-in)' },
  { key: 'deflate-payloads', rfc: '7692 §7.2', title: 'permessage-deflate: payloads (Autobahn 12)' },
  { key: 'deflate-parameters', rfc: '7692 §7.1', title: 'permessage-deflate: offers and parameters (Autobahn 13)' },
];

/** What a case asks the runner and the judge to do. */
export interface CaseScenario extends Pick<Scenario, 'chunks' | 'pauses' | 'offer'> {
  frames: WireFrame[];
  /** Recorded, not judged (Autobahn INFORMATIONAL). */
  informational?: boolean;
  /** A fail-fast server closes before the tool writes past this offset. */
  failFastBy?: number;
  /**
   * permessage-deflate (RFC 7692): `offer` is made, and these messages are
   * sent compressed — with context takeover unless the answer or the offer
   * rules it out — their compressed bytes cut into `fragment`-byte frames.
   * `frames` is then ignored.
   */
  deflate?: { messages: PlainMessage[]; fragment?: number };
}

/** What the user told the tool about the server. */
export interface CaseContext {
  /** The server's largest message, when known (`--max-message`). */
  maxMessage?: number;
}

/** One deterministic case. */
export interface CaseDef {
  /** Autobahn's number (or pushwire's own, in sections Autobahn leaves free). */
  id: string;
  title: string;
  group: string;
  origin: 'autobahn' | 'pushwire';
  /** Section 9: only with `performance: true`. */
  performance?: boolean;
  /** Only when the server's message limit is known. */
  needsMaxMessage?: boolean;
  /** Autobahn 12/13: only when the server accepts permessage-deflate. */
  needsDeflate?: boolean;
  build(context: CaseContext): CaseScenario;
}

const text = (payload: Uint8Array | string, options?: Parameters<typeof frame>[2]): WireFrame => frame(Op.Text, payload, options);
const binary = (payload: Uint8Array | string, options?: Parameters<typeof frame>[2]): WireFrame => frame(Op.Binary, payload, options);
const cont = (payload: Uint8Array | string, options?: Parameters<typeof frame>[2]): WireFrame => frame(Op.Continuation, payload, options);
const ping = (payload: Uint8Array | string = '', options?: Parameters<typeof frame>[2]): WireFrame => frame(Op.Ping, payload, options);
const pong = (payload: Uint8Array | string = '', options?: Parameters<typeof frame>[2]): WireFrame => frame(Op.Pong, payload, options);
const close = (code?: number, reason: Uint8Array | string = '', options?: Parameters<typeof frame>[2]): WireFrame =>
  frame(Op.Close, closeBody(code, reason), options);
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

/** End offset of each frame in the stream. */
export function frameEnds(frames: readonly WireFrame[]): number[] {
  let at = 0;
  return frames.map((f) => (at += headerSize(f) + f.payload.length));
}

/** Split a payload into fragments of `size` (the first with `opcode`, the rest continuations). */
function fragments(opcode: number, payload: Uint8Array, size: number): WireFrame[] {
  const out: WireFrame[] = [];
  for (let at = 0; at < payload.length || out.length === 0; at += size) {
    const end = Math.min(payload.length, at + size);
    out.push(frame(out.length === 0 ? opcode : Op.Continuation, payload.subarray(at, end), { fin: end >= payload.length }));
  }
  return out;
}

const cases: CaseDef[] = [];
function add(id: string, group: string, title: string, build: (c: CaseContext) => CaseScenario, extra: Partial<CaseDef> = {}): void {
  cases.push({ id, group, title, build, origin: 'autobahn', ...extra });
}
function own(id: string, group: string, title: string, build: (c: CaseContext) => CaseScenario, extra: Partial<CaseDef> = {}): void {
  add(id, group, title, build, { origin: 'pushwire', ...extra });
}

// ---- 1 Framing (§5.2): every length form, text and binary ----
const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536];
LENGTHS.forEach((n, i) => add(`1.1.${i + 1}`, 'lengths', `text, ${n} bytes`, () => ({ frames: [text('*'.repeat(n))] })));
add('1.1.8', 'lengths', 'text, 65536 bytes, written in chops of 997 bytes', () => {
  const frames = [text('*'.repeat(65536))];
  const total = frameEnds(frames)[0];
  return { frames, chunks: Array.from({ length: Math.ceil(total / 997) }, (_, i) => Math.min(total, (i + 1) * 997)) };
});
LENGTHS.forEach((n, i) => add(`1.2.${i + 1}`, 'lengths', `binary, ${n} bytes`, () => ({ frames: [binary(Buffer.alloc(n, 0xfe))] })));
add('1.2.8', 'lengths', 'binary, 65536 bytes, written in chops of 997 bytes', () => {
  const frames = [binary(Buffer.alloc(65536, 0xfe))];
  const total = frameEnds(frames)[0];
  return { frames, chunks: Array.from({ length: Math.ceil(total / 997) }, (_, i) => Math.min(total, (i + 1) * 997)) };
});
own('1.3.1', 'lengths', 'text of 5 bytes with a 16-bit length (non-minimal)', () => ({ frames: [text('Hello', { lengthForm: 16 })] }));
own('1.3.2', 'lengths', 'text of 5 bytes with a 64-bit length (non-minimal)', () => ({ frames: [text('Hello', { lengthForm: 64 })] }));
own('1.3.3', 'lengths', 'binary of 200 bytes with a 64-bit length (non-minimal)', () => ({ frames: [binary(Buffer.alloc(200, 7), { lengthForm: 64 })] }));
own('1.3.4', 'lengths', '64-bit length with the most significant bit set', () => ({
  frames: [text('ok'), binary(Buffer.alloc(4, 1), { declaredLength: (1n << 63n) | 4n })],
}));
own('1.3.5', 'lengths', 'two messages and a ping in one write', () => ({ frames: [text('one'), binary(hex('00ff')), ping('p'), text('two')], chunks: 'whole' }));

// ---- masking (§5.1, §5.3) ----
own('1.4.1', 'masking', 'unmasked text frame', () => ({ frames: [text('Hello', { mask: null })] }));
own('1.4.2', 'masking', 'unmasked frame after a masked message', () => ({ frames: [text('first'), binary(hex('0102'), { mask: null })] }));
own('1.4.3', 'masking', 'unmasked ping', () => ({ frames: [ping('x', { mask: null })] }));
own('1.4.4', 'masking', 'an all-zero masking key is still a mask', () => ({ frames: [text('zero mask', { mask: new Uint8Array(4) })] }));

// ---- 2 Pings and pongs (§5.5.2, §5.5.3) ----
add('2.1', 'ping', 'ping without payload', () => ({ frames: [ping()] }));
add('2.2', 'ping', 'ping with a small text payload', () => ({ frames: [ping('Hello, world!')] }));
add('2.3', 'ping', 'ping with a small binary payload', () => ({ frames: [ping(hex('00fffefdfcfb00ff'))] }));
add('2.4', 'ping', 'ping with a 125-byte payload', () => ({ frames: [ping(Buffer.alloc(125, 0xfe))] }));
add('2.5', 'ping', 'ping with a 126-byte payload', () => ({ frames: [ping(Buffer.alloc(126, 0xfe))] }));
add('2.6', 'ping', 'ping with a 125-byte payload, written byte by byte', () => ({ frames: [ping(Buffer.alloc(125, 0xfe))], chunks: 'octets' }));
add('2.7', 'ping', 'unsolicited pong without payload', () => ({ frames: [pong()] }));
add('2.8', 'ping', 'unsolicited pong with payload', () => ({ frames: [pong('unsolicited pong payload')] }));
add('2.9', 'ping', 'unsolicited pong, then ping', () => ({ frames: [pong('unsolicited pong payload'), ping('ping payload')] }));
add('2.10', 'ping', 'ten pings', () => ({ frames: Array.from({ length: 10 }, (_, i) => ping(`payload-${i}`)) }));
add('2.11', 'ping', 'ten pings, written byte by byte', () => ({ frames: Array.from({ length: 10 }, (_, i) => ping(`payload-${i}`)), chunks: 'octets' }));

// ---- 3 Reserved bits (§5.2) ----
add('3.1', 'rsv', 'text with RSV = 1', () => ({ frames: [text('Hello, world!', { rsv: 1 })] }));
add('3.2', 'rsv', 'text, then text with RSV = 2, then ping', () => ({ frames: [text('Hello, world!'), text('Hello, world!', { rsv: 2 }), ping()] }));
add('3.3', 'rsv', 'text, then text with RSV = 3, then ping, frame by frame', () => ({
  frames: [text('Hello, world!'), text('Hello, world!', { rsv: 3 }), ping()],
  chunks: 'frames',
}));
add('3.4', 'rsv', 'text, then text with RSV = 4, then ping, byte by byte', () => ({
  frames: [text('Hello, world!'), text('Hello, world!', { rsv: 4 }), ping()],
  chunks: 'octets',
}));
add('3.5', 'rsv', 'binary with RSV = 5', () => ({ frames: [binary(hex('00fffefdfcfb00ff'), { rsv: 5 })] }));
add('3.6', 'rsv', 'ping with RSV = 6', () => ({ frames: [ping('Hello, world!', { rsv: 6 })] }));
add('3.7', 'rsv', 'close with RSV = 7', () => ({ frames: [close(1000, '', { rsv: 7 })] }));

// ---- 4 Opcodes (§5.2) ----
for (const [base, opcodes] of [
  ['4.1', [3, 4, 5, 6, 7]],
  ['4.2', [11, 12, 13, 14, 15]],
] as const) {
  const kind = base === '4.1' ? 'non-control' : 'control';
  add(`${base}.1`, 'opcodes', `reserved ${kind} opcode ${opcodes[0]}`, () => ({ frames: [frame(opcodes[0])] }));
  add(`${base}.2`, 'opcodes', `reserved ${kind} opcode ${opcodes[1]} with payload`, () => ({ frames: [frame(opcodes[1], 'reserved opcode payload')] }));
  for (let i = 2; i < 5; i++) {
    add(`${base}.${i + 1}`, 'opcodes', `text, reserved ${kind} opcode ${opcodes[i]}${i > 2 ? ' with payload' : ''}, ping`, () => ({
      frames: [text('Hello, world!'), frame(opcodes[i], i > 2 ? 'reserved opcode payload' : ''), ping()],
    }));
  }
}

// ---- 5 Fragmentation (§5.4) ----
add('5.1', 'fragmentation', 'ping in two fragments', () => ({ frames: [ping('fragment1', { fin: false }), cont('fragment2')] }));
add('5.2', 'fragmentation', 'pong in two fragments', () => ({ frames: [pong('fragment1', { fin: false }), cont('fragment2')] }));
for (const [id, chunks, how] of [
  ['5.3', 'whole', 'one write'],
  ['5.4', 'frames', 'frame by frame'],
  ['5.5', 'octets', 'byte by byte'],
] as const) {
  add(id, 'fragmentation', `text in two fragments, ${how}`, () => ({ frames: [text('fragment1', { fin: false }), cont('fragment2')], chunks }));
}
for (const [id, chunks, how] of [
  ['5.6', 'whole', 'one write'],
  ['5.7', 'frames', 'frame by frame'],
  ['5.8', 'octets', 'byte by byte'],
] as const) {
  add(id, 'fragmentation', `text in two fragments with a ping between, ${how}`, () => ({
    frames: [text('fragment1', { fin: false }), ping('pongme!'), cont('fragment2')],
    chunks,
  }));
}
for (const [first, fin] of [
  [9, true],
  [12, false],
] as const) {
  (['whole', 'frames', 'octets'] as const).forEach((chunks, i) =>
    add(`5.${first + i}`, 'fragmentation', `continuation (FIN ${fin ? 'set' : 'clear'}) with nothing to continue, then text, ${chunks === 'whole' ? 'one write' : chunks === 'frames' ? 'frame by frame' : 'byte by byte'}`, () => ({
      frames: [cont('fragment1', { fin }), text('fragment2'), cont('fragment3')],
      chunks,
    })),
  );
}
add('5.15', 'fragmentation', 'text in two fragments, then a continuation with nothing to continue, then text', () => ({
  frames: [text('fragment1', { fin: false }), cont('fragment2'), cont('fragment3', { fin: false }), text('fragment4')],
}));
add('5.16', 'fragmentation', 'twice: continuation (FIN clear) with nothing to continue, then text in two fragments', () => ({
  frames: [cont('fragment1', { fin: false }), text('fragment2', { fin: false }), cont('fragment3'), cont('fragment1', { fin: false }), text('fragment2', { fin: false }), cont('fragment3')],
}));
add('5.17', 'fragmentation', 'twice: continuation (FIN set) with nothing to continue, then text in two fragments', () => ({
  frames: [cont('fragment1'), text('fragment2', { fin: false }), cont('fragment3'), cont('fragment1'), text('fragment2', { fin: false }), cont('fragment3')],
}));
add('5.18', 'fragmentation', 'text in two fragments, both with the text opcode', () => ({ frames: [text('fragment1', { fin: false }), text('fragment2')] }));
const fiveFragments = (): WireFrame[] => [
  text('fragment1', { fin: false }),
  cont('fragment2', { fin: false }),
  ping('pongme 1!'),
  cont('fragment3', { fin: false }),
  cont('fragment4', { fin: false }),
  ping('pongme 2!'),
  cont('fragment5'),
];
add('5.19', 'fragmentation', 'text in five fragments with two pings among them, pausing after the first ping', () => {
  const frames = fiveFragments();
  return { frames, chunks: 'whole', pauses: [frameEnds(frames)[2]] };
});
add('5.20', 'fragmentation', 'as 5.19, frame by frame', () => {
  const frames = fiveFragments();
  return { frames, chunks: 'frames', pauses: [frameEnds(frames)[2]] };
});
own('5.21', 'fragmentation', 'a binary frame inside a fragmented text message', () => ({ frames: [text('frag', { fin: false }), binary('ment')] }));
own('5.22', 'fragmentation', 'many fragments, empty ones among them', () => ({
  frames: [binary('', { fin: false }), cont('a', { fin: false }), cont('', { fin: false }), cont('b', { fin: false }), cont('')],
}));

// ---- 6 UTF-8 (§5.6, §8.1) ----
const KOSME = hex('cebae1bdb9cf83cebcceb5');
const EDITED = Buffer.from('edited');
add('6.1.1', 'utf8', 'empty text message', () => ({ frames: [text('')] }));
add('6.1.2', 'utf8', 'text in three empty fragments', () => ({ frames: [text('', { fin: false }), cont('', { fin: false }), cont('')] }));
add('6.1.3', 'utf8', 'text in three fragments, the first and last empty', () => ({
  frames: [text('', { fin: false }), cont('middle frame payload', { fin: false }), cont('')],
}));
const HELLO = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!');
add('6.2.1', 'utf8', 'valid UTF-8 in one frame', () => ({ frames: [text(HELLO)] }));
add('6.2.2', 'utf8', 'valid UTF-8 in two fragments split on a code point boundary', () => ({
  frames: [text(HELLO.subarray(0, 14), { fin: false }), cont(HELLO.subarray(14))],
}));
add('6.2.3', 'utf8', 'valid UTF-8 in one-byte fragments (splitting code points)', () => ({ frames: fragments(Op.Text, HELLO, 1) }));
add('6.2.4', 'utf8', 'κόσμε in one-byte fragments', () => ({ frames: fragments(Op.Text, KOSME, 1) }));
const INVALID_631 = Buffer.concat([KOSME, hex('eda080'), EDITED]);
add('6.3.1', 'utf8', 'invalid UTF-8 (a surrogate) in one frame', () => ({ frames: [text(INVALID_631)] }));
add('6.3.2', 'utf8', 'invalid UTF-8 (a surrogate) in one-byte fragments', () => ({ frames: fragments(Op.Text, INVALID_631, 1) }));
// 6.4: fail fast. In fragments, a ping follows each one: a fail-fast server
// has failed before it reads the ping after the invalid fragment, a lenient
// one answers it (the model knows both, so no timing is involved). Inside
// one frame a ping cannot be slipped in: the tool pauses after each chop
// instead (Autobahn waits 1 s), and a fail-fast server closes during the pause.
for (const [id, parts, asFrames] of [
  ['6.4.1', [KOSME, hex('f4908080'), EDITED], true],
  ['6.4.2', [Buffer.concat([KOSME, hex('f4')]), hex('90'), Buffer.concat([hex('8080'), EDITED])], true],
  ['6.4.3', [KOSME, hex('f4908080'), EDITED], false],
  ['6.4.4', [Buffer.concat([KOSME, hex('f4')]), hex('90'), Buffer.concat([hex('8080'), EDITED])], false],
] as const) {
  const title = `invalid UTF-8 (above U+10FFFF${parts[1].length === 1 ? ', split inside the sequence' : ''}) in three ${asFrames ? 'fragments, a ping after each' : 'chops of one frame, pausing after the invalid one'}`;
  add(id, 'utf8', title, () => {
    if (asFrames) {
      return { frames: [text(parts[0], { fin: false }), ping('after part 1'), cont(parts[1], { fin: false }), ping('after part 2'), cont(parts[2])] };
    }
    const frames = [text(Buffer.concat(parts))];
    const start = headerSize(frames[0]);
    const cut1 = start + parts[0].length;
    const cut2 = cut1 + parts[1].length;
    return { frames, chunks: [cut1, cut2], pauses: [cut2], failFastBy: cut2 };
  });
}
for (const group of utf8Groups()) {
  group.vectors.forEach((bytes, i) =>
    add(`6.${group.section}.${i + 1}`, 'utf8', `${group.title}: ${bytes.length > 12 ? `${bytes.subarray(0, 12).toString('hex')}… (${bytes.length} bytes)` : bytes.toString('hex') || 'empty'}`, () => ({
      frames: [text(bytes)],
    })),
  );
}
// pushwire: each invalid sequence split inside itself, across fragments and across writes.
const SPLIT_VECTORS: [string, Buffer][] = [
  ['surrogate ED A0 80', hex('eda080')],
  ['above U+10FFFF F4 90 80 80', hex('f4908080')],
  ['overlong E0 80 AF', hex('e080af')],
  ['overlong 4-byte F0 80 80 AF', hex('f08080af')],
  ['lead byte then ASCII C2 41', hex('c241')],
];
let split = 0;
for (const [name, seq] of SPLIT_VECTORS) {
  for (let cut = 1; cut < seq.length; cut++) {
    const payload = Buffer.concat([KOSME, seq, EDITED]);
    const at = KOSME.length + cut;
    own(`6.24.${++split}`, 'utf8', `${name} split after byte ${cut} of the sequence, across two fragments`, () => ({
      frames: [text(payload.subarray(0, at), { fin: false }), cont(payload.subarray(at))],
    }));
    own(`6.24.${++split}`, 'utf8', `${name} split after byte ${cut} of the sequence, across two writes of one frame`, () => {
      const f = text(payload);
      return { frames: [f], chunks: [headerSize(f) + at] };
    });
  }
}
own(`6.24.${++split}`, 'utf8', 'a text message ending inside a 3-byte sequence (E2 82)', () => ({ frames: [text(Buffer.concat([KOSME, hex('e282')]))] }));
own(`6.24.${++split}`, 'utf8', 'a fragmented text message ending inside a 4-byte sequence', () => ({
  frames: [text(KOSME, { fin: false }), cont(hex('f09f98'))],
}));
own(`6.24.${++split}`, 'utf8', 'a 4-byte sequence split across three fragments with a ping between', () => ({
  frames: [text(hex('f09f'), { fin: false }), ping('mid'), cont(hex('98'), { fin: false }), cont(hex('80'))],
}));

// ---- 7 Closing (§5.5.1, §7) ----
add('7.1.1', 'close', 'a message, then close', () => ({ frames: [text('Hello World!'), close(1000)] }));
add('7.1.2', 'close', 'two close frames', () => ({ frames: [close(1000), close(1000)] }));
add('7.1.3', 'close', 'close, then ping', () => ({ frames: [close(1000), ping('ping after close')] }));
add('7.1.4', 'close', 'close, then a text message', () => ({ frames: [close(1000), text('message after close')] }));
add('7.1.5', 'close', 'first fragment, close, last fragment', () => ({ frames: [text('fragment1', { fin: false }), close(1000), cont('fragment2')] }));
add('7.1.6', 'close', 'a 256 KiB message, then close, then ping', () => ({
  frames: [text('BAsd7&jh23'.repeat(26214) + 'BAsd'), close(1000), ping('ping after close')],
  informational: true,
}));
add('7.3.1', 'close', 'close without a body', () => ({ frames: [close()] }));
add('7.3.2', 'close', 'close with a 1-byte body', () => ({ frames: [frame(Op.Close, hex('03'))] }));
add('7.3.3', 'close', 'close with a code and no reason', () => ({ frames: [close(1000)] }));
add('7.3.4', 'close', 'close with a code and a reason', () => ({ frames: [close(1000, 'Ok')] }));
add('7.3.5', 'close', 'close with a 123-byte reason (the most that fits)', () => ({ frames: [close(1000, '*'.repeat(123))] }));
add('7.3.6', 'close', 'close with a 124-byte reason (a 126-byte control frame)', () => ({ frames: [close(1000, '*'.repeat(124))] }));
add('7.5.1', 'close', 'close with a reason that is not UTF-8', () => ({ frames: [close(1000, INVALID_631)] }));
const VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999];
VALID_CODES.forEach((code, i) => add(`7.7.${i + 1}`, 'close-codes', `close with valid code ${code}`, () => ({ frames: [close(code)] })));
[1012, 1013, 1014].forEach((code, i) =>
  own(`7.7.${VALID_CODES.length + i + 1}`, 'close-codes', `close with code ${code} (registered with IANA after RFC 6455)`, () => ({ frames: [close(code)] })),
);
[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999].forEach((code, i) =>
  add(`7.9.${i + 1}`, 'close-codes', `close with invalid code ${code}`, () => ({ frames: [close(code)] })),
);
add('7.13.1', 'close-codes', 'close with code 5000 (above the defined ranges)', () => ({ frames: [close(5000)], informational: true }));
add('7.13.2', 'close-codes', 'close with code 65535', () => ({ frames: [close(65535)], informational: true }));

// ---- 10 Misc ----
add('10.1.1', 'misc', 'text of 65536 bytes in fragments of 1300', () => ({ frames: fragments(Op.Text, Buffer.alloc(65536, 0x2a), 1300) }));

// ---- limits, when the server's maximum message size is known (§10.4) ----
own('10.2.1', 'limits', 'a message of exactly the limit', (c) => ({ frames: [binary(Buffer.alloc(c.maxMessage!, 0x61))] }), { needsMaxMessage: true });
own('10.2.2', 'limits', 'a message one byte over the limit, in one frame', (c) => ({ frames: [binary(Buffer.alloc(c.maxMessage! + 1, 0x61))] }), {
  needsMaxMessage: true,
});
own('10.2.3', 'limits', 'a message over the limit in two fragments', (c) => {
  const half = Math.ceil((c.maxMessage! + 1) / 2);
  return { frames: [binary(Buffer.alloc(half, 0x61), { fin: false }), cont(Buffer.alloc(half, 0x62))] };
}, { needsMaxMessage: true });
own('10.2.4', 'limits', 'a frame announcing 2^62 bytes (header only)', () => ({ frames: [binary(new Uint8Array(0), { declaredLength: 1n << 62n })] }), {
  needsMaxMessage: true,
});

// ---- 9 Performance (opt-in) ----
const SIZES = [64 * 1024, 256 * 1024, 1 << 20, 4 << 20, 8 << 20, 16 << 20];
const size = (n: number): string => (n >= 1 << 20 ? `${n >> 20} MiB` : n >= 1024 ? `${n >> 10} KiB` : `${n} B`);
const perf = { performance: true };
SIZES.forEach((n, i) => add(`9.1.${i + 1}`, 'performance', `text of ${size(n)}`, () => ({ frames: [text(Buffer.alloc(n, 0x2a))] }), perf));
SIZES.forEach((n, i) => add(`9.2.${i + 1}`, 'performance', `binary of ${size(n)}`, () => ({ frames: [binary(Buffer.alloc(n, 0xfe))] }), perf));
const FRAGS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1 << 20, 4 << 20];
FRAGS.forEach((n, i) =>
  add(`9.3.${i + 1}`, 'performance', `text of 4 MiB in fragments of ${size(n)}`, () => ({ frames: fragments(Op.Text, Buffer.alloc(4 << 20, 0x2a), n), chunks: 'whole' }), perf),
);
FRAGS.forEach((n, i) =>
  add(`9.4.${i + 1}`, 'performance', `binary of 4 MiB in fragments of ${size(n)}`, () => ({ frames: fragments(Op.Binary, Buffer.alloc(4 << 20, 0xfe), n), chunks: 'whole' }), perf),
);
const CHOPS = [64, 128, 256, 512, 1024, 2048];
const chopped = (f: WireFrame, n: number): number[] => {
  const total = headerSize(f) + f.payload.length;
  return Array.from({ length: Math.ceil(total / n) }, (_, i) => Math.min(total, (i + 1) * n));
};
CHOPS.forEach((n, i) =>
  add(`9.5.${i + 1}`, 'performance', `text of 1 MiB written in chops of ${n} bytes`, () => {
    const f = text(Buffer.alloc(1 << 20, 0x2a));
    return { frames: [f], chunks: chopped(f, n) };
  }, perf),
);
CHOPS.forEach((n, i) =>
  add(`9.6.${i + 1}`, 'performance', `binary of 1 MiB written in chops of ${n} bytes`, () => {
    const f = binary(Buffer.alloc(1 << 20, 0xfe));
    return { frames: [f], chunks: chopped(f, n) };
  }, perf),
);
[0, 16, 64, 256, 1024, 4096].forEach((n, i) => {
  add(`9.7.${i + 1}`, 'performance', `1000 text messages of ${n} B, pipelined`, () => ({ frames: Array.from({ length: 1000 }, () => text('*'.repeat(n))), chunks: 'whole' }), perf);
  add(`9.8.${i + 1}`, 'performance', `1000 binary messages of ${n} B, pipelined`, () => ({ frames: Array.from({ length: 1000 }, () => binary(Buffer.alloc(n, 0xfe))), chunks: 'whole' }), perf);
});

// ---- 12/13 permessage-deflate (RFC 7692) ----
// Autobahn sends 1000 messages per case; here at most 100 and about 256 KiB,
// varied so that context takeover matters, which keeps 216 cases in seconds.
const DEFLATE_SIZES = [16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072];
const WORDS = ['lorem', 'ipsum', 'dolor', 'sit', 'amet', 'κόσμε', 'deflate', 'window', 'context', 'takeover', 'frame', 'message', '€', '𝄞'];

/** `count` messages of about `size` bytes of one kind, deterministic per case. */
function deflateMessages(id: string, kind: number, size: number, count: number): PlainMessage[] {
  const rng = new Random(deriveSeed(6455, id));
  const text = (n: number, make: () => string): Buffer => {
    const parts: string[] = [];
    for (let length = 0; length < n; ) {
      const part = make();
      parts.push(part);
      length += Buffer.byteLength(part);
    }
    const b = Buffer.from(parts.join(''));
    let end = n;
    while (end > 0 && (b[end] & 0xc0) === 0x80) end--; // whole characters only
    return b.subarray(0, end);
  };
  return Array.from({ length: count }, (_, i) => {
    switch (kind) {
      case 1:
        return { opcode: Op.Text, payload: text(size, () => `${rng.pick(WORDS)} `) };
      case 2:
        return { opcode: Op.Text, payload: text(size, () => `{"id":${i},"name":"${rng.pick(WORDS)}","tags":["${rng.pick(WORDS)}","${rng.pick(WORDS)}"],"n":${rng.int(0, 999)}},`) };
      case 3:
        return { opcode: Op.Text, payload: text(size, () => `<li class="${rng.pick(WORDS)}"><a href="/${rng.pick(WORDS)}/${rng.int(0, 99)}">${rng.pick(WORDS)}</a></li>\n`) };
      case 4:
        return { opcode: Op.Binary, payload: Buffer.from(rng.bytes(size)) };
      default: {
        const sparse = Buffer.alloc(size);
        for (let j = 0; j < size; j += rng.int(1, 64)) sparse[j] = rng.int(0, 255);
        return { opcode: Op.Binary, payload: sparse };
      }
    }
  });
}

/** How many messages of `size` a compression case sends. */
const deflateCount = (size: number): number => Math.min(100, Math.max(4, Math.floor((256 * 1024) / size)));
const deflate = { needsDeflate: true };
const PAYLOAD_KINDS = ['text', 'JSON text', 'HTML text', 'random binary', 'sparse binary'];
PAYLOAD_KINDS.forEach((kind, k) => {
  DEFLATE_SIZES.forEach((n, i) => {
    const id = `12.${k + 1}.${i + 1}`;
    add(id, 'deflate-payloads', `${deflateCount(n)} compressed ${kind} messages of ${size(n)}`, () => ({
      frames: [],
      offer: 'permessage-deflate',
      deflate: { messages: deflateMessages(id, k + 1, n, deflateCount(n)) },
    }), deflate);
  });
  DEFLATE_SIZES.slice(2).forEach((n, i) => {
    const id = `12.${k + 1}.${i + 11}`;
    add(id, 'deflate-payloads', `${deflateCount(n)} compressed ${kind} messages of ${size(n)}, in frames of 256 B`, () => ({
      frames: [],
      offer: 'permessage-deflate',
      deflate: { messages: deflateMessages(id, k + 1, n, deflateCount(n)), fragment: 256 },
    }), deflate);
  });
});
DEFLATE_OFFERS.forEach((offer, o) => {
  DEFLATE_SIZES.forEach((n, i) => {
    const id = `13.${o + 1}.${i + 1}`;
    add(id, 'deflate-parameters', `offer "${offer}": ${deflateCount(n)} text messages of ${size(n)}`, () => ({
      frames: [],
      offer,
      deflate: { messages: deflateMessages(id, 1, n, deflateCount(n)) },
    }), deflate);
  });
  DEFLATE_SIZES.slice(2).forEach((n, i) => {
    const id = `13.${o + 1}.${i + 11}`;
    add(id, 'deflate-parameters', `offer "${offer}": ${deflateCount(n)} text messages of ${size(n)}, in frames of 256 B`, () => ({
      frames: [],
      offer,
      deflate: { messages: deflateMessages(id, 1, n, deflateCount(n)), fragment: 256 },
    }), deflate);
  });
});
own('10.3.1', 'limits', 'a compressed message that inflates past the limit (a deflate bomb)', (c) => ({
  frames: [],
  offer: 'permessage-deflate',
  deflate: { messages: [{ opcode: Op.Binary, payload: Buffer.alloc(c.maxMessage! * 4 + 1024) }] },
}), { needsMaxMessage: true, needsDeflate: true });
own('10.3.2', 'limits', 'a compressed message that inflates to exactly the limit', (c) => ({
  frames: [],
  offer: 'permessage-deflate',
  deflate: { messages: [{ opcode: Op.Binary, payload: Buffer.alloc(c.maxMessage!) }] },
}), { needsMaxMessage: true, needsDeflate: true });

/** Every deterministic case, in report order within each group. */
export const CASES: readonly CaseDef[] = cases;

/** Compare Autobahn-style ids numerically: 1.1.10 after 1.1.9. */
export function compareIds(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}
