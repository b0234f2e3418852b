// Load generator for echo benchmarks, in its own process so its cost is the
// same for every server: raw node:net sockets, frames masked once up front.
// `node load-echo.js <port> <connections> <depth> <payloadBytes> <seconds>`
// Each connection keeps `depth` messages in flight; prints one JSON line.
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';

const [port, connections, depth, payloadBytes, seconds] = process.argv.slice(2).map(Number);

function maskedFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.alloc(header + 4 + length);
  frame[0] = 0x82; // FIN + binary
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

const frame = maskedFrame(randomBytes(payloadBytes));
const replySize = (payloadBytes < 126 ? 2 : payloadBytes < 65536 ? 4 : 10) + payloadBytes;
const batch = Buffer.concat(Array.from({ length: depth }, () => frame));
const key = randomBytes(16).toString('base64');
let received = 0;
let measuring = false;

function open(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('error', reject);
    socket.once('connect', () => {
      socket.write(
        `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onHead);
      if (!head.subarray(0, 12).toString().includes('101')) return reject(new Error('handshake refused'));
      let pending = head.length - end - 4; // bytes of replies, counted modulo the reply size
      socket.on('data', (data: Buffer) => {
        pending += data.length;
        const replies = Math.floor(pending / replySize);
        if (replies === 0) return;
        pending -= replies * replySize;
        if (measuring) received += replies;
        // One new message per reply keeps `depth` in flight.
        for (let left = replies; left > 0; left -= depth) {
          socket.write(left >= depth ? batch : batch.subarray(0, left * frame.length));
        }
      });
      resolve(socket);
    };
    socket.on('data', onHead);
  });
}

const sockets = await Promise.all(Array.from({ length: connections }, open));
for (const socket of sockets) socket.write(batch);
await new Promise((resolve) => setTimeout(resolve, 500)); // warm-up
measuring = true;
const started = process.hrtime.bigint();
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
measuring = false;
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ messagesPerSecond: received / elapsed, megabytesPerSecond: (received * payloadBytes) / elapsed / 1e6 }));
for (const socket of sockets) socket.destroy();
process.exit(0);
