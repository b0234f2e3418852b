// Random bytes at the live push server: interleavings of HTTP heads,
// WebSocket frames and commands, garbage and truncations, across several
// connections at once. Whatever arrives, the process stays up, answers
// /healthz, and an ordinary subscriber still receives what is published.
import * as net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WS from 'ws';
import { buildFrame } from '../helpers/frames.js';
import { startCli, type ServerProcess } from '../helpers/server-process.js';

let server: ServerProcess;
beforeAll(async () => {
  server = await startCli(['serve', '--dev-identity', '--client-publish', '--push-port', '0']);
});
afterAll(async () => {
  expect(await server.stop()).toBe(0);
});

const paths = fc.constantFrom('/ws', '/sse', '/poll', '/send', '/publish', '/scheduled', '/healthz', '/metrics', '/client.js', '/nope', 'http://[');
const query = fc.constantFrom('', '?channel=a', '?uid=alice&channel=b', '?since=1-1', '?session=x', '?timeout=0', '?channel=%ZZ');

const upgradeHead = fc.tuple(paths, query).map(
  ([path, q]) =>
    `GET ${path}${q} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
);
const requestHead = fc
  .tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'OPTIONS', 'PUT', 'BREW'), paths, query, fc.string({ maxLength: 40 }))
  .map(
    ([method, path, q, body]) =>
      `${method} ${path}${q} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
const command = fc.oneof(
  fc.constantFrom(
    '{"type":"subscribe","channel":"a"}',
    '{"type":"publish","channel":"a","data":[1,{"x":null}]}',
    '{"type":"send","data":"hi","ref":1}',
    '{"type":"unsubscribe","channel":"zz"}',
    `{"type":"publish","channel":"a","data":${'['.repeat(3000)}${']'.repeat(3000)}}`,
  ),
  fc.json(),
  fc.string({ maxLength: 30 }),
);
const frame = fc.oneof(
  command.map((text) => buildFrame(0x1, text)),
  fc.record({
    opcode: fc.constantFrom(0, 1, 2, 3, 8, 9, 10, 11),
    payload: fc.uint8Array({ maxLength: 200 }),
    fin: fc.boolean(),
    rsv: fc.nat(7),
    masked: fc.boolean(),
  }).map(({ opcode, payload, fin, rsv, masked }) =>
    buildFrame(opcode, Buffer.from(payload), { fin, rsv, mask: masked ? undefined : null }),
  ),
);
const chunk = fc.oneof(
  { weight: 2, arbitrary: upgradeHead.map((text) => Buffer.from(text)) },
  { weight: 2, arbitrary: requestHead.map((text) => Buffer.from(text)) },
  { weight: 4, arbitrary: frame },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)) },
);
/** A step: some bytes on one of three connections, maybe cut short, maybe then closed. */
const step = fc.record({ connection: fc.nat(2), bytes: chunk, cut: fc.option(fc.nat(50)), end: fc.boolean() });

/** Send the steps, then wait until the server has closed or answered each connection (or 2 s have passed for held ones). */
async function play(steps: Array<{ connection: number; bytes: Buffer; cut: number | null; end: boolean }>): Promise<void> {
  const sockets: net.Socket[] = [];
  const open = (index: number): net.Socket => {
    let socket = sockets[index];
    if (!socket || socket.destroyed || socket.writableEnded) {
      socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.on('data', () => {});
      sockets[index] = socket;
    }
    return socket;
  };
  for (const { connection, bytes, cut, end } of steps) {
    const socket = open(connection);
    socket.write(cut === null ? bytes : bytes.subarray(0, cut));
    if (end) socket.end();
  }
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          // Our side closes after a bounded wait: held polls and SSE streams never end on their own.
          const timer = setTimeout(() => socket.destroy(), 500);
          socket.on('close', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
    ),
  );
}

async function healthy(): Promise<void> {
  expect(server.child.exitCode).toBeNull();
  const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
  expect(health.status).toBe(200);
  const subscriber = new WS(`ws://127.0.0.1:${server.port}/ws?channel=fuzz-check`);
  const ready = new Promise<void>((resolve) => subscriber.on('message', (data) => String(data).includes('"ready"') && resolve()));
  await ready;
  const received = new Promise<string>((resolve) => subscriber.on('message', (data) => String(data).includes('marker') && resolve(String(data))));
  await fetch(`http://127.0.0.1:${server.port}/publish`, { method: 'POST', body: '{"channel":"fuzz-check","data":"marker"}' });
  expect(JSON.parse(await received)).toMatchObject({ data: 'marker' });
  subscriber.close();
}

it('random interleavings of heads, frames, commands and garbage leave the server healthy', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), async (steps) => {
      await play(steps);
      await healthy();
    }),
    { numRuns: 40 },
  );
  expect(server.stderr()).not.toMatch(/Error|error/);
}, 120_000);
