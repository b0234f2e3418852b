// The conformance tool's pure parts, without a network: its UTF-8 checker,
// its frame encoder/decoder, the model of RFC 6455 §5–§8 (case by case, and
// against pushwire's own sans-I/O Connection on random streams — two
// implementations written apart must agree), the verdicts, the generators
// and shrinker, the reports, and the entry point's surface.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Connection, type ProtocolError } from '../../src/protocol/index.js';
import * as entry from '../../src/conformance/index.js';
import { CASES, compareIds } from '../../src/conformance/cases.js';
import { predict, variants, type Prediction } from '../../src/conformance/model.js';
import { PROPERTIES, shrinkCandidates, streamLength, type Generated } from '../../src/conformance/properties.js';
import { deriveSeed, Random } from '../../src/conformance/random.js';
import { formatHtml, formatJUnit, formatTerminal } from '../../src/conformance/report.js';
import { RULES } from '../../src/conformance/rules.js';
import type { Observation, ReceivedFrame } from '../../src/conformance/runner.js';
import { writeEnds } from '../../src/conformance/runner.js';
import { generateRun, selected, type ConformanceReport } from '../../src/conformance/suite.js';
import { Utf8Scanner, isUtf8 } from '../../src/conformance/utf8.js';
import { checkDeflateResponse, compressedFrames, compressMessages, Inflater } from '../../src/conformance/deflate.js';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import { judge } from '../../src/conformance/verdict.js';
import { closeBody, encodeFrame, frame, FrameDecoder, Op, type WireFrame } from '../../src/conformance/wire.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const text = (p: string | Uint8Array, o?: Parameters<typeof frame>[2]): WireFrame => frame(Op.Text, p, o);
const cont = (p: string | Uint8Array, o?: Parameters<typeof frame>[2]): WireFrame => frame(Op.Continuation, p, o);
const ping = (p: string | Uint8Array = '', o?: Parameters<typeof frame>[2]): WireFrame => frame(Op.Ping, p, o);
const close = (code?: number, reason: string | Uint8Array = ''): WireFrame => frame(Op.Close, closeBody(code, reason));

describe('UTF-8 checker (RFC 3629 §4)', () => {
  it('agrees with a fatal TextDecoder on random bytes', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        let valid = true;
        try {
          decoder.decode(bytes);
        } catch {
          valid = false;
        }
        expect(isUtf8(bytes)).toBe(valid);
      }),
      { numRuns: 2000 },
    );
  });

  it('names the first impossible byte (fail fast), whatever the split', () => {
    const cases: [string, number][] = [
      ['eda080', 1], // surrogate: A0 after ED
      ['f4908080', 1], // above U+10FFFF: 90 after F4
      ['c0af', 0], // C0 can never start a character
      ['e080af', 1], // overlong: 80 after E0
      ['ff', 0],
      ['41c241', 2], // a lead byte followed by ASCII fails at the ASCII byte
      ['cebae1bd', -1], // unfinished, not (yet) invalid
    ];
    for (const [h, at] of cases) {
      const bytes = hex(h);
      expect(new Utf8Scanner().push(bytes), h).toBe(at);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const scanner = new Utf8Scanner();
        const first = scanner.push(bytes.subarray(0, cut));
        const second = first === -1 ? scanner.push(bytes.subarray(cut)) : -2;
        expect(first === -1 ? (second === -1 ? -1 : cut + second) : first, `${h} cut at ${cut}`).toBe(at);
      }
    }
    const unfinished = new Utf8Scanner();
    unfinished.push(hex('e282'));
    expect(unfinished.incomplete).toBe(true);
  });
});

describe('frames (RFC 6455 §5.2, §5.3)', () => {
  it('encodes the masked "Hello" of §5.7 byte for byte', () => {
    expect(encodeFrame(text('Hello')).toString('hex')).toBe('818537fa213d7f9f4d5158');
    expect(encodeFrame(text('Hello', { mask: null })).toString('hex')).toBe('810548656c6c6f');
  });

  it('decodes what it encodes, in every length form, however the bytes are cut', () => {
    const arbFrame = fc.record({
      fin: fc.boolean(),
      rsv: fc.integer({ min: 0, max: 7 }),
      opcode: fc.integer({ min: 0, max: 15 }),
      mask: fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: null }),
      payload: fc.oneof(fc.uint8Array({ maxLength: 130 }), fc.integer({ min: 65530, max: 65540 }).map((n) => new Uint8Array(n))),
      lengthForm: fc.constantFrom(undefined, 64 as const),
    });
    fc.assert(
      fc.property(fc.array(arbFrame, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 6 }), (frames, cutsSeed) => {
        const bytes = Buffer.concat(frames.map((f) => encodeFrame(f)));
        const cuts = [...new Set(cutsSeed.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const decoder = new FrameDecoder();
        const got = [];
        let from = 0;
        for (const cut of [...cuts, bytes.length]) {
          got.push(...decoder.push(bytes.subarray(from, cut)));
          from = cut;
        }
        expect(got.map((f) => [f.fin, f.rsv, f.opcode, f.masked, Buffer.from(f.payload).toString('hex')])).toEqual(
          frames.map((f) => [f.fin, f.rsv, f.opcode, f.mask !== null, Buffer.from(f.payload).toString('hex')]),
        );
        expect(decoder.pending).toBe(0);
      }),
      { numRuns: 200 },
    );
  });

  it('splits writes at frames, bytes, one piece or given offsets', () => {
    const frames = [text('ab'), ping()];
    const bytes = frames.map(encodeFrame);
    expect(writeEnds({ frames }, bytes)).toEqual([8, 14]);
    expect(writeEnds({ frames, chunks: 'whole' }, bytes)).toEqual([14]);
    expect(writeEnds({ frames, chunks: 'octets' }, bytes)).toHaveLength(14);
    expect(writeEnds({ frames, chunks: [3], pauses: [10] }, bytes)).toEqual([3, 10, 14]);
  });
});

describe('the model of RFC 6455 §5–§8', () => {
  const outcome = (frames: WireFrame[], options = {}): Prediction['outcome'] => predict(frames, options).outcome;

  it('echoes messages however they are fragmented, answers pings between fragments, ignores pongs', () => {
    const p = predict([text('frag', { fin: false }), ping('p'), cont('ment'), frame(Op.Pong, 'x'), frame(Op.Binary, hex('00ff'))]);
    expect(p.outcome).toEqual({ kind: 'open' });
    expect(p.replies.map((r) => [r.kind, r.payload.toString('hex')])).toEqual([
      ['pong', Buffer.from('p').toString('hex')],
      ['message', Buffer.from('fragment').toString('hex')],
      ['message', '00ff'],
    ]);
  });

  it('fails with 1002 on each framing violation, naming the rule and the frame', () => {
    const cases: [WireFrame[], string][] = [
      [[text('ok'), text('x', { rsv: 4 })], 'rsv-bits'],
      [[frame(3)], 'unknown-opcode'],
      [[frame(0xb, 'x')], 'unknown-opcode'],
      [[ping(Buffer.alloc(126))], 'control-length'],
      [[ping('a', { fin: false }), cont('b')], 'control-fragmented'],
      [[cont('orphan')], 'continuation-without-start'],
      [[text('a', { fin: false }), text('b')], 'interleaved-message'],
      [[frame(Op.Close, hex('03'))], 'close-body-code'],
      [[close(1005)], 'close-code-valid'],
      [[close(5000)], 'close-code-valid'],
      [[frame(Op.Binary, 'x', { declaredLength: (1n << 63n) | 1n })], 'length-msb'],
    ];
    for (const [frames, rule] of cases) {
      const o = outcome(frames);
      expect(o, rule).toMatchObject({ kind: 'failed', code: 1002, rule, frame: frames.length - (rule === 'control-fragmented' ? 2 : 1) });
    }
    expect(outcome([text('x', { mask: null })])).toMatchObject({ kind: 'failed', code: 1002, rule: 'client-mask', closeFrameOptional: true });
  });

  it('fails with 1007 at the frame carrying invalid UTF-8 (fail fast), or at the message end when lenient', () => {
    const frames = [text(hex('cebae1bdb9cf83cebcceb5'), { fin: false }), cont(hex('f4908080'), { fin: false }), ping('p'), cont('edited')];
    expect(outcome(frames)).toMatchObject({ kind: 'failed', code: 1007, rule: 'text-utf8', frame: 1, byte: 1 });
    const lenient = predict(frames, { utf8FailFast: false });
    expect(lenient.outcome).toMatchObject({ kind: 'failed', code: 1007, frame: 3 });
    expect(lenient.replies.map((r) => r.kind)).toEqual(['pong']); // the ping before the end is answered by a lenient server
    expect(outcome([text(hex('41e282'))])).toMatchObject({ kind: 'failed', code: 1007, frame: 0 }); // ends inside a character
    expect(outcome([text(hex('e2'), { fin: false }), cont(hex('82ac'))])).toEqual({ kind: 'open' }); // split inside one is fine
    expect(outcome([close(1000, hex('eda080'))])).toMatchObject({ kind: 'failed', code: 1007, rule: 'close-reason-utf8' });
  });

  it('answers a valid close, reads nothing after it, and ignores what follows even if invalid', () => {
    expect(outcome([close(4999), text('late'), frame(3)])).toEqual({ kind: 'closed', frame: 0, code: 4999 });
    expect(outcome([close()])).toEqual({ kind: 'closed', frame: 0, code: null });
    expect(predict([close(1000), ping('late')]).replies).toEqual([]);
    expect(outcome([text('a', { fin: false }), close(1000), cont('b')])).toMatchObject({ kind: 'closed', frame: 1 });
  });

  it('fails with 1009 past a declared limit, on the announced length, before the payload', () => {
    expect(outcome([frame(Op.Binary, Buffer.alloc(10))], { maxMessage: 10 })).toEqual({ kind: 'open' });
    expect(outcome([frame(Op.Binary, Buffer.alloc(11))], { maxMessage: 10 })).toMatchObject({ kind: 'failed', code: 1009 });
    expect(outcome([frame(Op.Binary, Buffer.alloc(6), { fin: false }), cont(Buffer.alloc(6))], { maxMessage: 10 })).toMatchObject({ kind: 'failed', code: 1009, frame: 1 });
    expect(outcome([frame(Op.Binary, new Uint8Array(0), { declaredLength: 1n << 40n })], { maxMessage: 10 })).toMatchObject({ code: 1009 });
    expect(outcome([frame(Op.Binary, new Uint8Array(0), { declaredLength: 1n << 40n })])).toEqual({ kind: 'waiting', frame: 0 });
  });

  it('accepts non-minimal lengths, and knows a server may refuse them', () => {
    expect(outcome([text('x', { lengthForm: 64 })])).toEqual({ kind: 'open' });
    expect(outcome([text('x', { lengthForm: 16 })], { refuseNonMinimal: true })).toMatchObject({ code: 1002, rule: 'minimal-length' });
    expect(variants([text('x', { lengthForm: 16 })]).map((v) => v.verdict)).toEqual(['OK', 'NON-STRICT', 'NON-STRICT']);
  });

  it('agrees with pushwire\'s sans-I/O Connection (server role) on every property\'s random streams', () => {
    // Two implementations of §5–§8 written apart: the model and src/protocol.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom(...PROPERTIES.filter((p) => !p.needsDeflate)), (seed, p) => {
        const g = generateRun(p, seed, 1, 4096);
        const bytes = Buffer.concat(g.frames.map(encodeFrame));
        const prediction = predict(g.frames, { maxMessage: p.needsMaxMessage ? 4096 : undefined });
        const actual = runConnection(bytes, g.cuts, p.needsMaxMessage ? 4096 : undefined);
        const expectedOutcome =
          prediction.outcome.kind === 'failed'
            ? `failed ${prediction.outcome.code}`
            : prediction.outcome.kind === 'closed'
              ? 'closed'
              : 'open'; // 'waiting' looks open from outside
        expect(actual.outcome, `${p.name} seed ${seed}`).toBe(expectedOutcome);
        expect(actual.messages).toEqual(prediction.replies.filter((r) => r.kind === 'message').map((r) => `${r.opcode}:${r.payload.toString('hex')}`));
        expect(actual.pongs).toEqual(prediction.replies.filter((r) => r.kind === 'pong').map((r) => r.payload.toString('hex')));
      }),
      { numRuns: 400 },
    );
  });
});

describe('permessage-deflate (RFC 7692)', () => {
  const messages = ['hello hello hello', 'hello hello hello world', 'x'.repeat(70_000), '', 'hello again, hello'].map((t) => Buffer.from(t));

  /** Run buffers through a zlib stream, one sync flush each (what a peer with context takeover does). */
  async function streamed(make: typeof createDeflateRaw | typeof createInflateRaw, inputs: Buffer[], tail: boolean): Promise<Buffer[]> {
    const stream = make();
    let chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const out: Buffer[] = [];
    for (const input of inputs) {
      stream.write(tail ? Buffer.concat([input, Buffer.from([0, 0, 0xff, 0xff])]) : input);
      await new Promise<void>((resolve) => stream.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
      out.push(Buffer.concat(chunks));
      chunks = [];
    }
    stream.close();
    return out;
  }

  it('compresses with context takeover so that a continuing inflater reads every message, and reads what a continuing deflater writes', async () => {
    for (const context of [true, false]) {
      const compressed = compressMessages(messages, context);
      expect((await streamed(createInflateRaw, compressed, true)).map(String)).toEqual(messages.map(String));
      const inflater = new Inflater();
      expect(compressed.map((c) => inflater.inflate(c).toString())).toEqual(messages.map(String));
    }
    const fromStream = (await streamed(createDeflateRaw, messages, false)).map((b) => b.subarray(0, b.length - 4)); // §7.2.1: the tail removed
    const inflater = new Inflater();
    expect(fromStream.map((c) => inflater.inflate(c).toString())).toEqual(messages.map(String));
    // context takeover pays: the second "hello…" reaches back into the first
    expect(compressMessages(messages, true)[1].length).toBeLessThan(compressMessages(messages, false)[1].length);
  });

  it('checks the answer against the offer (§7.1)', () => {
    const ok = (offer: string, answer: string | null) => checkDeflateResponse(offer, answer);
    expect(ok('permessage-deflate', null)).toEqual({ ok: true, negotiated: null });
    expect(ok('permessage-deflate', 'permessage-deflate; client_no_context_takeover')).toMatchObject({ ok: true, negotiated: { clientNoContextTakeover: true, serverMaxWindowBits: 15 } });
    expect(ok('permessage-deflate; server_max_window_bits=9', 'permessage-deflate; server_max_window_bits=9')).toMatchObject({ ok: true });
    expect(ok('permessage-deflate; server_max_window_bits=9', 'permessage-deflate; server_max_window_bits=12')).toMatchObject({ ok: false });
    expect(ok('permessage-deflate; server_max_window_bits=9', 'permessage-deflate')).toMatchObject({ ok: false });
    expect(ok('permessage-deflate; server_no_context_takeover', 'permessage-deflate')).toMatchObject({ ok: false });
    expect(ok('permessage-deflate', 'permessage-deflate; client_max_window_bits=10')).toMatchObject({ ok: false }); // not offered
    expect(ok('permessage-deflate', 'permessage-deflate; server_max_window_bits=16')).toMatchObject({ ok: false });
    expect(ok('permessage-deflate', 'permessage-deflate; bogus')).toMatchObject({ ok: false });
    expect(ok('permessage-deflate', 'permessage-deflate, permessage-deflate')).toMatchObject({ ok: false });
    expect(ok('permessage-deflate; server_no_context_takeover, permessage-deflate', 'permessage-deflate')).toMatchObject({ ok: true }); // the second offer
  });

  it('the model echoes compressed messages, refuses RSV1 where RFC 7692 §6.1 forbids it, and holds bombs to the limit', () => {
    const frames = compressedFrames([{ opcode: Op.Text, payload: Buffer.from('κόσμε κόσμε') }, { opcode: Op.Binary, payload: Buffer.alloc(5000) }], true, 3);
    const p = predict(frames, { deflate: true });
    expect(p.outcome).toEqual({ kind: 'open' });
    expect(p.replies.map((r) => r.payload.length)).toEqual([Buffer.byteLength('κόσμε κόσμε'), 5000]);
    expect(predict(frames, { deflate: false }).outcome).toMatchObject({ kind: 'failed', rule: 'rsv-bits' }); // not agreed: RSV1 is an error
    expect(predict([frames[0], { ...frames[1], rsv: 4 }], { deflate: true }).outcome).toMatchObject({ code: 1002, rule: 'compressed-bit' });
    expect(predict([ping('p', { rsv: 4 })], { deflate: true }).outcome).toMatchObject({ code: 1002, rule: 'compressed-bit' });
    const bomb = compressedFrames([{ opcode: Op.Binary, payload: Buffer.alloc(100_000) }], false);
    expect(predict([...bomb, ping('after')], { deflate: true, maxMessage: 4096 }).outcome).toMatchObject({ code: 1009, frame: 0 });
    const late = predict([...bomb, ping('after')], { deflate: true, maxMessage: 4096, lateInflate: true });
    expect(late.replies.map((r) => r.kind)).toEqual(['pong']);
    expect(late.outcome).toMatchObject({ code: 1009, frame: 0 });
  });
});

/** Feed `bytes` to a server-role Connection in the given pieces and record what it does. */
function runConnection(bytes: Buffer, cuts: number[], maxPayload?: number) {
  const messages: string[] = [];
  const pongs: string[] = [];
  let outcome = 'open';
  const decoder = new FrameDecoder();
  const connection = new Connection(
    {
      write: (data) => {
        for (const f of decoder.push(Buffer.from(data))) if (f.opcode === Op.Pong) pongs.push(f.payload.toString('hex'));
      },
      onMessage: (data, isBinary) => messages.push(`${isBinary ? 2 : 1}:${Buffer.from(data).toString('hex')}`),
      onPing() {},
      onPong() {},
      onCloseReceived: () => void (outcome = outcome === 'open' ? 'closed' : outcome),
      onProtocolError: (error: ProtocolError) => void (outcome = outcome === 'open' ? `failed ${error.closeCode}` : outcome),
    },
    { role: 'server', maxPayload },
  );
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    if (outcome !== 'open') break;
    connection.receive(bytes.subarray(from, cut));
    from = cut;
  }
  return { messages, pongs, outcome };
}

/** An observation as the runner would record it, from the frames a server sent. */
function observed(frames: WireFrame[], extra: Partial<Observation> = {}): Observation {
  const received: ReceivedFrame[] = frames.map((f) => {
    const bytes = encodeFrame(f);
    const decoded = new FrameDecoder().push(bytes)[0];
    return { ...decoded, at: 1, afterFinish: false };
  });
  return { handshake: { ok: true, extensions: null, deflate: null }, frames: [], received, bytesWritten: 10, bytesTotal: 10, sentinelAnswered: false, toolClose: 'reply', tcp: 'peer-fin', peer: 'server', durationMs: 1, log: [], ...extra };
}
const server = (opcode: number, payload: string | Uint8Array = ''): WireFrame => frame(opcode, payload, { mask: null });
const serverClose = (code?: number): WireFrame => frame(Op.Close, closeBody(code), { mask: null });

describe('verdicts', () => {
  const rsvStream = [text('ok'), text('bad', { rsv: 4 }), ping('sentinel')];

  it('OK when the server fails as predicted; WRONG CODE, UNCLEAN and FAILED otherwise', () => {
    expect(judge(rsvStream, observed([server(Op.Text, 'ok'), serverClose(1002)])).verdict).toBe('OK');
    const wrong = judge(rsvStream, observed([server(Op.Text, 'ok'), serverClose(1000)]));
    expect(wrong).toMatchObject({ verdict: 'FAILED', closeBehavior: 'WRONG CODE', rule: 'rsv-bits' });
    expect(judge(rsvStream, observed([server(Op.Text, 'ok')]))).toMatchObject({ verdict: 'NON-STRICT', closeBehavior: 'UNCLEAN' });
    const accepted = judge(rsvStream, observed([server(Op.Text, 'ok'), server(Op.Text, 'bad'), server(Op.Pong, 'sentinel'), serverClose(1000)], { toolClose: 'finish' }));
    expect(accepted).toMatchObject({ verdict: 'FAILED', rule: 'rsv-bits' });
    expect(accepted.reason).toMatch(/message no one asked for|went on/);
    expect(judge(rsvStream, observed([serverClose(1002)]))).toMatchObject({ verdict: 'FAILED', key: 'missing-echo' });
  });

  it('checks the server\'s own frames: masked, RSV, data after close', () => {
    const stream = [text('hi'), ping('s')];
    const masked = observed([frame(Op.Text, 'hi'), server(Op.Pong, 's'), serverClose(1000)], { toolClose: 'finish' });
    expect(judge(stream, masked)).toMatchObject({ verdict: 'FAILED', rule: 'server-mask' });
    const afterClose = observed([serverClose(1000), server(Op.Text, 'hi')], { toolClose: 'finish' });
    expect(judge(stream, afterClose)).toMatchObject({ verdict: 'FAILED', rule: 'no-data-after-close' });
  });

  it('allows pongs for only the latest of several pings (§5.5.3), not pongs nobody asked for', () => {
    const stream = [ping('1'), ping('2'), ping('s')];
    const finish = { toolClose: 'finish' as const };
    const latestOnly = observed([server(Op.Pong, 's'), serverClose(1000)], finish);
    latestOnly.received[1].afterFinish = true;
    expect(judge(stream, latestOnly).verdict).toBe('OK');
    const stranger = observed([server(Op.Pong, 'x'), server(Op.Pong, 's'), serverClose(1000)], finish);
    stranger.received[2].afterFinish = true;
    expect(judge(stream, stranger)).toMatchObject({ verdict: 'FAILED', key: 'extra-pong' });
  });

  it('echoing a close code, or answering with 1000, is OK; another code is WRONG CODE', () => {
    const stream = [close(3000), ping('s')];
    expect(judge(stream, observed([serverClose(3000)], { toolClose: 'case' })).verdict).toBe('OK');
    expect(judge(stream, observed([serverClose(1000)], { toolClose: 'case' })).verdict).toBe('OK');
    expect(judge(stream, observed([serverClose(1001)], { toolClose: 'case' }))).toMatchObject({ verdict: 'FAILED', closeBehavior: 'WRONG CODE', rule: 'close-reply' });
    expect(judge(stream, observed([serverClose(3000)], { toolClose: 'case', timedOut: 'close', tcp: 'tool-timeout' }))).toMatchObject({ verdict: 'FAILED', rule: 'close-tcp' });
  });

  it('NON-STRICT for a server that checks UTF-8 only at the end of a message, or later than fail-fast allows', () => {
    const stream = [text('a', { fin: false }), cont(hex('ff'), { fin: false }), ping('p'), cont('b')];
    const lenient = observed([server(Op.Pong, 'p'), serverClose(1007)]);
    expect(judge(stream, lenient)).toMatchObject({ verdict: 'NON-STRICT', rule: 'text-utf8' });
    const late = judge([text(hex('41ff41'))], observed([serverClose(1007)], { bytesWritten: 10 }), { failFastBy: 5 });
    expect(late.verdict).toBe('NON-STRICT');
    expect(judge([text(hex('41ff41'))], observed([serverClose(1007)], { bytesWritten: 5 }), { failFastBy: 5 }).verdict).toBe('OK');
  });

  it('a failed handshake fails the case, naming §4', () => {
    expect(judge([text('x')], { ...observed([]), handshake: { ok: false, error: 'expected 101, got "HTTP/1.1 404"' } })).toMatchObject({ verdict: 'FAILED', rule: 'handshake' });
  });
});

describe('cases, generators and shrinking', () => {
  it('numbers cases uniquely, in Autobahn\'s sections 1–7, 9, 10, 12 and 13, and builds each', () => {
    const ids = CASES.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.split('.')[0]))).toEqual(new Set(['1', '2', '3', '4', '5', '6', '7', '9', '10', '12', '13']));
    for (const c of CASES.filter((c) => !c.performance)) {
      const built = c.build({ maxMessage: 1000 });
      expect(built.frames.length + (built.deflate?.messages.length ?? 0), c.id).toBeGreaterThan(0);
    }
    expect(ids.filter((id) => /^1[23]\./.test(id))).toHaveLength(216);
    expect(ids.filter((id) => id.startsWith('6.') && CASES.find((c) => c.id === id)!.origin === 'autobahn').length).toBe(145);
    expect([...ids].sort(compareIds).indexOf('1.1.10')).toBe(-1);
    expect(['2.10', '2.9', '2.11'].sort(compareIds)).toEqual(['2.9', '2.10', '2.11']);
  });

  it('selects cases by id or prefix', () => {
    expect(selected('6.4.1', ['6'])).toBe(true);
    expect(selected('6.4.1', ['6.4'])).toBe(true);
    expect(selected('6.40.1', ['6.4'])).toBe(false);
    expect(selected('prop.close', ['prop'])).toBe(true);
    expect(selected('1.1.1', undefined)).toBe(true);
  });

  it('generates the same stream for the same seed and run, another for another', () => {
    const bytes = (g: Generated): string =>
      Buffer.concat(g.frames.map(encodeFrame)).toString('hex') + JSON.stringify(g.deflate ?? null, (_, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('hex') : v));
    for (const p of PROPERTIES) {
      const a = bytes(generateRun(p, 42, 7, 100));
      expect(bytes(generateRun(p, 42, 7, 100)), p.name).toBe(a);
      expect(bytes(generateRun(p, 43, 7, 100)), p.name).not.toBe(a);
    }
    expect(deriveSeed(1, 'a')).not.toBe(deriveSeed(1, 'b'));
    const r = new Random(5);
    expect(Array.from({ length: 1000 }, () => r.int(3, 5)).every((n) => n >= 3 && n <= 5)).toBe(true);
  });

  it('offers only smaller or simpler shrink candidates, each one encodable', () => {
    for (let seed = 0; seed < 30; seed++) {
      const g: Generated = generateRun(PROPERTIES[seed % PROPERTIES.length], seed, 1, 300);
      const size = streamLength(g.frames);
      if (g.deflate) {
        const weight = (x: Generated): number => x.deflate!.messages.reduce((sum, m) => sum + m.payload.length + 1, x.cuts.length + x.deflate!.pingsAfter.length);
        for (const candidate of shrinkCandidates(g)) expect(weight(candidate) <= weight(g) || candidate.deflate!.offer === 'permessage-deflate').toBe(true);
        continue;
      }
      for (const candidate of shrinkCandidates(g)) {
        expect(streamLength(candidate.frames)).toBeLessThanOrEqual(size);
        expect(() => candidate.frames.map(encodeFrame)).not.toThrow();
        expect(candidate.cuts.every((c) => c > 0 && c < streamLength(candidate.frames))).toBe(true);
      }
    }
  });
});

describe('reports', () => {
  const report: ConformanceReport = {
    peer: 'server',
    url: 'ws://127.0.0.1:1/',
    seed: 1,
    startedAt: '2030-01-01T00:00:00.000Z',
    durationMs: 1234,
    failed: true,
    summary: { OK: 1, 'NON-STRICT': 0, INFORMATIONAL: 0, FAILED: 1, total: 2 },
    results: [
      { id: '3.1', kind: 'case', title: 'text with RSV = 1', group: 'rsv', rfc: '5.2', origin: 'autobahn', verdict: 'FAILED', behavior: 'FAILED', closeBehavior: 'FAILED', reason: 'the server went on <&>', rule: 'rsv-bits', citation: 'RFC 6455 §5.2: "…"', expected: 'fail', actual: 'echoed', notes: [], durationMs: 3 },
      { id: '2.1', kind: 'case', title: 'ping', group: 'ping', rfc: '5.5.2', origin: 'autobahn', verdict: 'OK', behavior: 'OK', closeBehavior: 'OK', reason: 'ok', expected: 'x', actual: 'x', notes: [], durationMs: 2 },
    ],
  };

  it('prints cases under their RFC section with a mark, a reason for failures, and a summary line', () => {
    const out = formatTerminal(report);
    expect(out).toMatch(/§5\.5\.2 Ping and Pong[^\n]*\n {4}✔ 2\.1 ping\n/);
    expect(out).toMatch(/× 3\.1 text with RSV = 1 {2}FAILED\n {8}→ the server went on/);
    expect(out).toMatch(/2 tests: 1 OK, 0 NON-STRICT, 0 INFORMATIONAL, 1 FAILED — 1\.2 s\n$/);
    expect(formatTerminal(report, { quiet: true })).not.toContain('2.1 ping');
  });

  it('writes a self-contained HTML page: every case, details under the failures, everything escaped', () => {
    const html = formatHtml(report);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|<link|src=/);
    expect(html.match(/<tr id=/g)).toHaveLength(2);
    expect(html).toContain('the server went on &lt;&amp;&gt;');
    expect(html).toContain('<b>2 tests:</b>');
  });

  it('writes JUnit XML with a testcase per case and a failure per FAILED, escaped', () => {
    const xml = formatJUnit(report);
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites [^>]*tests="2" failures="1"/);
    expect(xml.match(/<testcase /g)).toHaveLength(2);
    expect(xml).toContain('<failure message="the server went on &lt;&amp;&gt;" type="rsv-bits">');
  });
});

describe('the pushwire/conformance entry point', () => {
  it('exports exactly the listed runtime names, each documented', () => {
    expect(Object.keys(entry).sort()).toEqual([
      'CLOSE_CODE_NAMES', 'DONE_CODE', 'DONE_REASON', 'Op', 'RULES', 'conformance', 'conformanceClient', 'describeWireFrame', 'encodeFrame', 'formatHtml', 'formatJUnit', 'formatJson', 'formatTerminal', 'frame', 'isValidCloseCode', 'predict', 'startTrace',
    ]);
    const source = (file: string): string => readFileSync(join(root, 'src/conformance', file), 'utf8');
    for (const [name, file] of [['conformance', 'suite.ts'], ['formatTerminal', 'report.ts'], ['formatJUnit', 'report.ts'], ['predict', 'model.ts'], ['frame', 'wire.ts'], ['encodeFrame', 'wire.ts']]) {
      expect(source(file), name).toMatch(new RegExp(`\\*/\\nexport (async )?function ${name}\\b`));
    }
  });

  it('keeps every module but the runner, client mode, the trace proxy and the suite free of I/O and timers', () => {
    const dir = join(root, 'src/conformance');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !['runner.ts', 'client-mode.ts', 'proxy.ts', 'suite.ts', 'shrink.ts', 'index.ts'].includes(f))) {
      const code = readFileSync(join(dir, file), 'utf8');
      expect(code, file).not.toMatch(/from 'node:(net|tls|http|https|fs|timers|child_process)'/);
      expect(code, file).not.toMatch(/\b(setTimeout|setInterval|setImmediate|Date\.now|performance\.now)\b/);
    }
  });

  it('cites every rule with a section of RFC 6455 and a sentence found in the RFC', () => {
    const rfc = readFileSync(join(root, '../shared/specs/rfc6455.txt'), 'utf8').replace(/\s+/g, ' ');
    for (const rule of Object.values(RULES)) {
      expect(rule.section, rule.id).toMatch(/^\d+(\.\d+)*$/);
      // The first sentence of each quote appears in the RFC verbatim (whitespace folded).
      const first = rule.text.split(/(?<=\.) /)[0].replace(/\s+/g, ' ');
      if (rule.rfc !== 7692 && !['echo', 'handshake', 'close-code-valid', 'message-too-big'].includes(rule.id)) expect(rfc.includes(first), `${rule.id}: ${first}`).toBe(true);
    }
  });
});
