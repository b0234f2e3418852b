// Publishes that wait for their time (`delayMs` / `at`): listed, cancellable,
// kept in memory (a restart forgets them), and bounded in count and bytes.
import { HttpError } from './http-io.js';
import type { PublishRequest } from './wire.js';

export interface ScheduledPublish {
  id: string;
  /** When it fires, ms since the epoch. */
  at: number;
  request: PublishRequest;
  /** The data as JSON text, serialized when it was scheduled. */
  json: string;
  /** Estimated memory: the data's JSON text plus a fixed overhead. */
  bytes: number;
}

/** A publish to keep until `request.at`, its data already serialized. */
export interface ScheduleInput {
  request: PublishRequest & { at: number };
  json: string;
}

/**
 * Where scheduled publishes wait: this process's memory (Scheduler), or
 * Redis (RedisScheduler), where every process sees them and each fires once.
 */
export interface Schedules {
  /** Keep these until their time, all or none: HttpError 507 when they do not fit the limits together. */
  scheduleAll(items: ScheduleInput[]): ScheduledPublish[] | Promise<ScheduledPublish[]>;
  /** Waiting publishes, soonest first: at most `limit`, after the one with id `after`. */
  list(limit?: number, after?: string): ScheduledPublish[] | Promise<ScheduledPublish[]>;
  /** Cancel one; false when no such publish waits. */
  cancel(id: string): boolean | Promise<boolean>;
  /** How many wait, now. */
  count(): number | Promise<number>;
  /** How many wait, and their estimated bytes (as last known, for /metrics). */
  readonly size: number;
  readonly bytes: number;
  /** Stop firing (shutdown). */
  stop(): void;
}

export interface SchedulerLimits {
  /** Publishes waiting at once. */
  maxItems: number;
  /** Their estimated bytes together. */
  maxBytes: number;
}

/** Bytes a waiting publish costs beside its data: the item, its timer, the map slot. */
const ITEM_OVERHEAD_BYTES = 300;

/** setTimeout's longest delay (2^31 - 1 ms, about 24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Scheduled publishes in this process's memory, each on its own timer. */
export class Scheduler implements Schedules {
  private readonly items = new Map<string, { item: ScheduledPublish; timer: NodeJS.Timeout }>();
  private nextId = 1;
  private bytesValue = 0;

  constructor(
    private readonly publish: (request: PublishRequest, json: string) => void,
    private readonly now: () => number,
    private readonly limits: SchedulerLimits,
  ) {}

  /**
   * Keep `request` until its time. `json` is its data serialized (for the
   * byte count). Throws HttpError 507 when the limits are reached: a waiting
   * publish is a promise, so it is refused rather than evicted.
   */
  schedule(request: PublishRequest & { at: number }, json: string): ScheduledPublish {
    this.checkRoom(1, json.length);
    const bytes = json.length + ITEM_OVERHEAD_BYTES;
    const item: ScheduledPublish = { id: `sched-${this.nextId++}`, at: request.at, request, json, bytes };
    this.bytesValue += bytes;
    this.arm(item);
    return item;
  }

  scheduleAll(items: ScheduleInput[]): ScheduledPublish[] {
    this.checkRoom(items.length, items.reduce((sum, { json }) => sum + json.length, 0));
    return items.map(({ request, json }) => this.schedule(request, json));
  }

  /** Throws HttpError 507 unless `count` more publishes with `jsonBytes` of data fit the limits. */
  checkRoom(count: number, jsonBytes: number): void {
    if (this.items.size + count > this.limits.maxItems) {
      throw new HttpError(507, `at most ${this.limits.maxItems} scheduled publishes may wait at once`);
    }
    if (this.bytesValue + jsonBytes + count * ITEM_OVERHEAD_BYTES > this.limits.maxBytes) {
      throw new HttpError(507, `scheduled publishes may hold at most ${this.limits.maxBytes} bytes at once`);
    }
  }

  /**
   * Waiting publishes, soonest first (ties in the order they were made): at
   * most `limit`, starting after the one with id `after` when given.
   */
  list(limit = Infinity, after?: string): ScheduledPublish[] {
    const all = [...this.items.values()].map(({ item }) => item).sort(soonestFirst);
    const start = after === undefined ? 0 : all.findIndex((item) => item.id === after) + 1;
    return all.slice(start, start + limit);
  }

  get size(): number {
    return this.items.size;
  }

  count(): number {
    return this.items.size;
  }

  /** Estimated bytes held by waiting publishes. */
  get bytes(): number {
    return this.bytesValue;
  }

  /** Cancel one; false when no such publish waits. */
  cancel(id: string): boolean {
    const entry = this.items.get(id);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.forget(entry.item);
    return true;
  }

  /** Drop everything still waiting. */
  stop(): void {
    for (const { timer } of this.items.values()) clearTimeout(timer);
    this.items.clear();
    this.bytesValue = 0;
  }

  private forget(item: ScheduledPublish): void {
    this.items.delete(item.id);
    this.bytesValue -= item.bytes;
  }

  private arm(item: ScheduledPublish): void {
    const wait = Math.max(0, Math.min(item.at - this.now(), MAX_TIMER_MS));
    const timer = setTimeout(() => {
      if (this.now() < item.at) {
        this.arm(item);
        return;
      }
      this.forget(item);
      const { at: _at, ...now } = item.request;
      this.publish(now, item.json);
    }, wait);
    this.items.set(item.id, { item, timer });
  }
}

function soonestFirst(a: ScheduledPublish, b: ScheduledPublish): number {
  return a.at - b.at || Number(a.id.slice(6)) - Number(b.id.slice(6));
}
