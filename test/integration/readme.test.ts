// README.md's examples as a reader meets them: every TypeScript/JavaScript
// block type-checks under `tsc --strict` (browser blocks with the DOM lib),
// and the shell and Python examples run against a live `pushwire serve` on
// 127.0.0.1. A block opts out only with a visible marker on the line before
// its fence, `<!-- readme-test: skip (why) -->`; `<!-- readme-test: browser -->`
// checks a block against the browser's globals instead of Node's.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushServers, request } from '../helpers/push.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(root, 'README.md'), 'utf8');

interface Block {
  lang: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  marker?: { kind: 'skip' | 'browser'; reason?: string };
}

const MARKER = /^<!-- readme-test: (?:skip \((?<reason>.+)\)|(?<browser>browser)) -->$/;

function codeBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.indexOf('```', i + 1);
    const marker = MARKER.exec(lines[i - 1] ?? '')?.groups;
    blocks.push({
      lang: fence[1],
      line: i + 1,
      code: lines.slice(i + 1, end).join('\n'),
      marker: marker && (marker.browser ? { kind: 'browser' } : { kind: 'skip', reason: marker.reason }),
    });
    i = end;
  }
  return blocks;
}

const blocks = codeBlocks(README);

/** The first block of `lang` after the heading `heading`. */
function blockAfter(heading: string, lang: string): Block {
  const headingLine = README.split('\n').indexOf(heading) + 1;
  const block = blocks.find((b) => b.line > headingLine && b.lang === lang);
  if (headingLine === 0 || !block) throw new Error(`README has no ${lang} block after "${heading}"`);
  return block;
}

// ---- type-checking ----

const SCRIPT = new Set(['ts', 'typescript', 'js', 'javascript']);
const scripts = blocks.filter((b) => SCRIPT.has(b.lang));

/** Where the package's entry points resolve when a block imports them: its sources. */
const PATHS = {
  pushwire: [join(root, 'src/index.ts')],
  'pushwire/protocol': [join(root, 'src/protocol/index.ts')],
  'pushwire/client': [join(root, 'src/client/pushwire-client.ts')],
  'pushwire/conformance': [join(root, 'src/conformance/index.ts')],
  // The browser example imports the client straight from a running server.
  'http://*/client.js': [join(root, 'src/client/pushwire-client.ts')],
};

function tsconfig(files: string[], browser: boolean): string {
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    // Every block is its own module, with or without imports, so two blocks may declare the same names.
    moduleDetection: 'force',
    lib: browser ? ['ES2022', 'DOM', 'DOM.Iterable'] : ['ES2022'],
    types: browser ? [] : ['node'],
    paths: PATHS,
  };
  return JSON.stringify({ compilerOptions, files }, null, 2);
}

/** Run tsc on one config; its errors, with block files named by their README line. */
async function typeErrors(dir: string, config: string): Promise<string[]> {
  const tsc = spawn(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, config), '--pretty', 'false'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  tsc.stdout!.on('data', (chunk) => (output += chunk));
  tsc.stderr!.on('data', (chunk) => (output += chunk));
  await once(tsc, 'exit');
  const errors: string[] = [];
  for (const line of output.split('\n')) {
    const located = /^(.*)\((\d+),\d+\): error (.*)$/.exec(line);
    const block = located && /readme-(\d+)\.ts$/.exec(located[1]);
    if (block) errors.push(`README.md:${Number(block[1]) + Number(located[2])}: ${located[3]}`);
    // Errors in src/ itself are the project type-check's business; anything else (a broken config) is ours.
    else if (/error TS/.test(line) && !located?.[1].startsWith('src/')) errors.push(line);
  }
  return errors;
}

describe('README code blocks type-check under --strict', () => {
  for (const block of scripts.filter((b) => b.marker?.kind === 'skip')) {
    it.skip(`README.md:${block.line} (${block.marker!.reason})`, () => {});
  }

  it('every marker is well-formed and sits right before a fence', () => {
    const lines = README.split('\n');
    lines.forEach((line, i) => {
      if (!/^<!--\s*readme-test/.test(line)) return;
      expect(line, `README.md:${i + 1}`).toMatch(MARKER);
      expect(lines[i + 1], `README.md:${i + 1}`).toMatch(/^```/);
    });
  });

  it(`every TypeScript/JavaScript block (${scripts.length})`, { timeout: 90_000 }, async () => {
    const cache = join(root, 'node_modules/.cache');
    mkdirSync(cache, { recursive: true });
    const dir = mkdtempSync(join(cache, 'readme-')); // inside the repo, so node_modules/@types resolve
    try {
      const node: string[] = [];
      const browser: string[] = [];
      for (const block of scripts) {
        if (block.marker?.kind === 'skip') continue;
        // Named by the fence's line, so an error maps back to the README.
        const file = `readme-${block.line}.ts`;
        writeFileSync(join(dir, file), block.code + '\n');
        (block.marker?.kind === 'browser' ? browser : node).push(file);
      }
      const runs = [
        { files: node, config: 'tsconfig.node.json', browser: false },
        { files: browser, config: 'tsconfig.browser.json', browser: true },
      ].filter((run) => run.files.length > 0);
      for (const run of runs) writeFileSync(join(dir, run.config), tsconfig(run.files, run.browser));
      const errors = await Promise.all(runs.map((run) => typeErrors(dir, run.config)));
      expect(errors.flat()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- shell and Python examples against `pushwire serve` ----

const CLI = join(root, 'dist/cli.js');
const PUBLISH_KEY = 'readme-test-key';
/** The port every README example uses; each test substitutes the live server's. */
const README_ORIGIN = '127.0.0.1:8080';

interface Served {
  child: ChildProcess;
  port: number;
}

/** The environment a reader's shell would have, without pushwire settings of the machine running the tests. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(PUSHWIRE_|PUBLISH_KEY$)/.test(name)));
  return { ...env, ...extra };
}

/** `pushwire serve` on a free port (PUSHWIRE_PORT=0, as the README's environment variables allow). */
async function serve(env: Record<string, string>): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve'], {
    env: cleanEnv({ PUSHWIRE_PORT: '0', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const read = (chunk: Buffer): void => {
      output += chunk;
      const listening = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(output);
      if (listening) resolve(Number(listening[1]));
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => reject(new Error(`pushwire serve exited with ${code}: ${output}`)));
  });
  return { child, port };
}

async function stop({ child }: Served): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/** Point an example at the live server; fails if the example does not use the README's port. */
function localize(code: string, port: number): string {
  expect(code).toContain(README_ORIGIN);
  return code.replaceAll(README_ORIGIN, `127.0.0.1:${port}`);
}

/** The commands of a shell block: continuation lines joined, blank and comment lines dropped. */
function shellCommands(block: Block): string[] {
  return block.code
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a program to its end, at most 10 s. */
async function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const child = spawn(file, args, { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  return { code, stdout, stderr };
}

/** A long-running child's stdout as it arrives. */
function streamed(child: ChildProcess) {
  let text = '';
  child.stdout!.on('data', (chunk) => (text += chunk));
  return {
    get text() {
      return text;
    },
    /** Resolves once `done(text)`, or after `ms`: the caller's expect then shows what did arrive. */
    until(done: (text: string) => boolean, ms = 5000): Promise<void> {
      return new Promise((resolve) => {
        const check = (): void => {
          if (!done(text)) return;
          clearTimeout(timer);
          child.stdout!.off('data', check);
          resolve();
        };
        const timer = setTimeout(() => {
          child.stdout!.off('data', check);
          resolve();
        }, ms);
        child.stdout!.on('data', check);
        check();
      });
    },
  };
}

/** Ids begin with the server's start time and sessions are random: compare what the README can promise. */
function normalize(text: string): string {
  return text.replace(/\b\d{13}-(\d+)/g, '<start>-$1').replace(/"session":"[^"]+"/g, '"session":"…"');
}

describe('README shell and Python examples against a live pushwire serve', () => {
  let open: Served;
  let keyed: Served;
  beforeAll(async () => {
    [open, keyed] = await Promise.all([serve({}), serve({ PUSHWIRE_PUBLISH_KEY: PUBLISH_KEY })]);
  });
  afterAll(async () => {
    await Promise.all([open, keyed].filter(Boolean).map(stop));
  });

  it('the quick start: the curl subscriber prints what the curl publish sent, as documented', async () => {
    const commands = shellCommands(blockAfter('## Push server in one minute', 'sh'));
    // The server line is what this test started; everything else must be curl.
    expect(commands[0]).toMatch(/^npm start\b/);
    const [subscribe, publish] = commands.slice(1);
    expect(subscribe).toMatch(/^curl -N /);
    expect(publish).toMatch(/^curl /);
    const printed = blockAfter('## Push server in one minute', '').code; // "Terminal 1 prints:"
    const answer = /the publish answers `([^`]+)`/.exec(README)![1];

    // detached: the subscriber's bash and its curl form one process group, ended together.
    const subscriber = spawn('bash', ['-c', localize(subscribe, open.port)], { env: cleanEnv({}), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const terminal1 = streamed(subscriber);
    try {
      // Publish once the subscriber is in: its stream says ready.
      await terminal1.until((text) => text.includes('event: ready'));
      const published = await run('bash', ['-c', localize(publish, open.port)]);
      expect(published.code).toBe(0);
      expect(normalize(published.stdout)).toBe(normalize(answer));
      const documented = normalize(printed).trim();
      await terminal1.until((text) => normalize(text).trim() === documented);
      expect(normalize(terminal1.text).trim()).toBe(documented);
    } finally {
      if (subscriber.exitCode === null) process.kill(-subscriber.pid!, 'SIGTERM');
    }
  });

  it('the backend curl example sends $PUBLISH_KEY, expanded', async () => {
    const [command] = shellCommands(blockAfter('### Backend examples', 'sh'));
    const published = await run('bash', ['-c', localize(command, keyed.port)], { PUBLISH_KEY });
    expect(published.code).toBe(0);
    expect(JSON.parse(published.stdout)).toEqual({ id: expect.any(String), delivered: 0 });
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  if (!python) console.warn('readme.test.ts: no python3 on PATH; the Python example is not run');
  it.skipIf(!python)('the Python example publishes with PUBLISH_KEY, and without one to a keyless dev server', async () => {
    const code = blockAfter('### Backend examples', 'python').code;
    const keyless = await run('python3', ['-c', localize(code, open.port)]);
    expect(keyless).toMatchObject({ code: 0, stderr: '' });
    expect(keyless.stdout).toMatch(/^b'\{"id":"\d+-\d+","delivered":\d+\}'$/m);
    const withKey = await run('python3', ['-c', localize(code, keyed.port)], { PUBLISH_KEY });
    expect(withKey).toMatchObject({ code: 0, stderr: '' });
    expect(withKey.stdout).toMatch(/^b'\{"id":"\d+-\d+","delivered":\d+\}'$/m);
  });
});

describe('the README scheduling example', () => {
  const start = pushServers();

  it('`"delayMs"` and `"at"` as written are scheduled (202)', async () => {
    const delay = /`("delayMs":\d+)`/.exec(README)![1];
    const at = /`("at":"[^"]+")`/.exec(README)![1];
    // A fixed clock: the day this example was last checked. `at` lies years
    // ahead of it, so the test keeps meaning the same thing as time passes.
    const { base } = await start({ now: () => Date.parse('2026-11-24T00:00:00Z') });
    for (const schedule of [delay, at]) {
      const answer = await request(`${base}/publish`, { body: `{"channel":"news","data":"later",${schedule}}` });
      expect(answer.status, `${schedule}: ${answer.text}`).toBe(202);
      expect(answer.json).toEqual({ scheduled: expect.stringMatching(/^sched-\d+$/), at: expect.any(String) });
    }
  });
});
