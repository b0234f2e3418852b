// Interop with an independent implementation: the `ws` package's client
// against our server, and our client against its server.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS, { WebSocketServer as WSServer } from 'ws';
import { PreparedMessage, WebSocket, WebSocketServer } from '../../src/index.js';
import { collect, next } from '../helpers/events.js';

describe('ws client → pushwire server', () => {
  let server: WebSocketServer;
  let url: string;
  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, maxPayload: 8 * 1024 * 1024 });
    server.on('connection', (socket) => {
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary && data.toString() === 'close-me') socket.close(4321, 'as asked');
        else socket.send(data, { binary: isBinary });
      });
    });
    await next(server, 'listening');
    url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/path?q=1`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('echoes text, binary, empty and large messages with their types', async () => {
    const client = new WS(url);
    await next(client, 'open');
    const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const messages = collect<[Buffer, boolean]>(client, 'message', 4);
    client.send('héllo wörld');
    client.send(Buffer.from([0, 1, 2, 255]));
    client.send('');
    client.send(big);
    const got = await messages;
    expect(got.map(([data, isBinary]) => [isBinary, data.length])).toEqual([
      [false, Buffer.byteLength('héllo wörld')],
      [true, 4],
      [false, 0],
      [true, big.length],
    ]);
    expect(got[0][0].toString()).toBe('héllo wörld');
    expect(got[3][0].equals(big)).toBe(true);
    client.close();
    await next(client, 'close');
  });

  it('echoes any sequence of messages, in order and unchanged (property over real TCP)', async () => {
    const message = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc.integer({ min: 126, max: 70000 }).map((n) => Buffer.alloc(n, n & 0xff)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 20 }), async (messages) => {
        const client = new WS(url);
        await next(client, 'open');
        const echoed = collect<[Buffer, boolean]>(client, 'message', messages.length);
        for (const m of messages) client.send(m);
        const got = await echoed;
        client.terminate();
        got.forEach(([data, isBinary], i) => {
          const sent = messages[i];
          expect(isBinary).toBe(typeof sent !== 'string');
          expect(typeof sent === 'string' ? data.toString() === sent : data.equals(sent)).toBe(true);
        });
      }),
      { numRuns: 40 },
    );
  });

  it('reassembles a message the ws client sends in fragments', async () => {
    const client = new WS(url);
    await next(client, 'open');
    const message = next<[Buffer, boolean]>(client, 'message');
    client.send('frag', { fin: false });
    client.send('men', { fin: false });
    client.send('ted', { fin: true });
    const [data, isBinary] = await message;
    expect([data.toString(), isBinary]).toEqual(['fragmented', false]);
    client.terminate();
  });

  it('answers pings with identical pongs', async () => {
    const client = new WS(url);
    await next(client, 'open');
    const pong = next<[Buffer]>(client, 'pong');
    client.ping('are you there');
    expect((await pong)[0].toString()).toBe('are you there');
    client.terminate();
  });

  it('closes with the code both sides chose', async () => {
    const client = new WS(url);
    await next(client, 'open');
    const closed = next<[number, Buffer]>(client, 'close');
    client.send('close-me');
    const [code, reason] = await closed;
    expect([code, reason.toString()]).toEqual([4321, 'as asked']);

    const second = new WS(url);
    await next(second, 'open');
    const serverSide = next<[WebSocket]>(server, 'connection');
    const third = new WS(url);
    const [socket] = await serverSide;
    await next(third, 'open');
    const serverClosed = next<[number, string]>(socket, 'close');
    third.close(4000, 'client done');
    expect(await serverClosed).toEqual([4000, 'client done']);
    second.terminate();
  });

  it('reports a message over maxPayload to the ws client as 1009', async () => {
    const client = new WS(url);
    await next(client, 'open');
    const closed = next<[number]>(client, 'close');
    client.send(Buffer.alloc(8 * 1024 * 1024 + 1));
    expect((await closed)[0]).toBe(1009);
  });

  it('negotiates a subprotocol with the ws client', async () => {
    const picky = new WebSocketServer({ port: 0, protocols: ['v2.chat', 'v1.chat'] });
    await next(picky, 'listening');
    const client = new WS(`ws://127.0.0.1:${(picky.address() as { port: number }).port}`, ['v1.chat', 'v2.chat']);
    await next(client, 'open');
    expect(client.protocol).toBe('v1.chat');
    client.terminate();
    await new Promise<void>((resolve) => picky.close(() => resolve()));
  });
});

describe('pushwire client → ws server', () => {
  let server: WSServer;
  let url: string;
  beforeAll(async () => {
    server = new WSServer({ port: 0, host: '127.0.0.1', handleProtocols: (set) => (set.has('b') ? 'b' : false) });
    server.on('connection', (socket) => {
      socket.on('message', (data, isBinary) => {
        if (!isBinary && data.toString() === 'close-me') socket.close(4100, 'server says bye');
        else socket.send(data, { binary: isBinary });
      });
    });
    await next(server, 'listening');
    url = `ws://127.0.0.1:${(server.address() as { port: number }).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends and receives text, binary and large messages', async () => {
    const client = new WebSocket(url);
    await next(client, 'open');
    expect(client.readyState).toBe(WebSocket.OPEN);
    const big = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
    const messages = collect<[Buffer, boolean]>(client, 'message', 3);
    client.send('grüße');
    client.send(new Uint8Array([9, 8, 7]));
    client.send(big);
    const got = await messages;
    expect(got[0][0].toString()).toBe('grüße');
    expect(got[0][1]).toBe(false);
    expect([...got[1][0]]).toEqual([9, 8, 7]);
    expect(got[2][0].equals(big)).toBe(true);
    client.close(1000);
    expect(await next(client, 'close')).toEqual([1000, '']);
    expect(client.readyState).toBe(WebSocket.CLOSED);
  });

  it('sends fragmented messages and pings', async () => {
    const client = new WebSocket(url);
    await next(client, 'open');
    const message = next<[Buffer, boolean]>(client, 'message');
    client.send(Buffer.from('ab'), { fin: false });
    client.send(Buffer.from('cd'), { fin: true });
    const [data, isBinary] = await message;
    expect([data.toString(), isBinary]).toEqual(['abcd', true]);
    const pong = next<[Buffer]>(client, 'pong');
    client.ping('hi');
    expect((await pong)[0].toString()).toBe('hi');
    client.terminate();
  });

  it('follows a close the server starts', async () => {
    const client = new WebSocket(url);
    await next(client, 'open');
    const closed = next<[number, string]>(client, 'close');
    client.send('close-me');
    expect(await closed).toEqual([4100, 'server says bye']);
  });

  it('agrees on the subprotocol the ws server picks', async () => {
    const client = new WebSocket(url, { protocols: ['a', 'b'] });
    await next(client, 'open');
    expect(client.protocol).toBe('b');
    client.terminate();
  });
});

describe('PreparedMessage (one encoding, many sockets)', () => {
  it('reaches ws clients with and without permessage-deflate, and falls back to a masked send on a client', async () => {
    const server = new WebSocketServer({ port: 0, perMessageDeflate: true });
    await next(server, 'listening');
    const url = `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
    const serverSide: WebSocket[] = [];
    server.on('connection', (ws) => serverSide.push(ws));
    const plain = new WS(url, { perMessageDeflate: false });
    const deflating = new WS(url, { perMessageDeflate: true });
    await Promise.all([next(plain, 'open'), next(deflating, 'open')]);
    const small = new PreparedMessage('tiny');
    const large = new PreparedMessage('x'.repeat(4096));
    const binary = new PreparedMessage(Buffer.from([0, 1, 2]));
    expect(small.frame).toEqual(Buffer.from([0x81, 4, ...Buffer.from('tiny')]));
    const got = [collect<[Buffer, boolean]>(plain, 'message', 3), collect<[Buffer, boolean]>(deflating, 'message', 3)];
    for (const ws of serverSide) for (const message of [small, large, binary]) ws.sendPrepared(message);
    for (const messages of await Promise.all(got)) {
      expect(messages.map(([data, isBinary]) => [data.length, isBinary])).toEqual([[4, false], [4096, false], [3, true]]);
    }
    // A client must mask (RFC 6455 §5.3): sendPrepared there is an ordinary send, which the server accepts.
    const connected = next<[WebSocket]>(server, 'connection');
    const client = new WebSocket(url);
    await next(client, 'open');
    const [clientPeer] = await connected;
    const arrived = next<[Buffer]>(clientPeer, 'message');
    client.sendPrepared(small);
    expect((await arrived)[0].toString()).toBe('tiny');
    client.close();
    plain.close();
    deflating.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
