import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Hub, type HubMessage } from '../../src/hub/hub.js';

function recorder() {
  const received: HubMessage[] = [];
  return { received, sink: { deliver: (m: HubMessage) => received.push(m) } };
}

describe('Hub delivery', () => {
  it('routes by channel, by user id, and to everyone', () => {
    const hub = new Hub({ epoch: 'e' });
    const alice = recorder();
    const bob = recorder();
    const anon = recorder();
    const a = hub.open(alice.sink, { uid: 'alice', transport: 'ws' });
    hub.open(bob.sink, { uid: 'bob', transport: 'sse' });
    const n = hub.open(anon.sink, { transport: 'poll' });
    hub.subscribe(a, 'news');
    hub.subscribe(n, 'news');
    expect(hub.publish({ target: { channel: 'news' }, data: 1 }).delivered).toBe(2);
    expect(hub.publish({ target: { uid: 'bob' }, event: 'dm', data: 2 }).delivered).toBe(1);
    expect(hub.publish({ target: { broadcast: true }, data: 3 }).delivered).toBe(3);
    expect(alice.received.map((m) => m.data)).toEqual([1, 3]);
    expect(bob.received.map((m) => m.data)).toEqual([2, 3]);
    expect(anon.received.map((m) => m.data)).toEqual([1, 3]);
    expect(bob.received[0]).toMatchObject({ id: 'e-2', uid: 'bob', event: 'dm' });
  });

  it('a user with several sessions gets a uid message on each; closed sessions get nothing', () => {
    const hub = new Hub();
    const one = recorder();
    const two = recorder();
    hub.open(one.sink, { uid: 'u', transport: 'ws' });
    const second = hub.open(two.sink, { uid: 'u', transport: 'sse' });
    expect(hub.sessionCounts()).toEqual(new Map([['ws', 1], ['sse', 1]]));
    expect(hub.publish({ target: { uid: 'u' }, data: 'x' }).delivered).toBe(2);
    hub.close(second);
    expect(hub.publish({ target: { uid: 'u' }, data: 'y' }).delivered).toBe(1);
    expect(two.received.map((m) => m.data)).toEqual(['x']);
  });
});

describe('Hub history and resume', () => {
  it('an offline user finds uid messages in its inbox on the next connect', () => {
    const hub = new Hub({ epoch: 'e' });
    hub.publish({ target: { uid: 'carol' }, data: 'while you were away' });
    hub.publish({ target: { uid: 'dave' }, data: 'not yours' });
    const carol = hub.open(recorder().sink, { uid: 'carol', transport: 'ws' });
    expect(hub.replay(carol, 'e-0')).toEqual({
      messages: [expect.objectContaining({ data: 'while you were away' })],
      gap: false,
    });
  });

  it('reports a gap when history no longer covers it (count bound)', () => {
    const hub = new Hub({ epoch: 'e', historySize: 3 });
    const s = hub.open(recorder().sink, { transport: 'ws' });
    hub.subscribe(s, 'c');
    for (let i = 1; i <= 5; i++) hub.publish({ target: { channel: 'c' }, data: i });
    expect(hub.replay(s, 'e-1')).toEqual({ messages: expect.any(Array), gap: true });
    expect(hub.replay(s, 'e-2')).toMatchObject({ gap: false });
    expect(hub.replay(s, 'e-2').messages.map((m) => m.data)).toEqual([3, 4, 5]);
  });

  it('reports a gap when history no longer covers it (age bound)', () => {
    let now = 1000;
    const hub = new Hub({ epoch: 'e', historyAgeMs: 100, now: () => now });
    const s = hub.open(recorder().sink, { transport: 'ws' });
    hub.subscribe(s, 'c');
    hub.publish({ target: { channel: 'c' }, data: 'old' });
    now += 50;
    hub.publish({ target: { channel: 'c' }, data: 'newer' });
    now += 60;
    expect(hub.replay(s, 'e-0')).toEqual({ messages: [expect.objectContaining({ data: 'newer' })], gap: true });
    expect(hub.replay(s, 'e-1').gap).toBe(false);
  });

  it('ids from another epoch, malformed or from the future are gaps', () => {
    const hub = new Hub({ epoch: 'now' });
    const s = hub.open(recorder().sink, { transport: 'ws' });
    hub.publish({ target: { broadcast: true }, data: 1 });
    for (const since of ['before-3', 'garbage', 'now-x', 'now-99', '']) expect(hub.replay(s, since).gap).toBe(true);
    expect(hub.replay(s, 'now-1')).toEqual({ messages: [], gap: false });
    expect(hub.lastId).toBe('now-1');
  });

  it('resuming from any id a session saw yields exactly what it saw after that id (random publishes)', () => {
    const publish = fc.record({ target: fc.constantFrom(0, 1, 2), name: fc.nat(2) });
    const subscriptions = fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { maxLength: 6 });
    fc.assert(
      fc.property(subscriptions, fc.array(publish, { maxLength: 60 }), fc.nat(), (subs, publishes, pick) => {
        const hub = new Hub({ epoch: 'e' });
        const sessions = [0, 1, 2].map((i) => {
          const r = recorder();
          return { session: hub.open(r.sink, { uid: `user${i}`, transport: 'ws' }), received: r.received };
        });
        for (const [session, channel] of subs) hub.subscribe(sessions[session].session, `c${channel}`);
        for (const p of publishes) {
          const target = p.target === 0 ? { channel: `c${p.name}` } : p.target === 1 ? { uid: `user${p.name}` } : { broadcast: true as const };
          hub.publish({ target, data: null });
        }
        for (const { session, received } of sessions) {
          // uid isolation: nothing addressed to another user.
          for (const m of received) if (m.uid !== undefined) expect(m.uid).toBe(session.uid);
          // in order, each once
          for (let i = 1; i < received.length; i++) expect(received[i].seq).toBeGreaterThan(received[i - 1].seq);
          const from = received.length === 0 ? `e-0` : received[pick % received.length].id;
          const fromSeq = Number(from.split('-')[1]);
          const replay = hub.replay(session, from);
          expect(replay.gap).toBe(false);
          expect(replay.messages.map((m) => m.id)).toEqual(received.filter((m) => m.seq > fromSeq).map((m) => m.id));
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('Hub unread inbox', () => {
  it('keeps uid messages no session received and hands them to the next session of that user, once', () => {
    const hub = new Hub({ epoch: 'e' });
    hub.publish({ target: { uid: 'u' }, data: 'while offline 1' });
    hub.publish({ target: { uid: 'u' }, data: 'while offline 2' });
    hub.publish({ target: { uid: 'other' }, data: 'not yours' });
    const first = recorder();
    const session = hub.open(first.sink, { uid: 'u', transport: 'ws' });
    expect(hub.unread(session)).toEqual({ messages: [expect.objectContaining({ data: 'while offline 1' }), expect.objectContaining({ data: 'while offline 2' })], gap: false });
    expect(hub.unread(session).messages).toEqual([]);
    hub.publish({ target: { uid: 'u' }, data: 'live' });
    expect(first.received.map((m) => m.data)).toEqual(['live']);
    hub.close(session);
    expect(hub.unread(hub.open(recorder().sink, { uid: 'u', transport: 'sse' })).messages).toEqual([]);
    expect(hub.unread(hub.open(recorder().sink, { transport: 'sse' }))).toEqual({ messages: [], gap: false });
  });

  it('reports a gap when unread messages were evicted', () => {
    const hub = new Hub({ historySize: 2 });
    for (let i = 0; i < 5; i++) hub.publish({ target: { uid: 'u' }, data: i });
    const replay = hub.unread(hub.open(recorder().sink, { uid: 'u', transport: 'poll' }));
    expect(replay.gap).toBe(true);
    expect(replay.messages.map((m) => m.data)).toEqual([3, 4]);
  });
});

describe('Hub retention is bounded', () => {
  it('sweep() ages out idle streams without a publish to them, and forgets the emptied streams', () => {
    let now = 0;
    const hub = new Hub({ epoch: 'e', historyAgeMs: 1000, now: () => now });
    for (let i = 0; i < 100; i++) hub.publish({ target: { channel: `idle-${i}` }, data: i });
    expect(hub.historyStats()).toMatchObject({ messages: 100, streams: 100 });
    now = 1001;
    hub.sweep();
    expect(hub.historyStats()).toEqual({ messages: 0, bytes: 0, streams: 0 });
    // A resume from before the eviction reports the gap even though the stream is gone.
    const session = hub.open(recorder().sink, { transport: 'ws' });
    hub.subscribe(session, 'idle-3');
    expect(hub.replay(session, 'e-2')).toEqual({ messages: [], gap: true });
    expect(hub.replay(session, 'e-100')).toEqual({ messages: [], gap: false });
  });

  it('maxRetainedBytes evicts the oldest message anywhere, and replay then reports the gap', () => {
    const data = 'x'.repeat(800); // ~1 KB stored with the overhead
    const hub = new Hub({ epoch: 'e', maxRetainedBytes: 10_000 });
    for (let i = 0; i < 20; i++) hub.publish({ target: { channel: i % 2 ? 'odd' : 'even' }, data });
    const stats = hub.historyStats();
    expect(stats.bytes).toBeLessThanOrEqual(10_000);
    expect(stats.messages).toBe(9);
    const session = hub.open(recorder().sink, { transport: 'ws' });
    hub.subscribe(session, 'even');
    hub.subscribe(session, 'odd');
    const replay = hub.replay(session, 'e-0');
    expect(replay.gap).toBe(true);
    expect(replay.messages.map((m) => m.seq)).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(hub.replay(session, 'e-12')).toMatchObject({ gap: false });
  });

  it('under random publishes, retention stays under every bound and replay is exact for what is kept', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ channel: fc.constantFrom('a', 'b', 'c'), size: fc.nat(400), advance: fc.nat(300) }), { maxLength: 80 }),
        fc.nat(80),
        (publishes, sinceSeq) => {
          let now = 0;
          const hub = new Hub({ epoch: 'e', historySize: 10, historyAgeMs: 2000, maxRetainedBytes: 4000, now: () => now });
          for (const { channel, size, advance } of publishes) {
            now += advance;
            hub.publish({ target: { channel }, data: 'y'.repeat(size) });
          }
          hub.sweep();
          const stats = hub.historyStats();
          expect(stats.bytes).toBeLessThanOrEqual(4000);
          const session = hub.open(recorder().sink, { transport: 'ws' });
          for (const channel of ['a', 'b', 'c']) hub.subscribe(session, channel);
          const since = Math.min(sinceSeq, publishes.length);
          const { messages, gap } = hub.replay(session, `e-${since}`);
          const seqs = messages.map((m) => m.seq);
          expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
          expect(seqs.every((seq) => seq > since)).toBe(true);
          // Nothing after `since` is missing unless a gap is reported.
          if (!gap) expect(seqs).toEqual(Array.from({ length: publishes.length - since }, (_, i) => since + 1 + i));
          for (const message of messages) expect(now - message.time).toBeLessThanOrEqual(2000);
        },
      ),
      { numRuns: 300 },
    );
  });
});
