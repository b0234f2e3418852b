// The HTTP surface of the push server: publish API and its auth, scheduled
// publishes, the push port, health and metrics, CORS, and every error status.
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/push/http-io.js';
import { createServer } from '../../src/push/push-server.js';
import { publish, pushServers, request, sseClient, wsClient } from '../helpers/push.js';

const KEY = 'test-publish-key';
const start = pushServers();

describe('POST /publish', () => {
  it('publishes to a channel and answers with the id and how many sessions it reached', async () => {
    const { base, wsUrl } = await start({ publishKey: KEY });
    const alice = wsClient(`${wsUrl}?channel=news`);
    await alice.inbox.until((m) => m.type === 'ready');
    const answer = await publish(base, { channel: 'news', event: 'headline', data: { title: 'hi' } }, KEY);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answer.json).toEqual({ id: expect.stringMatching(/^\d+-1$/), delivered: 1 });
    expect(await alice.inbox.next()).toMatchObject({
      type: 'message',
      channel: 'news',
      id: answer.json.id,
      event: 'headline',
      data: { title: 'hi' },
    });
    alice.socket.close();
  });

  it('a batch is validated whole, then published in order; answers one result per item', async () => {
    const { base } = await start({ publishKey: KEY });
    const bad = await publish(base, [{ channel: 'a', data: 1 }, { channel: 'a' }], KEY);
    expect(bad.status).toBe(422);
    expect(bad.json.error).toMatch(/^item 1: missing "data"/);
    const sse = sseClient(`${base}/sse?channel=a&envelope=1`);
    await sse.inbox.until((e) => e.type === 'ready');
    const ok = await publish(base, [{ channel: 'a', data: 1 }, { broadcast: true, data: 2 }, { uid: 'bob', data: 3 }], KEY);
    expect(ok.status).toBe(200);
    expect(ok.json.map((r: { delivered: number }) => r.delivered)).toEqual([1, 1, 0]);
    expect(JSON.parse((await sse.inbox.next()).data).data).toBe(1);
    expect(JSON.parse((await sse.inbox.next()).data)).toMatchObject({ broadcast: true, data: 2 });
    sse.close();
  });

  it('needs the publish key when one is configured: 401 without, 403 when wrong', async () => {
    const { base } = await start({ publishKey: KEY });
    const missing = await publish(base, { channel: 'a', data: 1 });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="pushwire"');
    expect(missing.json).toEqual({ error: expect.stringContaining('Bearer') });
    const wrong = await publish(base, { channel: 'a', data: 1 }, 'guess');
    expect(wrong.status).toBe(403);
    expect(wrong.json.error).toBe('wrong publish key');
    const prefix = await publish(base, { channel: 'a', data: 1 }, KEY.slice(0, -1));
    expect(prefix.status).toBe(403);
    expect((await request(`${base}/scheduled`)).status).toBe(401);
  });

  it('refuses to listen beyond loopback without a publish key, before binding anything', async () => {
    const server = createServer();
    await expect(server.listen(0, '0.0.0.0')).rejects.toThrow(ConfigError);
    expect(server.httpServer.listening).toBe(false);
    expect(() => createServer({ maxBodyBytes: -1 })).toThrow(ConfigError);
    expect(() => createServer({ publishKey: '' })).toThrow(/publishKey/);
  });
});

describe('error answers', () => {
  it('each status carries a JSON {"error"} body', async () => {
    const { base } = await start({ publishKey: KEY, maxBodyBytes: 1024 });
    const auth = { Authorization: `Bearer ${KEY}` };
    const cases: [string, Parameters<typeof request>[1], number][] = [
      ['/nowhere', {}, 404],
      ['/publish', { method: 'GET' }, 405],
      ['/publish', { body: '{"channel":', headers: auth }, 400],
      ['/publish', { body: '', headers: auth }, 400],
      ['/publish', { body: { data: 1 }, headers: auth }, 422],
      ['/publish', { body: { channel: 'a', uid: 'b', data: 1 }, headers: auth }, 422],
      ['/publish', { body: { channel: 'bad channel', data: 1 }, headers: auth }, 422],
      ['/publish', { body: { channel: 'a', data: 1, delayMs: -5 }, headers: auth }, 422],
      ['/publish', { body: { channel: 'a', data: 1, at: 'tomorrow' }, headers: auth }, 422],
      ['/publish', { body: [], headers: auth }, 422],
      ['/publish', { body: 42, headers: auth }, 422],
      ['/publish', { body: { channel: 'a', data: 'x'.repeat(2000) }, headers: auth }, 413],
      ['/publish', { body: { channel: 'a', data: 1 } }, 401],
      ['/send', { body: { type: 'send', data: 1 } }, 401],
      ['/sse?channel=has%20space', {}, 422],
      ['/poll?timeout=999', {}, 400],
      ['/poll?timeout=abc', {}, 400],
      ['/ws', {}, 426],
      ['/scheduled/none', { method: 'DELETE', headers: auth }, 404],
      ['/healthz', { method: 'POST', body: '{}' }, 405],
    ];
    for (const [path, init, status] of cases) {
      const answer = await request(`${base}${path}`, init);
      expect({ path, status: answer.status }).toEqual({ path, status });
      expect(answer.json).toEqual({ error: expect.any(String) });
    }
    const wrongMethod = await request(`${base}/sse`, { method: 'DELETE' });
    expect(wrongMethod.headers.get('allow')).toBe('GET, OPTIONS');
    expect((await request(`${base}/ws`)).headers.get('upgrade')).toBe('websocket');
  });

  it('a 413 is decided from Content-Length before the body is read, and from the bytes when there is none', async () => {
    const { base } = await start({ publishKey: KEY, maxBodyBytes: 100 });
    const port = Number(new URL(base).port);
    const raw = async (head: string, body: string): Promise<string> => {
      const socket = net.connect(port, '127.0.0.1');
      socket.write(head + body);
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => (text += chunk));
      await new Promise((resolve) => socket.on('close', resolve));
      return text;
    };
    const declared = await raw(
      `POST /publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nContent-Length: 1000000\r\n\r\n`,
      '{"channel"',
    );
    expect(declared).toMatch(/^HTTP\/1.1 413 /);
    expect(declared).toContain('"error":"body is larger than 100 bytes"');
    const chunked = await raw(
      `POST /publish HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      `c8\r\n${'x'.repeat(200)}\r\n0\r\n\r\n`,
    );
    expect(chunked).toMatch(/^HTTP\/1.1 413 /);
  });

  it('a malformed HTTP request gets 400 and the server keeps serving', async () => {
    const { base } = await start();
    const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
    socket.write('GARBAGE\r\n\r\n');
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    await new Promise((resolve) => socket.on('close', resolve));
    expect(text).toMatch(/^HTTP\/1.1 400 /);
    expect((await request(`${base}/healthz`)).json.status).toBe('ok');
  });
});

describe('scheduled publishes', () => {
  it('delayMs publishes later; scheduled items are listed and cancellable', async () => {
    const { base, wsUrl } = await start({ publishKey: KEY });
    const auth = { Authorization: `Bearer ${KEY}` };
    const client = wsClient(`${wsUrl}?channel=cron`);
    await client.inbox.until((m) => m.type === 'ready');
    const soon = await publish(base, { channel: 'cron', data: 'soon', delayMs: 150 }, KEY);
    expect(soon.status).toBe(202);
    expect(soon.json).toEqual({ scheduled: expect.any(String), at: expect.any(String) });
    const later = await publish(base, { channel: 'cron', event: 'e', data: 'later', at: new Date(Date.now() + 3_600_000).toISOString() }, KEY);
    const list = await request(`${base}/scheduled`, { headers: auth });
    expect(list.json.scheduled.map((s: { data: string }) => s.data)).toEqual(['soon', 'later']);
    expect(list.json.scheduled[1]).toMatchObject({ id: later.json.scheduled, channel: 'cron', event: 'e', at: later.json.at });
    const cancel = await request(`${base}/scheduled/${later.json.scheduled}`, { method: 'DELETE', headers: auth });
    expect(cancel.json).toEqual({ cancelled: later.json.scheduled });
    expect((await client.inbox.next()).data).toBe('soon');
    expect((await request(`${base}/scheduled`, { headers: auth })).json.scheduled).toEqual([]);
    const past = await publish(base, { channel: 'cron', data: 'now', at: '2000-01-01T00:00:00Z' }, KEY);
    expect(past.json).toEqual({ id: expect.any(String), delivered: 1 });
    client.socket.close();
  });
});

describe('push port', () => {
  it('answers each JSON line with ok <delivered>, ok scheduled <id> or fail <reason>', async () => {
    const { wsUrl, pushPort } = await start({ pushPort: 0, maxBodyBytes: 200 });
    const client = wsClient(`${wsUrl}?uid=alice`);
    await client.inbox.until((m) => m.type === 'ready');
    const socket = net.connect(pushPort!, '127.0.0.1');
    socket.setEncoding('utf8');
    let text = '';
    socket.on('data', (chunk) => (text += chunk));
    socket.write('{"uid":"alice","data":"one"}\n{"uid":"alice","data":"two"}\r\n\n');
    socket.write('nonsense\n{"data":1}\n[{"uid":"alice","data":"three"},{"uid":"bob","data":4}]\n');
    socket.write('{"broadcast":true,"data":5,"delayMs":60000}\n');
    await expect.poll(() => text.split('\n').length).toBe(7);
    expect(text.split('\n').slice(0, 6)).toEqual([
      'ok 1',
      'ok 1',
      'fail not JSON: one publish object (or batch array) per line',
      'fail missing target: give one of "channel", "uid" or "broadcast": true',
      'ok 1',
      'ok scheduled sched-1',
    ]);
    expect([(await client.inbox.next()).data, (await client.inbox.next()).data, (await client.inbox.next()).data]).toEqual([
      'one',
      'two',
      'three',
    ]);
    socket.write(`${'x'.repeat(300)}`);
    await new Promise((resolve) => socket.on('close', resolve));
    expect(text).toMatch(/fail line longer than 200 bytes\n$/);
    client.socket.close();
  });
});

describe('health, metrics, CORS', () => {
  it('GET /healthz and /metrics in Prometheus text format', async () => {
    const { base, wsUrl } = await start();
    const client = wsClient(`${wsUrl}?channel=m`);
    await client.inbox.until((m) => m.type === 'ready');
    await publish(base, { channel: 'm', data: 1 });
    await client.inbox.next();
    client.send('garbage');
    await client.inbox.next();
    await request(`${base}/nope`);
    expect((await request(`${base}/healthz`)).json).toMatchObject({ status: 'ok', sessions: 1 });
    const metrics = await request(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.text).toContain('# TYPE pushwire_connections gauge\n');
    expect(metrics.text).toContain('pushwire_connections{transport="ws"} 1\n');
    expect(metrics.text).toContain('pushwire_messages_published_total 1\n');
    expect(metrics.text).toContain('pushwire_messages_out_total{transport="ws"} 1\n');
    expect(metrics.text).toContain('pushwire_messages_in_total{transport="ws"} 1\n');
    expect(metrics.text).toContain('pushwire_http_errors_total{status="404"} 1\n');
    // Every sample line is `name{labels} number` or `name number`.
    for (const line of metrics.text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) .+|pushwire_[a-z_]+(\{[a-z]+="[^"]*"\})? \d+)$/);
    }
    client.socket.close();
  });

  it('answers CORS preflights for the browser routes and refuses origins not allowed', async () => {
    const { base, wsUrl } = await start({ allowedOrigins: ['https://app.example'] });
    const preflight = await request(`${base}/send`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('X-Pushwire-Session');
    const evil = await request(`${base}/poll?timeout=0`, { headers: { Origin: 'https://evil.example' } });
    expect(evil.status).toBe(403);
    const good = await request(`${base}/poll?timeout=0`, { headers: { Origin: 'https://APP.example' } });
    expect(good.status).toBe(200);
    const ws = wsClient(wsUrl, { origin: 'https://evil.example' });
    expect((await ws.closed).code).toBe(4403);
  });
});

describe('robustness', () => {
  it('random requests get a JSON answer with a known status; the server keeps serving', async () => {
    const fc = (await import('fast-check')).default;
    const { base } = await start({ publishKey: KEY, maxBodyBytes: 4096, pollTimeoutMs: 0 });
    const path = fc.oneof(
      fc.constantFrom('/ws', '/sse', '/poll', '/send', '/publish', '/scheduled', '/scheduled/x', '/scheduled/%zz', '/healthz', '/metrics', '/', '/%zz'),
      fc.webPath(),
    );
    const query = fc.oneof(fc.constant(''), fc.webQueryParameters().map((q) => `?${q}`), fc.constantFrom('?timeout=0', '?channel=a&timeout=0', '?cursor=&timeout=0'));
    const body = fc.option(fc.oneof(fc.string(), fc.jsonValue().map((v) => JSON.stringify(v))), { nil: undefined });
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
    const auth = fc.constantFrom<Record<string, string>>({}, { Authorization: `Bearer ${KEY}` }, { Authorization: 'Basic abc' }, { Origin: 'https://x.example' });
    await fc.assert(
      fc.asyncProperty(method, path, query, body, auth, async (m, p, q, b, headers) => {
        if (p.startsWith('/sse') && m === 'GET') return; // a stream: answered with 200 and held open
        const answer = await request(`${base}${p}${q}`, { method: m, body: m === 'GET' || m === 'OPTIONS' ? undefined : (b ?? ''), headers });
        expect([200, 202, 204, 400, 401, 403, 404, 405, 413, 422, 426]).toContain(answer.status);
        if (answer.status >= 400) expect(answer.json).toEqual({ error: expect.any(String) });
      }),
      { numRuns: 300 },
    );
    expect((await request(`${base}/healthz`)).status).toBe(200);
  });
});

describe('publishing from code', () => {
  it('server.publish takes the same object as POST /publish and refuses data that is not JSON', async () => {
    const { server, wsUrl } = await start();
    const client = wsClient(`${wsUrl}?channel=c`);
    await client.inbox.until((m) => m.type === 'ready');
    expect(await server.publish({ channel: 'c', data: { n: 1 } })).toEqual({ id: expect.any(String), delivered: 1 });
    expect((await client.inbox.next()).data).toEqual({ n: 1 });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const data of [undefined, 10n, cyclic, () => 1]) {
      await expect(server.publish({ channel: 'c', data })).rejects.toThrow(/must be a JSON value/);
    }
    await expect(server.publish({ data: 1 })).rejects.toThrow(/missing target/);
    client.socket.close();
  });
});

describe('bugs in hooks', () => {
  it('a throwing authorize hook answers 500 (4500 on /ws), reaches onError and the server error event, and harms no one else', async () => {
    const errors: string[] = [];
    const { server, base, wsUrl } = await start({
      authorize: (channel) => {
        if (channel === 'boom') throw new Error('hook bug');
        return true;
      },
      handler: { onError: (_session, error) => errors.push(`handler: ${error.message}`) },
    });
    server.on('error', (error) => errors.push(`server: ${error.message}`));
    const answer = await request(`${base}/sse?channel=boom`);
    expect(answer).toMatchObject({ status: 500, json: { error: 'internal server error' } });
    expect((await wsClient(`${wsUrl}?channel=boom`).closed).code).toBe(4500);
    expect(errors).toEqual(['handler: hook bug', 'server: hook bug', 'handler: hook bug', 'server: hook bug']);
    const fine = wsClient(`${wsUrl}?channel=fine`);
    expect((await fine.inbox.until((m) => m.type === 'ready')).channels).toEqual(['fine']);
    fine.socket.close();
  });
});
