// The package as a user meets it: `npm pack`, `npm install <tarball>` in a
// fresh project, then `npx pushwire …`, imports of every entry point from
// JavaScript and from TypeScript (--strict, nodenext), and a look inside
// what was installed (source maps, declarations, stray files).
//
// It packs the dist/ that is already built (`npm test` builds first; run
// `npm run build` before running this file alone) with --ignore-scripts:
// letting prepack rebuild would empty dist/ under the feet of the other test
// files running at the same time. One pack and one install serve the file.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { next } from '../helpers/events.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  exports: Record<string, string | Record<string, string>>;
};

let work: string; // temp dir: the tarball and the scratch project
let project: string;
let installed: string; // <project>/node_modules/pushwire
let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
const children = new Set<ChildProcess>();

/**
 * The environment for npm and the scratch project's processes: without the
 * npm_* variables of an enclosing `npm test` (npm_config_local_prefix and
 * friends would point npm back at this repository), offline (the package has
 * no dependencies; nothing needs the network).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return { ...env, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' };
}

/** Start a command in its own process group, so that killing the group also ends what npx started under it. */
function start(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { cwd: project, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

/** Run to completion (at most `timeoutMs`): exit code and output. */
async function run(command: string, args: string[], options: SpawnOptions & { timeoutMs?: number } = {}) {
  const child = start(command, args, options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => killGroup(child, 'SIGKILL'), options.timeoutMs ?? 30_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** `npx pushwire <args>` in the scratch project, as a long-running server: resolves with its first stdout line. */
async function startServer(args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const child = start('npx', ['pushwire', ...args]);
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk) => (err += chunk));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no output from npx pushwire ${args.join(' ')}: ${out}${err}`)), 15_000);
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]);
      }
    });
    child.once('exit', (code) => reject(new Error(`npx pushwire ${args.join(' ')} exited ${code}: ${out}${err}`)));
  });
  return { child, line };
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  killGroup(child);
  await exited;
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

/** Every file under `dir`, as paths relative to it. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path, base) : [relative(base, path)];
  });
}

/** Fail early, and say why, when dist/ does not hold a build of every source file. */
function assertBuilt(): void {
  const missing = walk(join(ROOT, 'src'))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => join('dist', file.replace(/\.ts$/, '.js')))
    .filter((file) => !existsSync(join(ROOT, file)));
  if (missing.length > 0) throw new Error(`dist/ is not a build of src/ (missing ${missing.join(', ')}): run npm run build first`);
}

/** Each of these runs npx, node or tsc in another process: slow on a loaded 2-core machine. */
const SPAWNS = { timeout: 90_000 };

beforeAll(async () => {
  assertBuilt();
  work = mkdtempSync(join(tmpdir(), 'pushwire-installed-'));
  project = join(work, 'project');
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT });
  expect(pack.code, pack.stderr).toBe(0);
  [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')));
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  const install = await run('npm', ['install', join(work, packed.filename), '--no-audit', '--no-fund', '--offline'], { timeoutMs: 60_000 });
  expect(install.code, install.stderr).toBe(0);
  installed = join(project, 'node_modules', PKG.name);
}, 120_000);

afterAll(() => {
  for (const child of children) killGroup(child, 'SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds dist, src, README, LICENSE and package.json — no tests, bench or tools', () => {
    const paths = packed.files.map((file) => file.path);
    const stray = paths.filter((path) => !/^(dist|src)\//.test(path) && !['package.json', 'README.md', 'LICENSE'].includes(path));
    expect(stray).toEqual([]);
    expect(paths.filter((path) => /(^|\/)(test|tests|bench|tools)\/|\.test\.[jt]s$/.test(path))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'dist/cli.js', 'src/cli.ts']));
  });

  it('contains every file package.json points at (bin, exports)', () => {
    const targets = [
      ...Object.values(PKG.bin),
      ...Object.values(PKG.exports).flatMap((target) => (typeof target === 'string' ? [target] : Object.values(target))),
    ];
    for (const target of targets) expect(existsSync(join(installed, target)), target).toBe(true);
  });
});

describe('npx pushwire, installed', SPAWNS, () => {
  it('--version prints the package version', async () => {
    const { code, stdout } = await run('npx', ['pushwire', '--version']);
    expect({ code, stdout }).toEqual({ code: 0, stdout: `${PKG.version}\n` });
  });

  it('with no command prints the usage to stderr and exits 2; --help prints it to stdout', async () => {
    const bare = await run('npx', ['pushwire']);
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toContain('usage: pushwire <command>');
    const help = await run('npx', ['pushwire', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: pushwire <command>/);
  });

  it('serve --port=P and serve --port P listen on P and answer /healthz', async () => {
    for (const portArgs of [(p: number) => [`--port=${p}`], (p: number) => ['--port', String(p)]]) {
      const port = await freePort();
      const { child, line } = await startServer(['serve', ...portArgs(port)]);
      expect(line).toContain(`http://127.0.0.1:${port}/`);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      await health.body?.cancel();
      await stopServer(child);
    }
  });

  it('echo --port P echoes WebSocket messages', async () => {
    const port = await freePort();
    const { child, line } = await startServer(['echo', '--port', String(port)]);
    expect(line).toContain(`ws://127.0.0.1:${port}/`);
    const client = new WS(`ws://127.0.0.1:${port}/`);
    await next(client, 'open');
    client.send('from the installed package');
    expect((await next<[Buffer]>(client, 'message'))[0].toString()).toBe('from the installed package');
    client.close();
    await next(client, 'close');
    await stopServer(child);
  });
});

describe('importing the installed package', SPAWNS, () => {
  it('loads pushwire, pushwire/client, pushwire/protocol and pushwire/package.json from an .mjs file, with the names src exports', async () => {
    writeFileSync(
      join(project, 'imports.mjs'),
      [
        "import * as root from 'pushwire';",
        "import * as client from 'pushwire/client';",
        "import * as protocol from 'pushwire/protocol';",
        "import pkg from 'pushwire/package.json' with { type: 'json' };",
        'const names = (module) => Object.keys(module).sort();',
        'console.log(JSON.stringify({ root: names(root), client: names(client), protocol: names(protocol), version: pkg.version }));',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await run(process.execPath, ['imports.mjs']);
    expect(code, stderr).toBe(0);
    const loaded = JSON.parse(stdout);
    const names = (module: object): string[] => Object.keys(module).sort();
    expect(loaded).toEqual({
      root: names(await import('../../src/index.js')),
      // by URL: a literal path would pull the DOM-typed client into this Node-typed project
      client: names(await import(new URL('../../src/client/pushwire-client.ts', import.meta.url).href)),
      protocol: names(await import('../../src/protocol/index.js')),
      version: PKG.version,
    });
  });

  it('gives bundlers the self-contained browser build of pushwire/client under the browser condition', async () => {
    const script = "console.log(import.meta.resolve('pushwire/client')); await import('pushwire/client');";
    const { code, stdout, stderr } = await run(process.execPath, ['--conditions=browser', '--input-type=module', '-e', script]);
    expect(code, stderr).toBe(0);
    expect(stdout.trim()).toMatch(/\/dist\/client\/pushwire-client\.browser\.js$/);
  });

  it('type-checks a TypeScript file importing every entry point (tsc --strict, nodenext, declarations checked too)', async () => {
    writeFileSync(
      join(project, 'check.ts'),
      [
        "import { createServer, WebSocket, WebSocketServer, CloseCode, type PushServerOptions, type WebSocketHandler } from 'pushwire';",
        "import { connect, type ConnectOptions, type PushClient } from 'pushwire/client';",
        "import { Connection, encodeFrame, Opcode, type ConnectionOptions } from 'pushwire/protocol';",
        "import pkg from 'pushwire/package.json' with { type: 'json' };",
        '',
        "const options: PushServerOptions = { publishKey: 'key', historySize: 10 };",
        'const server = createServer(options);',
        'const handler: WebSocketHandler = { onMessage: (socket, data, isBinary) => socket.send(data, { binary: isBinary }) };',
        'const wss: WebSocketServer = new WebSocketServer({ port: 0 }, handler);',
        "const ws: WebSocket = new WebSocket('ws://127.0.0.1:1/');",
        "const clientOptions: ConnectOptions = { channels: ['news'] };",
        "const push: PushClient = connect('http://127.0.0.1:1/', clientOptions);",
        'const frameOptions: ConnectionOptions | undefined = undefined;',
        "const frame = encodeFrame({ opcode: Opcode.Text, payload: Buffer.from('hi'), fin: true });",
        'const version: string = pkg.version;',
        'export { server, wss, ws, push, frameOptions, frame, version, Connection, CloseCode };',
      ].join('\n'),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--resolveJsonModule', '--skipLibCheck', 'false', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), 'check.ts'];
    const { code, stdout } = await run(process.execPath, args, { timeoutMs: 80_000 });
    expect(stdout).toBe('');
    expect(code).toBe(0);
  });
});

describe('what was installed', () => {
  const files = (): string[] => walk(installed);

  it('every .js.map names sources that exist in the package, and every sourceMappingURL names a map that exists', () => {
    const maps = files().filter((file) => file.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const map of maps) {
      const { sources, sourceRoot } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[]; sourceRoot?: string };
      expect(sources.length, map).toBeGreaterThan(0);
      for (const source of sources) {
        const path = resolve(dirname(join(installed, map)), sourceRoot ?? '', source);
        expect(path.startsWith(installed + '/') && existsSync(path), `${map} → ${source}`).toBe(true);
      }
    }
    for (const file of files().filter((f) => f.endsWith('.js'))) {
      const url = /^\/\/# sourceMappingURL=(.+)$/m.exec(readFileSync(join(installed, file), 'utf8'))?.[1];
      if (url !== undefined) expect(existsSync(join(installed, dirname(file), url)), `${file} → ${url}`).toBe(true);
    }
  });

  it('no declaration file holds @internal members; WebSocket and WebSocketServer declare none of their internals', () => {
    const declarations = files().filter((file) => file.endsWith('.d.ts'));
    expect(declarations.length).toBeGreaterThan(10);
    for (const file of declarations) expect(readFileSync(join(installed, file), 'utf8'), file).not.toContain('@internal');
    const classBody = (file: string, name: string): string => {
      const text = readFileSync(join(installed, file), 'utf8');
      const start = text.search(new RegExp(`export declare class ${name}\\b`));
      expect(start, `${name} in ${file}`).toBeGreaterThan(-1);
      return text.slice(start, text.indexOf('\n}\n', start));
    };
    const members = (body: string): string[] => [...body.matchAll(/^ {4}(?:readonly |static |get )*([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
    const internals = ['attach', 'start', 'receive', 'queue', 'finish', 'alive', 'registry', 'reportHandshakeFailure',
      'onMessage', 'onCloseReceived', 'onProtocolError', 'readHead', 'forgetPending'];
    for (const [file, name] of [['dist/ws/websocket.d.ts', 'WebSocket'], ['dist/ws/server.d.ts', 'WebSocketServer']]) {
      const declared = members(classBody(file, name));
      expect(declared.length, name).toBeGreaterThan(3);
      expect(declared.filter((member) => internals.includes(member)), name).toEqual([]);
    }
  });
});
