// Poll sessions outlive their requests; abandoned ones must not pile up.
// Past the limits the least recently polled idle session makes room; when
// every session is waiting in a held poll, the new one is refused.
import { describe, expect, it } from 'vitest';
import { pollsHeld, publish, pushServers, request } from '../helpers/push.js';

const start = pushServers();

/** Open a poll session (answered at once) and return its token. */
async function openSession(base: string, query = ''): Promise<string> {
  const answer = await request(`${base}/poll?timeout=0${query}`);
  expect(answer.status).toBe(200);
  return answer.json.session;
}

/** Whether the server still knows a session: POST /send answers 401 for one it forgot. */
async function alive(base: string, session: string): Promise<boolean> {
  const answer = await request(`${base}/send`, { body: { type: 'subscribe', channel: 'x' }, headers: { 'X-Pushwire-Session': session } });
  return answer.status === 200;
}

describe('poll session limits', () => {
  it('maxPollSessions: the least recently polled idle session is ended to make room', async () => {
    const { base } = await start({ maxPollSessions: 3 });
    const [a, b, c] = [await openSession(base), await openSession(base), await openSession(base)];
    await request(`${base}/poll?timeout=0&session=${a}`); // a polled again: b is now the least recent
    const d = await openSession(base);
    expect(await alive(base, b)).toBe(false);
    expect([await alive(base, a), await alive(base, c), await alive(base, d)]).toEqual([true, true, true]);
    expect((await request(`${base}/metrics`)).text).toMatch(/^pushwire_poll_sessions_evicted_total 1$/m);
  });

  it('when every session waits in a held poll, a new one is refused with 503 and Retry-After', async () => {
    const { base } = await start({ maxPollSessions: 2 });
    const held = [fetch(`${base}/poll?timeout=30`), fetch(`${base}/poll?timeout=30`)];
    await pollsHeld(base, 2);
    const refused = await request(`${base}/poll?timeout=0`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    await publish(base, { broadcast: true, data: 'release' });
    await Promise.all(held);
  });

  it('maxPollSubscriptions counts channels across sessions; maxPollSessionsPerAddress answers 429 when all are busy', async () => {
    const subscriptions = await start({ maxPollSubscriptions: 5 });
    const wide = await openSession(subscriptions.base, '&channel=a&channel=b&channel=c');
    await openSession(subscriptions.base, '&channel=d&channel=e&channel=f'); // 6 > 5: the first makes room
    expect(await alive(subscriptions.base, wide)).toBe(false);

    const perAddress = await start({ maxPollSessionsPerAddress: 1 });
    const held = fetch(`${perAddress.base}/poll?timeout=30`);
    await pollsHeld(perAddress.base, 1);
    const refused = await request(`${perAddress.base}/poll?timeout=0`);
    expect(refused.status).toBe(429);
    expect(refused.json.error).toBe('at most 1 poll sessions per address');
    await publish(perAddress.base, { broadcast: true, data: 'release' });
    await held;
  });

  it('an answer holds at most maxBufferedBytes; the cursor picks up where it was cut', async () => {
    const { base } = await start({ maxBufferedBytes: 3000 });
    const first = await request(`${base}/poll?timeout=0&channel=big`);
    for (let i = 0; i < 5; i++) await publish(base, { channel: 'big', data: 'z'.repeat(1000) });
    const cut = await request(`${base}/poll?timeout=0&session=${first.json.session}&cursor=${first.json.cursor}`);
    expect(cut.json.messages).toHaveLength(2);
    const rest = await request(`${base}/poll?timeout=0&session=${first.json.session}&cursor=${cut.json.cursor}`);
    expect(rest.json.messages).toHaveLength(2);
  });
});
