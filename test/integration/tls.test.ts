// wss:// end to end: the server attached to node:https, our client over node:tls.
import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { next } from '../helpers/events.js';

const cert = readFileSync(new URL('../fixtures/cert.pem', import.meta.url));
const key = readFileSync(new URL('../fixtures/key.pem', import.meta.url));

it('speaks WebSocket over TLS, and verifyClient sees the connection as secure', async () => {
  const httpsServer = https.createServer({ cert, key });
  const secureFlags: boolean[] = [];
  const wss = new WebSocketServer({
    server: httpsServer,
    verifyClient: ({ secure }) => {
      secureFlags.push(secure);
      return true;
    },
  });
  wss.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpsServer.address() as AddressInfo;

  const client = new WebSocket(`wss://localhost:${port}/secure`, { tls: { ca: cert } });
  await next(client, 'open');
  client.send('over tls');
  expect((await next<[Buffer]>(client, 'message'))[0].toString()).toBe('over tls');
  client.close(1000);
  expect((await next<[number]>(client, 'close'))[0]).toBe(1000);
  expect(secureFlags).toEqual([true]);

  // An untrusted certificate fails the handshake with an error, then close 1006.
  const untrusting = new WebSocket(`wss://localhost:${port}/`);
  const [error] = await next<[Error]>(untrusting, 'error');
  expect(error.message).toMatch(/certificate/i);
  expect((await next<[number]>(untrusting, 'close'))[0]).toBe(1006);

  await new Promise<void>((resolve) => wss.close(() => resolve()));
  await new Promise<void>((resolve) => httpsServer.close(() => resolve()));
});
