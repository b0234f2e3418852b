// A local client that writes lines to the push port and never reads the
// answers: the port stops reading instead of queueing answers without end.
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { MiB, peakGrowth, startCli, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

/**
 * Bytes our side of a loopback connection has sent that the peer's kernel has
 * not taken: the `tx_queue` of its row in Linux's /proc/net/tcp. On loopback
 * it stays near 0 unless the peer has stopped reading.
 */
function sendQueue(localPort: number, remotePort: number): number {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, , queues] = line.trim().split(/\s+/);
    if (local?.endsWith(`:${hex(localPort)}`) && remote?.endsWith(`:${hex(remotePort)}`)) return parseInt(queues.split(':')[0], 16);
  }
  return 0;
}

it('10 MB of lines whose answers are never read cost a bounded amount of memory', async () => {
  server = await startCli(['serve', '--push-port', '0']);
  const pushPort = Number(/push port 127\.0\.0\.1:(\d+)/.exec(server.banner)![1]);
  const before = server.rss();
  const socket = net.connect(pushPort, '127.0.0.1');
  socket.pause(); // never reads an answer
  await new Promise((resolve) => socket.once('connect', resolve));
  const lines = Buffer.from('x\n'.repeat(64 * 1024));
  for (let i = 0; i < 80; i++) socket.write(lines); // 10 MB, buffered on our side as far as the kernel will not take it
  // The port has stopped reading once a megabyte of our lines waits in our
  // kernel's send queue (Node reads eagerly from a socket it has not paused).
  await expect.poll(() => sendQueue(socket.localPort!, pushPort), { timeout: 30_000 }).toBeGreaterThan(1024 * 1024);
  expect(peakGrowth(server, before)).toBeLessThan(32 * MiB);
  // Reading again, the client gets its answers and the port goes on.
  let answers = 0;
  socket.on('data', (chunk: Buffer) => (answers += chunk.toString().split('\n').length - 1));
  socket.resume();
  await expect.poll(() => answers, { timeout: 30_000 }).toBeGreaterThan(10_000);
  socket.destroy();
});
