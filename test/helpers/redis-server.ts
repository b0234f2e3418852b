// A real redis-server for the tests: Debian's `redis-server` (or
// $PUSHWIRE_REDIS_SERVER) on a free port on 127.0.0.1, in a temporary
// directory, without persistence (`--save ''`, `--appendonly no`), optionally
// with a password or TLS. It can be stopped, killed with SIGKILL and started
// again on the same port, for fault tests. Without redis-server the tests
// skip with a loud warning (as the browser tests do without Chromium);
// `.ci/run` installs the package, so CI never skips them.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from './executable.js';
import { fileURLToPath } from 'node:url';

export const REDIS_SERVER_ENV = 'PUSHWIRE_REDIS_SERVER';

/** The redis-server executable: $PUSHWIRE_REDIS_SERVER (which must then exist), else `redis-server` on PATH. */
export function findRedisServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findExecutable(REDIS_SERVER_ENV, ['redis-server'], env);
}

/** What to say when the Redis tests cannot run. */
export const NO_REDIS_WARNING = [
  '',
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '!! Redis tests SKIPPED: no redis-server found.',
  '!! Install it (Debian/Ubuntu: apt-get install redis-server; .ci/run does)',
  `!! or point ${REDIS_SERVER_ENV} at a redis-server executable.`,
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '',
].join('\n');

const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export interface RedisServerOptions {
  /** `--requirepass`: clients must AUTH with this password (user `default`). */
  password?: string;
  /** Listen with TLS only (`--tls-port`), with test/fixtures' certificate for localhost / 127.0.0.1. */
  tls?: boolean;
  /** More `--name value` arguments. */
  args?: string[];
}

/** A redis-server child process the test owns. */
export class RedisServer {
  private child: ChildProcess | null = null;
  private output = '';

  private constructor(
    private readonly executable: string,
    /** The port, kept across restarts. */
    readonly port: number,
    /** Its working directory (removed by `cleanup`). */
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  /** Start one on a free port and wait until it answers PING. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const executable = findRedisServer();
    if (!executable) throw new Error(NO_REDIS_WARNING);
    const dir = mkdtempSync(join(tmpdir(), 'pushwire-redis-'));
    // Another process may take the free port between our look and redis's bind: try a few.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = new RedisServer(executable, await freePort(), dir, options);
      try {
        await server.restart();
        return server;
      } catch (error) {
        lastError = error;
        await server.kill();
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw lastError;
  }

  /** `redis://` (or `rediss://` with TLS) URL of this server, with the password if any, and an optional db. */
  url(db?: number): string {
    const auth = this.options.password === undefined ? '' : `:${encodeURIComponent(this.options.password)}@`;
    return `${this.options.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${this.port}${db === undefined ? '' : `/${db}`}`;
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What redis-server wrote so far (its log goes to stdout). */
  log(): string {
    return this.output;
  }

  /** Start (again) on the same port and wait until it answers PING. */
  async restart(): Promise<void> {
    if (this.running) throw new Error('redis-server is already running');
    const { password, tls, args = [] } = this.options;
    const listen = tls
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', join(FIXTURES, 'cert.pem'), '--tls-key-file', join(FIXTURES, 'key.pem'), '--tls-auth-clients', 'no']
      : ['--port', String(this.port)];
    const child = spawn(
      this.executable,
      [...listen, '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...(password === undefined ? [] : ['--requirepass', password]), ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.output = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => (this.output += text));
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (this.output += text));
    // Ready when it says so in its log, or failed when it exits first.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`redis-server did not start within 10 s:\n${this.output}`)), 10_000);
      const onData = (): void => {
        if (/Ready to accept connections/.test(this.output)) finish();
      };
      const onExit = (): void => finish(new Error(`redis-server exited before it was ready:\n${this.output}`));
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      child.stdout!.on('data', onData);
      child.once('exit', onExit);
    });
    if (!tls) await ping(this.port);
  }

  /** SIGTERM, and wait for the exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** SIGKILL (kill -9): no goodbye to clients, and wait for the exit. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Stop it and remove its directory. */
  async cleanup(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === null || !this.running) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }
}

/** A port that was free on 127.0.0.1 a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Send an inline PING and expect an answer: +PONG, or -NOAUTH when a password is required. */
function ping(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis-server on ${port} did not answer PING`));
    }, 5_000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.setEncoding('utf8').on('data', (text: string) => {
      answer += text;
      if (answer.includes('\r\n')) {
        clearTimeout(timer);
        socket.destroy();
        if (/^(\+PONG|-NOAUTH)/.test(answer)) resolve();
        else reject(new Error(`redis-server on ${port} answered PING with ${JSON.stringify(answer)}`));
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}
