// A local client that writes lines to the push port and never reads the
// answers: the port stops reading instead of queueing answers without end.
import * as net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { MiB, startCli, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

it('10 MB of lines whose answers are never read cost a bounded amount of memory', async () => {
  server = await startCli(['serve', '--push-port', '0']);
  const pushPort = Number(/push port 127\.0\.0\.1:(\d+)/.exec(server.banner)![1]);
  const before = server.rss();
  const socket = net.connect(pushPort, '127.0.0.1');
  socket.pause(); // never reads an answer
  await new Promise((resolve) => socket.once('connect', resolve));
  const lines = Buffer.from('x\n'.repeat(64 * 1024));
  let written = 0;
  // The port stops reading once its answers back up, so our writes stop
  // draining: stop when the kernel buffers on both sides are full.
  while (written < 10 * 1000 * 1000) {
    if (!socket.write(lines)) {
      const drained = await Promise.race([
        new Promise((resolve) => socket.once('drain', () => resolve(true))),
        new Promise((resolve) => setTimeout(resolve, 2000, false)), // no more progress: the port holds back
      ]);
      if (!drained) break;
    }
    written += lines.length;
  }
  expect(server.peakRss() - before).toBeLessThan(32 * MiB);
  // Reading again, the client gets its answers and the port goes on.
  let answers = 0;
  socket.on('data', (chunk: Buffer) => (answers += chunk.toString().split('\n').length - 1));
  socket.resume();
  await expect.poll(() => answers, { timeout: 30_000 }).toBeGreaterThan(10_000);
  socket.destroy();
});
