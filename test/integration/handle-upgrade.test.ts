// WebSocketServer.handleUpgrade as node:http users call it (README, mode c):
// the 'upgrade' event's socket is typed stream.Duplex and passes as it is, and
// the request stays node:http's IncomingMessage up to `connection` and onOpen.
import { once } from 'node:events';
import * as http from 'node:http';
import type * as net from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import WS from 'ws';
import { WebSocketServer, type WebSocket } from '../../src/index.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** Two ends of an in-memory pipe: a Duplex that is not a TCP socket. */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [0, 1].map(
    (i) =>
      new Duplex({
        read() {},
        write(chunk, _encoding, callback) {
          ends[1 - i].push(chunk);
          callback();
        },
        final(callback) {
          ends[1 - i].push(null);
          callback();
        },
      }),
  );
  return [ends[0], ends[1]];
}

describe('handleUpgrade', () => {
  it("hands node:http's IncomingMessage, untouched, to the callback, connection and onOpen", async () => {
    const requests: http.IncomingMessage[] = [];
    const wss = new WebSocketServer<http.IncomingMessage>(
      { noServer: true },
      { onOpen: (ws, request) => void requests.push(request) },
    );
    wss.on('connection', (ws, request) => {
      requests.push(request);
      ws.send(`hello ${request.socket.remoteAddress}`); // an IncomingMessage-only field, typed
    });
    const httpServer = http.createServer();
    httpServer.on('upgrade', (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws, upgraded) => void requests.push(upgraded));
    });
    httpServer.listen(0, '127.0.0.1');
    await once(httpServer, 'listening');
    cleanup.push(() => new Promise((resolve) => httpServer.close(resolve)));
    cleanup.push(() => new Promise((resolve) => wss.close(resolve)));

    const client = new WS(`ws://127.0.0.1:${(httpServer.address() as net.AddressInfo).port}/`);
    const [data] = await once(client, 'message');
    expect(String(data)).toBe('hello 127.0.0.1');
    expect(requests).toHaveLength(3);
    for (const request of requests) expect(request).toBeInstanceOf(http.IncomingMessage);
    client.terminate();
  });

  it('speaks WebSocket over a Duplex that is not a TCP socket', { timeout: 5000 }, async () => {
    const [serverEnd, clientEnd] = duplexPair();
    const wss = new WebSocketServer({ noServer: true });
    cleanup.push(() => new Promise((resolve) => wss.close(resolve)));
    const headers = {
      host: 'pipe',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
    };
    let opened: WebSocket | undefined;
    wss.handleUpgrade({ method: 'GET', url: '/', httpVersion: '1.1', headers }, serverEnd, Buffer.alloc(0), (ws) => {
      opened = ws;
      ws.send('over a pipe');
    });

    let received = '';
    for await (const chunk of clientEnd) {
      received += (chunk as Buffer).toString('latin1');
      if (received.endsWith('over a pipe')) break;
    }
    expect(received).toMatch(/^HTTP\/1\.1 101 /);
    // RFC 6455 §1.3's sample key, and one unmasked text frame of 11 bytes.
    expect(received).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    expect(received.endsWith('\r\n\r\n\x81\x0bover a pipe')).toBe(true);
    opened!.terminate(); // the pipe's far end never answers a closing handshake
  });
});
