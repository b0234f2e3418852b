// Scheduled publishes are promises, so they are refused (507) rather than
// evicted when the limits are reached; GET /scheduled answers a page at a time.
import { describe, expect, it } from 'vitest';
import { publish, pushServers, request } from '../helpers/push.js';

const start = pushServers();
const later = (data: unknown, delayMs = 60_000) => ({ channel: 'c', data, delayMs });

describe('scheduled publish limits', () => {
  it('refuses with 507 past maxScheduled, a batch all or nothing, and frees room on cancel', async () => {
    const { base } = await start({ maxScheduled: 3 });
    expect((await publish(base, [later(1), later(2)])).status).toBe(200);
    const over = await publish(base, [later(3), later(4)]);
    expect(over.status).toBe(507);
    expect(over.json.error).toBe('at most 3 scheduled publishes may wait at once');
    expect((await request(`${base}/scheduled`)).json.total).toBe(2); // nothing of the refused batch stayed
    expect((await request(`${base}/scheduled/sched-1`, { method: 'DELETE' })).status).toBe(200);
    expect((await publish(base, [later(3), later(4)])).status).toBe(200);
  });

  it('refuses with 507 past maxScheduledBytes', async () => {
    const { base } = await start({ maxScheduledBytes: 5000 });
    expect((await publish(base, later('x'.repeat(3000)))).status).toBe(202);
    const over = await publish(base, later('y'.repeat(3000)));
    expect(over.status).toBe(507);
    expect(over.json.error).toBe('scheduled publishes may hold at most 5000 bytes at once');
  });

  it('GET /scheduled pages with limit and after, soonest first', async () => {
    const { base } = await start();
    await publish(base, [later('c', 3000), later('a', 1000), later('b', 2000), later('d', 4000), later('e', 5000)]);
    const first = await request(`${base}/scheduled?limit=2`);
    expect(first.json.scheduled.map((item: { data: string }) => item.data)).toEqual(['a', 'b']);
    expect(first.json).toMatchObject({ next: 'sched-3', total: 5 });
    const second = await request(`${base}/scheduled?limit=2&after=${first.json.next}`);
    expect(second.json.scheduled.map((item: { data: string }) => item.data)).toEqual(['c', 'd']);
    const last = await request(`${base}/scheduled?limit=2&after=${second.json.next}`);
    expect(last.json).toMatchObject({ next: null });
    expect(last.json.scheduled.map((item: { data: string }) => item.data)).toEqual(['e']);
    expect((await request(`${base}/scheduled?limit=0`)).status).toBe(400);
  });
});
