// Request heads and bodies that never end, or are too large: a clear status
// (RFC 9110 §15.5) with a JSON body, promptly, on the push server and on the
// bare WebSocket server alike.
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from '../../src/index.js';
import { pushServers } from '../helpers/push.js';

const start = pushServers();

/** Send `bytes`, then read until the server closes; the status line's code and the body. */
async function exchange(port: number, bytes: string): Promise<{ status: number; body: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (chunk) => (text += chunk));
  socket.write(bytes);
  await new Promise((resolve) => socket.on('close', resolve));
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

const longUrl = `/sse?channel=${'a'.repeat(9000)}`;

describe('push server', () => {
  it('answers a head that never ends with 408, after headersTimeoutMs', async () => {
    const port = Number(new URL((await start({ headersTimeoutMs: 100 })).base).port);
    const answer = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expect(answer).toEqual({ status: 408, body: JSON.stringify({ error: 'request not received in time' }) });
  });

  it('answers a body that never ends with 408, after requestTimeoutMs', async () => {
    const port = Number(new URL((await start({ requestTimeoutMs: 100 })).base).port);
    const answer = await exchange(port, 'POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"chan');
    expect(answer.status).toBe(408);
  });

  it('431 for a head over 16 KiB, 414 for a request target over 8 KiB (plain and upgrade)', async () => {
    const port = Number(new URL((await start()).base).port);
    const huge = await exchange(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(17_000)}\r\n\r\n`);
    expect(huge.status).toBe(431);
    const long = await exchange(port, `GET ${longUrl} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(long.status).toBe(414);
    expect(JSON.parse(long.body).error).toMatch(/longer than 8192/);
    const upgrade = await exchange(
      port,
      `GET /ws?${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`,
    );
    expect(upgrade.status).toBe(414);
  });

  it('an upgrade with a target no URL parser takes is refused, not a crash', async () => {
    const port = Number(new URL((await start()).base).port);
    const answer = await exchange(port, 'GET http://[ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    expect(answer.status).toBe(400);
    expect((await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBe(200);
  });
});

describe('WebSocket server (echo)', () => {
  let server: WebSocketServer | null = null;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  async function listen(options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<number> {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
    await new Promise((resolve) => server!.once('listening', () => resolve(undefined)));
    return (server.address() as net.AddressInfo).port;
  }

  it('408 for a handshake head that never ends, 431 for a huge head, 414 for a long target', async () => {
    const port = await listen({ handshakeTimeout: 100 });
    expect((await exchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n')).status).toBe(408);
    expect((await exchange(port, `GET / HTTP/1.1\r\nX-Big: ${'b'.repeat(17_000)}\r\n\r\n`)).status).toBe(431);
    const long = await exchange(port, `GET ${longUrl} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(long.status).toBe(414);
    expect(JSON.parse(long.body)).toEqual({ error: 'request target longer than 8192 bytes' });
  });
});
