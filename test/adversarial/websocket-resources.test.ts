// Attacks on the WebSocket binding through `pushwire echo` and `pushwire
// serve` at their defaults, each in its own server process: whatever a peer
// sends, the server's memory grows by a bounded amount, the attacker is cut
// off with the right close code, and an ordinary client is still served.
import { afterEach, describe, expect, it } from 'vitest';
import WS from 'ws';
import { buildFrame } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';
import { MiB, peakGrowth, startCli, type ServerProcess } from '../helpers/server-process.js';

/** The README's promise for any single attack at the defaults. */
const MAX_GROWTH = 64 * MiB;

let server: ServerProcess | null = null;
afterEach(async () => {
  await server?.stop();
  server = null;
});

/** An ordinary client still gets its echo. */
async function echoes(port: number, path = '/'): Promise<void> {
  const client = new WS(`ws://127.0.0.1:${port}${path}`);
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  client.send('still here');
  const reply = await new Promise<Buffer>((resolve) => client.once('message', (data: Buffer) => resolve(data)));
  expect(reply.toString()).toBe('still here');
  client.close();
}

/** `count` copies of `frame` in one buffer. */
function repeat(frame: Buffer, count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, () => frame));
}

/** Write `batch` again and again, as fast as the server takes it, until the server closes the connection. */
async function sendUntilClosed(attacker: RawClient, batch: Buffer): Promise<void> {
  while (!attacker.closed) {
    if (!attacker.socket.write(batch)) {
      await Promise.race([
        new Promise((resolve) => attacker.socket.once('drain', resolve)),
        attacker.until(() => attacker.closed, 60_000),
      ]);
    }
  }
}

describe('a peer that pings and never reads', () => {
  it('does not make pongs pile up: only the latest ping is answered once the socket drains (RFC 6455 §5.5.3)', async () => {
    server = await startCli(['echo']);
    const before = server.rss();
    const attacker = await RawClient.connect(server.port);
    attacker.socket.pause(); // never reads while it floods
    const batch = repeat(buildFrame(0x9, ''), 10_000);
    for (let i = 0; i < 100; i++) {
      if (!attacker.socket.write(batch)) await new Promise((resolve) => attacker.socket.once('drain', resolve));
    }
    attacker.send(buildFrame(0x9, 'last'));
    // Reading again, the attacker sees the pong of its last ping: the server has read all million.
    attacker.socket.resume();
    await attacker.until(() => attacker.frames.some((f) => f.opcode === 0xa && f.payload.toString() === 'last'), 60_000);
    expect(peakGrowth(server, before)).toBeLessThan(MAX_GROWTH);
    expect(attacker.frames.filter((f) => f.opcode === 0xa).length).toBeLessThan(1_000_000);
    await echoes(server.port);
    attacker.destroy();
  });
});

describe('endless 1-byte fragments', () => {
  it('on echo: memory tracks bytes, and the message is cut at maxFragments with 1009', async () => {
    server = await startCli(['echo']);
    const before = server.rss();
    const attacker = await RawClient.connect(server.port);
    attacker.send(buildFrame(0x2, 'x', { fin: false }));
    await sendUntilClosed(attacker, repeat(buildFrame(0x0, 'x', { fin: false }), 10_000));
    const { code } = await attacker.closedWith();
    expect(code).toBe(1009);
    expect(peakGrowth(server, before)).toBeLessThan(MAX_GROWTH);
    await echoes(server.port);
  });

  it('on serve /ws: cut at the 64 KiB message limit with 1009, memory bounded', async () => {
    server = await startCli(['serve']);
    const before = server.rss();
    const attacker = await RawClient.connect(server.port, '', '/ws');
    attacker.send(buildFrame(0x1, '{', { fin: false }));
    await sendUntilClosed(attacker, repeat(buildFrame(0x0, ' ', { fin: false }), 10_000));
    const { code } = await attacker.closedWith();
    expect(code).toBe(1009);
    expect(peakGrowth(server, before)).toBeLessThan(16 * MiB);
  });
});

describe('a peer that sends and never reads its echoes', () => {
  it('is cut once its unsent echoes pass two messages\' worth; memory bounded', async () => {
    server = await startCli(['echo', '--no-deflate']);
    const before = server.rss();
    const attacker = await RawClient.connect(server.port);
    attacker.socket.pause(); // never reads
    const message = buildFrame(0x2, Buffer.alloc(64 * 1024, 7));
    const batch = repeat(message, 16); // 1 MiB per write
    let sent = 0;
    while (!attacker.closed && sent < 200) {
      sent++;
      if (!attacker.socket.write(batch)) {
        await Promise.race([
          new Promise((resolve) => attacker.socket.once('drain', resolve)),
          new Promise((resolve) => attacker.socket.once('close', resolve)),
        ]);
      }
    }
    attacker.socket.resume();
    await attacker.until(() => attacker.closed, 60_000);
    expect(sent).toBeLessThan(200); // cut before 200 MiB were sent
    expect(peakGrowth(server, before)).toBeLessThan(MAX_GROWTH);
    await echoes(server.port);
  });
});
