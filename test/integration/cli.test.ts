// The built CLI as a user runs it: `pushwire echo`, then SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import WS from 'ws';
import { parseArgs } from '../../src/cli.js';
import { next } from '../helpers/events.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

function run(args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

  it('rejects unknown flags and bad values with exit code 2 and a message', async () => {
    for (const args of [['echo', '--port', 'abc'], ['echo', '--nope'], ['frobnicate']]) {
      const child = run(args);
      let stderr = '';
      child.stderr!.on('data', (chunk) => (stderr += chunk));
      const [code] = await once(child, 'exit');
      expect(code).toBe(2);
      expect(stderr).toMatch(/^pushwire: /);
    }
  });

  it('parses flags', () => {
    expect(parseArgs(['echo', '--port', '9100', '--max-payload', '1024'])).toMatchObject({
      command: 'echo',
      port: 9100,
      maxPayload: 1024,
      deflate: undefined, // each command has its own default
    });
    expect(parseArgs(['echo', '--no-deflate']).deflate).toBe(false);
    expect(() => parseArgs(['echo', '--port'])).toThrow(/needs a value/);
    expect(() => parseArgs(['echo', '--port', '70000'])).toThrow(/0 to 65535/);
  });
});
