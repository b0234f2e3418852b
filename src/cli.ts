#!/usr/bin/env node
// The pushwire command line: parses flags (and PUSHWIRE_* environment
// variables) and composes library pieces.
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from './ws/server.js';
import { DEFAULT_MAX_PAYLOAD } from './protocol/connection.js';
import { createServer, type PushServer } from './push/push-server.js';

const USAGE = `usage: pushwire <command> [options]

commands:
  serve   the push server: /ws, /sse, /poll, /send, /publish, /healthz, /metrics
  echo    WebSocket echo server: every message comes back with its type, on any path

options (flag, environment variable):
  --port N                 PUSHWIRE_PORT            port (serve 8080, echo 9001)
  --host ADDRESS           PUSHWIRE_HOST            address (default 127.0.0.1)
  --publish-key KEY        PUSHWIRE_PUBLISH_KEY     Bearer key for /publish; required beyond loopback
  --jwt-secret SECRET      PUSHWIRE_JWT_SECRET      HS256 secret of client tokens (else ?uid= on loopback)
  --allowed-origins LIST   PUSHWIRE_ALLOWED_ORIGINS comma-separated origins whose pages may connect
  --history N              PUSHWIRE_HISTORY         messages kept per channel/user for resume (1000)
  --history-age SECONDS    PUSHWIRE_HISTORY_AGE     how long they are kept (3600)
  --push-port N            PUSHWIRE_PUSH_PORT       line-protocol publish port on 127.0.0.1
  --client-publish         PUSHWIRE_CLIENT_PUBLISH  let clients publish to channels they may join
  --demo                   PUSHWIRE_DEMO            serve the demo chat at / (clients may publish to demo:*)
  --max-payload N                                   echo: largest message in bytes (${DEFAULT_MAX_PAYLOAD})
  --deflate / --no-deflate                          permessage-deflate (echo: on, serve: off)
  --help                                            show this text
`;

export interface CliFlags {
  command: string;
  port: number | undefined;
  host: string;
  maxPayload: number;
  deflate: boolean | undefined;
  publishKey?: string;
  jwtSecret?: string;
  allowedOrigins?: string[];
  history?: number;
  historyAgeSeconds?: number;
  pushPort?: number;
  clientPublish: boolean;
  demo: boolean;
}

type Setter = (flags: CliFlags, value: string, name: string) => void;

/** Flags that take a value, with the environment variable that may supply it. */
const VALUE_FLAGS: Record<string, { env?: string; set: Setter }> = {
  '--port': { env: 'PUSHWIRE_PORT', set: (f, v, n) => (f.port = integer(n, v, 0, 65535)) },
  '--host': { env: 'PUSHWIRE_HOST', set: (f, v) => (f.host = v) },
  '--publish-key': { env: 'PUSHWIRE_PUBLISH_KEY', set: (f, v, n) => (f.publishKey = nonEmpty(n, v)) },
  '--jwt-secret': { env: 'PUSHWIRE_JWT_SECRET', set: (f, v, n) => (f.jwtSecret = nonEmpty(n, v)) },
  '--allowed-origins': {
    env: 'PUSHWIRE_ALLOWED_ORIGINS',
    set: (f, v) => (f.allowedOrigins = v.split(',').map((o) => o.trim()).filter(Boolean)),
  },
  '--history': { env: 'PUSHWIRE_HISTORY', set: (f, v, n) => (f.history = integer(n, v, 1, 10_000_000)) },
  '--history-age': { env: 'PUSHWIRE_HISTORY_AGE', set: (f, v, n) => (f.historyAgeSeconds = integer(n, v, 1, 365 * 86400)) },
  '--push-port': { env: 'PUSHWIRE_PUSH_PORT', set: (f, v, n) => (f.pushPort = integer(n, v, 0, 65535)) },
  '--max-payload': { set: (f, v, n) => (f.maxPayload = integer(n, v, 1, Number.MAX_SAFE_INTEGER)) },
};

/**
 * Parse argv (without node and script), after the PUSHWIRE_* variables of
 * `env` (flags win). Throws an Error with a message for the user.
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = {}): CliFlags {
  const flags: CliFlags = {
    command: '',
    port: undefined,
    host: '127.0.0.1',
    maxPayload: DEFAULT_MAX_PAYLOAD,
    deflate: undefined,
    clientPublish: false,
    demo: false,
  };
  for (const { env: variable, set } of Object.values(VALUE_FLAGS)) {
    const value = variable === undefined ? undefined : env[variable];
    if (value !== undefined && value !== '') set(flags, value, variable!);
  }
  const yes = (value: string | undefined): boolean => /^(1|true|yes)$/i.test(value ?? '');
  if (env.PUSHWIRE_CLIENT_PUBLISH !== undefined) flags.clientPublish = yes(env.PUSHWIRE_CLIENT_PUBLISH);
  if (env.PUSHWIRE_DEMO !== undefined) flags.demo = yes(env.PUSHWIRE_DEMO);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const valueFlag = VALUE_FLAGS[arg];
    if (valueFlag) {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      valueFlag.set(flags, value, arg);
      continue;
    }
    switch (arg) {
      case '--deflate':
      case '--no-deflate':
        flags.deflate = arg === '--deflate';
        break;
      case '--client-publish':
        flags.clientPublish = true;
        break;
      case '--demo':
        flags.demo = true;
        break;
      case '--help':
      case '-h':
        flags.command = 'help';
        break;
      default:
        if (arg.startsWith('-') || flags.command !== '') throw new Error(`unknown argument ${arg}`);
        flags.command = arg;
    }
  }
  return flags;
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} takes a whole number from ${min} to ${max}`);
  }
  return n;
}

function nonEmpty(name: string, text: string): string {
  if (text === '') throw new Error(`${name} must not be empty`);
  return text;
}

/** Start the echo server; resolves once it listens. */
export function startEcho(flags: CliFlags): Promise<WebSocketServer> {
  const server = new WebSocketServer({
    port: flags.port ?? 9001,
    host: flags.host,
    maxPayload: flags.maxPayload,
    perMessageDeflate: flags.deflate ?? true,
  });
  server.on('connection', (ws) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  return new Promise((resolve, reject) => {
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

/** Start the push server; resolves once it listens, with the ports it got. */
export async function startServe(flags: CliFlags): Promise<{ server: PushServer; port: number; pushPort?: number }> {
  const server = createServer({
    publishKey: flags.publishKey,
    jwtSecret: flags.jwtSecret,
    allowedOrigins: flags.allowedOrigins,
    historySize: flags.history,
    historyAgeMs: flags.historyAgeSeconds === undefined ? undefined : flags.historyAgeSeconds * 1000,
    pushPort: flags.pushPort,
    clientPublish: flags.clientPublish,
    demo: flags.demo,
    perMessageDeflate: flags.deflate ?? false,
  });
  return { server, ...(await server.listen(flags.port ?? 8080, flags.host)) };
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function main(argv: string[]): Promise<void> {
  let flags: CliFlags;
  try {
    flags = parseArgs(argv, process.env);
  } catch (error) {
    process.stderr.write(`pushwire: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (flags.command === 'help' || flags.command === '') {
    process.stdout.write(USAGE);
    process.exit(flags.command === 'help' ? 0 : 2);
  }
  let close: (done: () => void) => void;
  if (flags.command === 'echo') {
    const server = await startEcho(flags);
    const address = server.address() as { address: string; port: number };
    process.stdout.write(`pushwire echo listening on ws://${hostForUrl(address.address)}:${address.port}/\n`);
    close = (done) => server.close(done);
  } else if (flags.command === 'serve') {
    let started;
    try {
      started = await startServe(flags);
    } catch (error) {
      process.stderr.write(`pushwire: ${(error as Error).message}\n`);
      process.exit(2);
    }
    const base = `${hostForUrl(flags.host)}:${started.port}`;
    const push = started.pushPort === undefined ? '' : `, push port 127.0.0.1:${started.pushPort}`;
    process.stdout.write(`pushwire serve listening on http://${base}/ (ws://${base}/ws${push})\n`);
    if (flags.demo) process.stdout.write(`demo: open http://${base}/ in two browser windows\n`);
    close = (done) => void started.server.close().then(done);
  } else {
    process.stderr.write(`pushwire: unknown command ${flags.command}\n\n${USAGE}`);
    process.exit(2);
  }
  const shutdown = (): void => {
    process.stdout.write('pushwire: shutting down\n');
    // A second signal, or clients that never finish closing, end the process anyway.
    setTimeout(() => process.exit(1), 8000).unref();
    close(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((error: Error) => {
    process.stderr.write(`pushwire: ${error.message}\n`);
    process.exit(1);
  });
}
