// The built CLI as a user runs it: `node dist/cli.js …` in its own process.
// (test/integration/installed-package.test.ts runs it from an installed
// tarball, through the node_modules/.bin symlink.)
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import WS from 'ws';
import { parseArgs, type CliFlags } from '../../src/cli.js';
import { next } from '../helpers/events.js';
import { request, sseClient } from '../helpers/push.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = `${ROOT}dist/cli.js`;
const PKG = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string; scripts: Record<string, string> };

/** Children still running at the end of a test are killed, so a failed assertion leaves no server behind. */
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

function run(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.add(child);
  return child;
}

/** Run to completion: exit code and everything printed. */
async function runToEnd(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = run(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** The first line the child prints; its output keeps being read so it never meets a closed pipe. */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', () => reject(new Error(`exited before printing; output: ${out}`)));
  });
}

/** A `serve` child once it listens: its base URL and what it wrote to stderr so far. */
async function serve(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = run(['serve', ...args], env);
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const line = await firstLine(child);
  const base = /listening on (http:\/\/\S+)\//.exec(line)![1];
  return { child, base, line, stderr: () => stderr };
}

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  return (await exited)[0] as number | null;
}

/** A port nobody listens on right now (the kernel's pick, released at once). */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('pushwire CLI', () => {
  it('echo serves on the given port and closes clients with 1001 on SIGTERM', async () => {
    const child = run(['echo', '--port', '0', '--host', '127.0.0.1']);
    const line = await firstLine(child);
    const url = /listening on (ws:\/\/\S+)/.exec(line)![1];
    const client = new WS(url, { perMessageDeflate: true });
    await next(client, 'open');
    expect(client.extensions).toContain('permessage-deflate'); // on by default in the echo server
    client.send('round trip');
    expect((await next<[Buffer]>(client, 'message'))[0].toString()).toBe('round trip');
    const closed = next<[number]>(client, 'close');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect((await closed)[0]).toBe(1001);
    expect((await exited)[0]).toBe(0);
  });

  it('rejects unknown commands, unknown flags, flags of the other command and bad values with exit code 2 and a message', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['echo', '--port', 'abc'], /--port takes a whole number/],
      [['echo', '--port=abc'], /--port takes a whole number/],
      [['echo', '--nope'], /unknown option --nope/],
      [['frobnicate'], /unknown command frobnicate/],
      [['echo', 'extra'], /unexpected argument extra/],
      [['echo', '--publish-key', 'k'], /--publish-key is not an option of echo/],
      [['serve', '--max-payload=10'], /--max-payload is not an option of serve/],
      [['serve', '--demo=yes'], /--demo takes no value/],
      [['serve', '--port'], /--port needs a value/],
    ];
    const results = await Promise.all(cases.map(([args]) => runToEnd(args)));
    results.forEach(({ code, stdout, stderr }, i) => {
      expect(code, cases[i][0].join(' ')).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/^pushwire: /);
      expect(stderr).toMatch(cases[i][1]);
    });
  });

  it('without a command prints the usage to stderr and exits 2; --help and -h print it to stdout and exit 0', async () => {
    const bare = await runToEnd([]);
    expect(bare).toMatchObject({ code: 2, stdout: '' });
    expect(bare.stderr).toMatch(/^usage: pushwire <command>/);
    for (const flag of ['--help', '-h']) {
      const help = await runToEnd([flag]);
      expect(help).toMatchObject({ code: 0, stderr: '', stdout: bare.stderr });
      expect(help.stdout).toMatch(/serve .*\n.*echo /);
    }
  });

  it('serve --help and echo --help list that command\'s own options', async () => {
    const [serveHelp, echoHelp] = await Promise.all([runToEnd(['serve', '--help']), runToEnd(['--help', 'echo'])]);
    expect(serveHelp).toMatchObject({ code: 0, stderr: '' });
    expect(echoHelp).toMatchObject({ code: 0, stderr: '' });
    const options = (text: string): string[] => [...text.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
    expect(serveHelp.stdout).toMatch(/^usage: pushwire serve /);
    expect(options(serveHelp.stdout)).toEqual([
      '--port', '--host', '--publish-key', '--jwt-secret', '--allowed-origins', '--history',
      '--history-age', '--push-port', '--push-key', '--redis', '--consume-list', '--consume-stream', '--node-name', '--workers', '--shutdown-grace', '--dev-identity', '--user-channel-prefix',
      '--client-publish', '--demo', '--admin', '--admin-key', '--deflate',
    ]);
    expect(serveHelp.stdout).toContain('default 8080');
    expect(echoHelp.stdout).toMatch(/^usage: pushwire echo /);
    expect(options(echoHelp.stdout)).toEqual(['--port', '--host', '--shutdown-grace', '--max-payload', '--deflate']);
    expect(echoHelp.stdout).toContain('default 9001');
  });

  it('conformance takes the server\'s URL and its own options; --help lists them', async () => {
    const help = await runToEnd(['conformance', '--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^usage: pushwire conformance URL \| --client /);
    const options = [...help.stdout.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]);
    expect(options).toEqual([
      '--port', '--host', '--case', '--performance', '--runs', '--seed', '--max-message', '--timeout', '--concurrency', '--json', '--junit',
      '--html', '--quiet', '--verbose', '--shrink', '--client', '--insecure',
    ]);
    const flags = parseArgs([
      'conformance', 'ws://127.0.0.1:9001/chat', '--case', '6.4, prop.close.3', '--performance', '--runs=5', '--seed', '42', '--max-message', '1024',
      '--timeout', '500', '--concurrency', '2', '--json', 'r.json', '--junit=r.xml', '--html', 'r.html', '--quiet', '--no-shrink', '--insecure',
    ]);
    expect(flags.conformance).toEqual({
      url: 'ws://127.0.0.1:9001/chat', cases: ['6.4', 'prop.close.3'], performance: true, runs: 5, seed: 42, maxMessage: 1024, timeoutMs: 500,
      concurrency: 2, json: 'r.json', junit: 'r.xml', html: 'r.html', quiet: true, verbose: false, shrink: false, insecure: true, client: false,
    });
    expect(parseArgs(['conformance', '--client', '--port', '0'])).toMatchObject({ port: 0, conformance: { client: true } });
    expect(() => parseArgs(['conformance', 'ws://a/', 'ws://b/'])).toThrow(/unexpected argument ws:\/\/b\//);
    expect(() => parseArgs(['echo', '--runs', '5'])).toThrow(/--runs is not an option of echo/);
    expect(() => parseArgs(['conformance', '--publish-key', 'k'])).toThrow(/--publish-key is not an option of conformance/);
  });

  it('trace takes --listen, --target, --host and --insecure; without --listen/--target it exits 2', async () => {
    const help = await runToEnd(['trace', '--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect([...help.stdout.matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1])).toEqual(['--host', '--listen', '--target', '--insecure']);
    expect(parseArgs(['trace', '--listen', '9002', '--target', 'ws://127.0.0.1:9001/'])).toMatchObject({ command: 'trace', trace: { listen: 9002, target: 'ws://127.0.0.1:9001/' } });
    const missing = await runToEnd(['trace', '--listen', '0']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/trace needs --listen PORT and --target/);
  });

  it('--version and -v print the package version', async () => {
    for (const args of [['--version'], ['-v'], ['serve', '--version']]) {
      expect(await runToEnd(args)).toEqual({ code: 0, stdout: `${PKG.version}\n`, stderr: '' });
    }
  });

  it('takes every value flag as --flag value and as --flag=value', () => {
    const values: Array<[string[], Partial<CliFlags>]> = [
      [['serve', '--port', '9101'], { port: 9101 }],
      [['serve', '--host', '::1'], { host: '::1' }],
      [['serve', '--publish-key', 'k=with=equals'], { publishKey: 'k=with=equals' }],
      [['serve', '--jwt-secret', 's'], { jwtSecret: 's' }],
      [['serve', '--allowed-origins', 'https://a.example,https://b.example'], { allowedOrigins: ['https://a.example', 'https://b.example'] }],
      [['serve', '--history', '10'], { history: 10 }],
      [['serve', '--history-age', '60'], { historyAgeSeconds: 60 }],
      [['serve', '--push-port', '0'], { pushPort: 0 }],
      [['serve', '--admin-key', 'a=key'], { adminKey: 'a=key' }],
      [['echo', '--port', '9102'], { port: 9102 }],
      [['echo', '--host', '0.0.0.0'], { host: '0.0.0.0' }],
      [['echo', '--max-payload', '1024'], { maxPayload: 1024 }],
    ];
    for (const [[command, flag, value], expected] of values) {
      const spaced = parseArgs([command, flag, value]);
      expect(spaced, `${flag} ${value}`).toMatchObject(expected);
      expect(parseArgs([command, `${flag}=${value}`]), `${flag}=${value}`).toEqual(spaced);
    }
    expect(parseArgs(['echo', '--no-deflate']).deflate).toBe(false);
    expect(parseArgs(['serve', '--deflate']).deflate).toBe(true);
    expect(parseArgs(['echo']).deflate).toBeUndefined(); // each command has its own default
    expect(() => parseArgs(['echo', '--port', '70000'])).toThrow(/0 to 65535/);
    expect(() => parseArgs(['echo', '--port=--demo'])).toThrow(/takes a whole number/);
  });

  it('takes the port from PUSHWIRE_PORT; a flag wins; only the command\'s own variables are read', () => {
    expect(parseArgs(['serve'], { PUSHWIRE_PORT: '9200' }).port).toBe(9200);
    expect(parseArgs(['echo'], { PUSHWIRE_PORT: '9200' }).port).toBe(9200);
    expect(parseArgs(['serve', '--port=9300'], { PUSHWIRE_PORT: '9200' }).port).toBe(9300);
    expect(parseArgs(['serve'], { PUSHWIRE_PORT: '' }).port).toBeUndefined();
    expect(() => parseArgs(['serve'], { PUSHWIRE_PORT: 'eighty' })).toThrow(/^PUSHWIRE_PORT takes a whole number/);
    // echo takes neither --history nor --demo: their variables, meant for serve, do not touch it.
    expect(parseArgs(['echo'], { PUSHWIRE_HISTORY: 'lots', PUSHWIRE_DEMO: '1' })).toMatchObject({ demo: false });
    expect(parseArgs(['serve'], { PUSHWIRE_DEMO: 'yes', PUSHWIRE_CLIENT_PUBLISH: '0' })).toMatchObject({ demo: true, clientPublish: false });
  });

  it('npm start listens on PUSHWIRE_PORT (the start script hard-codes no port)', async () => {
    // The start script as npm would run it, minus `npm` itself: `npm start`
    // would first rebuild dist/ (prestart), under the feet of other tests.
    const [program, ...args] = PKG.scripts.start.split(' ');
    expect(program).toBe('node');
    expect(args).not.toContain('--port');
    expect(args.some((arg) => arg.startsWith('--port='))).toBe(false);
    const port = await freePort();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PUSHWIRE_PORT: String(port) } });
    children.add(child);
    expect(await firstLine(child)).toContain(`http://127.0.0.1:${port}/`);
    expect((await request(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(await stop(child)).toBe(0);
  });

  it('serve takes ?uid= on trust only when asked (--dev-identity, --demo), and then warns on stderr', async () => {
    const plain = await serve(['--port', '0']);
    expect((await request(`${plain.base}/sse?channel=a&uid=alice`)).status).toBe(401);
    expect(await stop(plain.child)).toBe(0);
    expect(plain.stderr()).not.toMatch(/WARNING/);

    const trusting = await serve(['--port', '0', '--dev-identity']);
    await expect.poll(trusting.stderr, { timeout: 5000 }).toMatch(/^WARNING: .*\?uid= is trusted/m);
    const sse = sseClient(`${trusting.base}/sse?channel=a&uid=alice`);
    const ready = await sse.inbox.next();
    expect(ready.type).toBe('ready');
    expect(JSON.parse(ready.data).uid).toBe('alice');
    sse.close();

    const checking = await serve(['--port=0', '--demo'], { PUSHWIRE_JWT_SECRET: 'secret' });
    expect((await request(`${checking.base}/sse?channel=a&uid=alice`)).status).toBe(401);
    expect(await stop(checking.child)).toBe(0);
    expect(checking.stderr()).not.toMatch(/WARNING/);
    expect(await stop(trusting.child)).toBe(0);
  });

  it('serve --admin needs a key (exit 2), says where the dashboard is, and serves it with the publish key or --admin-key', async () => {
    const keyless = await runToEnd(['serve', '--port', '0', '--admin']);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toMatch(/^pushwire: admin needs a key \(adminKey or publishKey\)/);

    const withPublishKey = run(['serve', '--port', '0', '--admin', '--publish-key', 'pk']);
    let out = '';
    withPublishKey.stdout!.on('data', (chunk) => (out += chunk));
    await expect.poll(() => out, { timeout: 5000 }).toMatch(/^admin dashboard: http:\/\/127\.0\.0\.1:\d+\/admin\?key=<the publish key>$/m);
    const base = /listening on (http:\/\/\S+)\//.exec(out)![1];
    expect((await request(`${base}/admin`)).status).toBe(401);
    expect((await request(`${base}/admin?key=pk`)).status).toBe(200);
    expect(await stop(withPublishKey)).toBe(0);

    const own = await serve(['--port', '0', '--publish-key', 'pk'], { PUSHWIRE_ADMIN: '1', PUSHWIRE_ADMIN_KEY: 'ak' });
    expect((await request(`${own.base}/admin?key=ak`)).status).toBe(200);
    expect((await request(`${own.base}/admin?key=pk`)).status).toBe(403);
    expect(await stop(own.child)).toBe(0);
  });
});
