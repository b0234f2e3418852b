// `npm run bench [-- --quick] [-- --only <text>]`: pushwire against its peers
// (ws, better-sse), each server in its own process, driven by one
// load-generator process (bench/load-ws.ts, bench/load-fanout.ts) whose cost
// is the same for every target. Rounds are interleaved (A B A B …) and medians
// reported with the ratio pushwire/peer; results go to bench/results/.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const onlyIndex = process.argv.indexOf('--only');
/** Run only the workloads whose name contains this text. */
const only = onlyIndex === -1 ? '' : (process.argv[onlyIndex + 1] ?? '');
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const rounds = quick ? 3 : 5;
const seconds = quick ? 2 : 4;
type Target = 'pushwire' | 'ws';

interface Server {
  child: ChildProcess;
  port: number;
  /** Ask the server for its RSS after a full GC. */
  rss(): Promise<number>;
}

async function startServer(impl: Target, deflate: boolean): Promise<Server> {
  const child = spawn(process.execPath, ['--expose-gc', here('./servers/echo.js'), impl, '0', deflate ? 'deflate' : ''], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' },
  });
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
  const port = Number(/PORT (\d+)/.exec(await nextLine())![1]);
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

/** Run the load generator; for `idle`, `whileOpen` runs once all connections are up. */
function load(
  port: number,
  args: (string | number)[],
  whileOpen?: () => Promise<void>,
  script = './load-ws.js',
): Promise<Record<string, number | string>> {
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
      else reject(new Error(`load generator exited ${code}`));
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
  peer: string;
  pushwire: number;
  peerValue: number;
  ratio: number;
  lowerIsBetter: boolean;
}
const rows: Row[] = [];

/**
 * Measure one workload on pushwire and a peer, rounds interleaved, and print
 * the median of each metric with the ratio pushwire/peer.
 */
async function compare<Impl extends string>(
  workload: string,
  peer: Impl,
  metrics: Metric[],
  measure: (impl: 'pushwire' | Impl) => Promise<Record<string, number>>,
): Promise<void> {
  if (!workload.includes(only)) return;
  const samples = { pushwire: [] as Record<string, number>[], peer: [] as Record<string, number>[] };
  for (let round = 0; round < rounds; round++) {
    samples.pushwire.push(await measure('pushwire'));
    samples.peer.push(await measure(peer));
  }
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2)).padStart(10);
  for (const { key, unit, lowerIsBetter = false } of metrics) {
    const ours = median(samples.pushwire.map((s) => s[key]));
    const theirs = median(samples.peer.map((s) => s[key]));
    const row: Row = { workload, unit, peer, pushwire: ours, peerValue: theirs, ratio: ours / theirs, lowerIsBetter };
    rows.push(row);
    console.log(
      `${workload.padEnd(52)} ${unit.padEnd(12)} pushwire ${fmt(ours)}  ${peer.padStart(10)} ${fmt(theirs)}  ratio ${row.ratio.toFixed(2)}${lowerIsBetter ? ' (lower is better)' : ''}`,
    );
  }
}

/** A workload with no peer to compare against: pushwire's medians alone. */
async function measureAlone(workload: string, metrics: Metric[], measure: () => Promise<Record<string, number>>): Promise<void> {
  if (!workload.includes(only)) return;
  const samples: Record<string, number>[] = [];
  for (let round = 0; round < rounds; round++) samples.push(await measure());
  for (const { key, unit, lowerIsBetter = false } of metrics) {
    const ours = median(samples.map((s) => s[key]));
    rows.push({ workload, unit, peer: 'none', pushwire: ours, peerValue: NaN, ratio: NaN, lowerIsBetter });
    console.log(`${workload.padEnd(52)} ${unit.padEnd(12)} pushwire ${(ours >= 100 ? ours.toFixed(0) : ours.toFixed(2)).padStart(10)}  (no peer)`);
  }
}

/** A workload measured as one number against ws. */
function compareWithWs(workload: string, unit: string, measure: (impl: Target) => Promise<number>): Promise<void> {
  const lowerIsBetter = unit === 'bytes';
  return compare(workload, 'ws', [{ key: 'value', unit, lowerIsBetter }], async (impl) => ({ value: await measure(impl) }));
}

async function throughput(impl: Target, deflate: boolean, connections: number, depth: number, payload: string): Promise<number> {
  const server = await startServer(impl, deflate);
  try {
    const result = await load(server.port, ['throughput', connections, depth, seconds, deflate ? 1 : 0, payload]);
    if (deflate && !String(result.extensions).includes('permessage-deflate')) throw new Error(`${impl} did not negotiate deflate`);
    return Number(result.messagesPerSecond);
  } finally {
    server.child.kill();
  }
}

// Echo throughput, no compression.
await compareWithWs('echo 64 B, 64 conns, 16 in flight', 'msg/s', (impl) => throughput(impl, false, 64, 16, 'bytes:64'));
await compareWithWs('echo 16 KiB, 16 conns, 4 in flight', 'msg/s', (impl) => throughput(impl, false, 16, 4, 'bytes:16384'));
await compareWithWs('echo 64 KiB, 8 conns, 2 in flight', 'msg/s', (impl) => throughput(impl, false, 8, 2, 'bytes:65536'));

// permessage-deflate (RFC 7692), same settings on both servers.
await compareWithWs('JSON echo ~0.5 KiB, 32 conns, 8 in flight, no deflate', 'msg/s', (impl) => throughput(impl, false, 32, 8, 'json'));
await compareWithWs('JSON echo ~0.5 KiB, 32 conns, 8 in flight, deflate', 'msg/s', (impl) => throughput(impl, true, 32, 8, 'json'));
await compareWithWs('JSON wire bytes per message, deflate (server → client)', 'bytes', async (impl) => {
  const server = await startServer(impl, true);
  try {
    const result = await load(server.port, ['wire', 8, 500, 0, 1, 'json']);
    return Number(result.wireBytes) / (8 * 500);
  } finally {
    server.child.kill();
  }
});
const idleConnections = quick ? 1000 : 5000;
await compareWithWs(`RSS per idle connection, deflate negotiated (${idleConnections} conns)`, 'bytes', async (impl) => {
  const server = await startServer(impl, true);
  try {
    const before = await server.rss();
    let after = 0;
    await load(server.port, ['idle', idleConnections, 0, 0, 1, 'json'], async () => {
      after = await server.rss();
    });
    return (after - before) / idleConnections;
  } finally {
    server.child.kill();
  }
});

if (only === '') console.log('(the JSON messages average 514 bytes uncompressed; for bytes rows lower is better)');

// Fan-out through the push server: one publish (HTTP POST /publish, the same
// from the same publisher for every target) reaching every subscriber.
async function fanout(impl: string, transport: 'ws' | 'sse' | 'poll', subscribers: number, window: number): Promise<Record<string, number>> {
  const child = spawn(process.execPath, [here('./servers/fanout.js'), impl, '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' },
  });
  try {
    const port = await new Promise<number>((resolve) => {
      let out = '';
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        const match = /PORT (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
    });
    const result = await load(port, [transport, subscribers, seconds, window], undefined, './load-fanout.js');
    return result as Record<string, number>;
  } finally {
    child.kill();
  }
}
const fanoutMetrics: Metric[] = [
  { key: 'deliveriesPerSecond', unit: 'deliveries/s' },
  { key: 'p50Ms', unit: 'p50 ms', lowerIsBetter: true },
  { key: 'p99Ms', unit: 'p99 ms', lowerIsBetter: true },
];
const fanoutSubscribers = 1000;
await compare(`fan-out WebSocket, ${fanoutSubscribers} subscribers, 16 publishes in flight`, 'ws', fanoutMetrics, (impl) =>
  fanout(impl, 'ws', fanoutSubscribers, 16),
);
await compare(`fan-out WebSocket, ${fanoutSubscribers} subscribers, 1 publish in flight`, 'ws', fanoutMetrics, (impl) =>
  fanout(impl, 'ws', fanoutSubscribers, 1),
);
await compare(`fan-out SSE, ${fanoutSubscribers} subscribers, 16 publishes in flight`, 'better-sse', fanoutMetrics, (impl) =>
  fanout(impl, 'sse', fanoutSubscribers, 16),
);
await measureAlone(`fan-out long-poll, ${fanoutSubscribers} subscribers, 16 publishes in flight`, fanoutMetrics, () =>
  fanout('pushwire', 'poll', fanoutSubscribers, 16),
);

const report = {
  date: new Date().toISOString(),
  node: process.version,
  cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
  mode: quick ? 'quick' : 'full',
  rounds,
  secondsPerRound: seconds,
  rows,
};
const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
// A run of some workloads (--only) must not replace the record of a whole run.
const name = only !== '' ? 'partial' : quick ? 'quick' : 'full';
writeFileSync(`${resultsDir}bench-${name}.json`, `${JSON.stringify(report, null, 2)}\n`);
