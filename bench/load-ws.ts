// Load generator for WebSocket benchmarks, in its own process so its cost is
// the same for every server: raw node:net sockets, frames masked once up
// front, replies counted from frame headers (payloads are never inflated).
//   node load-ws.js <port> <mode> <connections> <depth> <seconds> <deflate 0|1> <payload json|bytes:N>
// mode: throughput — each connection keeps <depth> messages in flight for <seconds>;
//       wire       — each connection sends <depth> distinct messages once; reports bytes;
//       idle       — opens <connections>, prints READY, waits for a line on stdin;
//       handshakes — <connections> workers each open, complete the opening
//                    handshake and drop a connection, again and again, for <seconds>.
// Prints one JSON line.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { createInterface } from 'node:readline';

const [portArg, mode, connectionsArg, depthArg, secondsArg, deflateArg, payloadArg] = process.argv.slice(2);
const port = Number(portArg);
const connections = Number(connectionsArg);
const depth = Number(depthArg);
const seconds = Number(secondsArg);
const offerDeflate = deflateArg === '1';

function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.alloc(header + 4 + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  mask.copy(frame, header);
  for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i] ^ mask[i & 3];
  return frame;
}

/** A dashboard-style JSON update: the workload push servers mostly carry. */
function jsonMessage(i: number): Buffer {
  const symbols = ['ACME', 'GLOBEX', 'INITECH', 'UMBRELLA', 'HOOLI', 'STARK'];
  return Buffer.from(
    JSON.stringify({
      type: 'message',
      channel: `prices.${symbols[i % symbols.length]}`,
      id: `${1700000000000 + i}-0`,
      event: 'tick',
      data: {
        symbol: symbols[i % symbols.length],
        bid: Number((100 + ((i * 37) % 1000) / 100).toFixed(2)),
        ask: Number((100.05 + ((i * 37) % 1000) / 100).toFixed(2)),
        volume: (i * 7919) % 100000,
        depth: Array.from({ length: 12 }, (_, k) => ({ price: 100 + k / 10, size: (i * (k + 3)) % 500 })),
        updatedAt: new Date(1700000000000 + i * 1000).toISOString(),
      },
    }),
  );
}

const payloads =
  payloadArg?.startsWith('bytes:')
    ? [randomBytes(Number(payloadArg.slice(6)))]
    : Array.from({ length: 64 }, (_, i) => jsonMessage(i));
const opcode = payloadArg?.startsWith('bytes:') ? 0x2 : 0x1;
const frames = payloads.map((p) => maskedFrame(opcode, p));
const key = randomBytes(16).toString('base64');

/** Counts complete frames in a byte stream without looking at payloads. */
class FrameCounter {
  frames = 0;
  bytes = 0;
  private skip = 0; // payload bytes of the current frame still to pass
  private header = Buffer.alloc(0);
  push(chunk: Buffer): number {
    this.bytes += chunk.length;
    const before = this.frames;
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        if (this.skip === 0) this.frames++;
        continue;
      }
      const need = Math.min(14, chunk.length - at);
      const head = this.header.length ? Buffer.concat([this.header, chunk.subarray(at, at + need)]) : chunk.subarray(at, at + need);
      if (head.length < 2) {
        this.header = Buffer.from(head);
        return this.frames - before;
      }
      const len7 = head[1] & 0x7f;
      const headerLength = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
      if (head.length < headerLength) {
        this.header = Buffer.from(head);
        return this.frames - before;
      }
      const length = len7 < 126 ? len7 : len7 === 126 ? head.readUInt16BE(2) : Number(head.readBigUInt64BE(2));
      at += headerLength - this.header.length;
      this.header = Buffer.alloc(0);
      if (length === 0) this.frames++;
      else this.skip = length;
    }
    return this.frames - before;
  }
}

function open(): Promise<{ socket: net.Socket; counter: FrameCounter; extensions: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('error', reject);
    socket.once('connect', () => {
      socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (offerDeflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' : '') +
          '\r\n',
      );
    });
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onHead);
      const text = head.subarray(0, end).toString();
      if (!text.startsWith('HTTP/1.1 101')) return reject(new Error('handshake refused'));
      const extensions = /sec-websocket-extensions: *(.*)/i.exec(text)?.[1] ?? '';
      const counter = new FrameCounter();
      counter.push(head.subarray(end + 4));
      counter.bytes = 0;
      resolve({ socket, counter, extensions });
    };
    socket.on('data', onHead);
  });
}

/** Half a second of warm-up, then `seconds` of counting (switched by `count`); resolves with the seconds counted. */
async function measure(count: (on: boolean) => void): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 500));
  count(true);
  const started = process.hrtime.bigint();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  count(false);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

if (mode === 'handshakes') {
  let done = 0;
  let measuring = false;
  let running = true;
  const worker = async (): Promise<void> => {
    while (running) {
      const { socket } = await open();
      socket.destroy();
      if (measuring) done++;
    }
  };
  for (let i = 0; i < connections; i++) void worker();
  const elapsed = await measure((on) => (measuring = on));
  running = false;
  console.log(JSON.stringify({ handshakesPerSecond: done / elapsed }));
  process.exit(0);
}

// Open in batches: fast, without a SYN flood.
const conns: Awaited<ReturnType<typeof open>>[] = [];
while (conns.length < connections) {
  const batch = Math.min(100, connections - conns.length);
  conns.push(...(await Promise.all(Array.from({ length: batch }, open))));
}
const extensions = conns[0].extensions;

if (mode === 'idle') {
  console.log(JSON.stringify({ ready: true, extensions }));
  createInterface({ input: process.stdin }).once('line', () => process.exit(0));
} else if (mode === 'wire') {
  // Every connection sends `depth` distinct messages; count the bytes that come back.
  let payloadBytes = 0;
  await Promise.all(
    conns.map(
      ({ socket, counter }) =>
        new Promise<void>((resolve) => {
          socket.on('data', (data: Buffer) => {
            counter.push(data);
            if (counter.frames >= depth) resolve();
          });
          for (let i = 0; i < depth; i++) {
            socket.write(frames[i % frames.length]);
            payloadBytes += payloads[i % payloads.length].length;
          }
        }),
    ),
  );
  const wireBytes = conns.reduce((sum, c) => sum + c.counter.bytes, 0);
  console.log(JSON.stringify({ extensions, payloadBytes, wireBytes }));
  process.exit(0);
} else {
  let measuring = false;
  let received = 0;
  let next = 0;
  for (const { socket, counter } of conns) {
    socket.on('data', (data: Buffer) => {
      const replies = counter.push(data);
      if (measuring) received += replies;
      // One new message per reply keeps `depth` in flight; one writev for all of them.
      socket.cork();
      for (let i = 0; i < replies; i++) socket.write(frames[next++ % frames.length]);
      socket.uncork();
    });
    for (let i = 0; i < depth; i++) socket.write(frames[next++ % frames.length]);
  }
  const elapsed = await measure((on) => (measuring = on));
  console.log(JSON.stringify({ extensions, messagesPerSecond: received / elapsed }));
  process.exit(0);
}
