// The WebSocket transport: the three ways to accept upgrades, handshake
// refusals, timeouts, backpressure, keepalive and the handler object.
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WS from 'ws';
import { ClientHandshakeError, InvalidStateError, WebSocket, WebSocketServer, type WebSocketHandler } from '../../src/index.js';
import { acceptKey } from '../../src/protocol/handshake.js';
import { collect, next } from '../helpers/events.js';
import { buildFrame } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

async function listen(options: ConstructorParameters<typeof WebSocketServer>[0] = {}, handler?: WebSocketHandler) {
  const server = new WebSocketServer({ port: 0, ...options }, handler);
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await next(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return { server, port, url: `ws://127.0.0.1:${port}` };
}

function echo(server: WebSocketServer): void {
  server.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
}

async function httpListen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

/** Send raw bytes and read the whole answer until the server closes. */
function rawExchange(port: number, text: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const upgradeHead = (port: number, extra = '') =>
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`;

describe('three ways to accept upgrades', () => {
  it('a: its own listener parses the handshake from raw bytes', async () => {
    const { server, url } = await listen();
    echo(server);
    const client = new WebSocket(url);
    await next(client, 'open');
    client.send('own listener');
    expect((await next<[Buffer]>(client, 'message'))[0].toString()).toBe('own listener');
    client.close();
    await next(client, 'close');
  });

  it('b: attached to an http server that keeps serving plain requests', async () => {
    const httpServer = http.createServer((_, res) => res.end('plain http'));
    const wss = new WebSocketServer({ server: httpServer, path: '/ws' });
    echo(wss);
    const port = await httpListen(httpServer);
    cleanup.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(await response.text()).toBe('plain http');
    const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await next(client, 'open');
    client.send(Buffer.from([1, 2, 3]));
    const [data, isBinary] = await next<[Buffer, boolean]>(client, 'message');
    expect([[...data], isBinary]).toEqual([[1, 2, 3], true]);
    client.terminate();
    // A path this server does not serve gets 404.
    expect(await rawExchange(port, upgradeHead(port).replace('GET /', 'GET /other'))).toMatch(/^HTTP\/1.1 404/);
  });

  it('c: noServer with handleUpgrade, routed by the caller', async () => {
    const wss = new WebSocketServer({ noServer: true });
    const httpServer = http.createServer();
    httpServer.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket as net.Socket, head, (ws) => {
        ws.send(`hello ${req.url}`);
      });
    });
    const port = await httpListen(httpServer);
    cleanup.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    const client = new WS(`ws://127.0.0.1:${port}/routed`);
    const [data] = await next<[Buffer]>(client, 'message');
    expect(data.toString()).toBe('hello /routed');
    expect(wss.clients.size).toBe(1);
    client.terminate();
  });

  it('refuses options that name no mode or several, and limits that are not whole numbers ≥ 0', () => {
    expect(() => new WebSocketServer({})).toThrow(TypeError);
    expect(() => new WebSocketServer({ port: 0, noServer: true })).toThrow(TypeError);
    expect(() => new WebSocketServer({ noServer: true, maxPayload: Number.NaN })).toThrow(/maxPayload/);
    expect(() => new WebSocketServer({ noServer: true, pingInterval: -1 })).toThrow(/pingInterval/);
    expect(() => new WebSocketServer({ noServer: true, maxHeaderSize: '10' as unknown as number })).toThrow(/maxHeaderSize/);
    expect(() => new WebSocket('ws://127.0.0.1:1', { closeTimeout: 1.5 })).toThrow(/closeTimeout/);
  });
});

describe('handshake refusals answer with a status and a JSON body', () => {
  it('a plain GET gets 426 with Upgrade: websocket', async () => {
    const { port } = await listen();
    const answer = await rawExchange(port, `GET / HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 426 Upgrade Required\r\n/);
    expect(answer).toContain('Upgrade: websocket');
    expect(JSON.parse(answer.split('\r\n\r\n')[1])).toHaveProperty('error');
  });

  it('a wrong version gets 426 naming version 13', async () => {
    const { port } = await listen();
    const answer = await rawExchange(port, upgradeHead(port).replace('Version: 13', 'Version: 8'));
    expect(answer).toMatch(/^HTTP\/1.1 426/);
    expect(answer).toContain('Sec-WebSocket-Version: 13');
  });

  it('garbage gets 400', async () => {
    const { port } = await listen();
    expect(await rawExchange(port, 'HELLO THERE\r\n\r\n')).toMatch(/^HTTP\/1.1 400/);
  });

  it('an oversized head gets 431', async () => {
    const { port } = await listen({ maxHeaderSize: 1024 });
    expect(await rawExchange(port, upgradeHead(port, `X-Big: ${'a'.repeat(2000)}\r\n`))).toMatch(/^HTTP\/1.1 431/);
  });

  it('a slow head is dropped after handshakeTimeout with 408', async () => {
    const { port } = await listen({ handshakeTimeout: 100 });
    const started = Date.now();
    const answer = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\n');
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('verifyClient can refuse with 403 or a chosen status, sync or async, and sees the origin', async () => {
    const origins: (string | undefined)[] = [];
    const { url, port } = await listen({
      verifyClient: async ({ origin, request }) => {
        origins.push(origin);
        if (request.url === '/deny') return false;
        if (request.url === '/auth') return { status: 401, message: 'token required', headers: { 'WWW-Authenticate': 'Bearer' } };
        return true;
      },
    });
    const denied = await rawExchange(port, upgradeHead(port).replace('GET /', 'GET /deny'));
    expect(denied).toMatch(/^HTTP\/1.1 403/);
    const auth = await rawExchange(port, upgradeHead(port).replace('GET /', 'GET /auth'));
    expect(auth).toMatch(/^HTTP\/1.1 401/);
    expect(auth).toContain('WWW-Authenticate: Bearer');
    expect(JSON.parse(auth.split('\r\n\r\n')[1])).toEqual({ error: 'token required' });

    const refused = new WebSocket(`${url}/auth`);
    const [error] = await next<[ClientHandshakeError]>(refused, 'error');
    expect(error).toBeInstanceOf(ClientHandshakeError);
    expect(error.status).toBe(401);
    expect((await next<[number]>(refused, 'close'))[0]).toBe(1006);

    const ok = new WebSocket(url, { origin: 'https://App.Example' });
    await next(ok, 'open');
    expect(origins.at(-1)).toBe('https://app.example');
    ok.terminate();
  });

  it('a hook that throws gets the client a bare 500 and the server an error event', async () => {
    const { server, port } = await listen({
      verifyClient: () => {
        throw new Error('database is down');
      },
    });
    const errors: Error[] = [];
    server.on('error', (error) => errors.push(error));
    const answer = await rawExchange(port, upgradeHead(port));
    expect(answer).toMatch(/^HTTP\/1.1 500/);
    expect(JSON.parse(answer.split('\r\n\r\n')[1])).toEqual({ error: 'internal server error' });
    expect(errors.map((e) => e.message)).toEqual(['database is down']);
  });

  it('handleProtocols chooses among the offered subprotocols', async () => {
    const { url } = await listen({ handleProtocols: (offered) => offered.at(-1) ?? false });
    const client = new WebSocket(url, { protocols: ['one', 'two'] });
    await next(client, 'open');
    expect(client.protocol).toBe('two');
    client.terminate();
  });

  it('no subprotocol is chosen when the server speaks none of the offered ones', async () => {
    const { url } = await listen({ protocols: ['mqtt'] });
    const client = new WebSocket(url, { protocols: ['chat'] });
    await next(client, 'open');
    expect(client.protocol).toBe('');
    client.terminate();
  });
});

describe('connection behaviour', () => {
  it('reads frames that arrive in the same packet as the handshake', async () => {
    const { server, port } = await listen();
    echo(server);
    const client = net.connect(port, '127.0.0.1');
    await next(client, 'connect');
    client.write(Buffer.concat([Buffer.from(upgradeHead(port)), buildFrame(1, 'pipelined')]));
    let received = Buffer.alloc(0);
    await new Promise<void>((resolve) => {
      client.on('data', (chunk) => {
        received = Buffer.concat([received, chunk]);
        if (received.includes('pipelined')) resolve();
      });
    });
    client.destroy();
  });

  it('send() reports backpressure, bufferedAmount tracks it, and drain follows', async () => {
    const { server, port } = await listen();
    const connected = next<[WebSocket]>(server, 'connection');
    const raw = await RawClient.connect(port);
    raw.socket.pause(); // a reader that stops reading
    const [ws] = await connected;
    const chunk = Buffer.alloc(1024 * 1024);
    // Fill the kernel's socket buffers until bytes stay queued in the process.
    let accepted = true;
    let sent = 0;
    while (ws.bufferedAmount === 0 && sent < 512) {
      accepted = ws.send(chunk);
      sent++;
    }
    expect(accepted).toBe(false);
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    expect(ws.bufferedAmount).toBeLessThanOrEqual((chunk.length + 10) * sent);
    const drained = next(ws, 'drain', 20000);
    raw.socket.resume();
    await drained;
    expect(ws.bufferedAmount).toBeLessThan(chunk.length * sent);
    raw.destroy();
  });

  it('send callbacks report success, and an error after close', async () => {
    const { server, url } = await listen();
    const connected = next<[WebSocket]>(server, 'connection');
    const client = new WebSocket(url);
    expect(() => client.send('too early')).toThrow(InvalidStateError);
    const [ws] = await connected;
    await new Promise<void>((resolve, reject) => ws.send('x', (error) => (error ? reject(error) : resolve())));
    ws.close();
    const error = await new Promise<Error | null | undefined>((resolve) => ws.send('late', resolve));
    expect(error).toBeInstanceOf(InvalidStateError);
    expect(() => ws.close(1005)).not.toThrow(); // already closing: no-op
    await next(client, 'close');
  });

  it('terminate() inside a message listener stops delivery of the rest of the chunk', async () => {
    const { server, port } = await listen();
    const connected = next<[WebSocket]>(server, 'connection');
    const raw = await RawClient.connect(port);
    const [ws] = await connected;
    const seen: string[] = [];
    ws.on('message', (data) => {
      seen.push(data.toString());
      ws.terminate();
    });
    raw.send(Buffer.concat([buildFrame(1, 'first'), buildFrame(1, 'second')]));
    await next(ws, 'close');
    expect(seen).toEqual(['first']);
  });

  it('close() refuses codes that may not be sent', async () => {
    const { server, url } = await listen();
    const connected = next<[WebSocket]>(server, 'connection');
    const client = new WebSocket(url);
    const [ws] = await connected;
    expect(() => ws.close(1006)).toThrow(RangeError);
    expect(() => ws.close(1000, 'x'.repeat(200))).toThrow(RangeError);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    client.terminate();
  });

  it('keepalive drops a peer that never answers and keeps one that does', async () => {
    const { server, port, url } = await listen({ pingInterval: 40 });
    const closes: number[] = [];
    server.on('connection', (ws) => ws.on('close', (code: number) => closes.push(code)));
    const silent = await RawClient.connect(port); // never answers pings
    await silent.until(() => silent.closed, 2000);
    expect(silent.frames.some((f) => f.opcode === 0x9)).toBe(true);
    const lively = new WebSocket(url); // pushwire answers pings automatically
    await next(lively, 'open');
    // Several keepalive rounds later it is still open: each round it answered the last ping.
    await collect(lively, 'ping', 4, 2000);
    expect(lively.readyState).toBe(WebSocket.OPEN);
    expect(closes).toEqual([1006]);
    lively.terminate();
  });

  it('a client-side pingInterval notices a silent server', async () => {
    const silentServer = net.createServer((socket) => {
      socket.once('data', (data) => {
        const key = /Sec-WebSocket-Key: (.*)\r\n/i.exec(data.toString())![1];
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`);
        socket.on('data', () => {}); // swallows pings, never pongs
      });
    });
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => silentServer.close(() => resolve())));
    const client = new WebSocket(`ws://127.0.0.1:${(silentServer.address() as net.AddressInfo).port}`, { pingInterval: 40 });
    await next(client, 'open');
    expect((await next<[number]>(client, 'close', 2000))[0]).toBe(1006);
  });

  it('server.close() sends 1001 to every client', async () => {
    const server = new WebSocketServer({ port: 0 });
    await next(server, 'listening');
    const url = `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const clients = [new WS(url), new WS(url)];
    await Promise.all(clients.map((c) => next(c, 'open')));
    const closes = Promise.all(clients.map((c) => next<[number]>(c, 'close')));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect((await closes).map(([code]) => code)).toEqual([1001, 1001]);
  });

  it('a client that cannot connect reports an error, then close 1006', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    const [error] = await next<[NodeJS.ErrnoException]>(client, 'error');
    expect(error.code).toBe('ECONNREFUSED');
    expect((await next<[number]>(client, 'close'))[0]).toBe(1006);
  });

  it('a protocol error without an error listener does not crash, and the close reports its code', async () => {
    const { server, port } = await listen();
    const connected = next<[WebSocket]>(server, 'connection');
    const raw = await RawClient.connect(port);
    const [ws] = await connected;
    const closed = next<[number, string]>(ws, 'close');
    raw.send(buildFrame(0x3, 'reserved opcode'));
    expect((await closed)[0]).toBe(1002);
    expect((await raw.closedWith()).code).toBe(1002);
  });
});

describe('handler object { onOpen, onMessage, onClose, onError }', () => {
  it('sees the connection\'s whole life, and exceptions go to onError', async () => {
    const seen: string[] = [];
    const handler: WebSocketHandler = {
      onOpen: (ws, request) => seen.push(`open ${request?.url}`),
      onMessage: (ws, data) => {
        if (data.toString() === 'throw') throw new Error('handler bug');
        seen.push(`message ${data}`);
        ws.send(`echo ${data}`);
      },
      onClose: (ws, code, reason) => seen.push(`close ${code} ${reason}`),
      onError: (ws, error) => seen.push(`error ${error.message}`),
    };
    const { url } = await listen({}, handler);
    const client = new WS(`${url}/room`);
    await next(client, 'open');
    const reply = next<[Buffer]>(client, 'message');
    client.send('throw');
    client.send('hi');
    expect((await reply)[0].toString()).toBe('echo hi');
    client.close(1000, 'bye');
    await next(client, 'close');
    await expect.poll(() => seen.at(-1)).toBe('close 1000 bye'); // the server's side of the close
    expect(seen).toEqual(['open /room', 'error handler bug', 'message hi', 'close 1000 bye']);
  });

  it('works on the client too', async () => {
    const { server, url } = await listen();
    echo(server);
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      const client = new WebSocket(url, {
        handler: {
          onOpen: (ws) => ws.send('ping-pong'),
          onMessage: (ws, data) => {
            seen.push(data.toString());
            ws.close(1000);
          },
          onClose: (ws, code) => {
            seen.push(`closed ${code}`);
            resolve();
          },
        },
      });
      void client;
    });
    await done;
    expect(seen).toEqual(['ping-pong', 'closed 1000']);
  });

  it('collects several messages in order', async () => {
    const { server, url } = await listen();
    echo(server);
    const client = new WebSocket(url);
    await next(client, 'open');
    const messages = collect<[Buffer]>(client, 'message', 100);
    for (let i = 0; i < 100; i++) client.send(`m${i}`);
    expect((await messages).map(([d]) => d.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    client.terminate();
  });
});
