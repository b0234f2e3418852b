// Graceful shutdown of the push server, and `pushwire serve` as a user runs it.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli.js';
import { pollsHeld, publish, request, sseClient, startPush, wsClient } from '../helpers/push.js';

describe('graceful close', () => {
  it('closes WebSockets with 1001, ends SSE streams, answers held polls, refuses new work, then resolves', async () => {
    const { server, base, wsUrl } = await startPush({ publishKey: 'k' });
    const ws = wsClient(`${wsUrl}?channel=a`);
    await ws.inbox.until((m) => m.type === 'ready');
    const sse = sseClient(`${base}/sse?channel=a`);
    await sse.inbox.next();
    const { json: first } = await request(`${base}/poll?channel=a&timeout=0`);
    const held = request(`${base}/poll?channel=a&session=${first.session}&cursor=${first.cursor}&timeout=30`);
    await pollsHeld(base, 1);
    await publish(base, { channel: 'a', data: 'later', delayMs: 60_000 }, 'k');
    const closing = server.close();
    expect(await ws.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    await sse.ended;
    expect((await held).json).toMatchObject({ messages: [], session: first.session });
    await closing;
    expect(server.httpServer.listening).toBe(false);
    expect(await server.scheduled()).toEqual([]);
  });
});

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

describe('pushwire serve', () => {
  it('takes settings from flags and PUSHWIRE_* variables; flags win', () => {
    const flags = parseArgs(['serve', '--port', '9000', '--client-publish'], {
      PUSHWIRE_PORT: '7000',
      PUSHWIRE_PUBLISH_KEY: 'from-env',
      PUSHWIRE_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
      PUSHWIRE_HISTORY: '50',
    });
    expect(flags).toMatchObject({
      command: 'serve',
      port: 9000,
      publishKey: 'from-env',
      allowedOrigins: ['https://a.example', 'https://b.example'],
      history: 50,
      clientPublish: true,
    });
    expect(() => parseArgs(['serve'], { PUSHWIRE_HISTORY: 'lots' })).toThrow(/^PUSHWIRE_HISTORY takes a whole number/);
  });

  it('serves publish → SSE, and exits 0 on SIGTERM after closing its clients', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--push-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PUSHWIRE_PUBLISH_KEY: 'cli-key' },
    });
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    // Startup includes loading node and dist/: slow on a loaded 2-core machine.
    await expect.poll(() => out, { timeout: 15_000 }).toContain('\n');
    const base = /listening on (http:\/\/\S+)\//.exec(out)![1];
    expect(out).toMatch(/push port 127\.0\.0\.1:\d+/);
    const sse = sseClient(`${base}/sse?channel=cli`);
    await sse.inbox.next();
    expect((await publish(base, { channel: 'cli', data: 'hello' })).status).toBe(401);
    expect((await publish(base, { channel: 'cli', data: 'hello' }, 'cli-key')).json.delivered).toBe(1);
    expect((await sse.inbox.next()).data).toBe('"hello"');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await sse.ended;
    expect((await exited)[0]).toBe(0);
  });

  it('refuses a public host without a publish key (exit 2)', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--host', '0.0.0.0', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (chunk) => (err += chunk));
    expect((await once(child, 'exit'))[0]).toBe(2);
    expect(err).toMatch(/without a publish key/);
  });
});
