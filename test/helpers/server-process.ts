// A pushwire server as its users run it: the built CLI in its own process,
// so attacks meet the real defaults and the process's memory can be read
// from /proc (resident set now, and its peak) without the test's own heap
// mixed in.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** What it printed on stdout up to its listening line. */
  readonly banner: string;
  /** Resident set size now, bytes. */
  rss(): number;
  /** Peak resident set size so far (VmHWM), bytes. */
  peakRss(): number;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

/** Start `pushwire <args> --port 0 --host 127.0.0.1` and wait for its listening line. */
export async function startCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [CLI, ...args, '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  let banner = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      banner += chunk;
      const match = /listening on \w+:\/\/[^:]+:(\d+).*\n/.exec(banner);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening: ${banner}${stderr}`)));
  });
  const status = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return Number(match![1]) * 1024;
  };
  return {
    child,
    port,
    banner,
    rss: () => status('VmRSS'),
    peakRss: () => status('VmHWM'),
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      return (await exited)[0] as number | null;
    },
  };
}

export const MiB = 1024 * 1024;

/** How much the server's peak resident set grew since `before`, printed with the test's name (the figures the README quotes). */
export function peakGrowth(server: ServerProcess, before: number): number {
  const growth = server.peakRss() - before;
  console.log(`[memory] ${expect.getState().currentTestName}: peak RSS +${(growth / MiB).toFixed(1)} MiB`);
  return growth;
}
