// RESP — the REdis Serialization Protocol, versions 2 and 3: a sans-I/O
// reply reader and a command encoder. Bytes in, replies out; no socket, no
// timer, no clock. References: the "RESP protocol spec" (redis.io, "Redis
// serialization protocol specification", cited as `RESP §<section>`) and the
// RESP3 specification (redis-specifications/protocol/RESP3.md, `RESP3 §…`).
//
// RESP §RESP protocol description: "The first byte in an RESP-serialized
// payload always identifies its type. Subsequent bytes constitute the type's
// contents." Every part is terminated by CRLF. Three shapes follow:
//
//   line     <type><text>CRLF                     + - : _ # , (
//   bulk     <type><length>CRLF<bytes>CRLF        $ ! =
//   aggregate <type><count>CRLF<count values>     * % ~ > |
//
// The reader is resumable like the WebSocket frame parser
// (src/protocol/frame-parser.ts): it keeps the chunks it is fed in a list,
// consumes exactly the bytes a state needs, and never concatenates per chunk.
// Aggregates are built on an explicit stack (no recursion), and every length
// a server declares is checked against a limit before anything waits for it.
import { RedisArgumentError, RedisReplyError, RespProtocolError } from './errors.js';

/**
 * A RESP3 push (RESP3 §Push type, RESP §Pushes): out-of-band data such as a
 * pub/sub message, `[ 'message', channel, payload ]`. Never a reply to a
 * command, so the reader returns it wrapped, for the caller to route apart.
 */
export class RespPush {
  constructor(
    /** The push's elements; the first names its kind (`message`, `pmessage`, `subscribe`, `invalidate`, …). */
    readonly items: RespValue[],
  ) {}
}

/**
 * A reply as the reader returns it:
 *
 * | RESP type | value |
 * | --- | --- |
 * | simple string `+` | `string` |
 * | simple error `-`, bulk error `!` | `RedisReplyError` (a value; the client rejects with it) |
 * | integer `:` | `number`, or `bigint` beyond ±2^53 − 1 |
 * | bulk string `$`, verbatim string `=` | `string` (UTF-8), or `Buffer` with `returnBuffers`; a verbatim string loses its `txt:` prefix |
 * | null bulk `$-1`, null array `*-1`, null `_` | `null` |
 * | boolean `#` | `boolean` |
 * | double `,` | `number` (also `Infinity`, `-Infinity`, `NaN`) |
 * | big number `(` | `bigint` |
 * | array `*` | `RespValue[]` |
 * | map `%` | `Map` |
 * | set `~` | `Set` |
 * | push `>` | `RespPush` (top level only) |
 * | attribute `\|` | skipped: the value it annotates is returned |
 */
export type RespValue =
  | string
  | Buffer
  | number
  | bigint
  | boolean
  | null
  | RedisReplyError
  | RespValue[]
  | Map<RespValue, RespValue>
  | Set<RespValue>
  | RespPush;

/** What `RespReader.read` returns when the bytes fed so far end inside a reply. */
export const NEED_MORE: unique symbol = Symbol('NEED_MORE');

/** Limits on what a server may declare. Each violation is a `RespProtocolError` with its own code. */
export interface RespReaderOptions {
  /**
   * Longest bulk string, bulk error or verbatim string, bytes. Default 512 MiB,
   * Redis's own `proto-max-bulk-len`: no Redis reply can be longer.
   */
  maxBulkLength?: number;
  /** Most elements one aggregate may declare (a map's pairs count twice). Default 16 Mi. */
  maxAggregateLength?: number;
  /** Deepest nesting of aggregates (attributes included). Default 64. */
  maxDepth?: number;
  /**
   * Longest line — a simple string, an error, a number or a length — bytes,
   * without its type byte and CRLF. Default 64 KiB: Redis's own lines are short.
   */
  maxLineLength?: number;
  /** Return bulk and verbatim strings as Buffers (copies) instead of UTF-8 strings. Default false. */
  returnBuffers?: boolean;
}

export const DEFAULT_MAX_BULK_LENGTH = 512 * 1024 * 1024;
export const DEFAULT_MAX_AGGREGATE_LENGTH = 16 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 64;
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

const CR = 0x0d;
const LF = 0x0a;

const enum State {
  /** Waiting for a value's first byte. */
  Type,
  /** Reading a line up to CRLF; `type` says what it holds. */
  Line,
  /** Waiting for `bulkLength` bytes and CRLF. */
  Bulk,
  /** A protocol error was thrown: every later call throws it again. */
  Failed,
}

const enum Kind {
  Array,
  Map,
  Set,
  Push,
  /** Skipped once complete: the slot it precedes is still to be filled. */
  Attribute,
}

/** An aggregate being filled: `remaining` values still to come. */
interface Frame {
  kind: Kind;
  items: RespValue[];
  remaining: number;
}

/** Returned by `complete` when the value went into an unfinished aggregate. */
const PENDING: unique symbol = Symbol('PENDING');

/**
 * Incremental RESP2/RESP3 reply reader (the shape of hiredis's `redisReader`):
 * `feed` bytes split anywhere, then call `read` until it returns `NEED_MORE`.
 *
 * ```ts
 * const reader = new RespReader();
 * reader.feed(Buffer.from('*2\r\n$5\r\nhello\r\n:4'));
 * reader.read(); // NEED_MORE
 * reader.feed(Buffer.from('2\r\n'));
 * reader.read(); // ['hello', 42]
 * ```
 *
 * Malformed input makes `read` throw a `RespProtocolError`; the reader then
 * drops what it holds and throws the same error on every later call. While it
 * waits, it holds at most one line (`maxLineLength` + 1 bytes) or one bulk
 * (`maxBulkLength` + 1 bytes) beyond the values already read — and aggregates
 * are never pre-allocated from the count a server declares, so memory follows
 * the bytes actually received.
 */
export class RespReader {
  private chunks: Buffer[] = [];
  /** Index of the first chunk still in use. */
  private head = 0;
  /** Bytes already consumed from chunks[head]. */
  private offset = 0;
  private buffered = 0;

  private state = State.Type;
  /** The current value's type byte (Line and Bulk states). */
  private type = 0;
  /** Line state: bytes of this line scanned so far without finding LF, and where to resume. */
  private scanned = 0;
  private scanChunk = 0;
  private scanPos = 0;
  /** Line state: the last byte scanned (to see the CR before an LF in the next chunk). */
  private lastScanned = 0;
  /** Bulk state: the declared length. */
  private bulkLength = 0;
  /** The line just read, as a range of a buffer: no view allocated per line. */
  private lineBuf: Buffer = EMPTY;
  private lineStart = 0;
  private lineEnd = 0;

  private readonly stack: Frame[] = [];
  private failure: RespProtocolError | null = null;

  private readonly maxBulkLength: number;
  private readonly maxAggregateLength: number;
  private readonly maxDepth: number;
  private readonly maxLineLength: number;
  private readonly returnBuffers: boolean;

  constructor(options: RespReaderOptions = {}) {
    this.maxBulkLength = options.maxBulkLength ?? DEFAULT_MAX_BULK_LENGTH;
    this.maxAggregateLength = options.maxAggregateLength ?? DEFAULT_MAX_AGGREGATE_LENGTH;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.maxLineLength = options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    this.returnBuffers = options.returnBuffers ?? false;
  }

  /** Bytes fed but not yet consumed. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True between replies: no partial value is held (a clean place for the connection to end). */
  get idle(): boolean {
    return this.state === State.Type && this.stack.length === 0 && this.buffered === 0;
  }

  /** Hand over received bytes. The reader keeps the chunk (no copy); do not modify it afterwards. */
  feed(chunk: Buffer): void {
    if (this.state === State.Failed || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next complete reply, or `NEED_MORE`. Throws `RespProtocolError` for
   * bytes that are not RESP, and keeps throwing it afterwards.
   */
  read(): RespValue | typeof NEED_MORE {
    if (this.failure) throw this.failure;
    try {
      return this.step();
    } catch (error) {
      if (error instanceof RespProtocolError) this.fail(error);
      throw error;
    }
  }

  private fail(error: RespProtocolError): void {
    this.failure = error;
    this.state = State.Failed;
    this.chunks = [];
    this.head = this.offset = this.buffered = 0;
    this.stack.length = 0;
    this.lineBuf = EMPTY;
  }

  private step(): RespValue | typeof NEED_MORE {
    for (;;) {
      let value: RespValue;
      switch (this.state) {
        case State.Type: {
          if (this.buffered === 0) return NEED_MORE;
          this.type = this.takeByte();
          this.startLine();
          continue;
        }
        case State.Line: {
          const length = this.scanLine();
          if (length < 0) return NEED_MORE;
          this.takeLine(length);
          const result = this.onLine();
          if (result === PENDING) continue;
          value = result;
          break;
        }
        case State.Bulk: {
          if (this.buffered < this.bulkLength + 2) return NEED_MORE;
          value = this.onBulk();
          break;
        }
        default:
          throw this.failure!;
      }
      const reply = this.complete(value);
      if (reply !== PENDING) return reply;
    }
  }

  // ---- one value's first line -------------------------------------------------

  /** Handle the line just taken (without its type byte and CRLF). A value, or PENDING for a header that needs more. */
  private onLine(): RespValue | typeof PENDING {
    const { lineBuf: buf, lineStart: start, lineEnd: end } = this;
    this.state = State.Type;
    switch (this.type) {
      // RESP §Simple strings: "+<string>\r\n"; "The string mustn't contain a CR (\r) or LF (\n) character".
      case 0x2b /* + */:
        return this.simpleText();
      // RESP §Simple errors: "-Error message\r\n"; the first word is the error prefix.
      case 0x2d /* - */:
        return new RedisReplyError(this.simpleText());
      // RESP §Integers: ":[<+|->]<value>\r\n", a signed 64-bit integer.
      case 0x3a /* : */:
        return parseInteger(buf, start, end);
      // RESP §Nulls: "_\r\n".
      case 0x5f /* _ */:
        if (end !== start) throw badValue('a null (_) with content');
        return null;
      // RESP §Booleans: "#<t|f>\r\n".
      case 0x23 /* # */:
        if (end - start === 1 && buf[start] === 0x74) return true;
        if (end - start === 1 && buf[start] === 0x66) return false;
        throw badValue('a boolean (#) other than t or f');
      // RESP §Doubles: ",[<+|->]<integral>[.<fractional>][<E|e>[sign]<exponent>]\r\n", or inf, -inf, nan.
      case 0x2c /* , */:
        return parseDouble(buf.toString('latin1', start, end));
      // RESP §Big numbers: "([+|-]<number>\r\n".
      case 0x28 /* ( */: {
        const text = buf.toString('latin1', start, end);
        if (!/^[+-]?[0-9]+$/.test(text)) throw badValue('a big number that is not a decimal integer');
        return BigInt(text);
      }
      // RESP §Bulk strings "$<length>\r\n<data>\r\n" (and §Null bulk strings "$-1\r\n"),
      // §Bulk errors "!<length>…", §Verbatim strings "=<length>\r\n<encoding>:<data>\r\n".
      case 0x24 /* $ */:
      case 0x21 /* ! */:
      case 0x3d /* = */: {
        const length = this.parseLength(this.type === 0x24);
        if (length === -1) return null;
        if (length > this.maxBulkLength) {
          throw new RespProtocolError('PW_ERR_REDIS_BULK_TOO_LONG', `a bulk of ${length} bytes is over maxBulkLength (${this.maxBulkLength})`);
        }
        this.bulkLength = length;
        this.state = State.Bulk;
        return PENDING;
      }
      // RESP §Arrays "*<count>\r\n<elements>" (and §Null arrays "*-1\r\n"), §Maps "%<pairs>…",
      // §Sets "~…", §Pushes ">…", §Attributes "|<pairs>…".
      case 0x2a /* * */:
        return this.openAggregate(Kind.Array, this.parseLength(true));
      case 0x25 /* % */:
        return this.openAggregate(Kind.Map, this.parseLength(false));
      case 0x7e /* ~ */:
        return this.openAggregate(Kind.Set, this.parseLength(false));
      case 0x3e /* > */:
        // RESP §Pushes: "Pushed data may precede or follow any of RESP's data
        // types but never inside them."
        if (this.stack.length > 0) throw new RespProtocolError('PW_ERR_REDIS_BAD_TYPE', 'push data (>) inside an aggregate');
        return this.openAggregate(Kind.Push, this.parseLength(false));
      case 0x7c /* | */:
        return this.openAggregate(Kind.Attribute, this.parseLength(false));
      default:
        // Unreachable: startLine refused every other byte.
        throw describeType(this.type);
    }
  }

  /** A simple string's or error's text. LF cannot be inside (the scan stopped at the first); a CR can. */
  private simpleText(): string {
    const { lineBuf: buf, lineStart: start, lineEnd: end } = this;
    // The line's own CR sits at `end`, so the search never runs past it.
    if (buf.indexOf(CR, start) !== end) throw new RespProtocolError('PW_ERR_REDIS_MISSING_CRLF', 'a CR inside a line');
    return buf.toString('utf8', start, end);
  }

  /** The type byte was read: refuse an unknown one at once, before waiting for a line. */
  private startLine(): void {
    if (KNOWN_TYPES[this.type] === 0) throw describeType(this.type);
    this.state = State.Line;
    this.scanned = 0;
    this.scanChunk = this.head;
    this.scanPos = this.offset;
  }

  /**
   * A length or count: one or more decimal digits, or -1 where RESP2 uses it
   * for null. RESP3 §Streamed strings / §Streamed aggregated data types write
   * `?` instead; Redis never sends them (RESP §RESP versions: "excluding
   * streaming strings and streaming aggregates"), so they are refused by name.
   */
  private parseLength(nullable: boolean): number {
    const { lineBuf: buf, lineStart: start, lineEnd: end } = this;
    const size = end - start;
    if (size === 1 && buf[start] === 0x3f /* ? */) {
      throw new RespProtocolError('PW_ERR_REDIS_UNSUPPORTED', `streamed ${String.fromCharCode(this.type)}? values are not supported`);
    }
    if (size === 2 && buf[start] === 0x2d && buf[start + 1] === 0x31) {
      if (nullable) return -1;
      throw new RespProtocolError('PW_ERR_REDIS_BAD_LENGTH', `a null length (-1) after ${String.fromCharCode(this.type)}`);
    }
    if (size === 0) throw new RespProtocolError('PW_ERR_REDIS_BAD_LENGTH', 'an empty length');
    let value = 0;
    for (let i = start; i < end; i++) {
      const digit = buf[i] - 0x30;
      if (digit < 0 || digit > 9) {
        throw new RespProtocolError(
          'PW_ERR_REDIS_BAD_LENGTH',
          `a length that is not a decimal integer ≥ -1: ${JSON.stringify(buf.toString('latin1', start, end))}`,
        );
      }
      // Past 2^53 the value is only compared against limits far below it.
      value = value * 10 + digit;
    }
    return value;
  }

  private openAggregate(kind: Kind, count: number): RespValue | typeof PENDING {
    if (count === -1) return null; // RESP §Null arrays
    // RESP §Maps: "the number of entries, or key-value tuples": two values each.
    const elements = kind === Kind.Map || kind === Kind.Attribute ? count * 2 : count;
    if (elements > this.maxAggregateLength) {
      throw new RespProtocolError(
        'PW_ERR_REDIS_TOO_MANY_ELEMENTS',
        `an aggregate of ${elements} elements is over maxAggregateLength (${this.maxAggregateLength})`,
      );
    }
    if (this.stack.length >= this.maxDepth) {
      throw new RespProtocolError('PW_ERR_REDIS_TOO_DEEP', `aggregates nested deeper than maxDepth (${this.maxDepth})`);
    }
    if (elements === 0) {
      // RESP3 §Attribute type: an empty attribute annotates the next value with nothing.
      return kind === Kind.Attribute ? PENDING : build(kind, []);
    }
    // No pre-allocation from `count`: the array grows with the values that actually arrive.
    this.stack.push({ kind, items: [], remaining: elements });
    return PENDING;
  }

  // ---- bulk payloads ------------------------------------------------------------

  private onBulk(): RespValue {
    const length = this.bulkLength;
    const type = this.type;
    this.state = State.Type;
    // Verbatim strings: "Exactly three (3) bytes represent the data's encoding",
    // then ':' (RESP §Verbatim strings).
    if (type === 0x3d && (length < 4 || this.peekByte(3) !== 0x3a)) {
      throw badValue('a verbatim string (=) without its 3-byte format and colon');
    }
    const skip = type === 0x3d ? 4 : 0;
    if (skip) this.skip(skip);
    const value = type === 0x21 ? new RedisReplyError(this.takeString(length)) : this.returnBuffers ? this.takeBuffer(length - skip) : this.takeString(length - skip);
    // "A final CRLF": the declared length must land exactly on it.
    if (this.takeByte() !== CR || this.takeByte() !== LF) {
      throw new RespProtocolError('PW_ERR_REDIS_MISSING_CRLF', `bulk data not followed by CRLF after its ${length} bytes`);
    }
    return value;
  }

  // ---- aggregates -----------------------------------------------------------------

  /**
   * Put a finished value into the aggregate being filled, closing every
   * aggregate it completes. Returns the top-level reply, or PENDING.
   */
  private complete(value: RespValue): RespValue | typeof PENDING {
    const stack = this.stack;
    for (;;) {
      const frame = stack[stack.length - 1];
      if (frame === undefined) return value;
      frame.items.push(value);
      if (--frame.remaining > 0) return PENDING;
      stack.pop();
      // RESP3 §Attribute type: "the client should keep reading the reply
      // ignoring the attribute type" — the slot it came before is still open.
      if (frame.kind === Kind.Attribute) return PENDING;
      value = build(frame.kind, frame.items);
    }
  }

  // ---- the chunk list -------------------------------------------------------------

  /**
   * Look for the LF ending the current line, resuming where the last call
   * stopped, so each byte is scanned once however the line was split. Returns
   * the line's length without CRLF, or -1 to wait for more.
   */
  private scanLine(): number {
    const chunks = this.chunks;
    const limit = this.maxLineLength + 1; // the content and its CR
    while (this.scanChunk < chunks.length) {
      const chunk = chunks[this.scanChunk];
      // A plain loop: lines are short, and Buffer#indexOf costs more to call than to run here.
      let at = -1;
      for (let i = this.scanPos; i < chunk.length; i++) {
        if (chunk[i] === LF) {
          at = i;
          break;
        }
      }
      if (at === -1) {
        this.scanned += chunk.length - this.scanPos;
        if (chunk.length > this.scanPos) this.lastScanned = chunk[chunk.length - 1];
        this.scanChunk++;
        this.scanPos = 0;
        // Over the limit — or at it, without the CR that would end it.
        if (this.scanned > limit || (this.scanned === limit && this.lastScanned !== CR)) throw this.lineTooLong();
        continue;
      }
      const before = at > this.scanPos ? chunk[at - 1] : this.scanned > 0 ? this.lastScanned : -1;
      const total = this.scanned + (at - this.scanPos); // bytes before the LF
      if (total > limit) throw this.lineTooLong();
      // RESP §RESP protocol description: "The \r\n (CRLF) is the protocol's terminator".
      if (before !== CR) throw new RespProtocolError('PW_ERR_REDIS_MISSING_CRLF', 'a line ended by LF without CR');
      return total - 1;
    }
    return -1;
  }

  private lineTooLong(): RespProtocolError {
    return new RespProtocolError('PW_ERR_REDIS_LINE_TOO_LONG', `no CRLF within maxLineLength (${this.maxLineLength}) bytes`);
  }

  /**
   * Consume a line of `length` bytes and its CRLF into lineBuf/lineStart/lineEnd:
   * a range of the chunk when it lies in one (no allocation), else a copy.
   * lineEnd is the index of the line's CR in the first case.
   */
  private takeLine(length: number): void {
    const chunk = this.chunks[this.head];
    if (this.offset + length + 2 <= chunk.length) {
      this.lineBuf = chunk;
      this.lineStart = this.offset;
      this.lineEnd = this.offset + length;
      this.offset += length + 2;
      this.buffered -= length + 2;
      if (this.offset === chunk.length) this.nextChunk();
      return;
    }
    // Split across chunks: copy it with its CR, so the CR still ends the range's search.
    this.lineBuf = this.take(length + 1);
    this.lineStart = 0;
    this.lineEnd = length;
    this.skip(1);
  }

  private takeByte(): number {
    const chunk = this.chunks[this.head];
    const byte = chunk[this.offset++];
    this.buffered--;
    if (this.offset === chunk.length) this.nextChunk();
    return byte;
  }

  /** The byte `n` places ahead, without consuming it (it is buffered). */
  private peekByte(n: number): number {
    let index = this.head;
    let at = this.offset + n;
    while (at >= this.chunks[index].length) at -= this.chunks[index++].length;
    return this.chunks[index][at];
  }

  private skip(n: number): void {
    while (n > 0) {
      const chunk = this.chunks[this.head];
      const step = Math.min(n, chunk.length - this.offset);
      this.offset += step;
      this.buffered -= step;
      n -= step;
      if (this.offset === chunk.length) this.nextChunk();
    }
  }

  /** The next `n` buffered bytes: a view into the chunk when they lie in one, else one copy. */
  private take(n: number): Buffer {
    const chunk = this.chunks[this.head];
    if (this.offset + n <= chunk.length) {
      const view = chunk.subarray(this.offset, this.offset + n);
      this.offset += n;
      this.buffered -= n;
      if (this.offset === chunk.length) this.nextChunk();
      return view;
    }
    const copy = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const current = this.chunks[this.head];
      const step = Math.min(n - filled, current.length - this.offset);
      current.copy(copy, filled, this.offset, this.offset + step);
      filled += step;
      this.offset += step;
      if (this.offset === current.length) this.nextChunk();
    }
    this.buffered -= n;
    return copy;
  }

  private takeString(n: number): string {
    const chunk = this.chunks[this.head];
    if (this.offset + n <= chunk.length) {
      const text = chunk.toString('utf8', this.offset, this.offset + n);
      this.offset += n;
      this.buffered -= n;
      if (this.offset === chunk.length) this.nextChunk();
      return text;
    }
    return this.take(n).toString('utf8');
  }

  /** A Buffer that owns its bytes: a reply may outlive the socket chunk it came in. */
  private takeBuffer(n: number): Buffer {
    const chunk = this.chunks[this.head];
    // take() copies when the bytes span chunks; a view into one chunk is copied here.
    return this.offset + n <= chunk.length ? Buffer.from(this.take(n)) : this.take(n);
  }

  private nextChunk(): void {
    this.offset = 0;
    this.head++;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      // Drop consumed chunks now and then, not on every one (no O(n) shift per chunk).
      this.chunks.splice(0, this.head);
      this.scanChunk -= this.head;
      this.head = 0;
    }
  }
}

const KNOWN_TYPES = new Uint8Array(256);
for (const c of '+-:_#,($!=*%~>|') KNOWN_TYPES[c.charCodeAt(0)] = 1;
const EMPTY = Buffer.alloc(0);

function describeType(byte: number): RespProtocolError {
  const shown = byte >= 0x21 && byte <= 0x7e ? `'${String.fromCharCode(byte)}'` : `0x${byte.toString(16).padStart(2, '0')}`;
  return new RespProtocolError('PW_ERR_REDIS_BAD_TYPE', `${shown} is not a RESP type byte`);
}

function badValue(what: string): RespProtocolError {
  return new RespProtocolError('PW_ERR_REDIS_BAD_VALUE', what);
}

function build(kind: Kind, items: RespValue[]): RespValue {
  switch (kind) {
    case Kind.Array:
      return items;
    case Kind.Push:
      return new RespPush(items);
    case Kind.Set:
      return new Set(items);
    default: {
      const map = new Map<RespValue, RespValue>();
      for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
      return map;
    }
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** RESP §Integers: optional sign, one or more digits, within a signed 64-bit integer. */
function parseInteger(buf: Buffer, start: number, end: number): number | bigint {
  const signed = buf[start] === 0x2d || buf[start] === 0x2b;
  const digits = end - start - (signed ? 1 : 0);
  if (digits <= 0) throw badValue('an integer (:) without digits');
  let value = 0;
  for (let i = signed ? start + 1 : start; i < end; i++) {
    const digit = buf[i] - 0x30;
    if (digit < 0 || digit > 9) throw badValue(`an integer (:) with a non-digit: ${JSON.stringify(buf.toString('latin1', start, end))}`);
    value = value * 10 + digit;
  }
  // Up to 15 digits a double is exact; beyond, read the text exactly.
  if (digits <= 15) return buf[start] === 0x2d && value !== 0 ? -value : value;
  const exact = BigInt(buf.toString('latin1', start, end));
  if (exact < INT64_MIN || exact > INT64_MAX) throw badValue('an integer (:) outside the signed 64-bit range');
  return exact >= -MAX_SAFE && exact <= MAX_SAFE ? Number(exact) : exact;
}

const DOUBLE = /^[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;

/**
 * RESP §Doubles. Besides the grammar, `inf`, `-inf` and `nan`; and, since
 * "Redis prior to version 7.2 may return any representation of NaN produced by
 * libc, such as "-nan", "NAN" or "nan(char-sequence)"" (RESP3 §Double), those too.
 */
function parseDouble(text: string): number {
  if (DOUBLE.test(text)) return Number(text);
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (/^[+-]?nan(\([0-9a-z_]*\))?$/.test(lower)) return NaN;
  throw badValue(`a double (,) that is not a number: ${JSON.stringify(text)}`);
}

// ---- encoding commands ----------------------------------------------------------------

/** What a command argument may be: sent as a bulk string (numbers in decimal). */
export type RedisArgument = string | Buffer | number | bigint;

/**
 * Encode one command the way RESP §Sending commands to a Redis server says: "A
 * client sends the Redis server an array consisting of only bulk strings." One
 * allocation for the whole command. Throws `RedisArgumentError` for an empty
 * command, a non-finite number or a value of another type.
 */
export function encodeCommand(args: readonly RedisArgument[]): Buffer {
  const count = args.length;
  if (count === 0) throw new RedisArgumentError('a command needs at least its name');
  const texts: (string | Buffer)[] = new Array(count);
  const sizes: number[] = new Array(count);
  let total = 3 + decimalLength(count); // *<count>\r\n
  for (let i = 0; i < count; i++) {
    const arg = args[i];
    let item: string | Buffer;
    if (typeof arg === 'string' || Buffer.isBuffer(arg)) item = arg;
    else if (typeof arg === 'number') {
      if (!Number.isFinite(arg)) throw new RedisArgumentError(`argument ${i} is ${arg}: Redis takes finite numbers only`);
      item = String(arg);
    } else if (typeof arg === 'bigint') item = arg.toString();
    else throw new RedisArgumentError(`argument ${i} is a ${arg === null ? 'null' : typeof arg}: expected a string, Buffer, number or bigint`);
    const size = typeof item === 'string' ? Buffer.byteLength(item) : item.length;
    texts[i] = item;
    sizes[i] = size;
    total += 5 + decimalLength(size) + size; // $<size>\r\n<bytes>\r\n
  }
  const out = Buffer.allocUnsafe(total);
  let at = out.write(`*${count}\r\n`, 0, 'latin1');
  for (let i = 0; i < count; i++) {
    at += out.write(`$${sizes[i]}\r\n`, at, 'latin1');
    const item = texts[i];
    at += typeof item === 'string' ? out.write(item, at, 'utf8') : item.copy(out, at);
    out[at++] = CR;
    out[at++] = LF;
  }
  return out;
}

function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}
