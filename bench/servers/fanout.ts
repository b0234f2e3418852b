// A fan-out server for benchmarks, in its own process:
//   node fanout.js <pushwire|ws|better-sse|socket.io> [port] [redis://…]
// Prints `PORT <n>` once listening. Subscribers connect to /ws?channel=bench
// (WebSocket) or /sse?channel=bench (SSE), or for Socket.IO to
// /socket.io/?EIO=4&transport=websocket&channel=bench; a publisher POSTs
// {"channel":"bench","data":…} to /publish. The peers do what their docs
// show: `ws` loops `client.send()` over its clients with the same JSON
// envelope pushwire sends; better-sse broadcasts on a Channel; Socket.IO 4
// joins each socket to the room its handshake names and emits to the room.
// With a Redis URL, pushwire uses its Redis broker and Socket.IO
// `@socket.io/redis-adapter` (ioredis clients, as its docs show), so several
// of these processes share one fan-out.
import * as http from 'node:http';

const [impl, portArg, redisUrl] = process.argv.slice(2);
const port = Number(portArg ?? 0);

function readJson(request: http.IncomingMessage): Promise<{ channel: string; data: unknown }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString()));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function listening(server: http.Server): void {
  server.listen(port, '127.0.0.1', () => console.log(`PORT ${(server.address() as { port: number }).port}`));
}

const epoch = Date.now();
let seq = 0;

if (impl === 'pushwire') {
  const { createServer } = await import('../../src/index.js');
  const server = createServer({ pingIntervalMs: 0, maxBufferedBytes: 256 * 1024 * 1024, redis: redisUrl });
  const { port: bound } = await server.listen(port);
  console.log(`PORT ${bound}`);
} else if (impl === 'ws') {
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer(async (request, response) => {
    const body = await readJson(request);
    const id = `${epoch}-${++seq}`;
    const message = JSON.stringify({ type: 'message', channel: body.channel, id, data: body.data, time: Date.now() });
    let delivered = 0;
    for (const client of wss.clients) {
      if (client.readyState === 1) {
        client.send(message);
        delivered++;
      }
    }
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id, delivered }));
  });
  server.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)));
  listening(server);
} else if (impl === 'better-sse') {
  const { createChannel, createSession } = await import('better-sse');
  const channel = createChannel();
  const server = http.createServer(async (request, response) => {
    if (request.method === 'GET') {
      channel.register(await createSession(request, response));
      return;
    }
    const body = await readJson(request);
    const id = `${epoch}-${++seq}`;
    channel.broadcast(body.data, 'message', { eventId: id });
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id, delivered: channel.sessionCount }));
  });
  listening(server);
} else if (impl === 'socket.io') {
  const { Server } = await import('socket.io');
  const server = http.createServer(async (request, response) => {
    // Socket.IO answers /socket.io/ itself; everything else is the publish API.
    const body = await readJson(request);
    const id = `${epoch}-${++seq}`;
    io.to(body.channel).emit('message', { channel: body.channel, id, data: body.data, time: Date.now() });
    response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id }));
  });
  const io = new Server(server, { serveClient: false });
  if (redisUrl !== undefined) {
    const { createAdapter } = await import('@socket.io/redis-adapter');
    const { Redis } = await import('ioredis');
    const pubClient = new Redis(redisUrl);
    const subClient = pubClient.duplicate();
    await Promise.all([pubClient, subClient].map((client) => new Promise((resolve) => client.once('ready', resolve))));
    io.adapter(createAdapter(pubClient, subClient));
  }
  io.on('connection', (socket) => {
    const channel = socket.handshake.query.channel;
    if (typeof channel === 'string') void socket.join(channel);
  });
  listening(server);
} else {
  console.error('usage: fanout.js pushwire|ws|better-sse|socket.io [port] [redis://…]');
  process.exit(2);
}

// Exit normally on a signal, so `node --cpu-prof` writes its profile.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
