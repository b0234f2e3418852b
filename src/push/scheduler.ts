// Publishes that wait for their time (`delayMs` / `at`): listed, cancellable,
// kept in memory (a restart forgets them).
import type { PublishRequest } from './wire.js';

export interface ScheduledPublish {
  id: string;
  /** When it fires, ms since the epoch. */
  at: number;
  request: PublishRequest;
}

/** setTimeout's longest delay (2^31 - 1 ms, about 24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Scheduler {
  private readonly items = new Map<string, { item: ScheduledPublish; timer: NodeJS.Timeout }>();
  private nextId = 1;

  constructor(
    private readonly publish: (request: PublishRequest) => void,
    private readonly now: () => number,
  ) {}

  schedule(request: PublishRequest & { at: number }): ScheduledPublish {
    const item: ScheduledPublish = { id: `sched-${this.nextId++}`, at: request.at, request };
    this.arm(item);
    return item;
  }

  /** Waiting publishes, soonest first. */
  list(): ScheduledPublish[] {
    return [...this.items.values()].map(({ item }) => item).sort((a, b) => a.at - b.at);
  }

  get size(): number {
    return this.items.size;
  }

  /** Cancel one; false when no such publish waits. */
  cancel(id: string): boolean {
    const entry = this.items.get(id);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.items.delete(id);
    return true;
  }

  /** Drop everything still waiting. */
  stop(): void {
    for (const { timer } of this.items.values()) clearTimeout(timer);
    this.items.clear();
  }

  private arm(item: ScheduledPublish): void {
    const wait = Math.max(0, Math.min(item.at - this.now(), MAX_TIMER_MS));
    const timer = setTimeout(() => {
      if (this.now() < item.at) {
        this.arm(item);
        return;
      }
      this.items.delete(item.id);
      const { at: _at, ...now } = item.request;
      this.publish(now);
    }, wait);
    this.items.set(item.id, { item, timer });
  }
}
