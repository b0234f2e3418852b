// An echo server for benchmarks, in its own process: `node echo.js <impl> [port]`.
// Prints `PORT <n>` once listening. Both implementations echo every message with
// its type and nothing else, so only the WebSocket stacks differ.

const [impl, portArg] = process.argv.slice(2);
const port = Number(portArg ?? 0);

// Each process loads only the implementation it runs.
if (impl === 'pushwire') {
  const { WebSocketServer: PushwireServer } = await import('../../src/index.js');
  const server = new PushwireServer({ port, host: '127.0.0.1' });
  server.on('connection', (ws) => ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary })));
  server.on('listening', () => console.log(`PORT ${(server.address() as { port: number }).port}`));
} else if (impl === 'ws') {
  const { WebSocketServer: WsServer } = await import('ws');
  const server = new WsServer({ port, host: '127.0.0.1', perMessageDeflate: false });
  server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.on('listening', () => console.log(`PORT ${(server.address() as { port: number }).port}`));
} else {
  console.error('usage: echo.js pushwire|ws [port]');
  process.exit(2);
}

// Exit normally on a signal, so `node --cpu-prof` writes its profile.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
