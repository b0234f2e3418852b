// Load generator for fan-out benchmarks, in its own process so its cost is
// the same for every server:
//   node load-fanout.js <port[,port…]> <ws|sse|poll|socketio> <subscribers> <seconds> <window> [pid,pid…]
// Opens <subscribers> raw-socket subscribers (WebSocket frames or a chunked
// text/event-stream, parsed by hand; or long-poll loops over node:http
// keep-alive), then publishes over HTTP keep-alive,
// keeping at most <window> messages not yet received by every subscriber.
// With several ports (several server processes sharing one fan-out, e.g.
// through Redis), subscribers are dealt round-robin among them and every
// publish goes to the first.
//
// `socketio` subscribers are the same raw WebSocket subscribers speaking
// Engine.IO 4 / Socket.IO 5 by hand, so a Socket.IO server costs the load
// generator what a pushwire server does: GET /socket.io/?EIO=4&transport=
// websocket, then the server's open packet (`0{…}`), one masked text frame
// `40` (connect to the default namespace), and its answer `40{…}`; after
// that every event is a text frame `42["message",{…}]` read by the same
// frame reader and the same search for `"s":` and `"t":` as pushwire's
// `{"type":"message",…}` (no JSON parse in either case). A ping (`2`, every
// 25 s by default, so not within a round) gets its pong (`3`).
// Each message carries its send time; every delivery's latency is recorded.
// Prints one JSON line: deliveries/s, messages/s, latency p50/p99 (ms), and
// this process's own CPU use while measuring (% of one core: near 100, the
// load generator is what bounds the figure). Given the pids of the server's
// processes (and Redis's), also the CPU time they used while measuring
// (Linux /proc), per delivery: a cost that other work on the machine
// hardly moves, where deliveries/s swings with it.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';

const [portArg, transport, subscribersArg, secondsArg, windowArg] = process.argv.slice(2);
const ports = portArg.split(',').map(Number);
/** Where the publisher (and long-poll subscribers) go. */
const port = ports[0];
const subscribers = Number(subscribersArg);
const seconds = Number(secondsArg);
const window = Number(windowArg);
const serverPids = (process.argv[7] ?? '').split(',').filter(Boolean).map(Number);
const WARMUP_MS = 1000;
const PAD = 'x'.repeat(64);

// Latency histogram: 10 µs buckets up to 10 s.
const BUCKET_MS = 0.01;
const histogram = new Uint32Array(1_000_000);
let measuring = false;
let deliveries = 0;
let completedMessages = 0;

/** Per message: deliveries still expected. */
const pending = new Map<number, number>();
let wake: (() => void) | null = null;

/** Every delivery in `text` from `from` to `to` holds `"s":<seq>,"t":<ms>`; find them without parsing JSON. */
function record(text: string, from: number, to: number): void {
  for (let s = text.indexOf('"s":', from); s !== -1 && s < to; s = text.indexOf('"s":', s + 4)) recordOne(text, s);
}

function recordOne(text: string, s: number): void {
  const seq = parseInt(text.slice(s + 4, s + 20), 10);
  const t = text.indexOf('"t":', s);
  const sent = parseFloat(text.slice(t + 4, t + 30));
  const left = (pending.get(seq) ?? 0) - 1;
  if (left <= 0) {
    pending.delete(seq);
    if (measuring) completedMessages++;
    wake?.();
  } else pending.set(seq, left);
  if (!measuring) return;
  deliveries++;
  histogram[Math.min(histogram.length - 1, Math.round((performance.now() - sent) / BUCKET_MS))]++;
}

/** WebSocket frames from a server (unmasked); payloads are small text frames, each handed to `onText`. */
function wsReader(onText: (text: string) => void): (chunk: Buffer) => void {
  let buffered: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    let at = 0;
    for (;;) {
      if (buffered.length - at < 2) break;
      let length = buffered[at + 1] & 0x7f;
      let header = 2;
      if (length === 126) {
        if (buffered.length - at < 4) break;
        length = buffered.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (buffered.length - at < 10) break;
        length = Number(buffered.readBigUInt64BE(at + 2));
        header = 10;
      }
      if (buffered.length - at < header + length) break;
      onText(buffered.toString('latin1', at + header, at + header + length));
      at += header + length;
    }
    buffered = buffered.subarray(at);
  };
}

/** A chunked (RFC 9112 §7.1) text/event-stream: de-chunk, split events on blank lines. */
function sseReader(): (chunk: Buffer) => void {
  let raw = '';
  let events = '';
  return (chunk) => {
    raw += chunk.toString('latin1');
    for (;;) {
      const lineEnd = raw.indexOf('\r\n');
      if (lineEnd === -1) break;
      const size = parseInt(raw.slice(0, lineEnd), 16);
      if (raw.length < lineEnd + 2 + size + 2) break;
      events += raw.slice(lineEnd + 2, lineEnd + 2 + size);
      raw = raw.slice(lineEnd + 2 + size + 2);
    }
    let from = 0;
    for (let end = events.indexOf('\n\n'); end !== -1; end = events.indexOf('\n\n', from)) {
      record(events, from, end);
      from = end + 2;
    }
    events = events.slice(from);
  };
}

const pollAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

function get(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: pollAgent }, (response) => {
        let body = '';
        response.setEncoding('latin1');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** A long-poll subscriber: polls again with the returned cursor as soon as an answer comes. */
async function pollSubscriber(): Promise<void> {
  const first = JSON.parse(await get('/poll?channel=bench&timeout=0')) as { cursor: string; session: string };
  void (async () => {
    let { cursor } = first;
    for (;;) {
      const body = await get(`/poll?channel=bench&cursor=${cursor}&session=${first.session}&timeout=25`);
      record(body, 0, body.length);
      cursor = /"cursor":"([^"]+)"/.exec(body)![1];
    }
  })();
}

/** A client's text frame (RFC 6455 §5.3: masked), for the few Socket.IO control packets. */
function maskedText(text: string): Buffer {
  const payload = Buffer.from(text);
  const frame = Buffer.alloc(6 + payload.length);
  frame[0] = 0x81;
  frame[1] = 0x80 | payload.length; // control packets only: always < 126 bytes
  randomBytes(4).copy(frame, 2);
  for (let i = 0; i < payload.length; i++) frame[6 + i] = payload[i] ^ frame[2 + (i & 3)];
  return frame;
}

const recordFrame = (text: string): void => record(text, 0, text.length);

/** Engine.IO / Socket.IO packets of one subscriber: calls `connected` once the namespace is joined. */
function socketIoFrames(socket: net.Socket, connected: () => void): (text: string) => void {
  let open = false;
  return (text) => {
    if (text.charCodeAt(0) === 0x34 /* 4: message */) {
      if (text.charCodeAt(1) === 0x32 /* 2: event */) recordFrame(text);
      else if (text.startsWith('40')) connected();
    } else if (text === '2') socket.write(maskedText('3'));
    else if (!open && text.charCodeAt(0) === 0x30 /* 0: open */) {
      open = true;
      socket.write(maskedText('40'));
    }
  };
}

let dealt = 0;

function subscribe(): Promise<void> {
  if (transport === 'poll') return pollSubscriber();
  return new Promise((resolve, reject) => {
    const socket = net.connect(ports[dealt++ % ports.length], '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('error', reject);
    const upgrade = (path: string) =>
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
    const request =
      transport === 'ws'
        ? upgrade('/ws?channel=bench')
        : transport === 'socketio'
          ? upgrade('/socket.io/?EIO=4&transport=websocket&channel=bench')
          : 'GET /sse?channel=bench HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n';
    socket.write(request);
    const read =
      transport === 'ws' ? wsReader(recordFrame) : transport === 'socketio' ? wsReader(socketIoFrames(socket, resolve)) : sseReader();
    let head = '';
    const onHead = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      if (!/^HTTP\/1.1 (101|200)/.test(head)) {
        reject(new Error(`subscriber refused: ${head.split('\r\n')[0]}`));
        return;
      }
      socket.off('data', onHead);
      socket.on('data', read);
      const rest = Buffer.from(head.slice(end + 4), 'latin1');
      if (rest.length > 0) read(rest);
      if (transport !== 'socketio') resolve(); // Socket.IO: once the namespace answers
    };
    socket.on('data', onHead);
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: window });
let nextSeq = 0;

function publishOne(): void {
  const seq = nextSeq++;
  pending.set(seq, subscribers);
  const body = `{"channel":"bench","data":{"s":${seq},"t":${performance.now()},"pad":"${PAD}"}}`;
  const request = http.request({ host: '127.0.0.1', port, path: '/publish', method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } });
  request.on('response', (response) => response.resume());
  request.on('error', (error) => {
    console.error(`publish failed: ${error.message}`);
    process.exit(1);
  });
  request.end(body);
}

for (let opened = 0; opened < subscribers; opened += 200) {
  await Promise.all(Array.from({ length: Math.min(200, subscribers - opened) }, subscribe));
}
// Let the servers finish registering subscribers (better-sse registers after its headers).
await new Promise((resolve) => setTimeout(resolve, 300));

const started = performance.now();
let measureStart = 0;
let cpuStart = process.cpuUsage();
let serverStart = 0;
for (;;) {
  const now = performance.now();
  if (!measuring && now - started >= WARMUP_MS) {
    measuring = true;
    measureStart = now;
    cpuStart = process.cpuUsage();
    serverStart = serverTicks();
  }
  if (measuring && now - measureStart >= seconds * 1000) break;
  while (pending.size < window) publishOne();
  await new Promise<void>((resolve) => {
    wake = resolve;
    setTimeout(resolve, 50); // also look at the clock now and then
  });
  wake = null;
}
measuring = false;
const elapsed = (performance.now() - measureStart) / 1000;
const cpu = process.cpuUsage(cpuStart);
const serverCpu = serverTicks() - serverStart;
if (completedMessages === 0) {
  // E.g. a node that never got the message from the others: no figure, an error.
  console.error(`no message reached all ${subscribers} subscribers in ${seconds} s (${deliveries} deliveries)`);
  process.exit(1);
}

/** CPU time (user + system) of `serverPids` so far, in clock ticks: USER_HZ, 100 per second. */
function serverTicks(): number {
  let ticks = 0;
  for (const pid of serverPids) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the parenthesised command name, from field 3 (state): utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
}

function percentile(p: number): number {
  let total = 0;
  for (const n of histogram) total += n;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i];
    if (seen >= total * p) return i * BUCKET_MS;
  }
  return NaN;
}

console.log(
  JSON.stringify({
    subscribers,
    deliveriesPerSecond: deliveries / elapsed,
    messagesPerSecond: completedMessages / elapsed,
    p50Ms: percentile(0.5),
    p99Ms: percentile(0.99),
    loadCpuPercent: (cpu.user + cpu.system) / 1e4 / elapsed,
    ...(serverPids.length > 0 && { serverCpuPercent: serverCpu / elapsed, serverCpuUsPerDelivery: (serverCpu * 10_000) / deliveries }),
  }),
);
process.exit(0);
