// `npm run bench [-- --quick] [-- --only <text>]`: pushwire against its peers
// — ws 8 in pure JS, ws 8 with its native addons (bufferutil +
// utf-8-validate), better-sse, Socket.IO 4 with @socket.io/redis-adapter —
// and, for scale-out, pushwire on Redis against pushwire in memory and 2
// workers against 1; each server in its own process, driven by a
// separate load generator whose cost is the same for every target
// (bench/load-ws.ts, bench/load-fanout.ts; autocannon for plain HTTP).
// `--only redis` runs the Redis rows (a fresh redis-server per measurement,
// bench/redis-server.ts); `--only` matches workload names ignoring case.
// Rounds are interleaved (A B C A B C …); medians and the ratio pushwire/peer
// per row are printed, written to bench/results/bench-<mode>.json and, for a
// full run, summarised in bench/RESULTS.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { findRedisServer, startRedis, type BenchRedis } from './redis-server.js';

const quick = process.argv.includes('--quick');
const onlyIndex = process.argv.indexOf('--only');
/** Run only the workloads whose name contains this text. */
const only = onlyIndex === -1 ? '' : (process.argv[onlyIndex + 1] ?? '').toLowerCase();
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const rounds = 3 + (quick ? 0 : 2);
const seconds = quick ? 1 : 3;

/**
 * The targets. For the Redis rows the pushwire column is pushwire on Redis
 * (one node, 2 workers, or 2 nodes) and the peer is `memory` (pushwire's
 * in-memory broker), `1-worker` (serve --redis --workers 1) or `socket.io`.
 */
type Impl = 'pushwire' | 'ws' | 'ws-native' | 'better-sse' | 'memory' | '1-worker' | 'socket.io';
const WS_PEERS: Impl[] = ['ws', 'ws-native'];
/** Peer columns of RESULTS.md, in order, with their headings. */
const PEER_COLUMNS: [Impl, string][] = [
  ['ws', 'ws'],
  ['ws-native', 'ws-native'],
  ['better-sse', 'better-sse'],
  ['memory', 'memory broker'],
  ['1-worker', '1 worker'],
  ['socket.io', 'Socket.IO + redis-adapter'],
];

/** ws reads these to skip its native addons: the pure-JS target. */
function envFor(impl: Impl): NodeJS.ProcessEnv {
  return impl === 'ws' ? { ...process.env, WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' } : process.env;
}

interface Server {
  child: ChildProcess;
  port: number;
  /** Ask the server for its RSS after a full GC. */
  rss(): Promise<number>;
}

/** Start `servers/<script>` for `impl`; it prints `PORT n` and answers `rss` on stdin. */
function startServer(script: string, impl: Impl, extra: string[] = []): Promise<Server> {
  const name = impl === 'ws-native' ? 'ws' : impl === 'memory' ? 'pushwire' : impl;
  return startProcess(['--expose-gc', here(`./servers/${script}`), name, '0', ...extra], envFor(impl), /^PORT (\d+)/);
}

/** Start node with `args`; its port is the first stdout line matching `portLine` (other lines before it are skipped). */
async function startProcess(args: string[], env: NodeJS.ProcessEnv, portLine: RegExp): Promise<Server> {
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'], env });
  const lines: ((line: string) => void)[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      lines.shift()?.(line);
    }
  });
  const nextLine = () => new Promise<string>((resolve) => lines.push(resolve));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before it listened`))));
  exited.catch(() => {}); // only awaited until the port is known
  let found: RegExpExecArray | null = null;
  while (found === null) found = portLine.exec(await Promise.race([nextLine(), exited]));
  const port = Number(found[1]);
  return {
    child,
    port,
    async rss() {
      const line = nextLine();
      child.stdin!.write('rss\n');
      return Number(/RSS (\d+)/.exec(await line)![1]);
    },
  };
}

async function withServer<T>(script: string, impl: Impl, run: (server: Server) => Promise<T>, extra: string[] = []): Promise<T> {
  return withStarted(() => startServer(script, impl, extra), run);
}

async function withStarted<T>(start: () => Promise<Server>, run: (server: Server) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await run(server);
  } finally {
    await stop(server);
  }
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill();
  await exited;
}

/** Run a load generator; for `idle`, `whileOpen` runs once all connections are up. */
function load(
  script: string,
  port: number | string,
  args: (string | number)[],
  whileOpen?: () => Promise<void>,
): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [here(script), String(port), ...args.map(String)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', async (chunk) => {
      out += chunk;
      if (whileOpen && out.includes('"ready"')) {
        const result = JSON.parse(out);
        await whileOpen();
        child.stdin!.write('done\n');
        resolve(result);
      }
    });
    child.once('exit', (code) => {
      if (whileOpen) return;
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`${script} exited ${code}`));
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Metric {
  key: string;
  unit: string;
  /** For latencies and bytes: a ratio below 1 is the win. */
  lowerIsBetter?: boolean;
}

interface Row {
  workload: string;
  unit: string;
  lowerIsBetter: boolean;
  /** Median per target. */
  values: Partial<Record<Impl, number>>;
  /** pushwire / peer, per peer. */
  ratios: Partial<Record<Impl, number>>;
  /** Every round's figure per target, in order: how noisy the median is. */
  samples?: Partial<Record<Impl, number[]>>;
}
const rows: Row[] = [];

const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

/**
 * Measure one workload on pushwire and its peers, rounds interleaved, and
 * record the median of each metric with the ratio pushwire/peer.
 */
async function compare(
  workload: string,
  peers: Impl[],
  metrics: Metric[],
  measure: (impl: Impl) => Promise<Record<string, number>>,
): Promise<Map<Impl, Record<string, number>[]> | undefined> {
  if (!selected(workload)) return undefined;
  const impls: Impl[] = ['pushwire', ...peers];
  const samples = new Map<Impl, Record<string, number>[]>(impls.map((impl) => [impl, []]));
  for (let round = 0; round < rounds; round++) {
    for (const impl of impls) samples.get(impl)!.push(await measure(impl));
  }
  for (const { key, unit, lowerIsBetter = false } of metrics) {
    const row: Row = { workload, unit, lowerIsBetter, values: {}, ratios: {}, samples: {} };
    for (const impl of impls) {
      row.samples![impl] = samples.get(impl)!.map((s) => s[key]);
      row.values[impl] = median(row.samples![impl]!);
    }
    for (const peer of peers) row.ratios[peer] = row.values.pushwire! / row.values[peer]!;
    rows.push(row);
    const peerText = peers.map((peer) => `${peer} ${fmt(row.values[peer]!)} (${row.ratios[peer]!.toFixed(2)}×)`).join('  ');
    console.log(`${workload.padEnd(58)} ${unit.padEnd(13)} pushwire ${fmt(row.values.pushwire!).padStart(11)}  ${peerText}${lowerIsBetter ? '  [lower is better]' : ''}`);
  }
  return samples;
}

function selected(workload: string): boolean {
  return workload.toLowerCase().includes(only);
}

/** A workload measured as one number. */
async function compareOne(workload: string, unit: string, peers: Impl[], measure: (impl: Impl) => Promise<number>): Promise<void> {
  await compare(workload, peers, [{ key: 'value', unit, lowerIsBetter: unit === 'bytes' }], async (impl) => ({
    value: await measure(impl),
  }));
}

// ---- echo ----

function echo(impl: Impl, connections: number, depth: number, payload: string, deflate = false): Promise<Record<string, number>> {
  return withServer(
    'echo.js',
    impl,
    async (server) => {
      const result = await load('./load-ws.js', server.port, ['throughput', connections, depth, seconds, deflate ? 1 : 0, payload]);
      if (deflate && !String(result.extensions).includes('permessage-deflate')) throw new Error(`${impl} did not negotiate deflate`);
      return result;
    },
    deflate ? ['deflate'] : [],
  );
}

await compareOne('echo 64 B, 64 conns, 16 in flight', 'msg/s', WS_PEERS, async (impl) =>
  (await echo(impl, 64, 16, 'bytes:64')).messagesPerSecond,
);
await compareOne('echo 64 KiB binary, 8 conns, 2 in flight', 'MiB/s', WS_PEERS, async (impl) =>
  (await echo(impl, 8, 2, 'bytes:65536')).messagesPerSecond / 16,
);
await compareOne('echo 1 MiB binary, 4 conns, 1 in flight', 'MiB/s', WS_PEERS, async (impl) =>
  (await echo(impl, 4, 1, 'bytes:1048576')).messagesPerSecond,
);
await compareOne('JSON echo ~0.5 KiB, 32 conns, 8 in flight', 'msg/s', WS_PEERS, async (impl) =>
  (await echo(impl, 32, 8, 'json')).messagesPerSecond,
);
await compareOne('JSON echo ~0.5 KiB, 32 conns, 8 in flight, permessage-deflate', 'msg/s', ['ws-native'], async (impl) =>
  (await echo(impl, 32, 8, 'json', true)).messagesPerSecond,
);
await compareOne('JSON wire bytes per message, deflate (server → client)', 'bytes', ['ws-native'], (impl) =>
  withServer(
    'echo.js',
    impl,
    async (server) => {
      const result = await load('./load-ws.js', server.port, ['wire', 8, 500, 0, 1, 'json']);
      return result.wireBytes / (8 * 500);
    },
    ['deflate'],
  ),
);

// ---- connections ----

await compareOne('handshakes, 32 concurrent', 'handshakes/s', WS_PEERS, async (impl) =>
  withServer('echo.js', impl, async (server) => (await load('./load-ws.js', server.port, ['handshakes', 32, 0, seconds, 0, 'json'])).handshakesPerSecond),
);

async function idleRss(impl: Impl, connections: number, deflate: boolean): Promise<number> {
  return withServer(
    'echo.js',
    impl,
    async (server) => {
      const before = await server.rss();
      let after = 0;
      await load('./load-ws.js', server.port, ['idle', connections, 0, 0, deflate ? 1 : 0, 'json'], async () => {
        after = await server.rss();
      });
      return (after - before) / connections;
    },
    deflate ? ['deflate'] : [],
  );
}
const idle = 10_000;
await compareOne(`RSS per idle connection (${idle.toLocaleString('en-US')} conns)`, 'bytes', ['ws'], (impl) => idleRss(impl, idle, false));
await compareOne(`RSS per idle connection, deflate negotiated (${idle.toLocaleString('en-US')} conns)`, 'bytes', ['ws'], (impl) =>
  idleRss(impl, idle, true),
);

// ---- fan-out through the push server ----
// One publish (HTTP POST /publish, the same from the same publisher for every
// target) reaching every subscriber; latency from a send time in the payload.

const fanoutMetrics: Metric[] = [
  { key: 'deliveriesPerSecond', unit: 'deliveries/s' },
  { key: 'p50Ms', unit: 'p50 ms', lowerIsBetter: true },
  { key: 'p99Ms', unit: 'p99 ms', lowerIsBetter: true },
];

function fanout(impl: Impl, transport: 'ws' | 'sse' | 'poll', subscribers: number, window: number): Promise<Record<string, number>> {
  return withServer('fanout.js', impl, (server) => load('./load-fanout.js', server.port, [transport, subscribers, seconds, window]));
}

for (const subscribers of [1000, 10_000]) {
  const n = subscribers.toLocaleString('en-US');
  await compare(`fan-out WebSocket, ${n} subscribers, 16 publishes in flight`, WS_PEERS, fanoutMetrics, (impl) =>
    fanout(impl, 'ws', subscribers, 16),
  );
}
await compare('fan-out WebSocket, 1,000 subscribers, 1 publish in flight', ['ws-native'], fanoutMetrics, (impl) =>
  fanout(impl, 'ws', 1000, 1),
);
await compare('fan-out SSE, 1,000 subscribers, 16 publishes in flight', ['better-sse'], fanoutMetrics, (impl) =>
  fanout(impl, 'sse', 1000, 16),
);
await compare('fan-out long-poll, 1,000 subscribers, 16 publishes in flight', [], fanoutMetrics, (impl) =>
  fanout(impl, 'poll', 1000, 16),
);

// ---- scale-out on Redis ----
// The same fan-out load (1,000 raw WebSocket subscribers, the same publisher)
// with every message going through Redis. Each measurement gets a fresh
// redis-server (no persistence) on this machine: it shares the 2 cores with
// the servers and the load generator, as the workers do.

const REDIS_ROWS = {
  broker16: 'Redis broker vs memory broker: fan-out WebSocket, 1,000 subscribers, 16 publishes in flight',
  broker1: 'Redis broker vs memory broker: fan-out WebSocket, 1,000 subscribers, 1 publish in flight',
  workers: 'Redis, serve --workers 2 vs 1: fan-out WebSocket, 1,000 subscribers, 16 publishes in flight',
  nodes: 'Redis, 2 nodes, publish on one: fan-out WebSocket, 1,000 subscribers (500 per node), 16 publishes in flight',
};
const redisExecutable = findRedisServer();
if (Object.values(REDIS_ROWS).some(selected) && redisExecutable === undefined) {
  console.error('!! Redis rows SKIPPED: no redis-server (apt-get install redis-server, or set PUSHWIRE_REDIS_SERVER)');
}

/** Each measurement's own redis-server, stopped after it. */
async function withRedis<T>(run: (redis: BenchRedis) => Promise<T>): Promise<T> {
  const redis = await startRedis(redisExecutable!);
  try {
    return await run(redis);
  } finally {
    await redis.stop();
  }
}

/** A server's process and its children (the workers of `serve --workers N`), for their CPU time (Linux /proc). */
function pidsOf(server: Server): number[] {
  const pid = server.child.pid!;
  const tasks = `/proc/${pid}/task`;
  const childrenOf = (task: string): number[] => {
    try {
      return readFileSync(`${tasks}/${task}/children`, 'latin1').split(' ').filter(Boolean).map(Number);
    } catch {
      return []; // a thread that ended meanwhile
    }
  };
  return [pid, ...readdirSync(tasks).flatMap(childrenOf)];
}

/**
 * The fan-out load against servers (and Redis, when there is one), counting
 * the CPU time all of them use per delivery, besides deliveries/s and latency.
 */
function fanoutOn(servers: Server[], redis: BenchRedis | null, transport: 'ws' | 'socketio', window: number): Promise<Record<string, number>> {
  const ports = servers.map((server) => server.port).join(',');
  const pids = [...servers.flatMap(pidsOf), ...(redis === null ? [] : [redis.pid])];
  return load('./load-fanout.js', ports, [transport, 1000, seconds, window, pids.join(',')]);
}

const redisMetrics: Metric[] = [...fanoutMetrics, { key: 'serverCpuUsPerDelivery', unit: 'server CPU µs per delivery', lowerIsBetter: true }];

/** One node: pushwire with its Redis broker (`pushwire`), or with the in-memory one (`memory`, no Redis). */
function brokerFanout(impl: Impl, window: number): Promise<Record<string, number>> {
  if (impl === 'memory') return withServer('fanout.js', impl, (server) => fanoutOn([server], null, 'ws', window));
  return withRedis((redis) => withServer('fanout.js', impl, (server) => fanoutOn([server], redis, 'ws', window), [redis.url]));
}

/**
 * The median over rounds of p99(Redis) − p99(memory), each round's pair
 * measured back to back: what Redis adds to the p99 latency.
 */
function addedP99(workload: string, samples: Map<Impl, Record<string, number>[]> | undefined): void {
  if (samples === undefined) return;
  const redis = samples.get('pushwire')!;
  const memory = samples.get('memory')!;
  const added = redis.map((sample, round) => sample.p99Ms - memory[round].p99Ms);
  const value = median(added);
  rows.push({ workload, unit: 'p99 ms added (Redis − memory)', lowerIsBetter: true, values: { pushwire: value }, ratios: {}, samples: { pushwire: added } });
  console.log(`${workload.padEnd(58)} p99 ms added (Redis − memory) ${fmt(value)}`);
}

/** `pushwire serve --redis URL --workers N` from this build, as a user runs it (N = 1: no cluster, one process). */
function startServe(url: string, workers: number): Promise<Server> {
  const cli = here('../src/cli.js');
  return startProcess([cli, 'serve', '--port', '0', '--redis', url, '--workers', String(workers), '--shutdown-grace', '0'], process.env, /127\.0\.0\.1:(\d+)\//);
}

/** Two server processes on one Redis; subscribers dealt between them, every publish to the first. */
function twoNodes(impl: Impl, window: number): Promise<Record<string, number>> {
  return withRedis((redis) =>
    withServer(
      'fanout.js',
      impl,
      (a) => withServer('fanout.js', impl, (b) => fanoutOn([a, b], redis, impl === 'socket.io' ? 'socketio' : 'ws', window), [redis.url]),
      [redis.url],
    ),
  );
}

if (redisExecutable !== undefined) {
  await compare(REDIS_ROWS.broker16, ['memory'], redisMetrics, (impl) => brokerFanout(impl, 16));
  // One message at a time: latency without queueing behind other messages, so the difference is Redis's hop.
  addedP99(REDIS_ROWS.broker1, await compare(REDIS_ROWS.broker1, ['memory'], redisMetrics, (impl) => brokerFanout(impl, 1)));
  // The pushwire column is 2 workers; the load generator and Redis share the same 2 cores.
  await compare(REDIS_ROWS.workers, ['1-worker'], redisMetrics, (impl) =>
    withRedis((redis) =>
      withStarted(
        () => startServe(redis.url, impl === 'pushwire' ? 2 : 1),
        (server) => fanoutOn([server], redis, 'ws', 16),
      ),
    ),
  );
  await compare(REDIS_ROWS.nodes, ['socket.io'], redisMetrics, (impl) => twoNodes(impl, 16));
}

// ---- HTTP endpoints (autocannon; pushwire only) ----

async function cannon(port: number, path: string, options: Partial<autocannon.Options> = {}): Promise<number> {
  const result = await autocannon({ url: `http://127.0.0.1:${port}${path}`, connections: 32, duration: seconds, ...options });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`autocannon saw ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return result.requests.average;
}

await compareOne('publish API: POST /publish, 32 connections', 'requests/s', [], () =>
  withServer('fanout.js', 'pushwire', (server) =>
    cannon(server.port, '/publish', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'bench', event: 'tick', data: { price: 101.25, volume: 300 } }),
    }),
  ),
);
await compareOne('long-poll round trips: GET /poll with a cursor, 32 connections', 'requests/s', [], () =>
  withServer('fanout.js', 'pushwire', async (server) => {
    const first = (await (await fetch(`http://127.0.0.1:${server.port}/poll?channel=bench&timeout=0`)).json()) as { cursor: string };
    return cannon(server.port, `/poll?channel=bench&cursor=${first.cursor}&timeout=0`);
  }),
);

// ---- report ----

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`;
const report = {
  date: new Date().toISOString(),
  node: process.version,
  machine,
  mode: quick ? 'quick' : 'full',
  only: only || undefined,
  rounds,
  secondsPerRound: seconds,
  rows,
};
const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
// A run of some workloads (--only) must not replace the record of a whole run.
const name = only !== '' ? 'partial' : quick ? 'quick' : 'full';
writeFileSync(`${resultsDir}bench-${name}.json`, `${JSON.stringify(report, null, 2)}\n`);
if (name === 'full') writeFileSync(fileURLToPath(new URL('../../bench/RESULTS.md', import.meta.url)), resultsMarkdown());

function resultsMarkdown(): string {
  const cell = (row: Row, impl: Impl): string => {
    const value = row.values[impl];
    if (value === undefined) return '';
    const ratio = row.ratios[impl];
    return ratio === undefined ? fmt(value) : `${fmt(value)} (**${ratio.toFixed(2)}×**)`;
  };
  const columns = PEER_COLUMNS.filter(([impl]) => rows.some((row) => row.values[impl] !== undefined));
  const peers = columns.map(([impl]) => impl);
  const lines = [
    '# Benchmark results',
    '',
    `Full run of \`npm run bench\` on ${report.date.slice(0, 10)}: ${machine}, Node ${report.node}.`,
    `${rounds} interleaved rounds of ${seconds} s per target and row; medians. In parentheses: pushwire / peer`,
    '(above 1 is better for pushwire, except rows marked "lower is better").',
    '',
    'Targets: pushwire; `ws` 8 pure JS (`WS_NO_BUFFER_UTIL=1 WS_NO_UTF_8_VALIDATE=1`); `ws` 8 with `bufferutil` and',
    '`utf-8-validate` (ws-native); better-sse for SSE. Each server runs in its own process; load comes from a separate',
    'process (`bench/load-ws.ts`, `bench/load-fanout.ts`, autocannon), the same for every target.',
    'Redis rows: a fresh `redis-server` (no persistence) per measurement on the same machine; the pushwire column is',
    'pushwire on Redis, against its in-memory broker, against `serve --redis --workers 1` (pushwire column: 2 workers),',
    'or against Socket.IO 4 + `@socket.io/redis-adapter` (ioredis), two server processes each. Redis, the servers and the',
    'load generator share the 2 cores.',
    '',
    `| workload | unit | pushwire | ${columns.map(([, heading]) => heading).join(' | ')} |`,
    `| --- | --- | --- | ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (row) =>
        `| ${row.workload} | ${row.unit}${row.lowerIsBetter ? ' (lower is better)' : ''} | ${fmt(row.values.pushwire!)} | ${peers.map((peer) => cell(row, peer)).join(' | ')} |`,
    ),
    '',
    'Raw numbers: [results/bench-full.json](results/bench-full.json).',
    '',
  ];
  return lines.join('\n');
}
