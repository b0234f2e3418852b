// Three `pushwire serve --redis` processes on one real redis-server
// (test/helpers/redis-server.ts, no persistence), driven over loopback the
// way users drive them: publishes to any node, WebSocket / SSE / long-poll
// subscribers on the others, clients that move between nodes with the last
// id they saw, a node killed with -9, every node restarted, redis-server
// killed and started again, and a fast-check property over all of it; then
// a node that lags behind the bus (a proxy holds back or cuts its
// subscriber connection), and Redis that cannot be used at start (nothing
// listening, wrong password). Waits are for observable events (a ready
// notice, a delivery, a /healthz status); the only timers are bounds and a
// publisher's pace.
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PushClient, busDelayProxy, health, seqOf, startNode, startNodes, type PushwireNode, type TransportKind } from '../helpers/pushwire-nodes.js';
import { RedisClient } from '../../src/redis/index.js';
import { request, sseClient, type Answer } from '../helpers/push.js';
import { NO_REDIS_WARNING, RedisServer, findRedisServer } from '../helpers/redis-server.js';
import { startCli } from '../helpers/server-process.js';
import type { ParsedEvent } from '../helpers/sse-parser.js';

const REDIS = findRedisServer();
if (!REDIS) console.warn(NO_REDIS_WARNING);

/** Figures worth reporting, printed once at the end. */
const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0) console.log(`redis-cluster figures:\n  ${figures.join('\n  ')}`);
});

/** POST /publish to `node`; the answer. */
function publishTo(node: PushwireNode, body: unknown): Promise<Answer> {
  return request(`${node.base}/publish`, { body });
}

/** Publish one message, expect 200, return its id. */
async function publishOk(node: PushwireNode, channel: string, data: unknown): Promise<string> {
  const answer = await publishTo(node, { channel, data });
  expect(answer.status, `${node.name}: ${answer.text}`).toBe(200);
  return answer.json.id as string;
}

/** Ids strictly increase within one epoch. */
function expectIncreasing(ids: string[]): void {
  const epochs = new Set(ids.map((id) => id.slice(0, id.lastIndexOf('-'))));
  expect(epochs.size, `one epoch: ${[...epochs]}`).toBeLessThanOrEqual(1);
  for (let i = 1; i < ids.length; i++) expect(seqOf(ids[i]), `${ids[i - 1]} then ${ids[i]}`).toBeGreaterThan(seqOf(ids[i - 1]));
}

/** Every message `client` kept, its ids. */
const keptIds = (client: PushClient): string[] => client.kept.map((delivery) => delivery.id);

/**
 * A publisher running in the background: publishes `channel` messages
 * numbered 0, 1, … to the nodes `pick` chooses, one after another, at a pace
 * of `paceMs` between answers, and records every answer.
 */
function backgroundPublisher(channel: string, pick: (n: number) => PushwireNode, paceMs: number) {
  const answers: { n: number; status: number; id?: string; body: unknown; node: string; sentAt: number; answeredAt: number }[] = [];
  let running = true;
  const done = (async () => {
    for (let n = 0; running; n++) {
      const node = pick(n);
      const sentAt = performance.now();
      let answer: Answer;
      try {
        answer = await publishTo(node, { channel, data: n });
      } catch (error) {
        answers.push({ n, status: 0, body: String(error), node: node.name, sentAt, answeredAt: performance.now() });
        await sleep(paceMs);
        continue;
      }
      answers.push({ n, status: answer.status, id: answer.json?.id, body: answer.json ?? answer.text, node: node.name, sentAt, answeredAt: performance.now() });
      await sleep(paceMs); // the pace of the load, not a wait for anything
    }
  })();
  return {
    answers,
    ok: () => answers.filter((answer) => answer.status === 200),
    /** Resolves once `predicate` holds (checked every 5 ms). */
    async until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
      await expect.poll(predicate, { timeout: timeoutMs, interval: 5 }).toBe(true);
    },
    async stop(): Promise<void> {
      running = false;
      await done;
    },
  };
}

describe.skipIf(!REDIS)('three pushwire processes on one redis-server', () => {
  let redis: RedisServer;
  /** A, B, C. */
  let nodes: PushwireNode[];
  const clients: PushClient[] = [];
  const extraNodes: PushwireNode[] = [];

  const client = (kind: TransportKind, channel: string): PushClient => {
    const created = new PushClient(kind, channel);
    clients.push(created);
    return created;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    nodes = await startNodes(redis.url(), ['A', 'B', 'C']);
  });

  afterEach(() => {
    for (const each of clients.splice(0)) each.disconnect();
  });

  afterAll(async () => {
    await Promise.all([...(nodes ?? []), ...extraNodes].map((node) => node.kill()));
    await redis?.cleanup();
  });

  it('publish on A reaches a WebSocket subscriber on B, an SSE one on C and a long-poll one on B, each message once, in order', async () => {
    const [A, B, C] = nodes;
    const ws = client('ws', 'fan');
    const sse = client('sse', 'fan');
    const poll = client('poll', 'fan');
    await Promise.all([ws.connect(B), sse.connect(C), poll.connect(B)]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await publishOk(A, 'fan', { i }));
    const batch = await publishTo(A, [5, 6, 7, 8, 9].map((i) => ({ channel: 'fan', data: { i } })));
    expect(batch.status, batch.text).toBe(200);
    ids.push(...(batch.json as { id: string }[]).map((result) => result.id));
    ids.push(await publishOk(C, 'fan', { i: 10 }), await publishOk(B, 'fan', { i: 11 }));
    expectIncreasing(ids);
    for (const each of [ws, sse, poll]) {
      await each.waitForSeq(seqOf(ids.at(-1)!));
      expect(keptIds(each), each.label).toEqual(ids);
      expect(each.kept.map((delivery) => delivery.data.i), each.label).toEqual([...Array(12).keys()]);
      expect(each.duplicates, each.label).toEqual([]);
      expect(each.gaps, each.label).toEqual([]);
    }
  });

  it('resumes on C (local history) and on a node started later (Redis history) with an id first seen on A', async () => {
    const [A, , C] = nodes;
    // A WebSocket client on A sees the first messages, then goes away.
    const first = client('ws', 'resume');
    await first.connect(A);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await publishOk(A, 'resume', i));
    await first.waitForSeq(seqOf(ids[2]));
    first.disconnect();
    const since = first.kept[1].id; // seen on A
    for (let i = 3; i < 7; i++) ids.push(await publishOk(A, 'resume', i));
    const after = ids.slice(2);

    // D joins now: it was not listening when `since` was published, so it answers from Redis's streams.
    const D = await startNode('D', redis.url());
    extraNodes.push(D);
    for (const node of [C, D]) {
      // SSE with Last-Event-ID, WebSocket ?since=, long-poll ?cursor=: the client's cursor.
      for (const kind of ['sse', 'ws', 'poll'] as const) {
        const resumed = client(kind, 'resume');
        resumed.cursor = since;
        await resumed.connect(node);
        await resumed.waitForSeq(seqOf(ids.at(-1)!));
        expect(keptIds(resumed), `${kind} on ${node.name}`).toEqual(after);
        expect(resumed.duplicates, `${kind} on ${node.name}`).toEqual([]);
        expect(resumed.gaps, `${kind} on ${node.name}`).toEqual([]);
      }
      // SSE ?since= (a first connect, no Last-Event-ID).
      const sse = sseClient(`${node.base}/sse?channel=resume&envelope=1&since=${encodeURIComponent(since)}`);
      const opening: ParsedEvent[] = [];
      for (let event = await sse.inbox.next(); ; event = await sse.inbox.next()) {
        opening.push(event);
        if (event.type === 'ready') break;
      }
      sse.close();
      expect(opening.map((event) => event.type)).toEqual([...after.map(() => 'message'), 'ready']);
      expect(opening.slice(0, -1).map((event) => event.lastEventId), `sse ?since= on ${node.name}`).toEqual(after);
      expect(seqOf(opening.at(-1)!.lastEventId)).toBeGreaterThanOrEqual(seqOf(ids.at(-1)!));
    }
    await D.stop();
  });

  it('kill -9 of node B mid-stream: its WebSocket, SSE and poll clients resume on C with nothing lost or duplicated', async () => {
    const [A, B, C] = nodes;
    const moving = [client('ws', 'move'), client('sse', 'move'), client('poll', 'move')];
    await Promise.all(moving.map((each) => each.connect(B)));
    const publisher = backgroundPublisher('move', () => A, 2);
    // Mid-stream: B's clients are receiving.
    await Promise.all(moving.map((each) => expect.poll(() => each.kept.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(10)));
    await B.kill();
    const killedAt = publisher.ok().length;
    // The clients see their connection drop (the poll loop's request fails).
    await expect.poll(() => moving.filter((each) => each.connected).length, { timeout: 10_000 }).toBe(0);
    // Published on A while B is dead.
    await publisher.until(() => publisher.ok().length >= killedAt + 30);
    const missed = publisher.ok().length - (Math.min(...moving.map((each) => each.kept.length)));
    const resumedAt = performance.now();
    await Promise.all(moving.map((each) => each.connect(C)));
    await publisher.until(() => publisher.ok().length >= killedAt + 50);
    await publisher.stop();
    const ids = publisher.ok().map((answer) => answer.id!);
    expect(publisher.answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expectIncreasing(ids);
    for (const each of moving) {
      await each.waitForSeq(seqOf(ids.at(-1)!));
      expect(keptIds(each), each.label).toEqual(ids);
      expect(each.duplicates, each.label).toEqual([]);
      expect(each.gaps, each.label).toEqual([]);
    }
    figures.push(`kill -9 B: ${ids.length} messages, ${missed} missed by the slowest of B's clients, all delivered ${Math.round(performance.now() - resumedAt)} ms after reconnecting to C`);
    // B comes back for the next tests.
    nodes[1] = await startNode('B', redis.url());
  });

  it('restart every node: a client resumes with an old id on a new node without a gap', async () => {
    const ws = client('ws', 'restart');
    await ws.connect(nodes[0]);
    const before: string[] = [];
    for (let i = 0; i < 5; i++) before.push(await publishOk(nodes[i % 3], 'restart', i));
    await ws.waitForSeq(seqOf(before.at(-1)!));
    const old = before[1];
    // SIGTERM all, then three new processes.
    const stopping = performance.now();
    expect(await Promise.all(nodes.map((node) => node.stop()))).toEqual([0, 0, 0]);
    figures.push(`SIGTERM of 3 nodes: ${Math.round(performance.now() - stopping)} ms`);
    expect(ws.connected).toBe(false);
    nodes = await startNodes(redis.url(), ['A', 'B', 'C']);
    const after: string[] = [];
    for (let i = 5; i < 8; i++) after.push(await publishOk(nodes[i % 3], 'restart', i));
    expectIncreasing([...before, ...after]);
    for (const [kind, node] of [['ws', nodes[2]], ['sse', nodes[1]], ['poll', nodes[0]]] as const) {
      const resumed = client(kind, 'restart');
      resumed.cursor = old;
      await resumed.connect(node);
      await resumed.waitForSeq(seqOf(after.at(-1)!));
      expect(keptIds(resumed), kind).toEqual([...before.slice(2), ...after]);
      expect(resumed.gaps, kind).toEqual([]);
      expect(resumed.duplicates, kind).toEqual([]);
    }
    // The first client, resuming where it stopped.
    await ws.connect(nodes[1]);
    await ws.waitForSeq(seqOf(after.at(-1)!));
    expect(keptIds(ws)).toEqual([...before, ...after]);
    expect(ws.gaps).toEqual([]);
  });

  it('restart redis-server mid-stream: 503 while it is down, /healthz degraded then ok, every 200 reaches every subscriber once, in order', async () => {
    const [A, B, C] = nodes;
    const subscribers = [client('ws', 'outage'), client('sse', 'outage'), client('poll', 'outage')];
    await Promise.all([subscribers[0].connect(A), subscribers[1].connect(B), subscribers[2].connect(C)]);
    const publisher = backgroundPublisher('outage', (n) => nodes[n % 3], 3);
    await publisher.until(() => publisher.ok().length >= 10);
    const lastBefore = publisher.ok().at(-1)!.id!;

    const killedAt = performance.now();
    await redis.kill();
    // Every node notices (its connections drop), and publishes are refused.
    await Promise.all(nodes.map((node) => expect.poll(async () => (await health(node)).status, { timeout: 10_000 }).toBe('degraded')));
    const allDegradedAt = performance.now();
    const degradedAfter = allDegradedAt - killedAt;
    const reasons = await Promise.all(nodes.map(async (node) => (await health(node)).reason));
    for (const reason of reasons) expect(reason).toMatch(/redis|bus|connect/i);
    const refusedAt = publisher.answers.length;
    await publisher.until(() => publisher.answers.slice(refusedAt).filter((answer) => answer.status === 503).length >= 6);

    const restartingAt = performance.now();
    await redis.restart();
    const restartedAt = performance.now();
    await Promise.all(nodes.map((node) => expect.poll(async () => (await health(node)).status, { timeout: 15_000 }).toBe('ok')));
    const okAfter = performance.now() - restartedAt;
    const servedAt = publisher.answers.length;
    await publisher.until(() => publisher.answers.slice(servedAt).filter((answer) => answer.status === 200).length >= 20, 15_000);
    await publisher.stop();

    // Answers: 200 or a JSON 503, nothing else; never a 200 while redis-server was down.
    const statuses = new Set(publisher.answers.map((answer) => answer.status));
    expect([...statuses].sort()).toEqual([200, 503]);
    for (const answer of publisher.answers.filter((each) => each.status === 503)) {
      expect(answer.body).toEqual({ error: expect.stringMatching(/the message broker did not answer/) });
    }
    // Sent after every node said degraded and answered before redis-server was started again: refused, all of them.
    const duringOutage = publisher.answers.filter((answer) => answer.sentAt > allDegradedAt && answer.answeredAt < restartingAt);
    expect(duringOutage.length).toBeGreaterThanOrEqual(6);
    expect(duringOutage.filter((answer) => answer.status !== 503)).toEqual([]);
    const ok = publisher.ok();
    const ids = ok.map((answer) => answer.id!);
    expectIncreasing(ids); // the counter went on from what the processes saw, in the same epoch
    const firstAfter = ok.find((answer) => seqOf(answer.id!) > seqOf(lastBefore) && answer.n > publisher.answers[refusedAt].n)!;
    expect(seqOf(firstAfter.id!)).toBeGreaterThan(seqOf(lastBefore));

    const deliveredFrom = performance.now();
    for (const each of subscribers) {
      await each.waitForSeq(seqOf(ids.at(-1)!), 15_000);
      const okIds = new Set(ids);
      expect(keptIds(each).filter((id) => okIds.has(id)), each.label).toEqual(ids);
      // A publish cut by the kill may have run (and been sent on the bus) before its answer was lost: a 503 that was delivered.
      expect(keptIds(each).filter((id) => !okIds.has(id)).length, each.label).toBeLessThanOrEqual(3);
      expect(each.duplicates, each.label).toEqual([]);
      expect(each.gaps, each.label).toEqual([]);
      expect(each.connected, `${each.label} stayed connected`).toBe(true);
    }
    const deliveredAfter = performance.now() - deliveredFrom;

    // A process started after the restart takes the epoch and counter the
    // others restored: its ids continue theirs. It was not listening before, so
    // it answers resumes from Redis, which lost what came before the restart:
    // a resume from before it says gap; one from after it is exact.
    const D = await startNode('D', redis.url());
    extraNodes.push(D);
    const fromD = await publishOk(D, 'outage', 'from D');
    expectIncreasing([...ids, fromD]);
    const afterRestart = [...ids.filter((id) => seqOf(id) >= seqOf(firstAfter.id!)), fromD];
    const recent = new PushClient('ws', 'outage');
    clients.push(recent);
    recent.cursor = firstAfter.id!;
    await recent.connect(D);
    await recent.waitForSeq(seqOf(fromD));
    expect(keptIds(recent)).toEqual(afterRestart.slice(1));
    expect(recent.gaps).toEqual([]);
    const old = new PushClient('sse', 'outage');
    clients.push(old);
    old.cursor = ids[3];
    await old.connect(D);
    await old.waitForSeq(seqOf(fromD));
    expect(old.gaps, 'a resume from before the restart, answered from Redis, is told gap').toEqual([ids[3]]);
    expect(keptIds(old)).toEqual(afterRestart);
    await D.stop();

    figures.push(
      `redis restart: degraded on all nodes ${Math.round(degradedAfter)} ms after kill -9; ok on all ${Math.round(okAfter)} ms after it was back; ` +
        `${publisher.answers.filter((a) => a.status === 503).length} publishes refused (503), ${ok.length} answered 200; every 200 delivered to all ${Math.round(deliveredAfter)} ms after the publisher stopped`,
    );
  });

  it('property: random publishes, subscribes and reconnects across nodes — each session keeps exactly its channel’s messages after it subscribed, in order', async () => {
    const kinds: TransportKind[] = ['ws', 'sse', 'poll'];
    type Step =
      | { op: 'publish'; node: number; channel: number; count: number }
      | { op: 'subscribe'; node: number; channel: number; kind: number }
      | { op: 'reconnect'; session: number; node: number }
      | { op: 'drop'; session: number };
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('publish' as const), node: fc.nat(2), channel: fc.nat(1), count: fc.integer({ min: 1, max: 3 }) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('subscribe' as const), node: fc.nat(2), channel: fc.nat(1), kind: fc.nat(2) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('reconnect' as const), session: fc.nat(5), node: fc.nat(2) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('drop' as const), session: fc.nat(5) }) },
    );
    let run = 0;
    let deliveries = 0;
    let duplicates = 0;
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 8, maxLength: 20 }), async (steps) => {
        run++;
        const channels = [`p${run}a`, `p${run}b`];
        const published: { channel: string; id: string }[] = [];
        const sessions: PushClient[] = [];
        try {
          for (const each of steps) {
            if (each.op === 'publish') {
              const channel = channels[each.channel];
              const body = Array.from({ length: each.count }, (_, i) => ({ channel, data: `${published.length + i}` }));
              const answer = await publishTo(nodes[each.node], each.count === 1 ? body[0] : body);
              expect(answer.status, answer.text).toBe(200);
              for (const result of each.count === 1 ? [answer.json] : answer.json) published.push({ channel, id: result.id });
            } else if (each.op === 'subscribe') {
              if (sessions.length >= 6) continue;
              const session = new PushClient(kinds[each.kind], channels[each.channel], `${kinds[each.kind]}#${sessions.length}:${channels[each.channel]}`);
              sessions.push(session);
              await session.connect(nodes[each.node]);
            } else if (sessions.length > 0) {
              const session = sessions[each.session % sessions.length];
              if (each.op === 'drop') session.disconnect();
              else await session.connect(nodes[each.node]); // with its cursor
            }
          }
          // Everyone back on, then everything delivered.
          for (const [i, session] of sessions.entries()) if (!session.connected) await session.connect(nodes[i % 3]);
          for (const session of sessions) {
            const after = seqOf(session.subscribedAt!);
            const expected = published.filter((message) => message.channel === session.channel && seqOf(message.id) > after).map((message) => message.id);
            if (expected.length > 0) await session.waitForSeq(seqOf(expected.at(-1)!));
            expect(keptIds(session), session.label).toEqual(expected);
            expect(session.gaps, session.label).toEqual([]);
            deliveries += session.deliveries.length;
            duplicates += session.duplicates.length;
          }
        } finally {
          for (const session of sessions) session.disconnect();
        }
      }),
      { numRuns: 10, interruptAfterTimeLimit: 30_000 },
    );
    figures.push(`property: ${run} runs in ${Math.round(performance.now() - started)} ms, ${deliveries} deliveries, ${duplicates} dropped by clients as already seen`);
  });

  // What a node meets when Redis lost messages it had not read yet (a
  // restart between a publish and the node's read of `all`): a bus message
  // whose predecessor is in no stream, and which is itself only on the bus.
  it('a bus message whose predecessor Redis no longer has is delivered after a skip, without re-reading `all` in a loop', async () => {
    const admin = new RedisClient(redis.url());
    await admin.connect();
    try {
      const listeners = nodes.map(() => client('ws', 'hole'));
      await Promise.all(listeners.map((each, i) => each.connect(nodes[i])));
      const xranges = async (): Promise<number> => Number(/cmdstat_xrange:calls=(\d+)/.exec(String(await admin.command('INFO', 'commandstats')))?.[1] ?? 0);
      const xrangesBefore = await xranges();
      const seq = Number(
        await admin.command(
          'EVAL',
          "redis.call('INCR', KEYS[1]); local seq = redis.call('INCR', KEYS[1]); redis.call('PUBLISH', ARGV[2], seq .. '\\n' .. ARGV[1]); return seq",
          1,
          'pushwire:seq',
          `${JSON.stringify({ t: Date.now(), c: 'hole' })}\n"only on the bus"`,
          `pushwire:bus:${await admin.command('GET', 'pushwire:epoch')}`,
        ),
      );
      for (const each of listeners) await each.waitForSeq(seq, 3000);
      const next = await publishOk(nodes[0], 'hole', 'after');
      for (const each of listeners) {
        await each.waitForSeq(seqOf(next));
        expect(each.kept.map((delivery) => [delivery.seq, delivery.data]), each.label).toEqual([
          [seq, 'only on the bus'],
          [seqOf(next), 'after'],
        ]);
      }
      // Each node read `all` a couple of times, not in a loop.
      expect(await xranges()).toBeLessThan(xrangesBefore + 20);
    } finally {
      admin.close();
    }
  });
});

describe.skipIf(!REDIS)('a node that lags behind the bus', () => {
  let redis: RedisServer;
  let proxy: Awaited<ReturnType<typeof busDelayProxy>>;
  let A: PushwireNode;
  let B: PushwireNode;
  const clients: PushClient[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    proxy = await busDelayProxy(redis.port);
    [A, B] = await Promise.all([startNode('A', redis.url()), startNode('B', proxy.url)]);
  });

  afterAll(async () => {
    for (const each of clients) each.disconnect();
    await Promise.all([A, B].filter(Boolean).map((node) => node.kill()));
    await proxy?.close();
    await redis?.cleanup();
  });

  it('B misses 2 500 messages on the bus (its subscriber is cut): it catches up from `all` across pages, in order, once', async () => {
    const watchers = [new PushClient('ws', 'missed'), new PushClient('sse', 'missed')];
    clients.push(...watchers);
    await Promise.all(watchers.map((each) => each.connect(B)));
    proxy.holdBus(true);
    const ids: string[] = [];
    for (let sent = 0; sent < 2500; sent += 500) {
      const answer = await publishTo(A, Array.from({ length: 500 }, (_, i) => ({ channel: 'missed', data: sent + i })));
      expect(answer.status, answer.text).toBe(200);
      ids.push(...(answer.json as { id: string }[]).map((result) => result.id));
    }
    expect(watchers.map((each) => each.kept.length)).toEqual([0, 0]);
    const droppedAt = performance.now();
    proxy.dropBus(); // B's subscriber reconnects, resubscribes and reads `all`
    for (const each of watchers) {
      await each.waitForSeq(seqOf(ids.at(-1)!), 15_000);
      expect(keptIds(each), each.label).toEqual(ids);
      expect(each.duplicates, each.label).toEqual([]);
      expect(each.connected, each.label).toBe(true);
    }
    figures.push(`bus cut on B: ${ids.length} missed messages caught up from \`all\` and delivered to WS + SSE in ${Math.round(performance.now() - droppedAt)} ms (reconnect backoff included)`);
    expect((await health(B)).status).toBe('ok');
  });

  // A client got message 2 from A and resumes on B, which has not seen it
  // yet. B answers from Redis (nothing after 2), then message 2 reaches B
  // on the bus and goes to the new session, whose backlog ended below it.
  // The client would drop it (it has the id), but the server must not send
  // it, nor give a position older than the one the client resumed from: a
  // poll client that polls from the cursor it is given would get message 2
  // again. core.ts takes the session's position as the newest of the
  // process's, the backlog's and the client's own; a poll answer's cursor is
  // never older than the one the client sent.
  let lagReport: { client: string; sentAgain: string[]; olderPositions: string[] }[] | null = null;

  it('a resume on B with an id B has not seen yet: the client keeps each message once (it drops what the server sends again)', async () => {
    const watcher = new PushClient('ws', 'lag');
    clients.push(watcher);
    await watcher.connect(B);
    const first = await publishOk(A, 'lag', 1);
    await watcher.waitForSeq(seqOf(first));
    proxy.holdBus(true);
    const second = await publishOk(A, 'lag', 2); // A has delivered it; B has not seen it
    const resumed = (['ws', 'sse', 'poll'] as const).map((kind) => {
      const each = new PushClient(kind, 'lag');
      each.cursor = second;
      clients.push(each);
      return each;
    });
    await Promise.all(resumed.map((each) => each.connect(B)));
    proxy.holdBus(false);
    const third = await publishOk(A, 'lag', 3);
    for (const each of [watcher, ...resumed]) await each.waitForSeq(seqOf(third));
    expect(keptIds(watcher)).toEqual([first, second, third]);
    for (const each of resumed) expect(keptIds(each), each.label).toEqual([third]); // what the client keeps: right
    const report = resumed.map((each) => ({
      client: each.label,
      sentAgain: each.deliveries.filter((delivery) => seqOf(delivery.id) <= seqOf(second)).map((delivery) => delivery.id),
      olderPositions: each.positions.filter((id) => seqOf(id) < seqOf(second)),
    }));
    figures.push(`lagging node: ${JSON.stringify(report)}`);
    lagReport = report;
  });

  it('… and the server sends nothing twice and no position older than the one resumed from', () => {
    expect(lagReport, 'the test above ran').not.toBeNull();
    for (const each of lagReport!) expect(each, each.client).toEqual({ client: each.client, sentAgain: [], olderPositions: [] });
  });
});

describe.skipIf(!REDIS)('pushwire serve --redis with a Redis it cannot use', () => {
  it('nothing listening on the port: exits 1 at once with a message naming the address', async () => {
    const closed = await RedisServer.start();
    const url = closed.url();
    await closed.cleanup(); // the port is free now
    const started = performance.now();
    const error = await startCli(['serve', '--redis', url]).then(
      () => null,
      (caught: Error) => caught,
    );
    expect(error?.message).toMatch(/exited with 1 before listening/);
    expect(error?.message).toMatch(/pushwire: .*(ECONNREFUSED|refused|connect).*127\.0\.0\.1/i);
    figures.push(`no redis: exit 1 after ${Math.round(performance.now() - started)} ms: ${/pushwire: .*/.exec(error?.message ?? '')?.[0]}`);
  });

  it('wrong password: exits 1 with the refusal, without retrying', async () => {
    const guarded = await RedisServer.start({ password: 'right' });
    try {
      const url = guarded.url().replace(':right@', ':wrong@');
      const error = await startCli(['serve', '--redis', url]).then(
        () => null,
        (caught: Error) => caught,
      );
      expect(error?.message).toMatch(/exited with 1 before listening/);
      expect(error?.message).toMatch(/WRONGPASS|invalid username-password|auth/i);
      expect(error?.message).not.toContain('wrong'); // the password is not printed
      figures.push(`wrong password: ${/pushwire: .*/.exec(error?.message ?? '')?.[0]}`);
    } finally {
      await guarded.cleanup();
    }
  });
});
