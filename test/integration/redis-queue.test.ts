// Backends that publish by pushing onto a Redis list or stream (issue: publish
// through Redis). A real redis-server; pushwire processes started as users
// start them; entries written with a plain RESP client, as PHP's phpredis or
// redis-py would.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisClient } from '../../src/redis/index.js';
import { startNode, type PushwireNode } from '../helpers/pushwire-nodes.js';
import { publish, request, sseClient, wsClient } from '../helpers/push.js';
import { NO_REDIS_WARNING, RedisServer, findRedisServer } from '../helpers/redis-server.js';
import { startCli } from '../helpers/server-process.js';

const REDIS = findRedisServer();
if (!REDIS) console.warn(NO_REDIS_WARNING);

describe.skipIf(!REDIS)('publishing through a Redis queue', () => {
  let redis: RedisServer;
  let backend: RedisClient;
  const nodes: PushwireNode[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
    backend = new RedisClient(redis.url());
    await backend.connect();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.stop()));
    await backend.command('FLUSHALL');
  });
  afterAll(async () => {
    await backend?.quit();
    await redis?.stop();
  });

  /** Data of the next `count` messages an SSE client receives. */
  async function take(client: ReturnType<typeof sseClient>, count: number): Promise<unknown[]> {
    const seen: unknown[] = [];
    while (seen.length < count) seen.push(JSON.parse((await client.inbox.next()).data).data);
    return seen;
  }

  it('LPUSH and XADD reach WebSocket, SSE and poll subscribers once, in queue order; garbage goes to the dead-letter key', async () => {
    const node = await startNode('a', redis.url(), ['--consume-list', 'jobs', '--consume-stream', 'events:pw']);
    nodes.push(node);
    const ws = wsClient(`${node.wsUrl}?channel=q`);
    await ws.inbox.until((m) => m.type === 'ready');
    const sse = sseClient(`${node.base}/sse?channel=q&envelope=1`);
    await sse.inbox.until((e) => e.type === 'ready');
    const first = await request(`${node.base}/poll?channel=q&timeout=0`);
    await backend.command('LPUSH', 'jobs', '{"channel":"q","data":1}');
    await backend.command('LPUSH', 'jobs', 'not json at all');
    await backend.command('LPUSH', 'jobs', '[{"channel":"q","data":2},{"channel":"q","data":3}]');
    await backend.command('XADD', 'events', '*', 'json', '{"chanel":"q","data":"typo"}');
    await backend.command('XADD', 'events', '*', 'json', '{"channel":"q","data":4}');
    // One consumer per queue, so the list's three come in order and the stream's one after its own garbage.
    const fromWs = await Promise.all([1, 2, 3, 4].map(async () => (await ws.inbox.next()).data));
    expect(fromWs.filter((d) => d !== 4)).toEqual([1, 2, 3]);
    expect((await take(sse, 4)).sort()).toEqual([1, 2, 3, 4]);
    const poll = await request(`${node.base}/poll?channel=q&timeout=0&session=${first.json.session}&cursor=${first.json.cursor}`);
    expect(poll.json.messages.map((m: { data: number }) => m.data).sort()).toEqual([1, 2, 3, 4]);
    const deadList = (await backend.command('LRANGE', 'jobs:dead', 0, -1)) as string[];
    expect(deadList.map((record) => JSON.parse(record))).toEqual([
      { entry: 'not json at all', error: 'not JSON: one publish object (or batch array) per entry', at: expect.any(String) },
    ]);
    const deadStream = (await backend.command('XRANGE', 'events:dead', '-', '+')) as [string, string[]][];
    expect(deadStream).toHaveLength(1);
    expect(deadStream[0][1]).toEqual(expect.arrayContaining(['error', 'unknown field "chanel" in a publish']));
    const metrics = (await request(`${node.base}/metrics`)).text;
    expect(metrics).toMatch(/^pushwire_queue_consumed_total 3$/m);
    expect(metrics).toMatch(/^pushwire_queue_dead_letters_total 2$/m);
    ws.socket.close();
    sse.close();
  });

  it('a node killed between taking an entry and publishing it: restarted under its name, it publishes the entry exactly once', async () => {
    const watcher = await startNode('watcher', redis.url());
    nodes.push(watcher);
    const subscriber = sseClient(`${watcher.base}/sse?channel=crash&envelope=1`);
    await subscriber.inbox.until((e) => e.type === 'ready');
    const holder = await startCli(['serve', '--redis', redis.url(), '--consume-list', 'jobs', '--node-name', 'worker-1'], {
      PUSHWIRE_TEST_HOLD_CONSUMED: '1',
    });
    await backend.command('LPUSH', 'jobs', '{"channel":"crash","data":"survivor"}');
    await expect.poll(holder.stderr, { timeout: 10_000 }).toMatch(/holding a consumed entry/);
    expect(await backend.command('LLEN', 'jobs:processing:worker-1')).toBe(1);
    holder.child.kill('SIGKILL');
    await new Promise((resolve) => holder.child.once('exit', resolve));
    const again = await startNode('worker-1', redis.url(), ['--consume-list', 'jobs', '--node-name', 'worker-1']);
    nodes.push(again);
    expect(JSON.parse((await subscriber.inbox.next()).data).data).toBe('survivor');
    await publish(watcher.base, { channel: 'crash', data: 'marker' });
    expect(JSON.parse((await subscriber.inbox.next()).data).data).toBe('marker'); // and nothing twice before it
    expect(await backend.command('LLEN', 'jobs:processing:worker-1')).toBe(0);
    subscriber.close();
  });

  it('three nodes consuming one list and one stream publish each entry once in total', async () => {
    for (const name of ['a', 'b', 'c']) nodes.push(await startNode(name, redis.url(), ['--consume-list', 'jobs', '--consume-stream', 'events']));
    const subscriber = sseClient(`${nodes[0].base}/sse?channel=shared&envelope=1`);
    await subscriber.inbox.until((e) => e.type === 'ready');
    for (let i = 0; i < 100; i++) {
      await backend.command('LPUSH', 'jobs', JSON.stringify({ channel: 'shared', data: `list-${i}` }));
      await backend.command('XADD', 'events', '*', 'json', JSON.stringify({ channel: 'shared', data: `stream-${i}` }));
    }
    const seen = await take(subscriber, 200);
    await publish(nodes[1].base, { channel: 'shared', data: 'marker' });
    expect(JSON.parse((await subscriber.inbox.next()).data).data).toBe('marker');
    expect(new Set(seen).size).toBe(200);
    subscriber.close();
  });

  it('drains 10 000 queued messages in queue order', async () => {
    const node = await startNode('a', redis.url());
    nodes.push(node);
    const subscriber = sseClient(`${node.base}/sse?channel=bulk&envelope=1`);
    await subscriber.inbox.until((e) => e.type === 'ready');
    const entries = Array.from({ length: 10_000 }, (_, i) => JSON.stringify({ channel: 'bulk', data: i }));
    for (let i = 0; i < entries.length; i += 1000) await backend.command('LPUSH', 'bulk-jobs', ...entries.slice(i, i + 1000));
    const started = performance.now();
    const consumer = await startNode('consumer', redis.url(), ['--consume-list', 'bulk-jobs']);
    nodes.push(consumer);
    const seen = await take(subscriber, 10_000);
    const seconds = (performance.now() - started) / 1000;
    expect(seen).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    console.log(`drained 10 000 queued messages in ${seconds.toFixed(2)} s (${Math.round(10_000 / seconds)} per second), start-up included`);
    subscriber.close();
  }, 120_000);
});
