// Backends that publish without HTTP: they push the same JSON as
// POST /publish (one object or a batch) onto a Redis list or stream, and
// every pushwire process consumes it.
//
// - A list (`--consume-list KEY`): BLMOVE takes an entry into this process's
//   processing list `KEY:processing:<node>`; a restart of the same node puts
//   what it had taken back on the queue.
// - A stream (`--consume-stream KEY[:GROUP]`): XREADGROUP in a consumer
//   group; entries another consumer left pending too long are claimed with
//   XAUTOCLAIM.
//
// Exactly once: the messages are published by one Lua script that *first*
// removes the entry from the processing list (LREM) or acknowledges it
// (XACK) and publishes only when that removed or acknowledged something. A
// process killed before the script leaves the entry to be taken again; one
// killed after has published it and let go of it; two processes that both
// hold it (a claim of a slow one) publish it once. Scheduled items
// (`delayMs` / `at`) are handed to the scheduler before that script, so a
// crash between the two can schedule one twice.
//
// Bad entries (not JSON, not a valid publish, too large) go to a dead-letter
// list or stream `KEY:dead` with the reason, and never block the queue. One
// entry is handled at a time, so a slow fan-out slows consumption down
// instead of buffering.
import { isUtf8 } from 'node:buffer';
import { RedisClient, RedisScript, type RedisOptions, type RespValue } from '../redis/index.js';
import { HttpError } from './http-io.js';
import { encodeEntry, isNoSeq, PUBLISH_LUA, type PublishContext } from './redis-broker.js';
import type { ScheduleInput, Schedules } from './scheduler.js';
import { parsePublishBody, serializeData, type PublishRequest } from './wire.js';

export interface QueueSpec {
  kind: 'list' | 'stream';
  key: string;
  /** Streams: the consumer group. Default `pushwire`. */
  group?: string;
}

export interface ConsumerSettings {
  url: string;
  redis?: RedisOptions;
  /** Stable name of this process: its processing list is re-queued when a process of the same name starts. */
  node: string;
  maxBodyBytes: number;
  maxBatch: number;
  now: () => number;
  /** Stream entries pending with a dead consumer longer than this are claimed, ms. Default 30 000. */
  claimIdleMs?: number;
  /** Test hook: called after an entry is taken and before it is published. */
  beforePublish?: () => Promise<void>;
}

/** What the consumers count, for /metrics. */
export interface ConsumerCounts {
  consumed: number;
  deadLetters: number;
}

/** How long one blocking read waits before the loop looks around (stop, reconnects), s. */
const BLOCK_SECONDS = 2;

// KEYS: seq, all, processing list. ARGV: raw entry, maxlen, ttl, allMaxlen, bus, then per message: stream key, entry.
const PUBLISH_FROM_LIST = new RedisScript(`${PUBLISH_LUA}
if not counted(KEYS[1]) then return redis.error_reply(NOSEQ) end
if redis.call('LREM', KEYS[3], 1, ARGV[1]) == 0 then return -1 end
for i = 6, #ARGV, 2 do publish(KEYS[1], ARGV[i], KEYS[2], ARGV[i + 1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]) end
return (#ARGV - 5) / 2
`);

// KEYS: seq, all, stream. ARGV: group, entry id, maxlen, ttl, allMaxlen, bus, then per message: stream key, entry.
const PUBLISH_FROM_STREAM = new RedisScript(`${PUBLISH_LUA}
if not counted(KEYS[1]) then return redis.error_reply(NOSEQ) end
if redis.call('XACK', KEYS[3], ARGV[1], ARGV[2]) == 0 then return -1 end
for i = 7, #ARGV, 2 do publish(KEYS[1], ARGV[i], KEYS[2], ARGV[i + 1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) end
return (#ARGV - 6) / 2
`);

// KEYS: processing list, dead list. ARGV: raw entry, dead-letter record.
const DEAD_FROM_LIST = new RedisScript(`
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[2])
return 1
`);

// KEYS: stream, dead stream. ARGV: group, entry id, raw entry, reason.
const DEAD_FROM_STREAM = new RedisScript(`
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', 100000, '*', 'json', ARGV[3], 'error', ARGV[4], 'id', ARGV[2])
return 1
`);

/** One queue, consumed by this process until stop(). */
export class RedisConsumer {
  readonly counts: ConsumerCounts = { consumed: 0, deadLetters: 0 };
  /** Its own connection: blocking reads would hold up every other command on a shared one. */
  private readonly blocking: RedisClient;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly queue: QueueSpec,
    private readonly settings: ConsumerSettings,
    private readonly context: () => PublishContext,
    private readonly schedules: Schedules,
    private readonly onError: (error: Error) => void,
  ) {
    // Entries as bytes: one that is not UTF-8 must be removed by its own bytes (LREM), not by a repaired copy.
    this.blocking = new RedisClient(settings.url, { ...settings.redis, commandTimeout: (BLOCK_SECONDS + 5) * 1000, returnBuffers: true });
  }

  private get node(): string {
    return this.settings.node;
  }

  private get processing(): string {
    return `${this.queue.key}:processing:${this.node}`;
  }

  private get group(): string {
    return this.queue.group ?? 'pushwire';
  }

  async start(): Promise<void> {
    await this.blocking.connect();
    if (this.queue.kind === 'list') {
      // What this node had taken when it last stopped goes back on the queue, oldest first.
      while ((await this.blocking.command('LMOVE', this.processing, this.queue.key, 'LEFT', 'RIGHT')) !== null) {
        // moved one
      }
    } else {
      await this.blocking.command('XGROUP', 'CREATE', this.queue.key, this.group, '0', 'MKSTREAM').catch((error: Error) => {
        if (!error.message.includes('BUSYGROUP')) throw error; // the group exists: fine
      });
    }
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.blocking.quit().catch(() => {});
  }

  private async run(): Promise<void> {
    let lastClaim = 0;
    while (this.running) {
      try {
        if (this.queue.kind === 'list') {
          const raw = await this.blocking.command('BLMOVE', this.queue.key, this.processing, 'RIGHT', 'LEFT', BLOCK_SECONDS);
          if (raw !== null) await this.handle(raw as Buffer, null);
        } else {
          if (this.settings.now() - lastClaim > (this.settings.claimIdleMs ?? 30_000) / 2) {
            lastClaim = this.settings.now();
            await this.claimAbandoned();
          }
          const reply = await this.blocking.command(
            'XREADGROUP', 'GROUP', this.group, this.node, 'COUNT', 1, 'BLOCK', BLOCK_SECONDS * 1000, 'STREAMS', this.queue.key, '>',
          );
          for (const [id, raw] of streamEntries(reply)) await this.handle(raw, id);
        }
      } catch (error) {
        if (!this.running) return;
        this.onError(error as Error);
        await pause(); // Redis away: try again shortly
      }
    }
  }

  /** Entries pending with a consumer that has not acknowledged them for claimIdleMs. */
  private async claimAbandoned(): Promise<void> {
    const reply = (await this.blocking.command(
      'XAUTOCLAIM', this.queue.key, this.group, this.node, this.settings.claimIdleMs ?? 30_000, '0-0', 'COUNT', 100,
    )) as RespValue[];
    for (const [id, raw] of streamEntries([[this.queue.key, reply[1]]])) await this.handle(raw, id);
  }

  /** One entry: validate, then publish and let go of it in one script — or dead-letter it. */
  private async handle(raw: Buffer, streamId: string | null): Promise<void> {
    let requests: PublishRequest[];
    let prepared: { request: PublishRequest; json: string }[];
    try {
      if (raw.length > this.settings.maxBodyBytes) throw new HttpError(413, `entry is larger than ${this.settings.maxBodyBytes} bytes`);
      if (!isUtf8(raw)) throw new HttpError(400, 'entry is not valid UTF-8');
      let body: unknown;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new HttpError(400, 'not JSON: one publish object (or batch array) per entry');
      }
      requests = parsePublishBody(body, this.settings.now(), this.settings.maxBatch).requests;
      prepared = requests.map((request, index) => ({ request, json: serializeData(request.data, requests.length > 1 ? `item ${index}: ` : '') }));
    } catch (error) {
      await this.deadLetter(raw, streamId, error instanceof HttpError ? error.message : String(error));
      return;
    }
    await this.settings.beforePublish?.();
    const waiting = prepared.filter(({ request }) => request.at !== undefined) as ScheduleInput[];
    if (waiting.length > 0 && !(await this.schedule(raw, streamId, waiting))) return;
    const { client, prefix, streamKey, args } = this.context();
    const messages = prepared
      .filter(({ request }) => request.at === undefined)
      .flatMap(({ request, json }) => [streamKey(request.target), encodeEntry({ ...request, json }, this.settings.now())]);
    // The entry is taken: publish it before anything else, however long Redis
    // takes to come back (the script lets go of it and publishes in one step).
    for (;;) {
      try {
        const published =
          streamId === null
            ? await client.evalScript(PUBLISH_FROM_LIST, [`${prefix}seq`, `${prefix}all`, this.processing], [raw, ...args, ...messages])
            : await client.evalScript(PUBLISH_FROM_STREAM, [`${prefix}seq`, `${prefix}all`, this.queue.key], [this.group, streamId, ...args, ...messages]);
        if (Number(published) >= 0) this.counts.consumed++;
        return;
      } catch (error) {
        if (!this.running) return; // stopping: a restart under this name takes it again
        if (isNoSeq(error)) await this.context().restore();
        else this.onError(error as Error);
        await pause();
      }
    }
  }

  /**
   * Hand the entry's scheduled items to the scheduler: false when they do not
   * fit its limits (507), and the entry went to the dead letters. Redis away:
   * tried again until it answers, like the publish.
   */
  private async schedule(raw: Buffer, streamId: string | null, waiting: ScheduleInput[]): Promise<boolean> {
    for (;;) {
      try {
        await this.schedules.scheduleAll(waiting);
        return true;
      } catch (error) {
        if (error instanceof HttpError && error.status === 507) {
          await this.deadLetter(raw, streamId, error.message);
          return false;
        }
        if (!this.running) return false;
        this.onError(error as Error);
        await pause();
      }
    }
  }

  private async deadLetter(raw: Buffer, streamId: string | null, reason: string): Promise<void> {
    const dead = `${this.queue.key}:dead`;
    const { client } = this.context();
    const moved =
      streamId === null
        ? await client.evalScript(DEAD_FROM_LIST, [this.processing, dead], [raw, JSON.stringify({ entry: raw.toString('utf8'), error: reason, at: new Date(this.settings.now()).toISOString() })])
        : await client.evalScript(DEAD_FROM_STREAM, [this.queue.key, dead], [this.group, streamId, raw, reason]);
    if (Number(moved) === 1) this.counts.deadLetters++;
  }
}

/** How long the loop waits before trying Redis again. */
function pause(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 500).unref());
}

/**
 * `--consume-stream KEY[:GROUP]` → the spec: what follows the last colon
 * names the group (so a key with colons names its group too: `app:jobs:pushwire`).
 */
export function parseStreamSpec(text: string): QueueSpec {
  const colon = text.lastIndexOf(':');
  return colon > 0 ? { kind: 'stream', key: text.slice(0, colon), group: text.slice(colon + 1) } : { kind: 'stream', key: text };
}

/** XREADGROUP's reply, `[[stream, [[id, [field, value, …]], …]]]` (a map in RESP3), as [id, the `json` field's bytes]. */
function streamEntries(reply: RespValue): [string, Buffer][] {
  if (reply === null) return [];
  const streams = reply instanceof Map ? [...reply.values()] : (reply as RespValue[]).map((item) => (item as RespValue[])[1]);
  const out: [string, Buffer][] = [];
  for (const entries of streams) {
    for (const entry of (entries as RespValue[]) ?? []) {
      if (entry === null) continue; // an entry deleted while pending
      const [id, fields] = entry as [RespValue, RespValue[] | null];
      const list = fields ?? [];
      let json = Buffer.alloc(0);
      for (let i = 0; i + 1 < list.length; i += 2) if (String(list[i]) === 'json') json = Buffer.from(list[i + 1] as Buffer | string);
      out.push([String(id), json]);
    }
  }
  return out;
}
