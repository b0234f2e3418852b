// What the admin dashboard measures. While a dashboard is open, `take()` is
// called once a second and turns the server's counters into a Sample: sessions
// per transport, messages in and out per second, publish → delivery latency
// percentiles, memory. Between samples the core tells the sampler of each
// publish (per-channel rates) and each live delivery (latency) — only while
// `sampling` is on, so a server nobody watches pays one flag check per
// delivery. Events worth an operator's eye (a slow consumer cut, a resume
// that met a gap, an HTTP error) are kept in a small ring whether or not a
// dashboard is open: one opened later still shows what just happened.
import type { HubMessage } from '../hub/hub.js';
import type { Client, Observer } from './core.js';
import type { Metrics, Transport } from './metrics.js';

/** One second of the server, as the dashboard charts it. Rates are per second; totals count since start. */
export interface Sample {
  /** When it was taken, ms since the epoch (the server's clock). */
  t: number;
  /** Open sessions by transport. */
  ws: number;
  sse: number;
  poll: number;
  /** Messages published through this process, per second. */
  in: number;
  /** Messages written to sessions, per second. */
  out: number;
  /** Commands received from clients, per second. */
  commands: number;
  /** Publish → hand-off to the session's transport, ms, over the live deliveries of this second; null without any. */
  p50: number | null;
  p99: number | null;
  /** Process memory, bytes. */
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** Totals since the server started. */
  published: number;
  delivered: number;
  drops: number;
  gaps: number;
  httpErrors: number;
}

/** What happened, in an AdminEvent: a slow consumer cut, a resume that met a gap, an HTTP error answered. */
export type EventDetail =
  | { kind: 'drop'; transport: Transport; uid: string | null; session: string }
  | { kind: 'gap'; transport: Transport; uid: string | null; since: string }
  | { kind: 'http'; status: number; method: string; path: string };

/** Something that happened to one session or request, for the dashboard's list of recent events. */
export type AdminEvent = EventDetail & { seq: number; t: number };

/** Where a channel's publish rate stands, over the last RATE_WINDOW samples. */
export interface ChannelRate {
  /** The channel; null for the other kinds: publishes to user ids, broadcasts, and channels past MAX_CHANNELS_PER_SAMPLE. */
  channel: string | null;
  kind: 'channel' | 'users' | 'broadcast' | 'other';
  /** Messages per second. */
  rate: number;
}

/** Recent events kept (drops, gaps, HTTP errors). */
export const EVENT_RING = 50;
/** Samples (seconds) a channel's publish rate is averaged over. */
const RATE_WINDOW = 10;
/** Channels counted in one second; publishes to more go to one "other channels" entry, so a flood of names cannot grow memory. */
const MAX_CHANNELS_PER_SAMPLE = 1000;
/** Longest path an HTTP error event keeps. */
const MAX_EVENT_PATH = 200;
/**
 * The clock is read once per this many deliveries of one message: a fan-out
 * delivers a message to every local recipient in one synchronous loop, so
 * reading it per recipient (about 45 ns each) would cost more than all the
 * rest of the measuring, while this still sees a long fan-out's later
 * recipients wait.
 */
const CLOCK_EVERY = 32;

/** A fixed-size ring: pushing past its capacity drops the oldest. */
export class Ring<T> {
  private readonly items: T[] = [];
  private start = 0;

  constructor(readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Oldest first. */
  toArray(): T[] {
    return [...this.items.slice(this.start), ...this.items.slice(0, this.start)];
  }
}

/**
 * Latencies of one second, in whole milliseconds: exact below 1 s, in 100 ms
 * steps up to 60 s, and "60 s or more" beyond. Recording is one array
 * increment; percentiles are read once a second.
 */
export class LatencyHistogram {
  private static readonly EXACT = 1000;
  private static readonly STEP = 100;
  private readonly counts = new Uint32Array(LatencyHistogram.EXACT + 591);
  private total = 0;

  /** `count` deliveries that took `ms` (below 0, from clock skew between processes: 0). */
  record(ms: number, count = 1): void {
    const exact = LatencyHistogram.EXACT;
    const index = ms < exact ? (ms > 0 ? ms : 0) : Math.min(exact + Math.floor((ms - exact) / LatencyHistogram.STEP), this.counts.length - 1);
    this.counts[index] += count;
    this.total += count;
  }

  /** The latency (ms, a bucket's lower bound) at or below which `fraction` of the recorded ones fall; null when none were. */
  percentile(fraction: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.ceil(fraction * this.total);
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index];
      if (seen >= rank) return index < LatencyHistogram.EXACT ? index : LatencyHistogram.EXACT + (index - LatencyHistogram.EXACT) * LatencyHistogram.STEP;
    }
    return null; // unreachable: seen reaches total
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

/** Publishes per target over a sliding window of samples. */
class ChannelRates {
  private current = new Map<string, number>();
  private readonly window: Map<string, number>[] = [];
  private readonly sums = new Map<string, number>();

  count(message: HubMessage): void {
    let key = message.channel !== undefined ? `c:${message.channel}` : message.uid !== undefined ? 'users' : 'broadcast';
    if (!this.current.has(key) && this.current.size >= MAX_CHANNELS_PER_SAMPLE) key = 'other';
    this.current.set(key, (this.current.get(key) ?? 0) + 1);
  }

  /** Close the current second: it joins the window, and the oldest leaves once the window is full. */
  roll(): void {
    this.window.push(this.current);
    for (const [key, n] of this.current) this.sums.set(key, (this.sums.get(key) ?? 0) + n);
    this.current = new Map();
    if (this.window.length <= RATE_WINDOW) return;
    for (const [key, n] of this.window.shift()!) {
      const left = this.sums.get(key)! - n;
      if (left === 0) this.sums.delete(key);
      else this.sums.set(key, left);
    }
  }

  /** The `limit` busiest targets, messages per second over the window. */
  top(limit: number): ChannelRate[] {
    const seconds = Math.max(this.window.length, 1);
    return [...this.sums]
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
      .slice(0, limit)
      .map(([key, n]) => ({ ...describeKey(key), rate: Math.round((n / seconds) * 10) / 10 }));
  }

  clear(): void {
    this.current.clear();
    this.window.length = 0;
    this.sums.clear();
  }
}

function describeKey(key: string): Omit<ChannelRate, 'rate'> {
  if (key.startsWith('c:')) return { channel: key.slice(2), kind: 'channel' };
  return { channel: null, kind: key as 'users' | 'broadcast' | 'other' };
}

/** What a sample is computed from. */
export interface SamplerSources {
  metrics: Metrics;
  /** Open sessions by transport. */
  sessionCounts(): Map<string, number>;
  /** The clock, ms: the one message times come from. */
  now(): number;
}

/** The core's Observer, and the numbers behind the dashboard. */
export class AdminSampler implements Observer {
  /** On while at least one dashboard is open: then publishes and deliveries are measured. */
  sampling = false;
  private readonly latency = new LatencyHistogram();
  private readonly rates = new ChannelRates();
  private readonly events = new Ring<AdminEvent>(EVENT_RING);
  private eventSeq = 0;
  /** The message being delivered, its latency at the last clock reading, and the deliveries since that reading. */
  private timed: HubMessage | null = null;
  private timedLatency = 0;
  private timedCount = 0;
  /** The counters at the previous sample, to turn totals into rates. */
  private last = { t: 0, published: 0, delivered: 0, commands: 0 };

  constructor(private readonly sources: SamplerSources) {}

  /** A dashboard opened: measure from now on. The first sample covers the time from here. */
  start(): void {
    if (this.sampling) return;
    this.sampling = true;
    this.latency.reset();
    this.timed = null;
    this.timedCount = 0;
    this.rates.clear();
    this.last = { t: this.sources.now(), ...this.counters() };
  }

  /** The last dashboard closed. */
  stop(): void {
    this.sampling = false;
  }

  /** The second since the previous sample (or `start`). */
  take(): Sample {
    const t = this.sources.now();
    const counters = this.counters();
    const seconds = Math.max(t - this.last.t, 1) / 1000;
    const perSecond = (now: number, before: number): number => Math.round(((now - before) / seconds) * 10) / 10;
    const sessions = this.sources.sessionCounts();
    const memory = process.memoryUsage();
    const { metrics } = this.sources;
    this.recordTimed();
    const sample: Sample = {
      t,
      ws: sessions.get('ws') ?? 0,
      sse: sessions.get('sse') ?? 0,
      poll: sessions.get('poll') ?? 0,
      in: perSecond(counters.published, this.last.published),
      out: perSecond(counters.delivered, this.last.delivered),
      commands: perSecond(counters.commands, this.last.commands),
      p50: this.latency.percentile(0.5),
      p99: this.latency.percentile(0.99),
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      published: counters.published,
      delivered: counters.delivered,
      drops: sum(metrics.drops),
      gaps: sum(metrics.gaps),
      httpErrors: [...metrics.httpErrors.values()].reduce((a, b) => a + b, 0),
    };
    this.last = { t, ...counters };
    this.latency.reset();
    this.rates.roll();
    return sample;
  }

  /** The busiest publish targets over the last RATE_WINDOW seconds. */
  topRates(limit: number): ChannelRate[] {
    return this.rates.top(limit);
  }

  /** Recent events, oldest first. */
  recentEvents(): AdminEvent[] {
    return this.events.toArray();
  }

  published(message: HubMessage): void {
    this.rates.count(message);
  }

  delivered(message: HubMessage): void {
    if (message === this.timed && this.timedCount < CLOCK_EVERY) {
      this.timedCount++;
      return;
    }
    this.recordTimed();
    this.timed = message;
    this.timedLatency = this.sources.now() - message.time;
    this.timedCount = 1;
  }

  /** Put the deliveries counted since the last clock reading in the histogram. */
  private recordTimed(): void {
    if (this.timedCount > 0) this.latency.record(this.timedLatency, this.timedCount);
    this.timed = null;
    this.timedCount = 0;
  }

  dropped(client: Client): void {
    this.record({ kind: 'drop', transport: client.transport, uid: client.identity.uid ?? null, session: tokenPrefix(client.token) });
  }

  gap(client: Client, since: string): void {
    this.record({ kind: 'gap', transport: client.transport, uid: client.identity.uid ?? null, since });
  }

  /** An HTTP request answered with an error status. Only the path of `target` is kept: a query may carry a key. */
  httpError(method: string, target: string, status: number): void {
    const query = target.indexOf('?');
    const path = (query === -1 ? target : target.slice(0, query)).slice(0, MAX_EVENT_PATH);
    this.record({ kind: 'http', status, method, path });
  }

  private record(detail: EventDetail): void {
    this.events.push({ seq: ++this.eventSeq, t: this.sources.now(), ...detail });
  }

  private counters(): { published: number; delivered: number; commands: number } {
    const { metrics } = this.sources;
    return { published: metrics.published, delivered: sum(metrics.delivered), commands: sum(metrics.received) };
  }
}

/** Enough of a session token to tell sessions apart on screen, far too little to use it for POST /send. */
export function tokenPrefix(token: string): string {
  return token.slice(0, 6);
}

function sum(values: Record<Transport, number>): number {
  return values.ws + values.sse + values.poll;
}
