// The admin dashboard's numbers, in memory with a fake clock: latency
// percentiles, per-second rates, per-channel publish rates over their window,
// the bounded rings, and that nothing is measured while no dashboard is open.
import { describe, expect, it } from 'vitest';
import type { HubMessage } from '../../src/hub/hub.js';
import { AdminSampler, EVENT_RING, LatencyHistogram, Ring } from '../../src/push/admin-sampler.js';
import type { Client } from '../../src/push/core.js';
import { Metrics } from '../../src/push/metrics.js';

function message(seq: number, time: number, target: Partial<HubMessage> = { channel: 'news' }): HubMessage {
  return { id: `e-${seq}`, seq, data: null, json: 'null', time, ...target };
}

function sampler() {
  const clock = { now: 1_000_000 };
  const metrics = new Metrics();
  const sessions = new Map([['ws', 2], ['poll', 1]]);
  const it = new AdminSampler({ metrics, sessionCounts: () => sessions, now: () => clock.now });
  return { sampler: it, metrics, clock };
}

describe('LatencyHistogram', () => {
  it('reads percentiles exactly below 1 s and in 100 ms steps above', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.percentile(0.5)).toBeNull();
    for (let ms = 1; ms <= 100; ms++) histogram.record(ms);
    expect(histogram.percentile(0.5)).toBe(50);
    expect(histogram.percentile(0.99)).toBe(99);
    histogram.reset();
    histogram.record(-3); // clock skew between processes
    histogram.record(1234, 99);
    expect(histogram.percentile(0.01)).toBe(0);
    expect(histogram.percentile(0.5)).toBe(1200);
    histogram.record(10 * 60_000); // ten minutes: the last bucket
    expect(histogram.percentile(1)).toBe(60_000);
  });
});

describe('Ring', () => {
  it('keeps the newest `capacity` items, oldest first', () => {
    const ring = new Ring<number>(3);
    for (let i = 1; i <= 5; i++) ring.push(i);
    expect(ring.toArray()).toEqual([3, 4, 5]);
  });
});

describe('AdminSampler', () => {
  it('measures nothing until a dashboard opens, then turns counters into rates and deliveries into percentiles', () => {
    const { sampler: s, metrics, clock } = sampler();
    // The core calls published/delivered only while sampling is on.
    expect(s.sampling).toBe(false);
    s.start();
    expect(s.sampling).toBe(true);
    clock.now += 2000;
    metrics.published += 10;
    metrics.delivered.ws += 30;
    metrics.delivered.sse += 10;
    metrics.received.poll += 4;
    metrics.drops.ws += 1;
    metrics.countError(404);
    // 40 deliveries of one message: the clock is read at the first and then every 32nd.
    const first = message(1, clock.now - 3);
    for (let i = 0; i < 40; i++) s.delivered(first);
    s.delivered(message(2, clock.now - 250));
    expect(s.take()).toMatchObject({
      t: clock.now,
      ws: 2,
      sse: 0,
      poll: 1,
      in: 5,
      out: 20,
      commands: 2,
      p50: 3,
      p99: 250,
      published: 10,
      delivered: 40,
      drops: 1,
      gaps: 0,
      httpErrors: 1,
    });
    clock.now += 1000;
    expect(s.take()).toMatchObject({ in: 0, out: 0, p50: null, p99: null });
  });

  it('ranks publish targets by their rate over the last 10 samples', () => {
    const { sampler: s } = sampler();
    s.start();
    for (let second = 0; second < 12; second++) {
      for (let i = 0; i < 5; i++) s.published(message(1, 0, { channel: 'hot' }));
      if (second === 0) for (let i = 0; i < 100; i++) s.published(message(1, 0, { channel: 'once' })); // leaves the window
      s.published(message(1, 0, { uid: 'ann' }));
      s.published(message(1, 0, { broadcast: true }));
      s.take();
    }
    expect(s.topRates(10)).toEqual([
      { channel: 'hot', kind: 'channel', rate: 5 },
      { channel: null, kind: 'broadcast', rate: 1 },
      { channel: null, kind: 'users', rate: 1 },
    ]);
  });

  it('keeps the last EVENT_RING drops, gaps and HTTP errors, without the query of a path', () => {
    const { sampler: s, clock } = sampler();
    const client = { transport: 'sse', token: 'abcdefghijkl', identity: { uid: 'ann' } } as unknown as Client;
    s.dropped(client);
    s.gap(client, 'e-7');
    s.httpError('GET', '/admin/stream?key=secret', 401);
    expect(s.recentEvents()).toEqual([
      { seq: 1, t: clock.now, kind: 'drop', transport: 'sse', uid: 'ann', session: 'abcdef' },
      { seq: 2, t: clock.now, kind: 'gap', transport: 'sse', uid: 'ann', since: 'e-7' },
      { seq: 3, t: clock.now, kind: 'http', status: 401, method: 'GET', path: '/admin/stream' },
    ]);
    for (let i = 0; i < EVENT_RING; i++) s.httpError('GET', '/nope', 404);
    expect(s.recentEvents()).toHaveLength(EVENT_RING);
    expect(s.recentEvents()[0].seq).toBe(4);
  });
});
