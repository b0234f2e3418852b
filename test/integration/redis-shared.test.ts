// What several processes share through Redis beyond messages: scheduled
// publishes (each fires once, whichever process finds it due, and none is
// lost when every process restarts), presence, and --workers.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisClient } from '../../src/redis/index.js';
import { startNode, type PushwireNode } from '../helpers/pushwire-nodes.js';
import { publish, pushServers, request, sseClient } from '../helpers/push.js';
import { NO_REDIS_WARNING, RedisServer, findRedisServer } from '../helpers/redis-server.js';
import { startCli } from '../helpers/server-process.js';

const REDIS = findRedisServer();
if (!REDIS) console.warn(NO_REDIS_WARNING);

describe('presence in one process', () => {
  const start = pushServers();
  it('GET /presence?channel= and ?uid= count this process\'s sessions; the publish key guards it', async () => {
    const { base } = await start({ publishKey: 'k' });
    const bob = sseClient(`${base}/sse?uid=bob&channel=room`);
    await bob.inbox.until((e) => e.type === 'ready');
    const ask = (query: string, key = 'k') => request(`${base}/presence?${query}`, { headers: { Authorization: `Bearer ${key}` } });
    expect((await ask('uid=bob')).json).toEqual({ uid: 'bob', online: true, sessions: 1 });
    expect((await ask('uid=carol')).json).toEqual({ uid: 'carol', online: false, sessions: 0 });
    expect((await ask('channel=room')).json).toEqual({ channel: 'room', sessions: 1 });
    expect((await ask('channel=room&uid=bob')).status).toBe(400);
    expect((await ask('uid=bob', 'wrong')).status).toBe(403);
    bob.close();
  });
});

describe.skipIf(!REDIS)('shared through Redis', () => {
  let redis: RedisServer;
  const nodes: PushwireNode[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.stop()));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('a scheduled publish fires exactly once across three processes, listed and cancelled from any of them', async () => {
    for (const name of ['a', 'b', 'c']) nodes.push(await startNode(name, redis.url()));
    const [a, b, c] = nodes;
    const subscribers = nodes.map((node) => sseClient(`${node.base}/sse?channel=timer&envelope=1`));
    for (const subscriber of subscribers) await subscriber.inbox.until((e) => e.type === 'ready');
    const scheduled = await publish(a.base, [
      { channel: 'timer', data: 'soon', delayMs: 300 },
      { channel: 'timer', data: 'cancelled', delayMs: 400 },
      { channel: 'timer', data: 'marker', delayMs: 900 },
    ]);
    expect(scheduled.status).toBe(200);
    const listed = await request(`${b.base}/scheduled`);
    expect(listed.json.scheduled.map((item: { data: string }) => item.data)).toEqual(['soon', 'cancelled', 'marker']);
    expect((await request(`${c.base}/scheduled/${scheduled.json[1].scheduled}`, { method: 'DELETE' })).status).toBe(200);
    for (const subscriber of subscribers) {
      const seen = [JSON.parse((await subscriber.inbox.next()).data).data, JSON.parse((await subscriber.inbox.next()).data).data];
      expect(seen).toEqual(['soon', 'marker']); // once each, the cancelled one never
      subscriber.close();
    }
  });

  it('scheduled publishes survive a restart of every process', async () => {
    nodes.push(await startNode('a', redis.url()));
    const before = await publish(nodes[0].base, { channel: 'later', data: 'before' });
    expect((await publish(nodes[0].base, { channel: 'later', data: 'still here', delayMs: 1500 })).status).toBe(202);
    await nodes.splice(0)[0].stop();
    const fresh = await startNode('b', redis.url());
    nodes.push(fresh);
    // Resuming after `before`: the scheduled message arrives whether it fired before or after this connect.
    const subscriber = sseClient(`${fresh.base}/sse?channel=later&envelope=1&since=${before.json.id}`);
    await subscriber.inbox.until((e) => e.type === 'ready');
    expect(JSON.parse((await subscriber.inbox.next()).data).data).toBe('still here');
    subscriber.close();
  });

  it('presence sums every live process', async () => {
    for (const name of ['a', 'b']) nodes.push(await startNode(name, redis.url()));
    const [a, b] = nodes;
    const onA = sseClient(`${a.base}/sse?uid=bob&channel=room`);
    const onB = sseClient(`${b.base}/sse?uid=bob&channel=room`);
    await onA.inbox.until((e) => e.type === 'ready');
    await onB.inbox.until((e) => e.type === 'ready');
    // Each process writes its snapshot every 2 s: ask until both are counted.
    await expect.poll(async () => (await request(`${a.base}/presence?uid=bob`)).json, { timeout: 10_000 }).toEqual({
      uid: 'bob',
      online: true,
      sessions: 2,
    });
    expect((await request(`${b.base}/presence?channel=room`)).json).toEqual({ channel: 'room', sessions: 2 });
    onA.close();
    onB.close();
  });

  it('--workers 2 serves one port from two processes that share messages; SIGTERM exits 0', async () => {
    const server = await startCli(['serve', '--workers', '2', '--redis', redis.url()]);
    expect(server.banner).toMatch(/2 workers/);
    const base = `http://127.0.0.1:${server.port}`;
    // Enough subscribers that both workers hold some (the primary deals connections round-robin).
    const subscribers = Array.from({ length: 6 }, () => sseClient(`${base}/sse?channel=w&envelope=1`));
    for (const subscriber of subscribers) await subscriber.inbox.until((e) => e.type === 'ready');
    expect((await publish(base, { channel: 'w', data: 'everyone' })).status).toBe(200);
    for (const subscriber of subscribers) {
      expect(JSON.parse((await subscriber.inbox.next()).data).data).toBe('everyone');
      subscriber.close();
    }
    expect(await server.stop()).toBe(0);
  });

  it('deployments on two databases of one Redis do not share messages; garbage on the bus is dropped, not fatal', async () => {
    const prod = await startNode('prod', redis.url(0));
    const staging = await startNode('staging', redis.url(1));
    nodes.push(prod, staging);
    const subscriber = sseClient(`${prod.base}/sse?channel=orders&envelope=1`);
    await subscriber.inbox.until((e) => e.type === 'ready');
    expect((await publish(staging.base, { channel: 'orders', data: 'from staging' })).status).toBe(200);
    const admin = new RedisClient(redis.url(0));
    await admin.connect();
    const epoch = String(await admin.command('GET', 'pushwire:epoch'));
    await admin.command('PUBLISH', `pushwire:bus:${epoch}`, 'hello, not pushwire');
    await admin.command('PUBLISH', `pushwire:bus:${epoch}`, `7\nnull\n1`);
    await admin.quit();
    expect((await publish(prod.base, { channel: 'orders', data: 'from prod' })).status).toBe(200);
    expect(JSON.parse((await subscriber.inbox.next()).data).data).toBe('from prod'); // not staging's, and prod lives
    expect(prod.alive).toBe(true);
    subscriber.close();
  });

  it('a resume answered from Redis reports the gap when the stream was trimmed past it', async () => {
    const first = await startNode('a', redis.url(2), ['--history', '2']);
    nodes.push(first);
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push((await publish(first.base, { channel: 'short', data: i })).json.id);
    const later = await startNode('b', redis.url(2), ['--history', '2']); // it was not listening: Redis answers
    nodes.push(later);
    const resumed = sseClient(`${later.base}/sse?channel=short&envelope=1&since=${ids[0]}`);
    expect((await resumed.inbox.next()).type).toBe('gap');
    expect([JSON.parse((await resumed.inbox.next()).data).data, JSON.parse((await resumed.inbox.next()).data).data]).toEqual([4, 5]);
    resumed.close();
  });

  it('--workers without --redis is refused (exit 2)', async () => {
    await expect(startCli(['serve', '--workers', '2'])).rejects.toThrow(/exited with 2.*--workers needs --redis/s);
  });
});
