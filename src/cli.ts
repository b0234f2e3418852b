#!/usr/bin/env node
// The pushwire command line: parses flags and composes library pieces.
import { pathToFileURL } from 'node:url';
import { WebSocketServer } from './server.js';
import { DEFAULT_MAX_PAYLOAD } from './protocol/connection.js';

const USAGE = `usage: pushwire <command> [options]

commands:
  echo    WebSocket echo server: every message comes back with its type, on any path

options:
  --port N           port to listen on (default 9001)
  --host ADDRESS     address to listen on (default 127.0.0.1)
  --max-payload N    largest message in bytes (default ${DEFAULT_MAX_PAYLOAD})
  --no-deflate       do not accept permessage-deflate (on by default)
  --help             show this text
`;

export interface CliFlags {
  command: string;
  port: number;
  host: string;
  maxPayload: number;
  deflate: boolean;
}

/** Parse argv (without node and script). Throws an Error with a message for the user. */
export function parseArgs(argv: string[]): CliFlags {
  const flags: CliFlags = { command: '', port: 9001, host: '127.0.0.1', maxPayload: DEFAULT_MAX_PAYLOAD, deflate: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--port':
        flags.port = integer(arg, value(), 0, 65535);
        break;
      case '--host':
        flags.host = value();
        break;
      case '--max-payload':
        flags.maxPayload = integer(arg, value(), 1, Number.MAX_SAFE_INTEGER);
        break;
      case '--no-deflate':
        flags.deflate = false;
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

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} takes a whole number from ${min} to ${max}`);
  return n;
}

/** Start the echo server; resolves once it listens. */
export function startEcho(flags: CliFlags): Promise<WebSocketServer> {
  const server = new WebSocketServer({
    port: flags.port,
    host: flags.host,
    maxPayload: flags.maxPayload,
    perMessageDeflate: flags.deflate,
  });
  server.on('connection', (ws) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => ws.send(data, { binary: isBinary }));
  });
  return new Promise((resolve, reject) => {
    server.once('listening', () => resolve(server));
    server.once('error', reject);
  });
}

async function main(argv: string[]): Promise<void> {
  let flags: CliFlags;
  try {
    flags = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`pushwire: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (flags.command === 'help' || flags.command === '') {
    process.stdout.write(USAGE);
    process.exit(flags.command === 'help' ? 0 : 2);
  }
  if (flags.command !== 'echo') {
    process.stderr.write(`pushwire: unknown command ${flags.command}\n\n${USAGE}`);
    process.exit(2);
  }
  const server = await startEcho(flags);
  const address = server.address() as { address: string; port: number };
  process.stdout.write(`pushwire echo listening on ws://${address.address}:${address.port}/\n`);
  const shutdown = (): void => {
    process.stdout.write('pushwire: shutting down\n');
    // A second signal, or clients that never finish closing, end the process anyway.
    setTimeout(() => process.exit(1), 5000).unref();
    server.close(() => process.exit(0));
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
