// An echo server for benchmarks, in its own process:
//   node echo.js <pushwire|ws> [port] [deflate]
// Prints `PORT <n>` once listening. Both implementations echo every message with
// its type and nothing else, so only the WebSocket stacks differ. With
// `deflate`, both accept permessage-deflate with their defaults, which agree:
// context takeover, 15-bit windows, zlib level 6 / memLevel 8, and (with
// context takeover) every message but the tiniest compressed.
// A line `rss` on stdin is answered with `RSS <bytes>` after a full GC
// (run with --expose-gc).
import { createInterface } from 'node:readline';

const [impl, portArg, mode] = process.argv.slice(2);
const port = Number(portArg ?? 0);
const deflate = mode === 'deflate';

// Each process loads only the implementation it runs.
if (impl === 'pushwire') {
  const { WebSocketServer: PushwireServer } = await import('../../src/index.js');
  const server = new PushwireServer({ port, host: '127.0.0.1', perMessageDeflate: deflate });
  server.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  server.on('listening', () => console.log(`PORT ${(server.address() as { port: number }).port}`));
} else if (impl === 'ws') {
  const { WebSocketServer: WsServer } = await import('ws');
  const server = new WsServer({ port, host: '127.0.0.1', perMessageDeflate: deflate });
  server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.on('listening', () => console.log(`PORT ${(server.address() as { port: number }).port}`));
} else {
  console.error('usage: echo.js pushwire|ws [port] [deflate]');
  process.exit(2);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'rss') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  console.log(`RSS ${process.memoryUsage().rss}`);
});

// Exit normally on a signal, so `node --cpu-prof` writes its profile.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
