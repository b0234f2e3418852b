// `npm run bench [-- --quick]`: echo throughput of pushwire against ws, each
// server in its own process, driven by one load-generator process, rounds
// interleaved (A B A B …), medians reported with the ratio pushwire/ws.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';

const quick = process.argv.includes('--quick');
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

interface Workload {
  name: string;
  connections: number;
  depth: number;
  payloadBytes: number;
}
const workloads: Workload[] = [
  { name: 'echo 64 B, 64 conns, 16 in flight', connections: 64, depth: 16, payloadBytes: 64 },
  { name: 'echo 16 KiB, 16 conns, 4 in flight', connections: 16, depth: 4, payloadBytes: 16 * 1024 },
  { name: 'echo 64 KiB, 8 conns, 2 in flight', connections: 8, depth: 2, payloadBytes: 64 * 1024 },
];
const targets = ['pushwire', 'ws'] as const;
const rounds = quick ? 3 : 5;
const seconds = quick ? 2 : 4;

async function startServer(impl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [here('./servers/echo.js'), impl], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' },
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /PORT (\d+)/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', () => reject(new Error(`${impl} server exited`)));
  });
  return { child, port };
}

function load(port: number, w: Workload): Promise<{ messagesPerSecond: number; megabytesPerSecond: number }> {
  return new Promise((resolve, reject) => {
    const args = [port, w.connections, w.depth, w.payloadBytes, seconds].map(String);
    const child = spawn(process.execPath, [here('./load-echo.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load generator exited ${code}`))));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const rows: { workload: string; pushwire: number; ws: number; ratio: number; unit: string }[] = [];
for (const workload of workloads) {
  const samples: Record<string, number[]> = { pushwire: [], ws: [] };
  for (let round = 0; round < rounds; round++) {
    for (const impl of targets) {
      const { child, port } = await startServer(impl);
      const result = await load(port, workload);
      child.kill();
      samples[impl].push(result.messagesPerSecond);
    }
  }
  const row = {
    workload: workload.name,
    pushwire: median(samples.pushwire),
    ws: median(samples.ws),
    ratio: median(samples.pushwire) / median(samples.ws),
    unit: 'msg/s',
  };
  rows.push(row);
  console.log(`${row.workload.padEnd(40)} pushwire ${row.pushwire.toFixed(0).padStart(8)}  ws ${row.ws.toFixed(0).padStart(8)}  ratio ${row.ratio.toFixed(2)}`);
}

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
writeFileSync(`${resultsDir}echo-${quick ? 'quick' : 'full'}.json`, `${JSON.stringify(report, null, 2)}\n`);
