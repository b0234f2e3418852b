// Attacks on `pushwire serve` at its defaults, in its own process: clients
// that subscribe and never read, and abandoned poll sessions. Each costs a
// bounded amount of memory and the server goes on serving.
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { MiB, peakGrowth, startCli, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess | null = null;

/**
 * These two attacks make the server parse thousands of requests (the flood
 * that fills the stuck sockets; 10 000 polls of 1 KB URLs): V8's young
 * generation grows to its working size under that load whatever is
 * retained — 10 000 channel-less polls alone add ~20 MiB of peak RSS — so
 * their bound leaves room above the 64 MiB aim for a single attack. Before
 * the fixes they cost 275 MiB (poll sessions) and ~7 MiB per stuck SSE client.
 */
const LOADED_GROWTH = 80 * MiB;
afterEach(async () => {
  await server?.stop();
  server = null;
});

const base = (): string => `http://127.0.0.1:${server!.port}`;

/** Publish `count` messages of ~`size` bytes to `channel`, in batches of 500. */
async function flood(channel: string, count: number, size: number): Promise<void> {
  const item = JSON.stringify({ channel, data: 'x'.repeat(size) });
  for (let sent = 0; sent < count; sent += 500) {
    const answer = await fetch(`${base()}/publish`, { method: 'POST', body: `[${Array(500).fill(item).join(',')}]` });
    expect(answer.status).toBe(200);
  }
}

async function drops(): Promise<Record<string, number>> {
  const text = await (await fetch(`${base()}/metrics`)).text();
  return Object.fromEntries([...text.matchAll(/^pushwire_drops_total\{transport="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
}

describe('subscribers that never read', () => {
  it('a stuck SSE stream and a stuck WebSocket are cut at the slow-consumer budget; memory bounded', async () => {
    // History is kept short: the flood's own messages are not what this measures.
    server = await startCli(['serve', '--dev-identity', '--history', '10']);
    const before = server.rss();
    // SSE: a raw socket that sends its request and never reads a byte.
    const sse = net.connect(server.port, '127.0.0.1');
    sse.on('error', () => {});
    sse.write('GET /sse?channel=firehose HTTP/1.1\r\nHost: x\r\n\r\n');
    sse.pause();
    const ws = await RawClient.connect(server.port, '', '/ws?channel=firehose');
    ws.socket.pause();
    await expect.poll(async () => (await fetch(`${base()}/metrics`)).text()).toMatch(/pushwire_connections\{transport="sse"\} 1/);
    // Published until both are dropped: what the kernel buffers hold, then the 1 MiB budget.
    for (let round = 0; round < 40; round++) {
      await flood('firehose', 1000, 1000);
      const dropped = await drops();
      if (dropped.ws === 1 && dropped.sse === 1) break;
    }
    await expect.poll(drops, { timeout: 30_000 }).toMatchObject({ ws: 1, sse: 1 });
    expect(peakGrowth(server, before)).toBeLessThan(LOADED_GROWTH);
    sse.destroy();
    ws.destroy();
  });
});

describe('abandoned poll sessions', () => {
  it('10 000 sessions with 100 channels each cost a bounded amount: the oldest idle ones make room', async () => {
    server = await startCli(['serve']);
    const before = server.rss();
    const channels = Array.from({ length: 100 }, (_, i) => `channel=c${i}`).join('&');
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 16 });
    const { request } = await import('node:http');
    const poll = () =>
      new Promise<number>((resolve, reject) => {
        request(`${base()}/poll?timeout=0&${channels}`, { agent }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode!));
        })
          .on('error', reject)
          .end();
      });
    let opened = 0;
    while (opened < 10_000) {
      const batch = await Promise.all(Array.from({ length: 100 }, poll));
      expect(batch.every((status) => status === 200)).toBe(true);
      opened += batch.length;
    }
    agent.destroy();
    const metrics = await (await fetch(`${base()}/metrics`)).text();
    expect(Number(/^pushwire_connections\{transport="poll"\} (\d+)$/m.exec(metrics)![1])).toBeLessThanOrEqual(1000);
    expect(peakGrowth(server, before)).toBeLessThan(LOADED_GROWTH);
  });
});
