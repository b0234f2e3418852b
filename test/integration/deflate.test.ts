// permessage-deflate (RFC 7692) end to end: interop with ws in every
// context-takeover combination, both directions; round trips; bombs; framing rules.
import fc from 'fast-check';
import type { AddressInfo } from 'node:net';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import WS, { WebSocketServer as WSServer } from 'ws';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { PerMessageDeflate } from '../../src/ws/deflate.js';
import type { DeflateParams } from '../../src/protocol/extensions.js';
import { collect, next } from '../helpers/events.js';
import { buildFrame } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

const json = (i: number) => JSON.stringify({ type: 'message', channel: 'prices', id: i, data: { symbol: 'ACME', bid: 101.25 + i, ask: 101.5 + i, history: Array.from({ length: 40 }, (_, k) => k * i) } });

async function pushwireEcho(options: ConstructorParameters<typeof WebSocketServer>[0] = {}) {
  const server = new WebSocketServer({ port: 0, perMessageDeflate: true, ...options });
  server.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await next(server, 'listening');
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A `ws` echo server with permessage-deflate; resolves to its URL. */
async function wsEcho(perMessageDeflate: { threshold?: number; clientMaxWindowBits?: number }): Promise<string> {
  const server = new WSServer({ port: 0, host: '127.0.0.1', perMessageDeflate });
  server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await next(server, 'listening');
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const combos = [
  { serverNoContextTakeover: false, clientNoContextTakeover: false },
  { serverNoContextTakeover: true, clientNoContextTakeover: false },
  { serverNoContextTakeover: false, clientNoContextTakeover: true },
  { serverNoContextTakeover: true, clientNoContextTakeover: true },
];

describe('interop with ws, every context-takeover combination', () => {
  for (const combo of combos) {
    const name = `server_no_context_takeover=${combo.serverNoContextTakeover} client_no_context_takeover=${combo.clientNoContextTakeover}`;

    it(`ws client → pushwire server (${name})`, async () => {
      const { url } = await pushwireEcho();
      const client = new WS(url, { perMessageDeflate: { ...combo, threshold: 0 } });
      await next(client, 'open');
      expect(client.extensions).toContain('permessage-deflate');
      const messages = Array.from({ length: 30 }, (_, i) => (i % 3 === 2 ? Buffer.from(json(i)) : json(i)));
      const echoed = collect<[Buffer, boolean]>(client, 'message', messages.length);
      for (const m of messages) client.send(m);
      const got = await echoed;
      got.forEach(([data, isBinary], i) => {
        expect(isBinary).toBe(typeof messages[i] !== 'string');
        expect(data.toString()).toBe(messages[i].toString());
      });
      client.close();
      await next(client, 'close');
    });

    it(`pushwire client → ws server (${name})`, async () => {
      const client = new WebSocket(await wsEcho({ threshold: 0 }), { perMessageDeflate: { ...combo, threshold: 0 } });
      await next(client, 'open');
      expect(client.extensions).toBe('permessage-deflate');
      const messages = Array.from({ length: 30 }, (_, i) => json(i));
      const echoed = collect<[Buffer]>(client, 'message', messages.length);
      for (const m of messages) client.send(m);
      expect((await echoed).map(([d]) => d.toString())).toEqual(messages);
      client.close();
      await next(client, 'close');
    });
  }

  it('hundreds of messages of varied sizes under every window and takeover combination (Autobahn 12/13 style)', async () => {
    const { url } = await pushwireEcho({ perMessageDeflate: { threshold: 0 } });
    const sizes = [0, 1, 16, 64, 256, 1024, 4096, 16384, 65536, 131072];
    for (const combo of combos) {
      for (const serverMaxWindowBits of [9, 15]) {
        for (const clientMaxWindowBits of [9, 15]) {
          const client = new WS(url, { perMessageDeflate: { ...combo, serverMaxWindowBits, clientMaxWindowBits, threshold: 0 } });
          await next(client, 'open');
          const messages = Array.from({ length: 60 }, (_, i) => {
            const size = sizes[i % sizes.length];
            return i % 2 ? Buffer.from(json(i).repeat(Math.ceil(size / 400) || 1).slice(0, size)) : json(i).repeat(Math.ceil(size / 400) || 1).slice(0, size);
          });
          const echoed = collect<[Buffer, boolean]>(client, 'message', messages.length, 20000);
          for (const m of messages) client.send(m);
          const got = await echoed;
          got.forEach(([data], i) => expect(data.equals(Buffer.from(messages[i]))).toBe(true));
          client.terminate();
        }
      }
    }
  });

  it('an 8-bit window is accepted and honoured by sending uncompressed, both ways', async () => {
    const { url } = await pushwireEcho({ perMessageDeflate: { threshold: 0 } });
    const client = new WS(url, { perMessageDeflate: { serverMaxWindowBits: 8, threshold: 0 } });
    await next(client, 'open');
    expect(client.extensions).toContain('permessage-deflate');
    const messages = Array.from({ length: 20 }, (_, i) => json(i));
    const echoed = collect<[Buffer]>(client, 'message', messages.length);
    for (const m of messages) client.send(m);
    expect((await echoed).map(([d]) => d.toString())).toEqual(messages);
    client.terminate();

    // On the wire: negotiated, and the server's frames carry no RSV1.
    const raw = await RawClient.connect(Number(new URL(url).port), 'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8\r\n');
    expect(raw.responseHead).toMatch(/server_max_window_bits=8/);
    raw.send(buildFrame(1, json(3)));
    await raw.until(() => raw.frames.length === 1);
    expect(raw.frames[0].rsv).toBe(0);
    expect(raw.frames[0].payload.toString()).toBe(json(3));
    raw.destroy();

    const ours = new WebSocket(await wsEcho({ clientMaxWindowBits: 8, threshold: 0 }), { perMessageDeflate: true });
    await next(ours, 'open');
    const back = collect<[Buffer]>(ours, 'message', 5);
    for (let i = 0; i < 5; i++) ours.send(json(i));
    expect((await back).map(([d]) => d.toString())).toEqual([0, 1, 2, 3, 4].map(json));
    ours.terminate();
  });

  it('declines when the server is not configured for it, and still works', async () => {
    const server = new WebSocketServer({ port: 0 });
    server.on('connection', (ws) => ws.on('message', (d: Buffer) => ws.send(d.toString())));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await next(server, 'listening');
    const client = new WS(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: true });
    await next(client, 'open');
    expect(client.extensions).toBe('');
    client.send('plain');
    expect((await next<[Buffer]>(client, 'message'))[0].toString()).toBe('plain');
    client.terminate();
  });
});

describe('compression on the wire', () => {
  it('sets RSV1 on compressed messages only, and keeps order with small uncompressed ones', async () => {
    const { url } = await pushwireEcho({ perMessageDeflate: { threshold: 100 } });
    const raw = await RawClient.connect(Number(new URL(url).port), 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    expect(raw.responseHead).toMatch(/Sec-WebSocket-Extensions: permessage-deflate/);
    const big = json(1);
    raw.send(buildFrame(1, big));
    raw.send(buildFrame(1, 'small'));
    await raw.until(() => raw.frames.length === 2);
    expect(raw.frames[0].rsv).toBe(4); // RSV1
    expect(raw.frames[0].payload.length).toBeLessThan(big.length);
    expect(raw.frames[1]).toMatchObject({ rsv: 0 });
    expect(raw.frames[1].payload.toString()).toBe('small');
    raw.destroy();
  });

  it('RSV1 on a continuation frame or a control frame is a protocol error (1002)', async () => {
    const { url } = await pushwireEcho();
    const port = Number(new URL(url).port);
    const deflate = 'Sec-WebSocket-Extensions: permessage-deflate\r\n';
    const a = await RawClient.connect(port, deflate);
    a.send(buildFrame(1, 'x', { fin: false }));
    a.send(buildFrame(0, 'y', { rsv: 4 }));
    expect((await a.closedWith()).code).toBe(1002);
    const b = await RawClient.connect(port, deflate);
    b.send(buildFrame(9, 'p', { rsv: 4 }));
    expect((await b.closedWith()).code).toBe(1002);
    const c = await RawClient.connect(port); // not negotiated
    c.send(buildFrame(1, deflateRawSync('hi'), { rsv: 4 }));
    expect((await c.closedWith()).code).toBe(1002);
  });

  it('compressed text that inflates to invalid UTF-8 fails with 1007; garbage with 1007 too', async () => {
    const { url } = await pushwireEcho();
    const port = Number(new URL(url).port);
    const deflate = 'Sec-WebSocket-Extensions: permessage-deflate\r\n';
    const a = await RawClient.connect(port, deflate);
    a.send(buildFrame(1, deflateRawSync(Buffer.from([0x41, 0xed, 0xa0, 0x80])), { rsv: 4 }));
    expect((await a.closedWith()).code).toBe(1007);
    const b = await RawClient.connect(port, deflate);
    b.send(buildFrame(2, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), { rsv: 4 }));
    expect((await b.closedWith()).code).toBe(1007);
  });

  it('a small frame that inflates past maxPayload closes with 1009, and memory stays bounded', async () => {
    const { url } = await pushwireEcho({ maxPayload: 1024 * 1024 });
    const port = Number(new URL(url).port);
    const bomb = await deflateZeros(200 * 1024 * 1024); // ~200 KiB that inflate to 200 MiB
    expect(bomb.length).toBeLessThan(300 * 1024);
    const before = process.memoryUsage().rss;
    const raw = await RawClient.connect(port, 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    raw.send(buildFrame(2, bomb, { rsv: 4 }));
    expect((await raw.closedWith(10000)).code).toBe(1009);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
});

/** Compress `size` zero bytes without ever holding them in memory. */
function deflateZeros(size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const deflater = createDeflateRaw({ level: 9 });
    const chunks: Buffer[] = [];
    deflater.on('data', (chunk: Buffer) => chunks.push(chunk));
    deflater.on('error', reject);
    deflater.on('end', () => resolve(Buffer.concat(chunks)));
    const zeros = Buffer.alloc(1024 * 1024);
    let written = 0;
    const write = (): void => {
      while (written < size) {
        written += zeros.length;
        if (!deflater.write(zeros)) return void deflater.once('drain', write);
      }
      deflater.end();
    };
    write();
  });
}

describe('PerMessageDeflate', () => {
  const params = (serverNoContextTakeover: boolean, clientNoContextTakeover: boolean): DeflateParams => ({
    serverNoContextTakeover,
    clientNoContextTakeover,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  });

  it('round-trips random message sequences, with and without context takeover', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 3000 }), fc.string({ maxLength: 500 }).map((t) => new TextEncoder().encode(t.repeat(5)))), { maxLength: 12 }),
        fc.boolean(),
        fc.boolean(),
        async (messages, serverNoTakeover, clientNoTakeover) => {
          const agreed = params(serverNoTakeover, clientNoTakeover);
          const sender = new PerMessageDeflate(agreed, 'server', 1 << 20);
          const receiver = new PerMessageDeflate(agreed, 'client', 1 << 20);
          const results = await Promise.all(
            messages.map(
              (m) =>
                new Promise<Buffer>((resolve, reject) =>
                  sender.compress(Buffer.from(m), (error, compressed) => {
                    if (error) return reject(error);
                    receiver.decompress(compressed!, (err, plain) => (err ? reject(err) : resolve(plain!)));
                  }),
                ),
            ),
          );
          results.forEach((plain, i) => expect(plain.equals(Buffer.from(messages[i]))).toBe(true));
          sender.close();
          receiver.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reproduces RFC 7692 §7.2.3.1 and §7.2.3.2 byte for byte', async () => {
    const compress = (deflate: PerMessageDeflate, text: string) =>
      new Promise<string>((resolve) => deflate.compress(Buffer.from(text), (_, r) => resolve(r!.toString('hex'))));
    const withTakeover = new PerMessageDeflate(params(false, false), 'server', 1 << 20);
    expect(await compress(withTakeover, 'Hello')).toBe('f248cdc9c90700');
    expect(await compress(withTakeover, 'Hello')).toBe('f200110000'); // the second refers back to the first
    withTakeover.close();
    const fresh = new PerMessageDeflate(params(true, false), 'server', 1 << 20);
    expect(await compress(fresh, 'Hello')).toBe('f248cdc9c90700');
    expect(await compress(fresh, 'Hello')).toBe('f248cdc9c90700');
    fresh.close();
  });

  it('context takeover makes repeated messages smaller; no takeover does not', async () => {
    const sizes = async (noTakeover: boolean) => {
      const deflate = new PerMessageDeflate(params(noTakeover, false), 'server', 1 << 20);
      const out: number[] = [];
      for (let i = 0; i < 3; i++) {
        out.push(await new Promise<number>((resolve) => deflate.compress(Buffer.from(json(7)), (_, r) => resolve(r!.length))));
      }
      deflate.close();
      return out;
    };
    const withTakeover = await sizes(false);
    const without = await sizes(true);
    expect(withTakeover[1]).toBeLessThan(withTakeover[0] / 2);
    expect(without[1]).toBe(without[0]);
  });
});

describe('settings', () => {
  it('refuses out-of-range permessage-deflate settings at construction', () => {
    expect(() => new WebSocketServer({ noServer: true, perMessageDeflate: { serverMaxWindowBits: 8 } })).toThrow(/serverMaxWindowBits/);
    expect(() => new WebSocketServer({ noServer: true, perMessageDeflate: { memLevel: 10 } })).toThrow(/memLevel/);
    expect(() => new WebSocket('ws://127.0.0.1:1', { perMessageDeflate: { threshold: -1 } })).toThrow(/threshold/);
  });
});

describe('closing with compression in flight', () => {
  it('a close() started while inflating still reads the peer\'s close reply', async () => {
    const server = new WSServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
    server.on('connection', (ws) => {
      ws.send(json(1));
      ws.send(json(2));
    });
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await next(server, 'listening');
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      perMessageDeflate: true,
      closeTimeout: 5000,
    });
    client.once('message', () => client.close(1000));
    const [code] = await next<[number]>(client, 'close', 4000);
    expect(code).toBe(1000);
  });

  it('a close() after sends waits for them: every message arrives before the close', async () => {
    const server = new WSServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
    const received: string[] = [];
    const closed = new Promise<number>((resolve) => {
      server.on('connection', (ws) => {
        ws.on('message', (d) => received.push(d.toString()));
        ws.on('close', (code) => resolve(code));
      });
    });
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await next(server, 'listening');
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, { perMessageDeflate: { threshold: 0 } });
    await next(client, 'open');
    const messages = Array.from({ length: 50 }, (_, i) => json(i));
    for (const m of messages) client.send(m);
    client.send('tiny', { compress: false });
    client.close(1000, 'done');
    expect(await closed).toBe(1000);
    expect(received).toEqual([...messages, 'tiny']);
  });
});
