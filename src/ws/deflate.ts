// RFC 7692 §7.2 per-message compression with node:zlib: one deflate and one
// inflate context per connection (created on first use, reset after each
// message without context takeover, released on close), jobs run one at a
// time per direction and at most `concurrency` at a time per process.
import * as zlib from 'node:zlib';
import type { Role } from '../protocol/connection.js';
import { ProtocolError } from '../protocol/errors.js';
import { MIN_ZLIB_WINDOW_BITS, type DeflateParams } from '../protocol/extensions.js';

/** §7.2.1: the empty stored block every Z_SYNC_FLUSH ends with; stripped on send, restored on receive. */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Tuning of the compressor, beside what the handshake negotiates. */
export interface DeflateTuning {
  /**
   * Messages smaller than this many bytes are sent uncompressed. Default: 32
   * while this end keeps its compression context (small messages then compress
   * well against the ones before), 1024 when it starts afresh every message.
   */
  threshold?: number;
  /** zlib memLevel 1–9 of the compressor: memory against speed and ratio. Default 8. */
  memLevel?: number;
  /** zlib compression level 0–9. Default 6 (zlib's default). */
  level?: number;
}

export type DeflateCallback = (error: Error | null, result?: Buffer) => void;

/** Bounds how many zlib jobs run at once in the whole process. */
class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(public concurrency: number) {}

  run(job: (done: () => void) => void): void {
    if (this.running < this.concurrency) {
      this.running++;
      job(this.done);
    } else {
      this.waiting.push(() => job(this.done));
    }
  }

  private readonly done = (): void => {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  };
}

const limiter = new Limiter(10);

/** Set how many zlib jobs may run at once in this process (default 10). */
export function setDeflateConcurrency(concurrency: number): void {
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a whole number ≥ 1');
  limiter.concurrency = concurrency;
}

type Job = { data: Buffer; callback: DeflateCallback };

/**
 * One connection's permessage-deflate state. `compress` and `decompress`
 * take whole messages and call back in the order they were called.
 */
export class PerMessageDeflate {
  readonly threshold: number;
  private readonly ownWindowBits: number;
  private readonly ownNoContextTakeover: boolean;
  private readonly peerNoContextTakeover: boolean;
  private readonly memLevel: number;
  private readonly level: number;
  private deflater: zlib.DeflateRaw | null = null;
  private inflater: zlib.InflateRaw | null = null;
  private readonly compressQueue: Job[] = [];
  private readonly decompressQueue: Job[] = [];
  private compressing = false;
  private decompressing = false;
  private closed = false;

  constructor(
    params: DeflateParams,
    role: Role,
    private readonly maxPayload: number,
    tuning: DeflateTuning = {},
  ) {
    const server = role === 'server';
    this.ownWindowBits = server ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    this.ownNoContextTakeover = server ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    this.peerNoContextTakeover = server ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    // A window below what zlib can keep to (8 bits) is honoured by never compressing (RFC 7692 §6).
    this.threshold =
      this.ownWindowBits < MIN_ZLIB_WINDOW_BITS
        ? Number.POSITIVE_INFINITY
        : (tuning.threshold ?? (this.ownNoContextTakeover ? 1024 : 32));
    this.memLevel = tuning.memLevel ?? 8;
    this.level = tuning.level ?? zlib.constants.Z_DEFAULT_COMPRESSION;
  }

  /** Compress one message (§7.2.1); the result has the trailing 00 00 ff ff removed. */
  compress(data: Buffer, callback: DeflateCallback): void {
    this.compressQueue.push({ data, callback });
    if (!this.compressing) this.nextCompress();
  }

  /**
   * Decompress one message (§7.2.2). Fails with a 1009 ProtocolError as soon
   * as the output passes `maxPayload`, without inflating the rest, and with
   * 1007 for data that is not a valid DEFLATE stream.
   */
  decompress(data: Buffer, callback: DeflateCallback): void {
    this.decompressQueue.push({ data, callback });
    if (!this.decompressing) this.nextDecompress();
  }

  /** Release both zlib contexts; pending jobs are dropped. */
  close(): void {
    this.closed = true;
    this.compressQueue.length = 0;
    this.decompressQueue.length = 0;
    release(this.deflater);
    release(this.inflater);
    this.deflater = this.inflater = null;
  }

  private nextCompress(): void {
    const job = this.compressQueue.shift();
    this.compressing = job !== undefined;
    if (!job) return;
    limiter.run((done) => {
      if (this.closed) return done();
      this.deflater ??= zlib.createDeflateRaw({
        windowBits: this.ownWindowBits,
        memLevel: this.memLevel,
        level: this.level,
      });
      const deflater = this.deflater;
      runThrough(deflater, [job.data], Infinity, (outcome) => {
        done();
        if (this.closed) return;
        if ('output' in outcome) {
          let output = outcome.output;
          if (output.length >= 4 && output.subarray(-4).equals(TAIL)) output = output.subarray(0, -4);
          if (this.ownNoContextTakeover) deflater.reset();
          job.callback(null, output);
        } else {
          // Should not happen; drop the context so the next message starts clean.
          release(deflater);
          this.deflater = null;
          job.callback('error' in outcome ? outcome.error : new Error('compression failed'));
        }
        this.nextCompress();
      });
    });
  }

  private nextDecompress(): void {
    const job = this.decompressQueue.shift();
    this.decompressing = job !== undefined;
    if (!job) return;
    limiter.run((done) => {
      if (this.closed) return done();
      // A 15-bit window inflates anything a smaller window produced.
      this.inflater ??= zlib.createInflateRaw({ windowBits: 15 });
      const inflater = this.inflater;
      runThrough(inflater, [job.data, TAIL], this.maxPayload, (outcome) => {
        done();
        if (this.closed) return;
        if ('output' in outcome) {
          if (this.peerNoContextTakeover) inflater.reset();
          job.callback(null, outcome.output);
          this.nextDecompress();
          return;
        }
        // The context is unusable now, and the connection is being failed.
        release(inflater);
        this.inflater = null;
        this.decompressQueue.length = 0;
        this.decompressing = false;
        job.callback(
          'tooBig' in outcome
            ? new ProtocolError('PW_ERR_MESSAGE_TOO_BIG', 1009, `decompressed message exceeds maxPayload (${this.maxPayload} bytes)`)
            : new ProtocolError('PW_ERR_INVALID_COMPRESSED_DATA', 1007, `invalid compressed data: ${outcome.error.message}`),
        );
      });
    });
  }
}

type Outcome = { output: Buffer } | { error: Error } | { tooBig: true };

/**
 * Put one message through a zlib stream, flush with Z_SYNC_FLUSH, and call
 * back once with everything that came out — or with the first error, or as
 * soon as the output passes `limit` (then the stream is paused: nothing more
 * is produced).
 */
function runThrough(
  stream: zlib.DeflateRaw | zlib.InflateRaw,
  inputs: Buffer[],
  limit: number,
  callback: (outcome: Outcome) => void,
): void {
  const chunks: Buffer[] = [];
  let total = 0;
  let settled = false;
  const settle = (outcome: Outcome): void => {
    if (settled) return;
    settled = true;
    stream.off('data', onData);
    stream.off('error', onError);
    callback(outcome);
  };
  const onData = (chunk: Buffer): void => {
    total += chunk.length;
    if (total > limit) {
      stream.pause();
      chunks.length = 0;
      settle({ tooBig: true });
      return;
    }
    chunks.push(chunk);
  };
  const onError = (error: Error): void => settle({ error });
  stream.on('data', onData);
  stream.on('error', onError);
  for (const input of inputs) stream.write(input);
  stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
    settle({ output: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total) });
  });
}

/** Close a zlib context; errors from work it still had queued are of no interest now. */
function release(stream: zlib.Zlib & NodeJS.EventEmitter | null): void {
  if (!stream) return;
  stream.on('error', ignore);
  stream.close();
}

function ignore(): void {}
