// GET /poll through the real server: hold and wake, cursors, gaps, session
// expiry, and a property over random publish/poll/reconnect interleavings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/hub/hub.js';
import { pollsHeld, publish, request, pushServers, type Json } from '../helpers/push.js';

const start = pushServers();

const data = (answer: Json): unknown[] => answer.messages.map((m: Json) => m.data);

describe('long-poll transport', () => {
  it('holds a poll until a message arrives, then answers with it and the next cursor', async () => {
    const { base } = await start();
    const first = await request(`${base}/poll?channel=q&timeout=0`);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ messages: [], cursor: expect.stringMatching(/-0$/), session: expect.any(String) });
    const held = request(`${base}/poll?channel=q&cursor=${first.json.cursor}&session=${first.json.session}&timeout=10`);
    await pollsHeld(base, 1);
    await publish(base, { channel: 'q', event: 'e', data: 'woke' });
    const answer = await held;
    expect(answer.json.messages).toEqual([
      { type: 'message', channel: 'q', id: expect.any(String), event: 'e', data: 'woke', time: expect.any(Number) },
    ]);
    expect(answer.json.cursor).toBe(answer.json.messages[0].id);
    expect(answer.json.session).toBe(first.json.session);
  });

  it('answers at once when messages after the cursor exist; a batch published together arrives together', async () => {
    const { base } = await start();
    const { json: start0 } = await request(`${base}/poll?channel=q&timeout=0`);
    await publish(base, [{ channel: 'q', data: 1 }, { channel: 'x', data: 'no' }, { channel: 'q', data: 2 }]);
    const backlog = await request(`${base}/poll?channel=q&cursor=${start0.cursor}&session=${start0.session}`);
    expect(data(backlog.json)).toEqual([1, 2]);
    const held = request(`${base}/poll?channel=q&cursor=${backlog.json.cursor}&session=${start0.session}&timeout=10`);
    await pollsHeld(base, 1);
    await publish(base, [{ channel: 'q', data: 3 }, { channel: 'q', data: 4 }]);
    expect(data((await held).json)).toEqual([3, 4]);
  });

  it('times out with no messages and the cursor to go on from', async () => {
    const { base } = await start();
    const { json: first } = await request(`${base}/poll?channel=q&timeout=0`);
    await publish(base, { channel: 'elsewhere', data: 1 });
    const answer = await request(`${base}/poll?channel=q&cursor=${first.cursor}&session=${first.session}&timeout=0.1`);
    expect(answer.json.messages).toEqual([]);
    expect(answer.json.cursor).toMatch(/-1$/);
  });

  it('flags a gap when the cursor is older than history, or from another server run', async () => {
    const { base } = await start({ historySize: 1 });
    const { json: first } = await request(`${base}/poll?channel=q&timeout=0`);
    await publish(base, { channel: 'q', data: 1 });
    await publish(base, { channel: 'q', data: 2 });
    const answer = await request(`${base}/poll?channel=q&cursor=${first.cursor}&timeout=0`);
    expect(answer.json).toMatchObject({ gap: true });
    expect(data(answer.json)).toEqual([2]);
    const foreign = await request(`${base}/poll?channel=q&cursor=12345-6&timeout=0`);
    expect(foreign.json.gap).toBe(true);
  });

  it('a newer poll on the same session answers the held one; an idle session expires', async () => {
    const closed: string[] = [];
    const { base } = await start({
      heartbeatMs: 20,
      pollSessionTtlMs: 100,
      handler: { onClose: (s: Session) => closed.push(s.transport) },
    });
    const { json: first } = await request(`${base}/poll?timeout=0`);
    const older = request(`${base}/poll?session=${first.session}&timeout=10`);
    await pollsHeld(base, 1);
    const newer = request(`${base}/poll?session=${first.session}&timeout=0.05`);
    expect((await older).json.messages).toEqual([]);
    expect((await newer).json.session).toBe(first.session);
    await expect.poll(() => closed, { timeout: 2000 }).toEqual(['poll']);
    const send = await request(`${base}/send?session=${first.session}`, { body: { type: 'send', data: 1 } });
    expect(send.status).toBe(401);
  });

  it('POST /send from a poll session reaches the app hook; uid inbox arrives on the first poll', async () => {
    const got: unknown[] = [];
    const { base } = await start({ handler: { onMessage: (s: Session, d: unknown) => got.push([s.uid, d]) } });
    await publish(base, { uid: 'pat', data: 'unread' });
    const { json: first } = await request(`${base}/poll?uid=pat`);
    expect(data(first)).toEqual(['unread']);
    await request(`${base}/send`, { body: { type: 'send', data: 'from poll' }, headers: { 'X-Pushwire-Session': first.session } });
    expect(got).toEqual([['pat', 'from poll']]);
    const { json: other } = await request(`${base}/poll?uid=quinn&timeout=0`);
    expect(other.messages).toEqual([]);
  });
});

type Step =
  | { kind: 'publish'; to: 'mine' | 'other' | 'uid' | 'someone' | 'all'; count: number }
  | { kind: 'poll'; hold: boolean }
  | { kind: 'reconnect' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('publish' as const),
    to: fc.constantFrom('mine' as const, 'other' as const, 'uid' as const, 'someone' as const, 'all' as const),
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({ kind: fc.constant('poll' as const), hold: fc.boolean() }),
  fc.constant({ kind: 'reconnect' as const }),
);

describe('long-poll property', () => {
  it('under random publish / poll / reconnect interleavings every message for the client arrives once, in order', async () => {
    const { base } = await start();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
        run++;
        const channel = `ch${run}`;
        const uid = `user${run}`;
        const query = `channel=${channel}&uid=${uid}`;
        const expected: string[] = [];
        const received: string[] = [];
        let { json: state } = await request(`${base}/poll?${query}&timeout=0`);
        let held: Promise<Json> | null = null;
        const take = (answer: Json): void => {
          received.push(...answer.messages.map((m: Json) => m.data));
          state = { cursor: answer.cursor, session: answer.session };
        };
        const finishHeld = async (): Promise<void> => {
          if (held) take((await held).json);
          held = null;
        };
        let n = 0;
        for (const s of steps) {
          if (s.kind === 'publish') {
            const batch = Array.from({ length: s.count }, () => {
              const label = `${s.to}-${n++}`;
              const target =
                s.to === 'mine' ? { channel } : s.to === 'other' ? { channel: `${channel}x` } : s.to === 'uid' ? { uid } : s.to === 'someone' ? { uid: `${uid}x` } : { broadcast: true };
              if (s.to === 'mine' || s.to === 'uid' || s.to === 'all') expected.push(label);
              return { ...target, data: label };
            });
            await publish(base, batch);
          } else if (s.kind === 'poll') {
            await finishHeld();
            const url = `${base}/poll?${query}&cursor=${state.cursor}&session=${state.session}`;
            if (s.hold) held = request(`${url}&timeout=0.05`);
            else take((await request(`${url}&timeout=0`)).json);
          } else {
            await finishHeld();
            state = { ...state, session: 'gone' }; // a new session resumes from the cursor alone
          }
        }
        await finishHeld();
        for (;;) {
          const answer = (await request(`${base}/poll?${query}&cursor=${state.cursor}&session=${state.session}&timeout=0`)).json;
          expect(answer.gap).toBeUndefined();
          if (answer.messages.length === 0) break;
          take(answer);
        }
        expect(received).toEqual(expected);
      }),
      { numRuns: 40 },
    );
  });
});
