// The sans-I/O RESP reader and command encoder (src/redis/resp.ts), driven
// with bytes only. Replies are built by an independent encoder in this file —
// a direct transcription of the RESP spec's examples, sharing no code with the
// reader — then cut at arbitrary points; malformed streams must end in a
// typed error or a bounded wait, never a hang or a foreign exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/redis/backoff.js';
import { RedisArgumentError, RedisConfigError, RedisReplyError, RespProtocolError } from '../../src/redis/errors.js';
import { NEED_MORE, RespPush, RespReader, encodeCommand, type RespReaderOptions, type RespValue } from '../../src/redis/resp.js';
import { parseRedisUrl, redact } from '../../src/redis/url.js';
import { cutsArbitrary, splitAt } from '../helpers/chunking.js';

// ---- reading helpers -------------------------------------------------------------

/** Feed the pieces one by one, reading after each; every reply in order. */
function readAll(pieces: Buffer[], options?: RespReaderOptions): RespValue[] {
  const reader = new RespReader(options);
  const replies: RespValue[] = [];
  for (const piece of pieces) {
    reader.feed(piece);
    for (let value = reader.read(); value !== NEED_MORE; value = reader.read()) replies.push(value);
  }
  return replies;
}

function readOne(text: string | Buffer, options?: RespReaderOptions): RespValue {
  const replies = readAll([typeof text === 'string' ? Buffer.from(text, 'latin1') : text], options);
  expect(replies).toHaveLength(1);
  return replies[0];
}

/** The error reading `text` throws. */
function failure(text: string | Buffer, options?: RespReaderOptions): RespProtocolError {
  try {
    readAll([typeof text === 'string' ? Buffer.from(text, 'latin1') : text], options);
  } catch (error) {
    expect(error).toBeInstanceOf(RespProtocolError);
    return error as RespProtocolError;
  }
  throw new Error(`no error reading ${JSON.stringify(text.toString())}`);
}

/** A plain, comparable picture of a value (Maps, Sets, pushes, errors and Buffers made explicit). */
function plain(value: RespValue): unknown {
  if (value instanceof RedisReplyError) return { error: value.message, code: value.redisCode };
  if (value instanceof RespPush) return { push: value.items.map(plain) };
  if (Buffer.isBuffer(value)) return { bytes: value.toString('hex') };
  if (value instanceof Map) return { map: [...value].map(([k, v]) => [plain(k), plain(v)]) };
  if (value instanceof Set) return { set: [...value].map(plain) };
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'number' && Number.isNaN(value)) return { nan: true };
  return value;
}

/** Which plain values a Map or Set holds once (SameValueZero: NaN is NaN, 0 is -0; objects are distinct). */
function sameKey(value: unknown, index: number): string {
  if (typeof value === 'object' && value !== null) return 'nan' in value ? 'number:NaN' : `object#${index}`;
  return `${typeof value}:${String(value)}`;
}

// ---- examples from the spec ------------------------------------------------------

describe('RespReader: the spec’s examples', () => {
  it('RESP2 types (RESP §Simple strings … §Null arrays)', () => {
    expect(readOne('+OK\r\n')).toBe('OK');
    const error = readOne('-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
    expect(error).toBeInstanceOf(RedisReplyError);
    expect(error).toMatchObject({ code: 'PW_ERR_REDIS_REPLY', redisCode: 'WRONGTYPE' });
    expect((readOne('-ERR unknown command \'asdf\'\r\n') as RedisReplyError).redisCode).toBe('ERR');
    expect((readOne('-oops\r\n') as RedisReplyError).redisCode).toBe('');
    expect(readOne(':0\r\n')).toBe(0);
    expect(readOne(':1000\r\n')).toBe(1000);
    expect(readOne(':-42\r\n')).toBe(-42);
    expect(readOne(':+7\r\n')).toBe(7);
    expect(readOne(':9223372036854775807\r\n')).toBe(9223372036854775807n);
    expect(readOne(':-9223372036854775808\r\n')).toBe(-9223372036854775808n);
    expect(readOne(':9007199254740991\r\n')).toBe(9007199254740991);
    expect(readOne('$5\r\nhello\r\n')).toBe('hello');
    expect(readOne('$0\r\n\r\n')).toBe('');
    expect(readOne('$-1\r\n')).toBeNull();
    expect(readOne('*0\r\n')).toEqual([]);
    expect(readOne('*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n')).toEqual(['hello', 'world']);
    expect(readOne('*-1\r\n')).toBeNull();
    expect(plain(readOne('*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n'))).toEqual([
      [1, 2, 3],
      ['Hello', { error: 'World', code: '' }],
    ]);
    expect(readOne('*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n')).toEqual(['hello', null, 'world']);
  });

  it('bulk strings are binary-safe: CRLF inside, UTF-8 decoded, or Buffers on request', () => {
    expect(readOne('$4\r\na\r\nb\r\n')).toBe('a\r\nb');
    expect(readOne(Buffer.from('$2\r\n\xc3\xa9\r\n', 'latin1'))).toBe('é');
    const bytes = readOne(Buffer.from('$3\r\n\x00\xff\x80\r\n', 'latin1'), { returnBuffers: true });
    expect(Buffer.isBuffer(bytes) && bytes.toString('hex')).toBe('00ff80');
  });

  it('RESP3 types (RESP §Nulls … §Pushes)', () => {
    expect(readOne('_\r\n')).toBeNull();
    expect(readOne('#t\r\n')).toBe(true);
    expect(readOne('#f\r\n')).toBe(false);
    expect(readOne(',1.23\r\n')).toBe(1.23);
    expect(readOne(',10\r\n')).toBe(10);
    expect(readOne(',-1.5e3\r\n')).toBe(-1500);
    expect(readOne(',1e+20\r\n')).toBe(1e20);
    expect(readOne(',inf\r\n')).toBe(Infinity);
    expect(readOne(',-inf\r\n')).toBe(-Infinity);
    expect(readOne(',nan\r\n')).toBeNaN();
    expect(readOne(',-nan\r\n')).toBeNaN(); // RESP3 §Double: older Redis sent libc's NaN spellings
    expect(readOne('(3492890328409238509324850943850943825024385\r\n')).toBe(3492890328409238509324850943850943825024385n);
    expect(readOne('(-12\r\n')).toBe(-12n);
    expect(plain(readOne('!21\r\nSYNTAX invalid syntax\r\n'))).toEqual({ error: 'SYNTAX invalid syntax', code: 'SYNTAX' });
    expect(readOne('=15\r\ntxt:Some string\r\n')).toBe('Some string');
    expect(readOne('%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n')).toEqual(
      new Map<RespValue, RespValue>([
        ['first', 1],
        ['second', 2],
      ]),
    );
    expect(readOne('~5\r\n+orange\r\n+apple\r\n#t\r\n:100\r\n:999\r\n')).toEqual(new Set(['orange', 'apple', true, 100, 999]));
    const push = readOne('>3\r\n+message\r\n+somechannel\r\n+this is the message\r\n');
    expect(push).toBeInstanceOf(RespPush);
    expect((push as RespPush).items).toEqual(['message', 'somechannel', 'this is the message']);
  });

  it('attributes are read and skipped (RESP §Attributes), at the top and inside aggregates', () => {
    const mget = '|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n';
    expect(readOne(mget)).toEqual([2039123, 9543892]);
    expect(readOne('*3\r\n:1\r\n:2\r\n|1\r\n+ttl\r\n:3600\r\n:3\r\n')).toEqual([1, 2, 3]);
    expect(readOne('|0\r\n+OK\r\n')).toBe('OK');
    expect(readAll([Buffer.from('|1\r\n+a\r\n:1\r\n')])).toEqual([]); // still waiting for the value it annotates
  });

  it('spec-notes’ worked example: HELLO 3’s answer from Redis 7.0.15, one byte at a time', () => {
    const hello = Buffer.from(
      '%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:3\r\n' +
        '$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n',
    );
    expect(hello.length).toBe(145);
    const reader = new RespReader();
    let waits = 0;
    let reply: RespValue | typeof NEED_MORE = NEED_MORE;
    for (const byte of hello) {
      reader.feed(Buffer.of(byte));
      reply = reader.read();
      if (reply === NEED_MORE) waits++;
    }
    expect(waits).toBe(144);
    expect(reply).toEqual(
      new Map<RespValue, RespValue>([
        ['server', 'redis'],
        ['version', '7.0.15'],
        ['proto', 3],
        ['id', 3],
        ['mode', 'standalone'],
        ['role', 'master'],
        ['modules', []],
      ]),
    );
  });

  it('a push between replies is returned in its place (RESP3 §Push type)', () => {
    const replies = readAll([Buffer.from('>3\r\n+message\r\n+ch\r\n+hi\r\n$9\r\nGet-Reply\r\n')]);
    expect(plain(replies[0] as RespValue)).toEqual({ push: ['message', 'ch', 'hi'] });
    expect(replies[1]).toBe('Get-Reply');
  });

  it('answers NEED_MORE until a reply is whole, and keeps going after', () => {
    const reader = new RespReader();
    reader.feed(Buffer.from('*2\r\n$5\r\nhel'));
    expect(reader.read()).toBe(NEED_MORE);
    expect(reader.idle).toBe(false);
    reader.feed(Buffer.from('lo\r\n:4'));
    expect(reader.read()).toBe(NEED_MORE);
    reader.feed(Buffer.from('2\r\n+OK\r'));
    expect(reader.read()).toEqual(['hello', 42]);
    expect(reader.read()).toBe(NEED_MORE);
    reader.feed(Buffer.from('\n'));
    expect(reader.read()).toBe('OK');
    expect(reader.idle).toBe(true);
  });
});

// ---- malformed input -------------------------------------------------------------

describe('RespReader: malformed input is a typed error', () => {
  it.each([
    ['a bad type byte', '?oops\r\n', 'PW_ERR_REDIS_BAD_TYPE'],
    ['a NUL type byte', '\x00\r\n', 'PW_ERR_REDIS_BAD_TYPE'],
    ['an end marker with no streamed aggregate', '.\r\n', 'PW_ERR_REDIS_BAD_TYPE'],
    ['a push inside an aggregate', '*1\r\n>1\r\n+x\r\n', 'PW_ERR_REDIS_BAD_TYPE'],
    ['a bulk length that is not a number', '$abc\r\n', 'PW_ERR_REDIS_BAD_LENGTH'],
    ['an empty bulk length', '$\r\n', 'PW_ERR_REDIS_BAD_LENGTH'],
    ['a negative bulk length other than -1', '$-2\r\n', 'PW_ERR_REDIS_BAD_LENGTH'],
    ['a negative array count other than -1', '*-5\r\n', 'PW_ERR_REDIS_BAD_LENGTH'],
    ['-0 as a length', '$-0\r\n', 'PW_ERR_REDIS_BAD_LENGTH'],
    ['a null map', '%-1\r\n', 'PW_ERR_REDIS_BAD_LENGTH'],
    ['a null bulk error', '!-1\r\n', 'PW_ERR_REDIS_BAD_LENGTH'],
    ['a length with a space', '$ 5\r\nhello\r\n', 'PW_ERR_REDIS_BAD_LENGTH'],
    ['bulk data longer than declared', '$3\r\nhello\r\n', 'PW_ERR_REDIS_MISSING_CRLF'],
    ['bulk data shorter than declared', '$7\r\nhello\r\n+OK\r\n', 'PW_ERR_REDIS_MISSING_CRLF'],
    ['a line ended by a bare LF', '+OK\n', 'PW_ERR_REDIS_MISSING_CRLF'],
    ['a bare LF right after the type', ':\n', 'PW_ERR_REDIS_MISSING_CRLF'],
    ['a CR inside a simple string', '+O\rK\r\n', 'PW_ERR_REDIS_MISSING_CRLF'],
    ['an integer with letters', ':12a\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['an integer without digits', ':-\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['an integer beyond 64 bits', ':9223372036854775808\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['a null with content', '_x\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['a boolean other than t or f', '#x\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['a double that is not a number', ',1.2.3\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['a double in hexadecimal', ',0x10\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['an empty double', ',\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['a big number with a fraction', '(1.5\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['a verbatim string without its format', '=3\r\nabc\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['a verbatim string without the colon', '=5\r\ntxt-x\r\n', 'PW_ERR_REDIS_BAD_VALUE'],
    ['a streamed string', '$?\r\n;4\r\nHell\r\n;0\r\n', 'PW_ERR_REDIS_UNSUPPORTED'],
    ['a streamed array', '*?\r\n:1\r\n.\r\n', 'PW_ERR_REDIS_UNSUPPORTED'],
  ])('%s', (_what, input, code) => {
    expect(failure(input).code).toBe(code);
  });

  it('a CR inside a line is refused however the line is split', () => {
    const input = Buffer.from('*2\r\n+O\rK\r\n-E\rR\r\n');
    for (let cut = 1; cut < input.length; cut++) {
      const reader = new RespReader();
      let error: unknown;
      try {
        for (const piece of [input.subarray(0, cut), input.subarray(cut)]) {
          reader.feed(piece);
          while (reader.read() !== NEED_MORE);
        }
      } catch (thrown) {
        error = thrown;
      }
      expect(error, `cut at ${cut}`).toMatchObject({ code: 'PW_ERR_REDIS_MISSING_CRLF' });
    }
  });

  it('limits: declared lengths are refused before any data is awaited', () => {
    expect(failure('$9223372036854775807\r\n').code).toBe('PW_ERR_REDIS_BULK_TOO_LONG');
    expect(failure(`$${512 * 1024 * 1024 + 1}\r\n`).code).toBe('PW_ERR_REDIS_BULK_TOO_LONG');
    expect(failure('$11\r\n', { maxBulkLength: 10 }).code).toBe('PW_ERR_REDIS_BULK_TOO_LONG');
    expect(failure('=11\r\n', { maxBulkLength: 10 }).code).toBe('PW_ERR_REDIS_BULK_TOO_LONG');
    expect(readOne('$10\r\n0123456789\r\n', { maxBulkLength: 10 })).toBe('0123456789');
    expect(failure('*99999999999999999999\r\n').code).toBe('PW_ERR_REDIS_TOO_MANY_ELEMENTS');
    expect(failure('*5\r\n', { maxAggregateLength: 4 }).code).toBe('PW_ERR_REDIS_TOO_MANY_ELEMENTS');
    expect(failure('%3\r\n', { maxAggregateLength: 4 }).code).toBe('PW_ERR_REDIS_TOO_MANY_ELEMENTS'); // 3 pairs = 6 elements
    expect(readOne('%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n', { maxAggregateLength: 4 })).toEqual(
      new Map([
        [1, 2],
        [3, 4],
      ]),
    );
  });

  it('limits: nesting depth (default 64), attributes included', () => {
    expect(failure('*1\r\n'.repeat(65)).code).toBe('PW_ERR_REDIS_TOO_DEEP');
    expect(readOne('*1\r\n'.repeat(63) + '*0\r\n')).toBeTruthy();
    expect(failure('*1\r\n*1\r\n*1\r\n', { maxDepth: 2 }).code).toBe('PW_ERR_REDIS_TOO_DEEP');
    expect(failure('|1\r\n+a\r\n|1\r\n+b\r\n|1\r\n', { maxDepth: 2 }).code).toBe('PW_ERR_REDIS_TOO_DEEP');
    // An attribute that closed is no longer nesting: a long run of them stays shallow.
    expect(readOne('|1\r\n+a\r\n:1\r\n'.repeat(100) + '+OK\r\n', { maxDepth: 2 })).toBe('OK');
  });

  it('limits: a line without CRLF is refused once it passes maxLineLength, however it is split', () => {
    expect(failure('+' + 'x'.repeat(65 * 1024)).code).toBe('PW_ERR_REDIS_LINE_TOO_LONG');
    expect(readOne('+' + 'x'.repeat(64 * 1024) + '\r\n')).toHaveLength(64 * 1024);
    const reader = new RespReader({ maxLineLength: 8 });
    reader.feed(Buffer.from('+12345678'));
    expect(reader.read()).toBe(NEED_MORE);
    reader.feed(Buffer.from('9'));
    expect(() => reader.read()).toThrow(expect.objectContaining({ code: 'PW_ERR_REDIS_LINE_TOO_LONG' }));
    expect(readOne('+12345678\r\n', { maxLineLength: 8 })).toBe('12345678');
  });

  it('after an error the reader holds nothing and throws the same error again', () => {
    const reader = new RespReader();
    reader.feed(Buffer.from('+OK\r\n?bad\r\n+later\r\n'));
    expect(reader.read()).toBe('OK');
    let first: unknown;
    try {
      reader.read();
    } catch (error) {
      first = error;
    }
    expect(first).toMatchObject({ code: 'PW_ERR_REDIS_BAD_TYPE' });
    expect(reader.bufferedBytes).toBe(0);
    reader.feed(Buffer.from('+more\r\n'));
    expect(() => reader.read()).toThrow(first as Error);
  });

  it('a line or a bulk split into single bytes is scanned once (no quadratic rescans)', () => {
    const line = Buffer.from('+' + 'y'.repeat(60_000) + '\r\n');
    const bulk = Buffer.concat([Buffer.from('$1000000\r\n'), Buffer.alloc(1_000_000, 0x61), Buffer.from('\r\n')]);
    const bytes = Buffer.concat([line, bulk]);
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) pieces.push(bytes.subarray(i, i + 1));
    const started = performance.now();
    const replies = readAll(pieces);
    expect(replies.map((r) => (r as string).length)).toEqual([60_000, 1_000_000]);
    // Quadratic scanning of 1 MB in 1-byte pieces would take minutes; linear takes well under this.
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});

// ---- an independent encoder and random replies -----------------------------------

/** A reply as a tree of RESP types, with what the reader should make of it. */
type Model =
  | { t: 'simple'; s: string }
  | { t: 'error'; s: string }
  | { t: 'blobError'; s: string }
  | { t: 'int'; n: bigint; plus: boolean }
  | { t: 'bulk'; b: Buffer | null }
  | { t: 'verbatim'; format: string; b: Buffer }
  | { t: 'null' }
  | { t: 'bool'; v: boolean }
  | { t: 'double'; v: number }
  | { t: 'big'; v: bigint }
  | { t: 'array'; items: Model[] | null }
  | { t: 'map'; pairs: [Model, Model][] }
  | { t: 'set'; items: Model[] }
  | { t: 'attr'; pairs: [Model, Model][]; value: Model }
  | { t: 'push'; items: Model[] };

const crlf = '\r\n';

/** RESP bytes for a model, written straight from the spec's grammar lines. */
function encodeModel(m: Model): Buffer {
  const line = (s: string): Buffer => Buffer.from(s + crlf, 'utf8');
  const blob = (type: string, b: Buffer): Buffer => Buffer.concat([line(`${type}${b.length}`), b, Buffer.from(crlf)]);
  const all = (type: string, count: number, parts: Model[]): Buffer => Buffer.concat([line(`${type}${count}`), ...parts.map(encodeModel)]);
  switch (m.t) {
    case 'simple':
      return line(`+${m.s}`);
    case 'error':
      return line(`-${m.s}`);
    case 'blobError':
      return blob('!', Buffer.from(m.s));
    case 'int':
      return line(`:${m.plus && m.n >= 0n ? '+' : ''}${m.n}`);
    case 'bulk':
      return m.b === null ? line('$-1') : blob('$', m.b);
    case 'verbatim':
      return blob('=', Buffer.concat([Buffer.from(`${m.format}:`), m.b]));
    case 'null':
      return line('_');
    case 'bool':
      return line(m.v ? '#t' : '#f');
    case 'double':
      return line(`,${Number.isNaN(m.v) ? 'nan' : m.v === Infinity ? 'inf' : m.v === -Infinity ? '-inf' : String(m.v)}`);
    case 'big':
      return line(`(${m.v}`);
    case 'array':
      return m.items === null ? line('*-1') : all('*', m.items.length, m.items);
    case 'map':
      return all('%', m.pairs.length, m.pairs.flat());
    case 'set':
      return all('~', m.items.length, m.items);
    case 'attr':
      return Buffer.concat([all('|', m.pairs.length, m.pairs.flat()), encodeModel(m.value)]);
    case 'push':
      return all('>', m.items.length, m.items);
  }
}

/** What the reader should return for a model, in `plain` form. */
function expected(m: Model, buffers: boolean): unknown {
  const text = (b: Buffer): unknown => (buffers ? { bytes: b.toString('hex') } : b.toString('utf8'));
  const codeOf = (s: string): string => /^([A-Z][A-Z0-9_]*)(?: |$)/.exec(s)?.[1] ?? '';
  switch (m.t) {
    case 'simple':
      return m.s;
    case 'error':
    case 'blobError':
      return { error: m.s, code: codeOf(m.s) };
    case 'int':
      return m.n >= BigInt(Number.MIN_SAFE_INTEGER) && m.n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(m.n) : m.n;
    case 'bulk':
      return m.b === null ? null : text(m.b);
    case 'verbatim':
      return text(m.b);
    case 'null':
      return null;
    case 'bool':
      return m.v;
    case 'double':
      return Number.isNaN(m.v) ? { nan: true } : Number(String(m.v));
    case 'big':
      return m.v;
    case 'array':
      return m.items === null ? null : m.items.map((i) => expected(i, buffers));
    case 'map': {
      // Later duplicates of a key replace earlier ones, as in any Map.
      const entries = new Map<string, [unknown, unknown]>();
      for (const [k, v] of m.pairs) {
        const key = expected(k, buffers);
        const slot = sameKey(key, entries.size);
        // Map.set keeps the first key's position and takes the last value.
        entries.set(slot, [entries.get(slot)?.[0] ?? key, expected(v, buffers)]);
      }
      return { map: [...entries.values()] };
    }
    case 'set': {
      const seen = new Map<string, unknown>();
      for (const item of m.items) {
        const value = expected(item, buffers);
        const slot = sameKey(value, seen.size);
        if (!seen.has(slot)) seen.set(slot, value);
      }
      return { set: [...seen.values()] };
    }
    case 'attr':
      return expected(m.value, buffers);
    case 'push':
      return { push: m.items.map((i) => expected(i, buffers)) };
  }
}

const noCrLf = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\r\n]/g, '_'));
const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));

const scalar: fc.Arbitrary<Model> = fc.oneof(
  noCrLf.map((s) => ({ t: 'simple' as const, s })),
  fc.tuple(fc.constantFrom('ERR', 'WRONGTYPE', 'NOSCRIPT', 'WRONGPASS', 'err', ''), noCrLf).map(([code, s]) => ({ t: 'error' as const, s: `${code} ${s}` })),
  fc.tuple(fc.constantFrom('SYNTAX', 'ERR', 'x'), fc.string({ maxLength: 10 })).map(([code, s]) => ({ t: 'blobError' as const, s: `${code} ${s}\r\n` })),
  fc.record({ t: fc.constant('int' as const), n: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), plus: fc.boolean() }),
  fc.record({ t: fc.constant('bulk' as const), b: fc.option(bytes, { nil: null }) }),
  fc.record({ t: fc.constant('verbatim' as const), format: fc.constantFrom('txt', 'mkd'), b: bytes }),
  fc.constant({ t: 'null' as const }),
  fc.boolean().map((v) => ({ t: 'bool' as const, v })),
  fc.double().map((v) => ({ t: 'double' as const, v })),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }).map((v) => ({ t: 'big' as const, v })),
);

const { value: nested } = fc.letrec<{ value: Model }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.option(fc.array(tie('value'), { maxLength: 4 }), { nil: null }).map((items) => ({ t: 'array' as const, items })),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((pairs) => ({ t: 'map' as const, pairs })),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => ({ t: 'set' as const, items })),
    fc.tuple(fc.array(fc.tuple(scalar, tie('value')), { maxLength: 2 }), tie('value')).map(([pairs, value]) => ({ t: 'attr' as const, pairs, value })),
  ),
}));

/** A top-level reply: any value, or a push (never nested, RESP §Pushes). */
const reply: fc.Arbitrary<Model> = fc.oneof(
  { weight: 4, arbitrary: nested },
  { weight: 1, arbitrary: fc.array(nested, { maxLength: 4 }).map((items) => ({ t: 'push' as const, items: [{ t: 'bulk' as const, b: Buffer.from('message') }, ...items] })) },
);

describe('RespReader: properties', () => {
  it('any reply sequence, cut anywhere, reads back as the same values', () => {
    fc.assert(
      fc.property(fc.array(reply, { minLength: 1, maxLength: 6 }), cutsArbitrary, fc.boolean(), (models, cuts, buffers) => {
        const stream = Buffer.concat(models.map(encodeModel));
        const replies = readAll(splitAt(stream, cuts), { returnBuffers: buffers });
        expect(replies.map(plain)).toEqual(models.map((m) => expected(m, buffers)));
      }),
      { numRuns: 400 },
    );
  });

  it('reading byte by byte gives the same values as reading all at once', () => {
    fc.assert(
      fc.property(fc.array(reply, { minLength: 1, maxLength: 3 }), (models) => {
        const stream = Buffer.concat(models.map(encodeModel));
        const whole = readAll([stream]).map(plain);
        const bytewise = readAll([...stream].map((b) => Buffer.of(b))).map(plain);
        expect(bytewise).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });

  /**
   * Any byte stream ends in one of three ways: replies, a wait holding no
   * more than one line or one bulk, or a RespProtocolError — never another
   * exception, never a loop that does not return.
   */
  function survives(stream: Buffer, cuts: number[]): void {
    const options = { maxLineLength: 32, maxBulkLength: 64, maxAggregateLength: 16, maxDepth: 8 };
    const reader = new RespReader(options);
    try {
      for (const piece of splitAt(stream, cuts)) {
        reader.feed(piece);
        let reads = 0;
        while (reader.read() !== NEED_MORE) expect(++reads).toBeLessThanOrEqual(piece.length + 1);
        expect(reader.bufferedBytes).toBeLessThanOrEqual(Math.max(options.maxLineLength + 1, options.maxBulkLength + 1));
      }
    } catch (error) {
      if (!(error instanceof RespProtocolError)) throw error;
    }
  }

  it('random bytes: a typed error or a bounded wait', () => {
    const typeBytes = fc.constantFrom(...'+-:_#,($!=*%~>|?.;\r\n0123456789-x'.split(''));
    const respish = fc.array(fc.oneof(typeBytes, fc.string({ maxLength: 3 })), { maxLength: 60 }).map((parts) => Buffer.from(parts.join(''), 'latin1'));
    fc.assert(fc.property(fc.oneof(respish, fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a))), cutsArbitrary, survives), { numRuns: 1000 });
  });

  it('valid streams with bytes flipped, dropped or inserted: a typed error or a bounded wait', () => {
    const damaged = fc
      .tuple(fc.array(reply, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('flip', 'drop', 'insert')), { minLength: 1, maxLength: 4 }))
      .map(([models, edits]) => {
        const out = [...Buffer.concat(models.map(encodeModel))];
        for (const [at, byte, edit] of edits) {
          const i = out.length === 0 ? 0 : at % out.length;
          if (edit === 'flip') out[i] = byte;
          else if (edit === 'drop') out.splice(i, 1);
          else out.splice(i, 0, byte);
        }
        return Buffer.from(out);
      });
    fc.assert(fc.property(damaged, cutsArbitrary, survives), { numRuns: 1000 });
  });
});

// ---- the encoder -----------------------------------------------------------------

describe('encodeCommand', () => {
  it('writes an array of bulk strings (RESP §Sending commands to a Redis server)', () => {
    expect(encodeCommand(['LLEN', 'mylist']).toString()).toBe('*2\r\n$4\r\nLLEN\r\n$6\r\nmylist\r\n');
    expect(encodeCommand(['SET', 'k', 1.5, -3, 10n, Buffer.from([0, 13, 10])]).toString('latin1')).toBe(
      '*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n1.5\r\n$2\r\n-3\r\n$2\r\n10\r\n$3\r\n\x00\r\n\r\n',
    );
    expect(encodeCommand(['ECHO', 'é']).toString('latin1')).toBe('*2\r\n$4\r\nECHO\r\n$2\r\n\xc3\xa9\r\n');
    expect(encodeCommand(['ECHO', '']).toString()).toBe('*2\r\n$4\r\nECHO\r\n$0\r\n\r\n');
  });

  it('refuses what RESP cannot carry, with a typed error', () => {
    for (const bad of [[], ['SET', 'k', NaN], ['SET', 'k', Infinity], ['SET', null], ['SET', undefined], ['SET', {}]] as unknown[][]) {
      expect(() => encodeCommand(bad as never)).toThrow(RedisArgumentError);
    }
    expect(() => encodeCommand([])).toThrow(expect.objectContaining({ code: 'PW_ERR_REDIS_INVALID_ARGUMENT' }));
  });

  it('round-trips through the reader: the command arrives as the array of its arguments', () => {
    const arg = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.bigInt(),
    );
    fc.assert(
      fc.property(fc.array(arg, { minLength: 1, maxLength: 12 }), cutsArbitrary, (args, cuts) => {
        const [back] = readAll(splitAt(encodeCommand(args), cuts), { returnBuffers: true });
        const asBytes = (a: string | Buffer | number | bigint): string =>
          (Buffer.isBuffer(a) ? a : Buffer.from(typeof a === 'string' ? a : String(a))).toString('hex');
        expect((back as Buffer[]).map((b) => b.toString('hex'))).toEqual(args.map(asBytes));
      }),
      { numRuns: 300 },
    );
  });
});

// ---- the other sans-I/O pieces of src/redis/ ---------------------------------------

describe('parseRedisUrl', () => {
  it('reads scheme, credentials (percent-decoded), host, port and database', () => {
    expect(parseRedisUrl('redis://localhost')).toEqual({ tls: false, host: 'localhost', port: 6379, username: undefined, password: undefined, db: 0 });
    expect(parseRedisUrl('rediss://alice:p%40ss%3Aword@redis.example:6380/2')).toEqual({
      tls: true,
      host: 'redis.example',
      port: 6380,
      username: 'alice',
      password: 'p@ss:word',
      db: 2,
    });
    expect(parseRedisUrl('redis://:secret@127.0.0.1:7000/')).toMatchObject({ username: undefined, password: 'secret', db: 0 });
    expect(parseRedisUrl('redis://[::1]:6390')).toMatchObject({ host: '::1', port: 6390 });
  });

  it('refuses what it cannot honour, with RedisConfigError', () => {
    for (const url of ['', 'localhost:6379', 'http://h', 'redis://', 'redis://h:0', 'redis://h:99999', 'redis://h/db', 'redis://h/1/2', 'redis://h?timeout=1', 'redis://h#x', 'redis://:%zz@h']) {
      expect(() => parseRedisUrl(url), url).toThrow(RedisConfigError);
    }
  });

  it('hides the password in messages', () => {
    expect(redact('redis://alice:secret@h:1/0')).toBe('redis://alice:***@h:1/0');
    expect(redact('rediss://:secret@h')).toBe('rediss://:***@h');
    expect(redact('redis://h:6379')).toBe('redis://h:6379');
    expect(() => parseRedisUrl('redis://:secret@h/x')).toThrow(expect.not.objectContaining({ message: expect.stringContaining('secret') }));
  });
});

describe('backoffDelay (full jitter)', () => {
  it('draws from [0, min(cap, base · 2^attempt))', () => {
    expect(backoffDelay(0, 100, 2000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 2000, () => 0.5)).toBe(400);
    expect(backoffDelay(10, 100, 2000, () => 0.999)).toBe(1998);
    expect(backoffDelay(5000, 100, 2000, () => 0.5)).toBe(1000);
    expect(backoffDelay(4, 100, 2000, () => 0)).toBe(0);
  });
});
