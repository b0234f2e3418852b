// The shared broker: several pushwire processes, on one machine or many, use
// one Redis for message ids, history and fan-out, so a client may resume on
// any of them with an id it got from another.
//
// The id scheme. One counter (`<prefix>seq`) numbers every message; the
// epoch (`<prefix>epoch`) is set once and kept in Redis, so restarting
// processes does not change it. A Lua script does, atomically: INCR the
// counter, XADD the message to its stream (channel, user inbox or broadcast,
// trimmed to historySize, expiring when idle for historyAgeMs) and to the
// `all` stream (the log a process catches up from), then PUBLISH it on the
// bus. Redis runs scripts one at a time, so bus order is id order and every
// process hands each message to its local sessions once, in id order: a
// message whose predecessor it has not seen sends it to the `all` stream
// first. See spec-notes.md, "Scale out on Redis".
import { randomBytes } from 'node:crypto';
import type { Broker } from '../hub/broker.js';
import type { Hub, HubMessage, PublishInput, Replay, Session } from '../hub/hub.js';
import { RedisClient, RedisConnectionError, RedisReplyError, RedisScript, RedisSubscriber, type RedisOptions, type RespValue } from '../redis/index.js';
import { HttpError } from './http-io.js';

export interface RedisBrokerOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://…`. */
  url: string;
  /** Prefix of every key and of the bus channel. Default `pushwire:`. */
  prefix?: string;
  /** Messages kept per stream (XADD MAXLEN). */
  historySize: number;
  /** A stream nobody publishes to for this long expires; older messages are not replayed. */
  historyAgeMs: number;
  /** Length of the `all` stream processes catch up from after a disconnect. Default 100 000. */
  catchUpLength?: number;
  /** How long a publish waits for its own message to come back on the bus before answering anyway, ms. Default 5 000. */
  echoTimeoutMs?: number;
  /** Connection options (timeouts, TLS, credentials). */
  redis?: RedisOptions;
  now: () => number;
}

/** Entries read from Redis per XRANGE call while catching up. */
const PAGE = 1000;

/**
 * The one way a message enters Redis, as a Lua function other scripts share
 * (the scheduled-publish script fires through it too): number it, keep it in
 * its stream and in `all`, announce it on the bus.
 */
export const PUBLISH_LUA = `
-- No counter: Redis restarted empty and no process has restored it yet.
-- Numbering from 1 again would reuse ids, so a script that publishes checks
-- this first, before it changes anything, and refuses (the caller retries).
local function counted(seqKey)
  return redis.call('EXISTS', seqKey) == 1
end
local NOSEQ = 'NOSEQ the id counter is not restored yet'
local function publish(seqKey, streamKey, allKey, entry, maxlen, ttl, allMaxlen, bus)
  local seq = redis.call('INCR', seqKey)
  local id = seq .. '-0'
  redis.call('XADD', streamKey, id, 'm', entry)
  -- Trimmed with XDEL, not MAXLEN: only XDEL moves the stream's
  -- max-deleted-entry-id, which tells a resume from before it about the gap.
  local over = redis.call('XLEN', streamKey) - tonumber(maxlen)
  if over > 0 then
    for _, old in ipairs(redis.call('XRANGE', streamKey, '-', '+', 'COUNT', over)) do redis.call('XDEL', streamKey, old[1]) end
  end
  redis.call('PEXPIRE', streamKey, ttl)
  redis.call('XADD', allKey, 'MAXLEN', '~', allMaxlen, id, 'm', entry)
  redis.call('PUBLISH', bus, seq .. '\\n' .. entry)
  return seq
end
`;

// KEYS: seq, stream, all. ARGV: entry, maxlen, idle ttl ms, all maxlen, bus channel.
const PUBLISH = new RedisScript(`${PUBLISH_LUA}
if not counted(KEYS[1]) then return redis.error_reply(NOSEQ) end
return publish(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
`);

// KEYS: epoch, seq, lost. ARGV: the epoch to set if there is none (a new
// one on start, this process's own after a reconnect), the highest seq we
// have seen.
// After a Redis restart without persistence the counter, the epoch and every
// stream are gone: numbering continues from the highest seq any process saw,
// in the same epoch, and `lost` remembers that Redis's history before that
// seq is gone, so a resume answered from Redis reports the gap.
const ADOPT = new RedisScript(`
redis.call('SET', KEYS[1], ARGV[1], 'NX')
redis.call('SET', KEYS[2], '0', 'NX')
local seq = tonumber(redis.call('GET', KEYS[2]))
if seq < tonumber(ARGV[2]) then
  seq = tonumber(ARGV[2])
  redis.call('SET', KEYS[2], seq)
  if tonumber(redis.call('GET', KEYS[3]) or '0') < seq then redis.call('SET', KEYS[3], seq) end
end
return { redis.call('GET', KEYS[1]), seq }
`);

// KEYS: read marks. ARGV: uid, seq. Marks only move forward.
const MARK_READ = new RedisScript(`
local read = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if read < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`);

/**
 * The 503 for a publish Redis did not take. Refused before it was sent (not
 * connected, or refused by a script): not published. Lost or late after it
 * was sent: it may have been — a backend that retries may publish twice.
 */
function refusePublish(error: unknown): HttpError {
  const sent = error instanceof RedisConnectionError && (error.code === 'PW_ERR_REDIS_CONNECTION_LOST' || error.code === 'PW_ERR_REDIS_COMMAND_TIMEOUT');
  const outcome = sent ? 'the publish may or may not have been stored' : 'nothing was published';
  return new HttpError(503, `the message broker did not answer, ${outcome}: ${(error as Error).message}`, { 'Retry-After': '1' });
}

/** See RedisBroker.publishContext. */
export interface PublishContext {
  client: RedisClient;
  prefix: string;
  epoch: string;
  streamKey(target: PublishInput['target']): string;
  /** PUBLISH_LUA's maxlen, ttl, allMaxlen and bus, in that order. */
  args: [number, number, number, string];
  /** After a NOSEQ refusal: restore the id counter (as after a Redis restart). */
  restore(): Promise<void>;
}

/** Whether Redis refused a publishing script because the id counter is gone (see PUBLISH_LUA). */
export function isNoSeq(error: unknown): boolean {
  return error instanceof RedisReplyError && error.redisCode === 'NOSEQ';
}

export class RedisBroker implements Broker {
  private readonly client: RedisClient;
  private readonly subscriber: RedisSubscriber;
  private readonly prefix: string;
  /**
   * The bus channel, `<prefix>bus:<epoch>`: pub/sub ignores SELECT, so two
   * deployments on different databases of one Redis must not share a channel.
   */
  private bus: string;
  /** The highest seq handed to the hub. */
  private lastSeq = 0;
  /** The first seq from which the hub's own history is complete. */
  private coveredFrom = 1;
  /** Bus messages that came while catching up, or after a missed one. */
  private held: HubMessage[] = [];
  private catchingUp: Promise<void> | null = null;
  /** A catch-up was asked for while one ran (e.g. the bus came back meanwhile): read `all` once more. */
  private catchUpAgain = false;
  /** After a reconnect: the epoch and counter being restored; publishes wait for it. */
  private adopting: Promise<unknown> | null = null;
  /** Publishes of this process waiting for their message to come back in order. */
  private readonly echoes = new Map<number, (delivered: number) => void>();
  /** Why the broker is degraded, when it is. */
  private trouble: string | null = null;
  /** Told of errors that are nobody's request (a failed catch-up, a read mark). */
  onError: (error: Error) => void = () => {};

  constructor(
    private readonly hub: Hub,
    private readonly options: RedisBrokerOptions,
  ) {
    this.prefix = options.prefix ?? 'pushwire:';
    this.bus = `${this.prefix}bus`; // completed with the epoch in start()
    this.client = new RedisClient(options.url, options.redis);
    this.subscriber = new RedisSubscriber(options.url, options.redis);
  }

  /** Connect, take the shared epoch and counter, and listen to the bus. */
  async start(): Promise<void> {
    await Promise.all([this.client.connect(), this.subscriber.connect()]);
    const [epoch, seq] = await this.adopt(`${this.options.now()}${randomBytes(2).toString('hex')}`);
    this.hub.adopt(epoch, seq);
    this.bus = `${this.prefix}bus:${epoch}`;
    this.lastSeq = seq;
    this.coveredFrom = seq + 1;
    this.subscriber.on('message', (channel, text) => {
      if (channel !== this.bus) return;
      // Anyone with access to Redis can PUBLISH here: a message that is not
      // ours is reported and dropped, never allowed to throw in the socket's handler.
      let message: HubMessage;
      try {
        message = parseBusMessage(text, this.hub.epoch);
      } catch (error) {
        this.onError(new Error(`dropped a message on ${this.bus} that is not pushwire's: ${(error as Error).message}`));
        return;
      }
      this.accept(message);
    });
    this.subscriber.on('disconnect', (error) => (this.trouble = `bus: ${error.message}`));
    this.subscriber.on('resubscribed', () => void this.catchUp());
    this.client.on('disconnect', (error) => (this.trouble = `redis: ${error.message}`));
    this.client.on('ready', () => void this.recover());
    await this.subscriber.subscribe(this.bus);
    await this.catchUp(); // anything published between adopt and subscribe
    this.trouble = null;
  }

  /** Null when Redis answers and the bus is live; otherwise why not (for /healthz). */
  get degraded(): string | null {
    return this.trouble ?? (this.client.connected && this.subscriber.connected ? null : 'redis: not connected');
  }

  get lastId(): string {
    return this.hub.lastId;
  }

  async publish(input: PublishInput & { json: string }): Promise<{ message: HubMessage; delivered: number }> {
    const time = this.options.now();
    const entry = encodeEntry(input, time);
    let reply: RespValue;
    try {
      // After a reconnect the counter may be gone (Redis restarted without
      // persistence) until this process has restored it: not before.
      if (this.adopting) await this.adopting;
      const run = (): Promise<RespValue> =>
        this.client.evalScript(
          PUBLISH,
          [`${this.prefix}seq`, this.streamKey(input.target), `${this.prefix}all`],
          [entry, this.options.historySize, this.options.historyAgeMs, this.options.catchUpLength ?? 100_000, this.bus],
        );
      try {
        reply = await run();
      } catch (error) {
        // The counter vanished without a reconnect (FLUSHDB, an eviction policy
        // other than noeviction): restore it as after a restart, then once more.
        if (!isNoSeq(error)) throw error;
        await this.recover();
        reply = await run();
      }
    } catch (error) {
      throw refusePublish(error);
    }
    const seq = Number(reply);
    const message = decodeEntry(entry, seq, this.hub.epoch);
    // Stored: the answer is a success whatever happens next. Wait (a little)
    // for the message to come back on the bus, so the count of sessions it
    // reached here is known and local delivery has happened.
    const delivered = seq <= this.lastSeq ? 0 : await this.echo(seq);
    return { message, delivered };
  }

  replay(session: Session, since: string): Replay | Promise<Replay> {
    const local = this.hub.replay(session, since);
    const sinceSeq = this.sinceSeq(since);
    // This process has every message after `since` (it was listening then):
    // its own history answers, at once.
    if (!local.gap && sinceSeq !== null && sinceSeq + 1 >= this.coveredFrom) return local;
    return this.replayFromRedis(session, sinceSeq).catch((error: unknown) => {
      this.onError(error as Error);
      return local; // Redis is away: what this process has, gap included
    });
  }

  unread(session: Session): Replay | Promise<Replay> {
    if (session.uid === undefined) return { messages: [], gap: false };
    return this.unreadFromRedis(session.uid).catch((error: unknown) => {
      this.onError(error as Error);
      return this.hub.unread(session);
    });
  }

  /** Close both connections. */
  async stop(): Promise<void> {
    for (const resolve of this.echoes.values()) resolve(0);
    this.echoes.clear();
    await Promise.allSettled([this.client.quit(), this.subscriber.quit()]);
  }

  // ---- the bus, in order ----

  /** A message from the bus: hand it on if it is the next one, catch up if one was missed. */
  private accept(message: HubMessage): void {
    if (this.catchingUp !== null) {
      this.held.push(message);
      return;
    }
    if (message.seq <= this.lastSeq) return; // seen already (caught up before the bus delivered it)
    if (message.seq === this.lastSeq + 1) {
      this.ingest(message);
      return;
    }
    this.held.push(message); // a gap: fetch what is missing first
    void this.catchUp();
  }

  private ingest(message: HubMessage): void {
    const delivered = this.hub.ingest(message);
    this.lastSeq = message.seq;
    if (message.uid !== undefined && delivered > 0) this.markRead(message.uid, message.seq);
    const echo = this.echoes.get(message.seq);
    if (echo) {
      this.echoes.delete(message.seq);
      echo(delivered);
    }
  }

  /**
   * Read what this process missed from the `all` stream, in order, then the
   * bus messages held meanwhile. Entries trimmed from `all` before it read
   * them are lost to this process's history: a resume from before then is
   * answered from Redis's per-stream history instead.
   *
   * Asked again while it runs (the bus came back during the read, say), it
   * reads `all` once more when done: what was published between its read
   * and the resubscription reached neither. A held message whose
   * predecessors are not in `all` although it was held before the read
   * (they were lost with a Redis restart) is handed on after a skip, never
   * dropped and never waited for again.
   */
  private catchUp(): Promise<void> {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return this.catchingUp;
    }
    this.catchingUp = (async () => {
      try {
        do {
          this.catchUpAgain = false;
          // Every predecessor of a message held now is in `all` by now, unless lost.
          const heldBefore = this.held.reduce((max, message) => Math.max(max, message.seq), 0);
          for (;;) {
            const entries = await this.readAll(this.lastSeq + 1);
            for (const message of entries) {
              if (message.seq <= this.lastSeq) continue;
              if (message.seq > this.lastSeq + 1) this.skipTo(message.seq - 1);
              this.ingest(message);
            }
            if (entries.length < PAGE) break;
          }
          const held = this.held.sort((a, b) => a.seq - b.seq);
          this.held = [];
          for (const message of held) {
            if (message.seq <= this.lastSeq) continue;
            if (message.seq > this.lastSeq + 1 && message.seq <= heldBefore) this.skipTo(message.seq - 1);
            if (message.seq === this.lastSeq + 1) this.ingest(message);
            else this.held.push(message); // still a hole, held after the read: read `all` again
          }
          this.trouble = null;
        } while (this.catchUpAgain || this.held.length > 0);
      } catch (error) {
        this.trouble = `catching up: ${(error as Error).message}`;
        this.onError(error as Error);
      } finally {
        this.catchingUp = null;
        this.catchUpAgain = false;
      }
    })();
    return this.catchingUp;
  }

  /** Messages up to `seq` cannot be had (trimmed from `all`, or lost with Redis): this process's history has a gap there. */
  private skipTo(seq: number): void {
    this.hub.skipTo(seq);
    this.coveredFrom = seq + 1;
    this.lastSeq = seq;
  }

  private async readAll(fromSeq: number): Promise<HubMessage[]> {
    const reply = await this.client.command('XRANGE', `${this.prefix}all`, `${fromSeq}-0`, '+', 'COUNT', PAGE);
    return entriesOf(reply, this.hub.epoch);
  }

  private echo(seq: number): Promise<number> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.echoes.delete(seq);
        resolve(0);
      }, this.options.echoTimeoutMs ?? 5000);
      timer.unref();
      this.echoes.set(seq, (delivered) => {
        clearTimeout(timer);
        resolve(delivered);
      });
    });
  }

  /**
   * After Redis came back: make sure epoch and counter are there (a restart
   * without persistence loses them) — this process's own epoch, so ids go on
   * in it on every process, those started later included — then catch up.
   */
  private async recover(): Promise<void> {
    // Publishes wait for this: one sent before it could take a seq already used.
    const adopting = (this.adopting = this.adopt(this.hub.epoch));
    try {
      const [epoch] = await adopting;
      if (epoch !== this.hub.epoch) this.onError(new Error(`Redis holds epoch ${epoch}, this process ${this.hub.epoch}: restart it`));
    } catch (error) {
      this.onError(error as Error); // lost again: the next 'ready' tries again
    } finally {
      if (this.adopting === adopting) this.adopting = null;
    }
    await this.catchUp();
  }

  /** Set the epoch if Redis has none and raise the counter to what this process saw; Redis's epoch and counter. */
  private async adopt(epoch: string): Promise<[string, number]> {
    const reply = (await this.client.evalScript(
      ADOPT,
      [`${this.prefix}epoch`, `${this.prefix}seq`, `${this.prefix}lost`],
      [epoch, this.lastSeq],
    )) as RespValue[];
    return [String(reply[0]), Number(reply[1])];
  }

  // ---- history in Redis ----

  private async replayFromRedis(session: Session, sinceSeq: number | null): Promise<Replay> {
    const keys = [`${this.prefix}s:b`, ...[...session.channels].map((channel) => `${this.prefix}s:c:${channel}`)];
    if (session.uid !== undefined) keys.push(`${this.prefix}s:u:${session.uid}`);
    const after = sinceSeq ?? 0;
    const oldestKept = this.options.now() - this.options.historyAgeMs;
    // One connection runs commands in order: everything numbered up to the
    // counter read first is in the streams read after it. Later messages are
    // left to the bus (the session is subscribed already), so the backlog is
    // one consistent cut even though the streams are read one by one.
    const [upTo, lost, replies] = await Promise.all([
      this.client.command('GET', `${this.prefix}seq`),
      this.client.command('GET', `${this.prefix}lost`),
      Promise.all(keys.map((key) => this.readStream(key, after))),
    ]);
    // Redis restarted without persistence after `since`: what came before the restart is gone.
    let gap = sinceSeq === null || Number(lost ?? 0) > after;
    const messages: HubMessage[] = [];
    for (const { entries, deletedSeq, missing } of replies) {
      if (deletedSeq > after) gap = true;
      if (missing && !gap) gap = await this.agedOut(after, oldestKept);
      for (const message of entries) {
        if (message.seq > Number(upTo)) continue;
        if (message.time < oldestKept) gap = true;
        else messages.push(message);
      }
    }
    messages.sort((a, b) => a.seq - b.seq);
    return { messages, gap };
  }

  /**
   * A stream with no key either never had a message or expired, idle, with
   * all it held: the latter may have held messages after `after` when the
   * oldest message anywhere after it is older than the history kept.
   */
  private async agedOut(after: number, oldestKept: number): Promise<boolean> {
    const [first] = entriesOf(await this.client.command('XRANGE', `${this.prefix}all`, `${after + 1}-0`, '+', 'COUNT', 1), this.hub.epoch);
    return first !== undefined && first.time < oldestKept;
  }

  private async unreadFromRedis(uid: string): Promise<Replay> {
    const read = Number((await this.client.command('HGET', `${this.prefix}read`, uid)) ?? 0);
    const { entries, deletedSeq } = await this.readStream(`${this.prefix}s:u:${uid}`, read);
    const oldestKept = this.options.now() - this.options.historyAgeMs;
    const messages = entries.filter((message) => message.time >= oldestKept);
    const newest = messages.at(-1);
    if (newest) this.markRead(uid, newest.seq);
    return { messages, gap: deletedSeq > read || messages.length < entries.length };
  }

  /**
   * A stream's entries after `afterSeq` (at most historySize: what it can
   * hold), the highest seq trimmed from it (Redis ≥ 7: XINFO
   * max-deleted-entry-id, moved by the XDEL in PUBLISH_LUA), and whether it
   * has no key at all.
   */
  private async readStream(key: string, afterSeq: number): Promise<{ entries: HubMessage[]; deletedSeq: number; missing: boolean }> {
    const [range, info] = await Promise.all([
      this.client.command('XRANGE', key, `${afterSeq + 1}-0`, '+', 'COUNT', Math.max(1, this.options.historySize)),
      this.client.command('XINFO', 'STREAM', key).catch(() => null), // no such key: never written, or expired
    ]);
    const deleted = info === null ? undefined : field(info, 'max-deleted-entry-id');
    return {
      entries: entriesOf(range, this.hub.epoch),
      deletedSeq: deleted === undefined ? 0 : streamIdSeq(deleted),
      missing: info === null,
    };
  }

  private markRead(uid: string, seq: number): void {
    this.client.evalScript(MARK_READ, [`${this.prefix}read`], [uid, seq]).catch((error: unknown) => this.onError(error as Error));
  }

  /** What a script that publishes needs: the connection, and the keys and limits of PUBLISH_LUA. */
  get publishContext(): PublishContext {
    return {
      client: this.client,
      prefix: this.prefix,
      epoch: this.hub.epoch,
      streamKey: (target) => this.streamKey(target),
      args: [this.options.historySize, this.options.historyAgeMs, this.options.catchUpLength ?? 100_000, this.bus],
      restore: () => this.recover(),
    };
  }

  private streamKey(target: PublishInput['target']): string {
    if ('channel' in target) return `${this.prefix}s:c:${target.channel}`;
    if ('uid' in target) return `${this.prefix}s:u:${target.uid}`;
    return `${this.prefix}s:b`;
  }

  /** The seq of an id of this epoch; null for another epoch or garbage. */
  private sinceSeq(since: string): number | null {
    const dash = since.lastIndexOf('-');
    if (dash === -1 || since.slice(0, dash) !== this.hub.epoch) return null;
    const seq = Number(since.slice(dash + 1));
    return Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
  }
}

// ---- the entry format: one line of JSON metadata, a newline, the data's JSON ----
// JSON text holds no raw newline, so the first one splits the two, and the
// data's JSON is kept as sent: no process serializes it again.

export function encodeEntry(input: PublishInput & { json: string }, time: number): string {
  const target = 'channel' in input.target ? { c: input.target.channel } : 'uid' in input.target ? { u: input.target.uid } : { b: 1 };
  return `${JSON.stringify({ t: time, ...target, ...(input.event === undefined ? {} : { e: input.event }) })}\n${input.json}`;
}

export function decodeEntry(entry: string, seq: number, epoch: string): HubMessage {
  const newline = entry.indexOf('\n');
  const meta = JSON.parse(entry.slice(0, newline)) as { t: number; c?: string; u?: string; b?: 1; e?: string };
  const json = entry.slice(newline + 1);
  const message: HubMessage = { id: `${epoch}-${seq}`, seq, data: JSON.parse(json), json, time: meta.t };
  if (meta.c !== undefined) message.channel = meta.c;
  else if (meta.u !== undefined) message.uid = meta.u;
  else message.broadcast = true;
  if (meta.e !== undefined) message.event = meta.e;
  return message;
}

/** `<seq>\n<entry>` as published on the bus; throws for anything else. */
function parseBusMessage(text: string, epoch: string): HubMessage {
  const newline = text.indexOf('\n');
  const seq = Number(text.slice(0, newline));
  if (newline < 1 || !Number.isSafeInteger(seq) || seq < 1) throw new Error('no sequence number');
  const message = decodeEntry(text.slice(newline + 1), seq, epoch);
  if (typeof message.time !== 'number') throw new Error('no time');
  return message;
}

/** XRANGE's reply: `[[id, [field, value, …]], …]`. */
function entriesOf(reply: RespValue, epoch: string): HubMessage[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((item) => {
    const [id, fields] = item as [RespValue, RespValue[]];
    return decodeEntry(String(fields[1]), streamIdSeq(id), epoch);
  });
}

/** The seq of a stream entry id `<seq>-0` (0 for `0-0`, what XINFO says when nothing was deleted). */
function streamIdSeq(id: RespValue): number {
  return Number(String(id).split('-')[0]);
}

/** A field of a reply that is a map in RESP3 and a flat list in RESP2. */
function field(reply: RespValue, name: string): RespValue | undefined {
  if (reply instanceof Map) return reply.get(name);
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) if (String(reply[i]) === name) return reply[i + 1];
  }
  return undefined;
}
