#!/usr/bin/env node
// The pushwire command line (package.json "bin"): parses flags (and
// PUSHWIRE_* environment variables) and composes library pieces. It runs
// only when it is the program; imported (by tests, or to reuse `parseArgs`,
// `startServe`, `startEcho`), it does nothing.
import cluster from 'node:cluster';
import { readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from './ws/server.js';
import { createServer, type PushServer } from './push/push-server.js';
import { ConfigError } from './push/http-io.js';

/** The commands `pushwire` runs. */
export type Command = 'serve' | 'echo' | 'conformance' | 'trace';

/** One line of help per command, in the order the usage lists them. */
const COMMANDS: Record<Command, string> = {
  serve: 'the push server: /ws, /sse, /poll, /send, /publish, /healthz, /metrics',
  echo: 'WebSocket echo server: every message comes back with its type, on any path',
  conformance: 'test a WebSocket echo server (or, with --client, a client) against RFC 6455: pushwire conformance ws://host:port/path',
  trace: 'a proxy that prints every WebSocket frame both ways: pushwire trace --listen 9002 --target ws://host:port/',
};

const DEFAULT_PORT: Record<'serve' | 'echo', number> = { serve: 8080, echo: 9001 };

/** `pushwire conformance`'s settings (src/conformance/suite.ts has their meaning). */
export interface ConformanceFlags {
  /** The URL argument: the echo server under test. */
  url?: string;
  cases?: string[];
  performance: boolean;
  runs?: number;
  seed?: number;
  maxMessage?: number;
  timeoutMs?: number;
  concurrency?: number;
  json?: string;
  junit?: string;
  html?: string;
  quiet: boolean;
  verbose: boolean;
  shrink: boolean;
  insecure: boolean;
  /** `--client`: test a client instead, which connects to the tool at --host/--port. */
  client: boolean;
}

/** What the command line asked for, after environment variables and flags. */
export interface CliFlags {
  /** '' when none was given. */
  command: Command | '';
  /** `--help` / `-h`: print the usage (of `command`, if any) and exit 0. */
  help: boolean;
  /** `--version` / `-v`: print the package version and exit 0. */
  version: boolean;
  /** undefined: the command's default (serve 8080, echo 9001). */
  port: number | undefined;
  host: string;
  maxPayload: number;
  /** undefined: the command's default (serve off, echo on). */
  deflate: boolean | undefined;
  publishKey?: string;
  jwtSecret?: string;
  allowedOrigins?: string[];
  history?: number;
  historyAgeSeconds?: number;
  pushPort?: number;
  pushKey?: string;
  clientPublish: boolean;
  demo: boolean;
  /** Serve the admin dashboard at /admin. */
  admin: boolean;
  adminKey?: string;
  devIdentity: boolean;
  userChannelPrefix?: string;
  redis?: string;
  consumeList?: string;
  consumeStream?: string;
  nodeName?: string;
  /** Processes to serve with (node:cluster); 1 = this process alone. */
  workers: number;
  /** Seconds a shutdown waits for peers to close before cutting them. */
  shutdownGraceSeconds: number;
  conformance: ConformanceFlags;
  /** `pushwire trace`: where it listens and what it forwards to. */
  trace: { listen?: number; target?: string };
}

interface OptionBase {
  /** The long flag, e.g. `--port`. */
  flag: string;
  /** The environment variable that supplies it when the flag is absent. */
  env?: string;
  /** The commands that take this option, each with the option's line of help there. */
  help: Partial<Record<Command, string>>;
}

/** An option with a value: `--port 9101` or `--port=9101`. */
interface ValueOption extends OptionBase {
  kind: 'value';
  /** The value's name in the usage, e.g. `N`. */
  placeholder: string;
  /** Store `value`; `source` (the flag or variable) names it in error messages. */
  set(flags: CliFlags, value: string, source: string): void;
}

/** An on/off option: `--demo`, and `--no-deflate` where `negatable`. */
interface SwitchOption extends OptionBase {
  kind: 'switch';
  negatable?: boolean;
  set(flags: CliFlags, on: boolean): void;
}

type OptionSpec = ValueOption | SwitchOption;

/** Echo's largest message: 16 MiB, Autobahn's largest case (9.1.6); one message and its echo stay well under 64 MiB. */
const ECHO_MAX_PAYLOAD = 16 * 1024 * 1024;

/** Every option, in the order the usage lists them. */
const OPTIONS: OptionSpec[] = [
  {
    kind: 'value',
    flag: '--port',
    placeholder: 'N',
    env: 'PUSHWIRE_PORT',
    help: {
      serve: 'port (default 8080; 0 picks a free one)',
      echo: 'port (default 9001; 0 picks a free one)',
      conformance: 'with --client: port to listen on (default 9001; 0 picks a free one)',
    },
    set: (f, v, source) => (f.port = integer(source, v, 0, 65535)),
  },
  {
    kind: 'value',
    flag: '--host',
    placeholder: 'ADDRESS',
    env: 'PUSHWIRE_HOST',
    help: {
      serve: 'address to listen on (default 127.0.0.1)',
      echo: 'address to listen on (default 127.0.0.1)',
      conformance: 'with --client: address to listen on (default 127.0.0.1)',
      trace: 'address to listen on (default 127.0.0.1)',
    },
    set: (f, v) => (f.host = v),
  },
  {
    kind: 'value',
    flag: '--publish-key',
    placeholder: 'KEY',
    env: 'PUSHWIRE_PUBLISH_KEY',
    help: { serve: 'Bearer key for /publish; required beyond loopback' },
    set: (f, v, source) => (f.publishKey = nonEmpty(source, v)),
  },
  {
    kind: 'value',
    flag: '--jwt-secret',
    placeholder: 'SECRET',
    env: 'PUSHWIRE_JWT_SECRET',
    help: { serve: 'HS256 secret of client tokens (the way clients prove a uid)' },
    set: (f, v, source) => (f.jwtSecret = nonEmpty(source, v)),
  },
  {
    kind: 'value',
    flag: '--allowed-origins',
    placeholder: 'LIST',
    env: 'PUSHWIRE_ALLOWED_ORIGINS',
    help: { serve: 'comma-separated origins whose pages may connect' },
    set: (f, v) => (f.allowedOrigins = v.split(',').map((o) => o.trim()).filter(Boolean)),
  },
  {
    kind: 'value',
    flag: '--history',
    placeholder: 'N',
    env: 'PUSHWIRE_HISTORY',
    help: { serve: 'messages kept per channel/user for resume (1000)' },
    set: (f, v, source) => (f.history = integer(source, v, 1, 10_000_000)),
  },
  {
    kind: 'value',
    flag: '--history-age',
    placeholder: 'SECONDS',
    env: 'PUSHWIRE_HISTORY_AGE',
    help: { serve: 'how long they are kept (3600)' },
    set: (f, v, source) => (f.historyAgeSeconds = integer(source, v, 1, 365 * 86400)),
  },
  {
    kind: 'value',
    flag: '--push-port',
    placeholder: 'N',
    env: 'PUSHWIRE_PUSH_PORT',
    help: { serve: 'line-protocol publish port on 127.0.0.1' },
    set: (f, v, source) => (f.pushPort = integer(source, v, 0, 65535)),
  },
  {
    kind: 'value',
    flag: '--push-key',
    placeholder: 'KEY',
    env: 'PUSHWIRE_PUSH_KEY',
    help: { serve: 'push-port connections must first send AUTH <KEY>' },
    set: (f, v, source) => (f.pushKey = nonEmpty(source, v)),
  },
  {
    kind: 'value',
    flag: '--redis',
    placeholder: 'URL',
    env: 'PUSHWIRE_REDIS',
    help: { serve: 'share ids, history and fan-out with other processes: redis://host:6379' },
    set: (f, v, source) => (f.redis = nonEmpty(source, v)),
  },
  {
    kind: 'value',
    flag: '--consume-list',
    placeholder: 'KEY',
    env: 'PUSHWIRE_CONSUME_LIST',
    help: { serve: 'publish what backends LPUSH onto this Redis list (needs --redis)' },
    set: (f, v, source) => (f.consumeList = nonEmpty(source, v)),
  },
  {
    kind: 'value',
    flag: '--consume-stream',
    placeholder: 'KEY[:GROUP]',
    env: 'PUSHWIRE_CONSUME_STREAM',
    help: { serve: "publish what backends XADD to this Redis stream (field json), as consumer group GROUP (pushwire)" },
    set: (f, v, source) => (f.consumeStream = nonEmpty(source, v)),
  },
  {
    kind: 'value',
    flag: '--node-name',
    placeholder: 'NAME',
    env: 'PUSHWIRE_NODE_NAME',
    help: { serve: 'this process\'s stable name in Redis (default host:port)' },
    set: (f, v, source) => (f.nodeName = nonEmpty(source, v)),
  },
  {
    kind: 'value',
    flag: '--workers',
    placeholder: 'N|auto',
    env: 'PUSHWIRE_WORKERS',
    help: { serve: 'serve from N processes on one port (auto: one per core); needs --redis' },
    set: (f, v, source) => (f.workers = v === 'auto' ? availableParallelism() : integer(source, v, 1, 256)),
  },
  {
    kind: 'value',
    flag: '--shutdown-grace',
    placeholder: 'SECONDS',
    env: 'PUSHWIRE_SHUTDOWN_GRACE',
    help: {
      serve: 'on SIGTERM/SIGINT, wait this long for clients to close, then cut them and exit 0 (5)',
      echo: 'on SIGTERM/SIGINT, wait this long for clients to close, then cut them and exit 0 (5)',
    },
    set: (f, v, source) => (f.shutdownGraceSeconds = integer(source, v, 0, 3600)),
  },
  {
    kind: 'switch',
    flag: '--dev-identity',
    env: 'PUSHWIRE_DEV_IDENTITY',
    help: { serve: 'trust ?uid= without proof (development only; on with --demo)' },
    set: (f, on) => (f.devIdentity = on),
  },
  {
    kind: 'value',
    flag: '--user-channel-prefix',
    placeholder: 'PREFIX',
    env: 'PUSHWIRE_USER_CHANNEL_PREFIX',
    help: { serve: 'channels PREFIX<uid> only that user may subscribe to, e.g. user:' },
    set: (f, v, source) => (f.userChannelPrefix = nonEmpty(source, v)),
  },
  {
    kind: 'switch',
    flag: '--client-publish',
    env: 'PUSHWIRE_CLIENT_PUBLISH',
    help: { serve: 'let clients publish to channels they may join' },
    set: (f, on) => (f.clientPublish = on),
  },
  {
    kind: 'switch',
    flag: '--demo',
    env: 'PUSHWIRE_DEMO',
    help: { serve: 'serve the demo chat at / (clients may publish to demo:*; implies --dev-identity)' },
    set: (f, on) => (f.demo = on),
  },
  {
    kind: 'switch',
    flag: '--admin',
    env: 'PUSHWIRE_ADMIN',
    help: { serve: 'serve the admin dashboard at /admin?key=KEY (the --admin-key, else the --publish-key)' },
    set: (f, on) => (f.admin = on),
  },
  {
    kind: 'value',
    flag: '--admin-key',
    placeholder: 'KEY',
    env: 'PUSHWIRE_ADMIN_KEY',
    help: { serve: "the admin dashboard's own key (with --admin)" },
    set: (f, v, source) => (f.adminKey = nonEmpty(source, v)),
  },
  {
    kind: 'value',
    flag: '--max-payload',
    placeholder: 'BYTES',
    help: { echo: `largest message in bytes (default ${ECHO_MAX_PAYLOAD}, Autobahn's largest case)` },
    set: (f, v, source) => (f.maxPayload = integer(source, v, 1, Number.MAX_SAFE_INTEGER)),
  },
  {
    kind: 'switch',
    flag: '--deflate',
    negatable: true,
    help: { serve: 'permessage-deflate on /ws (default off)', echo: 'permessage-deflate (default on)' },
    set: (f, on) => (f.deflate = on),
  },
  ...CONFORMANCE_OPTIONS(),
];

/** The options of `pushwire conformance` and `pushwire trace` (a hoisted function, so OPTIONS above can list them). */
function CONFORMANCE_OPTIONS(): OptionSpec[] {
  const c = (help: string): Partial<Record<Command, string>> => ({ conformance: help });
  return [
    {
      kind: 'value',
      flag: '--case',
      placeholder: 'IDS',
      help: c('comma-separated case ids or prefixes: 6.4,7.9.3,prop.invalid-utf8.17 (default: all but 9)'),
      set: (f, v) => (f.conformance.cases = v.split(',').map((id) => id.trim()).filter(Boolean)),
    },
    {
      kind: 'switch',
      flag: '--performance',
      help: c('also run Autobahn section 9: messages up to 16 MiB, timed'),
      set: (f, on) => (f.conformance.performance = on),
    },
    {
      kind: 'value',
      flag: '--runs',
      placeholder: 'N',
      help: c('random streams per property (default 100; 0: none)'),
      set: (f, v, source) => (f.conformance.runs = integer(source, v, 0, 1_000_000)),
    },
    {
      kind: 'value',
      flag: '--seed',
      placeholder: 'N',
      help: c('seed of masks and random streams (default 6455); a failure prints its replay'),
      set: (f, v, source) => (f.conformance.seed = integer(source, v, 0, 2 ** 32 - 1)),
    },
    {
      kind: 'value',
      flag: '--max-message',
      placeholder: 'BYTES',
      help: c("the server's message limit: bigger must fail with 1009 (default unknown)"),
      set: (f, v, source) => (f.conformance.maxMessage = integer(source, v, 1, 2 ** 40)),
    },
    {
      kind: 'value',
      flag: '--timeout',
      placeholder: 'MS',
      help: c("longest wait for the server's reaction to one case (default 3000)"),
      set: (f, v, source) => (f.conformance.timeoutMs = integer(source, v, 1, 600_000)),
    },
    {
      kind: 'value',
      flag: '--concurrency',
      placeholder: 'N',
      help: c('connections at a time (default 4)'),
      set: (f, v, source) => (f.conformance.concurrency = integer(source, v, 1, 256)),
    },
    {
      kind: 'value',
      flag: '--json',
      placeholder: 'FILE',
      help: c('also write the report as JSON'),
      set: (f, v, source) => (f.conformance.json = nonEmpty(source, v)),
    },
    {
      kind: 'value',
      flag: '--junit',
      placeholder: 'FILE',
      help: c('also write JUnit XML (for CI)'),
      set: (f, v, source) => (f.conformance.junit = nonEmpty(source, v)),
    },
    {
      kind: 'value',
      flag: '--html',
      placeholder: 'FILE',
      help: c('also write a self-contained HTML report'),
      set: (f, v, source) => (f.conformance.html = nonEmpty(source, v)),
    },
    {
      kind: 'switch',
      flag: '--quiet',
      help: c('list only the cases that are not OK'),
      set: (f, on) => (f.conformance.quiet = on),
    },
    {
      kind: 'switch',
      flag: '--verbose',
      help: c('frame traces for NON-STRICT cases too'),
      set: (f, on) => (f.conformance.verbose = on),
    },
    {
      kind: 'switch',
      flag: '--shrink',
      negatable: true,
      help: c('shrink a failing random stream to a minimal one (default on)'),
      set: (f, on) => (f.conformance.shrink = on),
    },
    {
      kind: 'switch',
      flag: '--client',
      help: c('test a WebSocket client instead: it connects to --host:--port once per case and echoes'),
      set: (f, on) => (f.conformance.client = on),
    },
    {
      kind: 'value',
      flag: '--listen',
      placeholder: 'PORT',
      help: { trace: 'port the proxy listens on (0 picks a free one)' },
      set: (f, v, source) => (f.trace.listen = integer(source, v, 0, 65535)),
    },
    {
      kind: 'value',
      flag: '--target',
      placeholder: 'URL',
      help: { trace: 'the WebSocket server to forward to: ws://host:port/path (or wss://)' },
      set: (f, v, source) => (f.trace.target = nonEmpty(source, v)),
    },
    {
      kind: 'switch',
      flag: '--insecure',
      help: { conformance: 'wss://: accept a certificate that does not verify', trace: 'a wss:// target: accept a certificate that does not verify' },
      set: (f, on) => (f.conformance.insecure = on),
    },
  ];
}

/** An option as the command line named it: `--no-deflate` is `--deflate` switched off. */
function findOption(name: string): { option: OptionSpec; on: boolean } | undefined {
  const option = OPTIONS.find((o) => o.flag === name);
  if (option) return { option, on: true };
  const negated = OPTIONS.find((o) => o.kind === 'switch' && o.negatable && name === `--no-${o.flag.slice(2)}`);
  return negated && { option: negated, on: false };
}

function isCommand(word: string): word is Command {
  return Object.hasOwn(COMMANDS, word);
}

/** A flag met on the command line, kept until the command (which may come later) is known. */
interface GivenFlag {
  name: string;
  option: OptionSpec;
  on: boolean;
  value: string | undefined;
}

/**
 * Parse argv (without node and script), after the PUSHWIRE_* variables of
 * `env` that the command takes (flags win). Values go as `--port 9101` or
 * `--port=9101`. Throws an Error with a message for the user: an unknown
 * command or option, an option the command does not take, a bad value.
 *
 * @example
 * parseArgs(['serve', '--port=9101'], process.env).port // 9101
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = {}): CliFlags {
  const flags: CliFlags = {
    command: '',
    help: false,
    version: false,
    port: undefined,
    host: '127.0.0.1',
    maxPayload: ECHO_MAX_PAYLOAD,
    deflate: undefined,
    clientPublish: false,
    demo: false,
    admin: false,
    devIdentity: false,
    workers: 1,
    shutdownGraceSeconds: 5,
    conformance: { performance: false, quiet: false, verbose: false, shrink: true, insecure: false, client: false },
    trace: {},
  };
  const given: GivenFlag[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') flags.help = true;
    else if (arg === '--version' || arg === '-v') flags.version = true;
    else if (arg.startsWith('-')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg : arg.slice(0, eq);
      const found = findOption(name);
      if (!found) throw new Error(`unknown option ${name}`);
      let value = eq === -1 ? undefined : arg.slice(eq + 1);
      if (found.option.kind === 'switch') {
        if (value !== undefined) throw new Error(`${name} takes no value`);
      } else if (value === undefined) {
        value = argv[++i];
        // `--port --demo` is a forgotten value, not a port named "--demo".
        if (value === undefined || value.startsWith('--')) throw new Error(`${name} needs a value`);
      }
      given.push({ name, ...found, value });
    } else if (flags.command === 'conformance' && flags.conformance.url === undefined) flags.conformance.url = arg;
    else if (flags.command !== '') throw new Error(`unexpected argument ${arg}`);
    else if (isCommand(arg)) flags.command = arg;
    else throw new Error(`unknown command ${arg}`);
  }
  const command = flags.command;
  if (command === '') return flags; // only --help or --version mean anything without a command
  for (const option of OPTIONS) {
    const value = option.env === undefined ? undefined : env[option.env];
    if (value === undefined || value === '' || option.help[command] === undefined) continue;
    if (option.kind === 'value') option.set(flags, value, option.env!);
    else option.set(flags, /^(1|true|yes|on)$/i.test(value));
  }
  for (const { name, option, on, value } of given) {
    if (option.help[command] === undefined) throw new Error(`${name} is not an option of ${command}`);
    if (option.kind === 'value') option.set(flags, value!, name);
    else option.set(flags, on);
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

/**
 * The usage text: the list of commands without `command`, else that
 * command's own options.
 */
export function usage(command: Command | '' = ''): string {
  if (command === '') {
    const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
    const commands = Object.entries(COMMANDS).map(([name, help]) => `  ${name.padEnd(width)} ${help}\n`);
    return (
      'usage: pushwire <command> [options]\n\ncommands:\n' +
      commands.join('') +
      "\n  pushwire <command> --help   that command's options\n" +
      '  pushwire --version          the version\n'
    );
  }
  const lines = OPTIONS.flatMap((option) => {
    const help = option.help[command];
    if (help === undefined) return [];
    const flag =
      option.kind === 'value'
        ? `${option.flag} ${option.placeholder}`
        : option.negatable
          ? `${option.flag} / --no-${option.flag.slice(2)}`
          : option.flag;
    return [`  ${flag.padEnd(24)} ${(option.env ?? '').padEnd(24)} ${help}\n`];
  });
  return (
    `usage: pushwire ${command}${command === 'conformance' ? ' URL | --client' : ''} [options]\n\n${COMMANDS[command]}\n\n` +
    'options (flag, environment variable; a flag wins over its variable):\n' +
    lines.join('') +
    `  ${'-h, --help'.padEnd(24)} ${''.padEnd(24)} show this text\n` +
    '\nA value goes after a space or an equals sign: --port 9101, --port=9101.\n'
  );
}

/** The version in package.json (dist/cli.js and src/cli.ts both sit one level below it). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Start the echo server; resolves once it listens. */
export function startEcho(flags: CliFlags): Promise<WebSocketServer> {
  const server = new WebSocketServer({
    port: flags.port ?? DEFAULT_PORT.echo,
    host: flags.host,
    maxPayload: flags.maxPayload,
    perMessageDeflate: flags.deflate ?? true,
  });
  // A client that sends and never reads its echoes would make them pile up:
  // past two messages' worth unsent, it is cut (its close frame could not be
  // written anyway, stuck behind what it does not read).
  const maxBuffered = 2 * flags.maxPayload;
  server.on('connection', (ws) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws.bufferedAmount > maxBuffered) ws.terminate();
      else ws.send(data, { binary: isBinary });
    });
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
    pushKey: flags.pushKey,
    clientPublish: flags.clientPublish,
    demo: flags.demo,
    admin: flags.admin,
    adminKey: flags.adminKey,
    devIdentity: flags.devIdentity || undefined,
    userChannelPrefix: flags.userChannelPrefix,
    redis: flags.redis,
    consumeList: flags.consumeList,
    consumeStream: flags.consumeStream,
    nodeName: flags.nodeName,
    beforeConsumedPublish: process.env.PUSHWIRE_TEST_HOLD_CONSUMED ? holdForever : undefined,
    perMessageDeflate: flags.deflate ?? false,
  });
  // Bugs in hooks and a shared broker's trouble (a failed catch-up, Redis away): to stderr, not lost.
  let lastError = '';
  let lastErrorAt = 0;
  server.on('error', (error) => {
    // The same trouble repeats while it lasts (each retry fails alike): say it once per 10 s.
    const now = Date.now();
    if (error.message === lastError && now - lastErrorAt < 10_000) return;
    lastError = error.message;
    lastErrorAt = now;
    process.stderr.write(`pushwire: ${error.message}\n`);
  });
  return { server, ...(await server.listen(flags.port ?? DEFAULT_PORT.serve, flags.host)) };
}

/**
 * Test hook (PUSHWIRE_TEST_HOLD_CONSUMED=1): a consumed queue entry is held
 * between being taken and being published, so a test can kill the process
 * in that window.
 */
function holdForever(): Promise<void> {
  process.stderr.write('pushwire: test hook: holding a consumed entry\n');
  return new Promise(() => {});
}

/** Whether `serve` takes `?uid=` on trust: only when asked to (--dev-identity, or --demo without a JWT secret). */
function trustsUid(flags: CliFlags): boolean {
  return (flags.devIdentity || flags.demo) && flags.jwtSecret === undefined;
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** A usage error: the message, a pointer to the help, exit code 2. */
function usageError(message: string, command: Command | ''): void {
  const help = command === '' ? 'pushwire --help' : `pushwire ${command} --help`;
  process.stderr.write(`pushwire: ${message}\n(see ${help})\n`);
  process.exitCode = 2;
}

/**
 * Run the command line: `pushwire [command] [options]`. Exit codes: 0 (help,
 * version, a clean shutdown on SIGINT/SIGTERM), 1 (a server that failed to
 * start, e.g. a port in use), 2 (a usage or configuration error, or no command).
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let flags: CliFlags;
  try {
    flags = parseArgs(argv, env);
  } catch (error) {
    const command = argv.find(isCommand) ?? '';
    return usageError((error as Error).message, command);
  }
  if (flags.version) {
    process.stdout.write(`${packageVersion()}\n`);
  } else if (flags.help) {
    process.stdout.write(usage(flags.command));
  } else if (flags.command === '') {
    // Not asked for help: say how to use it where errors go, and fail, so a
    // script that lost its arguments does not pass as a success.
    process.stderr.write(usage());
    process.exitCode = 2;
  } else if (flags.command === 'conformance') {
    await runConformance(flags);
  } else {
    try {
      const close = flags.command === 'echo' ? await runEcho(flags) : flags.command === 'trace' ? await runTrace(flags) : await runServe(flags);
      closeOnSignal(close, flags.shutdownGraceSeconds * 1000);
    } catch (error) {
      process.stderr.write(`pushwire: ${(error as Error).message}\n`);
      // exit() rather than exitCode: a half-started server (say, the HTTP
      // port bound but the push port taken) would keep the process alive.
      process.exit(error instanceof ConfigError ? 2 : 1);
    }
  }
}

/**
 * `pushwire conformance URL`: run the suite, print the summary, write the
 * reports asked for. Exit 0 when nothing FAILED, 1 when something did, 2
 * for a usage error (no URL, or not a ws:// one).
 */
async function runConformance(flags: CliFlags): Promise<void> {
  const c = flags.conformance;
  if (c.client && c.url !== undefined) return usageError('conformance --client takes no URL: the client under test connects to --host/--port', 'conformance');
  if (!c.client && c.url === undefined) return usageError('conformance needs the URL of an echo server: pushwire conformance ws://127.0.0.1:9001/', 'conformance');
  // Loaded on demand: serve and echo do not pay for the suite's cases.
  const { conformance, conformanceClient, formatTerminal, formatJson, formatJUnit, formatHtml } = await import('./conformance/index.js');
  let report;
  try {
    report = c.client
      ? await conformanceClient({
          ...c,
          port: flags.port ?? DEFAULT_PORT.echo,
          host: flags.host,
          onListening: (url) => process.stdout.write(`pushwire conformance: waiting for the client under test at ${url} (it connects once per case and echoes)\n\n`),
        })
      : await conformance({ ...c, url: c.url! });
  } catch (error) {
    return usageError((error as Error).message, 'conformance');
  }
  process.stdout.write(formatTerminal(report, { quiet: c.quiet, verbose: c.verbose }));
  if (c.json) writeFileSync(c.json, formatJson(report));
  if (c.junit) writeFileSync(c.junit, formatJUnit(report));
  if (c.html) writeFileSync(c.html, formatHtml(report));
  process.exitCode = report.failed ? 1 : 0;
}

/** `pushwire trace`: the proxy prints frames until SIGINT/SIGTERM. */
async function runTrace(flags: CliFlags): Promise<Closer> {
  const { listen, target } = flags.trace;
  if (listen === undefined || target === undefined) throw new ConfigError('trace needs --listen PORT and --target ws://host:port/');
  const { startTrace } = await import('./conformance/index.js');
  let proxy;
  try {
    proxy = await startTrace({ listen, host: flags.host, target, insecure: flags.conformance.insecure });
  } catch (error) {
    // a bad URL is the user's to fix (exit 2); a port in use is not (exit 1)
    throw /URL/.test((error as Error).message) ? new ConfigError((error as Error).message) : error;
  }
  process.stdout.write(`pushwire trace listening on ${proxy.url} → ${target}\n`);
  return (_graceMs, done) => void proxy.close().then(done);
}

/** Close the server, cutting peers still open after `graceMs`; call `done` when everything is closed. */
type Closer = (graceMs: number, done: () => void) => void;

async function runEcho(flags: CliFlags): Promise<Closer> {
  const server = await startEcho(flags);
  const address = server.address() as { address: string; port: number };
  process.stdout.write(`pushwire echo listening on ws://${hostForUrl(address.address)}:${address.port}/\n`);
  return (graceMs, done) => {
    const cut = setTimeout(() => server.clients.forEach((ws) => ws.terminate()), graceMs);
    server.close(() => {
      clearTimeout(cut);
      done();
    });
  };
}

async function runServe(flags: CliFlags): Promise<Closer> {
  if (flags.workers > 1 && cluster.isPrimary) return runPrimary(flags);
  const started = await startServe(flags);
  if (cluster.isWorker) {
    // The primary speaks for the workers; each only says where it listens.
    process.send!({ pushwire: 'listening', port: started.port, pushPort: started.pushPort });
    return (graceMs, done) => void started.server.close(graceMs).then(done);
  }
  announce(flags, started.port, started.pushPort);
  return (graceMs, done) => void started.server.close(graceMs).then(done);
}

/** The startup lines: where it listens, and the warnings that go with the settings. */
function announce(flags: CliFlags, port: number, pushPort: number | undefined, workers = 1): void {
  const base = `${hostForUrl(flags.host)}:${port}`;
  const push = pushPort === undefined ? '' : `, push port 127.0.0.1:${pushPort}`;
  const processes = workers > 1 ? `, ${workers} workers` : '';
  process.stdout.write(`pushwire serve listening on http://${base}/ (ws://${base}/ws${push}${processes})\n`);
  if (trustsUid(flags)) {
    process.stderr.write(
      'WARNING: development identity is on, so ?uid= is trusted: any client that reaches this port can claim to be any user.\n' +
        'WARNING: fine for development; drop --dev-identity/--demo and set --jwt-secret before real users connect.\n',
    );
  }
  if (flags.demo) process.stdout.write(`demo: open http://${base}/ in two browser windows\n`);
  if (flags.admin) {
    const key = flags.adminKey === undefined ? 'the publish key' : 'the admin key';
    const each = workers > 1 ? ' (each worker serves its own)' : '';
    process.stdout.write(`admin dashboard: http://${base}/admin?key=<${key}>${each}\n`);
  }
}

/**
 * `--workers N`: N processes share the port (node:cluster hands out
 * connections) and, through Redis, ids, history and fan-out — without
 * Redis each would be a server of its own, so it is refused. A worker that
 * dies is replaced; SIGTERM drains every worker, then the primary exits 0.
 */
async function runPrimary(flags: CliFlags): Promise<Closer> {
  if (flags.redis === undefined) {
    throw new ConfigError('--workers needs --redis: the workers share ids, history and fan-out through it');
  }
  let stopping = false;
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    process.stderr.write(`pushwire: worker ${worker.process.pid} ended (${signal ?? code}); starting another\n`);
    cluster.fork();
  });
  const listening = Array.from({ length: flags.workers }, () => {
    const worker = cluster.fork();
    return new Promise<{ port: number; pushPort?: number }>((resolve, reject) => {
      worker.on('message', (message: { pushwire?: string; port: number; pushPort?: number }) => {
        if (message.pushwire === 'listening') resolve(message);
      });
      worker.once('exit', (code) => reject(new Error(`a worker exited (${code}) before listening`)));
    });
  });
  const [first] = await Promise.all(listening);
  announce(flags, first.port, first.pushPort, flags.workers);
  return (_graceMs, done) => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
    let left = workers.length;
    if (left === 0) done();
    for (const worker of workers) {
      worker.once('exit', () => --left === 0 && done());
      worker.process.kill('SIGTERM'); // each drains within the grace and exits 0
    }
  };
}

/** SIGINT/SIGTERM close gracefully and exit 0. */
function closeOnSignal(close: Closer, graceMs: number): void {
  const shutdown = (): void => {
    process.stdout.write('pushwire: shutting down\n');
    // Peers still open after graceMs are cut, and that is a clean drain
    // (exit 0). Only a close that hangs past that for a reason of its own
    // ends in exit 1; a second signal kills at once (the listeners are gone).
    setTimeout(() => process.exit(1), graceMs + 5000).unref();
    close(graceMs, () => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

/**
 * Whether the module at `moduleUrl` is the script node was started with.
 * argv[1] is resolved the way node resolves its entry point (an added `.js`,
 * symlinks followed): run as an installed package, argv[1] is the
 * node_modules/.bin/pushwire symlink while import.meta.url is the file it
 * points to, and comparing the two as given would make the command silently
 * do nothing.
 */
function isMainModule(moduleUrl: string, script: string | undefined = process.argv[1]): boolean {
  if (script === undefined) return false; // node -e, the REPL
  try {
    const entry = createRequire(moduleUrl).resolve(resolve(script));
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

if (isMainModule(import.meta.url)) void main(process.argv.slice(2), process.env);
