// Presence across processes: is this user online anywhere, how many
// sessions does this channel have in total. Each process writes a snapshot
// of its own counts to Redis every few seconds (a hash that expires unless
// renewed, and its id in a sorted set of live processes); a question sums the
// snapshots of the processes seen lately, with this process's own counts
// taken fresh. Answers may lag a session's coming or going by up to
// SNAPSHOT_EVERY_MS; a process killed without a word drops out after
// SNAPSHOT_TTL_MS.
import { randomBytes } from 'node:crypto';
import type { Hub } from '../hub/hub.js';
import { RedisScript, type RedisClient, type RespValue } from '../redis/index.js';

const SNAPSHOT_EVERY_MS = 2000;
const SNAPSHOT_TTL_MS = 10_000;

// KEYS: the process's hash, the set of live processes. ARGV: ttl, now, node, then field, count, …
// One script, so a question never sees the hash between its deletion and its refill.
const SNAPSHOT = new RedisScript(`
redis.call('DEL', KEYS[1])
for i = 4, #ARGV, 1000 do redis.call('HSET', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV))) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2] - ARGV[1])
return 1
`);

/** What a process says of itself in its snapshot. */
export interface NodeStats {
  name: string;
  ws: number;
  sse: number;
  poll: number;
  /** Messages published through it, and written to its sessions, since it started. */
  published: number;
  delivered: number;
  rss: number;
}

/** One process in the admin dashboard's list. */
export interface NodeSummary extends NodeStats {
  /** Its id in Redis. */
  node: string;
  /** This process. */
  self: boolean;
}

const STAT_FIELDS = ['ws', 'sse', 'poll', 'published', 'delivered', 'rss'] as const;

export class RedisPresence {
  /** This process's name in Redis. */
  readonly node = randomBytes(6).toString('hex');
  private timer: NodeJS.Timeout | null = null;
  private readonly nodes: string;

  constructor(
    private readonly hub: Hub,
    /** This process's figures for the admin dashboard's list of processes (cheap counters only). */
    private readonly stats: () => NodeStats,
    private readonly client: () => RedisClient,
    private readonly prefix: string,
    private readonly now: () => number,
    private readonly onError: (error: Error) => void,
  ) {
    this.nodes = `${prefix}nodes`;
  }

  start(): void {
    void this.snapshot();
    this.timer ??= setInterval(() => void this.snapshot(), SNAPSHOT_EVERY_MS);
    this.timer.unref();
  }

  /** Stop writing, and take this process's snapshot out at once. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([this.client().command('DEL', this.key(this.node)), this.client().command('ZREM', this.nodes, this.node)]);
  }

  /** Sessions subscribed to `channel` (`c:`) or of user `uid` (`u:`) on every live process. */
  async count(field: `c:${string}` | `u:${string}`): Promise<number> {
    const local = field.startsWith('c:') ? this.hub.channelSessions(field.slice(2)) : this.hub.userSessionCount(field.slice(2));
    const live = (await this.client().command('ZRANGEBYSCORE', this.nodes, this.now() - SNAPSHOT_TTL_MS, '+inf')) as RespValue[];
    const others = live.map(String).filter((node) => node !== this.node);
    const counts = await Promise.all(others.map((node) => this.client().command('HGET', this.key(node), field)));
    return counts.reduce<number>((sum, count) => sum + Number(count ?? 0), local);
  }

  /** Every live process's figures (this one's fresh), for the admin dashboard's list of processes. */
  async summaries(): Promise<NodeSummary[]> {
    const live = ((await this.client().command('ZRANGEBYSCORE', this.nodes, this.now() - SNAPSHOT_TTL_MS, '+inf')) as RespValue[]).map(String);
    const fields = ['n:name', ...STAT_FIELDS.map((name) => `n:${name}`)];
    const others = await Promise.all(
      live.filter((node) => node !== this.node).map(async (node) => {
        const values = (await this.client().command('HMGET', this.key(node), ...fields)) as RespValue[];
        if (values[0] === null) return null; // expired between the two reads
        const stats = Object.fromEntries(STAT_FIELDS.map((name, i) => [name, Number(values[i + 1] ?? 0)])) as unknown as NodeStats;
        return { node, self: false, ...stats, name: String(values[0]) };
      }),
    );
    return [{ node: this.node, self: true, ...this.stats() }, ...others.filter((summary) => summary !== null)];
  }

  /** Processes that wrote a snapshot lately, this one included. */
  async liveNodes(): Promise<number> {
    return Number(await this.client().command('ZCOUNT', this.nodes, this.now() - SNAPSHOT_TTL_MS, '+inf'));
  }

  private key(node: string): string {
    return `${this.prefix}presence:${node}`;
  }

  private async snapshot(): Promise<void> {
    const { channels, users } = this.hub.presence();
    const fields: (string | number)[] = [];
    for (const [channel, count] of channels) fields.push(`c:${channel}`, count);
    for (const [uid, count] of users) fields.push(`u:${uid}`, count);
    const stats = this.stats();
    fields.push('n:name', stats.name);
    for (const name of STAT_FIELDS) fields.push(`n:${name}`, stats[name]);
    try {
      await this.client().evalScript(SNAPSHOT, [this.key(this.node), this.nodes], [SNAPSHOT_TTL_MS, this.now(), this.node, ...fields]);
    } catch (error) {
      this.onError(error as Error);
    }
  }
}
