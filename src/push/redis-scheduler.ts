// Scheduled publishes in Redis, shared by every pushwire process on it: a
// sorted set (`<prefix>sched`, scored by the time to fire) and a hash of the
// messages (`<prefix>sched:data`). Every process looks for due publishes a
// few times a second; one Lua script takes each due publish out of the set
// AND publishes it (the same PUBLISH_LUA as a direct publish) in one atomic
// step, so each fires exactly once across processes — a process that dies
// cannot take one and lose it — and a restart of every process loses none.
import type { PublishInput } from '../hub/hub.js';
import type { RespValue } from '../redis/index.js';
import { RedisScript } from '../redis/index.js';
import { HttpError } from './http-io.js';
import { decodeEntry, encodeEntry, isNoSeq, PUBLISH_LUA, type PublishContext } from './redis-broker.js';
import type { ScheduledPublish, ScheduleInput, SchedulerLimits, Schedules } from './scheduler.js';

/** Bytes a waiting publish costs in Redis beside its entry (set member, hash field, overheads). */
const ITEM_OVERHEAD_BYTES = 150;
/** How often each process looks for due publishes, ms. */
const CHECK_EVERY_MS = 200;
/** Due publishes one script run fires at most. */
const FIRE_BATCH = 100;

// KEYS: set, data, bytes, id counter. ARGV: maxItems, maxBytes, then per item: at, stored value, bytes.
// Returns the new ids, or {err} past a limit: all or none.
const SCHEDULE = new RedisScript(`
local count = (#ARGV - 2) / 3
if redis.call('ZCARD', KEYS[1]) + count > tonumber(ARGV[1]) then return redis.error_reply('LIMIT count') end
local added = 0
for i = 0, count - 1 do added = added + tonumber(ARGV[5 + i * 3]) end
if tonumber(redis.call('GET', KEYS[3]) or '0') + added > tonumber(ARGV[2]) then return redis.error_reply('LIMIT bytes') end
local ids = {}
for i = 0, count - 1 do
  local id = 'sched-' .. redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[1], ARGV[3 + i * 3], id)
  redis.call('HSET', KEYS[2], id, ARGV[5 + i * 3] .. '\\n' .. ARGV[4 + i * 3])
  ids[#ids + 1] = id
end
redis.call('INCRBY', KEYS[3], added)
return ids
`);

// KEYS: set, data, bytes. ARGV: id. 1 when it was waiting (and is gone now), else 0.
const CANCEL = new RedisScript(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local value = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if value then redis.call('DECRBY', KEYS[3], tonumber(string.match(value, '^(%d+)'))) end
return 1
`);

// KEYS: set, data, bytes, seq, all. ARGV: now, batch, maxlen, ttl, allMaxlen, bus.
// The stored value is "<bytes>\\n<stream key>\\n<entry>".
const FIRE = new RedisScript(`${PUBLISH_LUA}
if not counted(KEYS[4]) then return redis.error_reply(NOSEQ) end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(due) do
  local value = redis.call('HGET', KEYS[2], id)
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  if value then
    local bytes, stream, entry = string.match(value, '^(%d+)\\n([^\\n]*)\\n(.*)$')
    redis.call('DECRBY', KEYS[3], tonumber(bytes))
    publish(KEYS[4], stream, KEYS[5], entry, ARGV[3], ARGV[4], ARGV[5], ARGV[6])
  end
end
return #due
`);

/** Scheduled publishes kept in Redis and fired by whichever process finds them due first. */
export class RedisScheduler implements Schedules {
  private readonly keys: { set: string; data: string; bytes: string; ids: string };
  private timer: NodeJS.Timeout | null = null;
  private known = { size: 0, bytes: 0 };

  constructor(
    private readonly context: () => PublishContext,
    private readonly limits: SchedulerLimits,
    private readonly now: () => number,
    /** Told of a failed check (Redis away): the publishes stay in Redis and fire on a later check. */
    private readonly onError: (error: Error) => void,
    prefix = 'pushwire:',
  ) {
    this.keys = { set: `${prefix}sched`, data: `${prefix}sched:data`, bytes: `${prefix}sched:bytes`, ids: `${prefix}sched:id` };
  }

  /** Begin looking for due publishes. */
  start(): void {
    this.timer ??= setInterval(() => void this.fireDue(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  get size(): number {
    return this.known.size;
  }

  get bytes(): number {
    return this.known.bytes;
  }

  async count(): Promise<number> {
    try {
      return Number(await this.context().client.command('ZCARD', this.keys.set));
    } catch (error) {
      throw unavailable(error);
    }
  }

  async scheduleAll(items: ScheduleInput[]): Promise<ScheduledPublish[]> {
    const { client, streamKey } = this.context();
    const args: (string | number)[] = [this.limits.maxItems, this.limits.maxBytes];
    for (const { request, json } of items) {
      const entry = encodeEntry({ target: request.target, event: request.event, data: request.data, json }, request.at);
      args.push(request.at, `${streamKey(request.target)}\n${entry}`, entry.length + ITEM_OVERHEAD_BYTES);
    }
    let ids: RespValue;
    try {
      ids = await client.evalScript(SCHEDULE, [this.keys.set, this.keys.data, this.keys.bytes, this.keys.ids], args);
    } catch (error) {
      const message = (error as Error).message;
      if (message.includes('LIMIT count')) throw new HttpError(507, `at most ${this.limits.maxItems} scheduled publishes may wait at once`);
      if (message.includes('LIMIT bytes')) throw new HttpError(507, `scheduled publishes may hold at most ${this.limits.maxBytes} bytes at once`);
      throw unavailable(error);
    }
    void this.refreshCounts();
    return (ids as RespValue[]).map((id, index) => ({ ...items[index], id: String(id), at: items[index].request.at, bytes: 0 }));
  }

  async list(limit = Infinity, after?: string): Promise<ScheduledPublish[]> {
    const { client, epoch } = this.context();
    try {
      let start = 0;
      if (after !== undefined) {
        const rank = await client.command('ZRANK', this.keys.set, after);
        start = rank === null ? 0 : Number(rank) + 1;
      }
      const stop = Number.isFinite(limit) ? start + limit - 1 : -1;
      const ids = (await client.command('ZRANGE', this.keys.set, start, stop)) as RespValue[];
      if (ids.length === 0) return [];
      const values = (await client.command('HMGET', this.keys.data, ...ids.map(String))) as RespValue[];
      const items: ScheduledPublish[] = [];
      ids.forEach((id, index) => {
        if (values[index] === null) return; // fired between the two reads
        const [, , entry] = splitStored(String(values[index]));
        const message = decodeEntry(entry, 0, epoch);
        const target: PublishInput['target'] =
          message.channel !== undefined ? { channel: message.channel } : message.uid !== undefined ? { uid: message.uid } : { broadcast: true };
        const request = { target, event: message.event, data: message.data, at: message.time };
        items.push({ id: String(id), at: message.time, request, json: message.json, bytes: entry.length + ITEM_OVERHEAD_BYTES });
      });
      return items;
    } catch (error) {
      throw unavailable(error);
    }
  }

  async cancel(id: string): Promise<boolean> {
    const { client } = this.context();
    try {
      const removed = await client.evalScript(CANCEL, [this.keys.set, this.keys.data, this.keys.bytes], [id]);
      void this.refreshCounts();
      return Number(removed) === 1;
    } catch (error) {
      throw unavailable(error);
    }
  }

  /** One check: fire what is due, in batches, then note the counts for /metrics. */
  async fireDue(): Promise<void> {
    const { client, prefix, args } = this.context();
    try {
      for (;;) {
        const fired = await client.evalScript(
          FIRE,
          [this.keys.set, this.keys.data, this.keys.bytes, `${prefix}seq`, `${prefix}all`],
          [this.now(), FIRE_BATCH, ...args],
        );
        if (Number(fired) < FIRE_BATCH) break;
      }
      await this.refreshCounts();
    } catch (error) {
      if (isNoSeq(error)) await this.context().restore(); // fires on the next check
      else this.onError(error as Error);
    }
  }

  private async refreshCounts(): Promise<void> {
    const { client } = this.context();
    const [size, bytes] = await Promise.all([client.command('ZCARD', this.keys.set), client.command('GET', this.keys.bytes)]);
    this.known = { size: Number(size), bytes: Number(bytes ?? 0) };
  }
}

/** "<bytes>\n<stream key>\n<entry>" → its three parts (the entry holds one more newline). */
function splitStored(value: string): [string, string, string] {
  const first = value.indexOf('\n');
  const second = value.indexOf('\n', first + 1);
  return [value.slice(0, first), value.slice(first + 1, second), value.slice(second + 1)];
}

function unavailable(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  return new HttpError(503, `the message broker is unreachable: ${(error as Error).message}`, { 'Retry-After': '1' });
}
