// The admin dashboard: its routes' refusals and its stream over HTTP, then
// the page end to end in headless Chromium (playwright-core; see
// helpers/chromium.ts for which one) with traffic on every transport.
// `UPDATE_SCREENSHOT=1` runs the load longer and writes docs/admin.png.
// Without a Chromium the browser half is skipped, with a loud warning.
import { mkdirSync, writeFileSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer } from '../../src/push/push-server.js';
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM_WARNING } from '../helpers/chromium.js';
import { publish, pushServers, request, sseClient, wsClient, type Json } from '../helpers/push.js';
import type { ParsedEvent } from '../helpers/sse-parser.js';
import { findRedisServer, RedisServer } from '../helpers/redis-server.js';

const CHROMIUM = findChromium();
const REDIS = findRedisServer();
if (!CHROMIUM) console.warn(NO_CHROMIUM_WARNING);
const start = pushServers();
const KEY = 'admin-test-key';
const admin = { admin: true, publishKey: KEY };

/** A WebSocket subscriber that has received its ready notice. */
async function subscriber(url: string) {
  const client = wsClient(url);
  await client.inbox.until((m: Json) => m.type === 'ready');
  return client;
}

/** The next `sample` or `state` event of an admin stream (skipping nothing else: a test asserts the order). */
const nextEvent = (stream: ReturnType<typeof sseClient>): Promise<ParsedEvent> => stream.inbox.next(3000);

describe('the admin routes', () => {
  it('are not there unless enabled, and cannot be enabled without a key', async () => {
    const { base } = await start({ publishKey: KEY });
    expect((await request(`${base}/admin?key=${KEY}`)).status).toBe(404);
    expect(() => createServer({ admin: true })).toThrow(/admin needs a key/);
    expect(() => createServer({ adminKey: 'a' })).toThrow(/set admin too/);
    expect(() => createServer({ admin: true, adminKey: '' })).toThrow(/adminKey must not be empty/);
  });

  it('refuse the page, the stream and the actions without the key (401), with a wrong one (403), and from a foreign origin (403)', async () => {
    const { base } = await start(admin);
    for (const path of ['/admin', '/admin/stream']) {
      const missing = await request(`${base}${path}`);
      expect(missing.status, path).toBe(401);
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(missing.json.error).toMatch(/open \/admin\?key=/);
      expect((await request(`${base}${path}?key=wrong`)).status, path).toBe(403);
      const foreign = await request(`${base}${path}?key=${KEY}`, { headers: { Origin: 'https://evil.example' } });
      expect(foreign.status, path).toBe(403);
      expect(foreign.json.error).toMatch(/origin https:\/\/evil\.example may not use the admin dashboard/);
    }
    const action = { method: 'POST', body: { channel: 'news', data: 1 } };
    expect((await request(`${base}/admin/publish`, action)).status).toBe(401);
    const forged = await request(`${base}/admin/publish`, { ...action, headers: { Authorization: `Bearer ${KEY}`, Origin: 'https://evil.example' } });
    expect(forged.status).toBe(403);
    const own = await request(`${base}/admin/publish`, { ...action, headers: { Authorization: `Bearer ${KEY}`, Origin: base } });
    expect(own).toMatchObject({ status: 200, json: { delivered: 0 } });
  });

  it('serve the page with a policy that allows only its own script and style, and no framing', async () => {
    const { base } = await start(admin);
    const page = await request(`${base}/admin?key=${KEY}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+';.*frame-ancestors 'none'$/);
    expect(page.text).not.toMatch(/<script src|<link|https?:\/\/(?!www\.w3\.org)/); // self-contained: nothing from elsewhere
  });

  it('take a separate adminKey, and then not the publish key', async () => {
    const { base } = await start({ ...admin, adminKey: 'the-admin-key' });
    expect((await request(`${base}/admin?key=the-admin-key`)).status).toBe(200);
    expect((await request(`${base}/admin?key=${KEY}`)).status).toBe(403);
  });

  it('stream samples with ids, replay those after Last-Event-ID, reset a page from another run, and sample only while a stream is open', async () => {
    const { base } = await start(admin);
    const first = sseClient(`${base}/admin/stream?key=${KEY}`);
    expect((await first.opened).headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect((await nextEvent(first)).type).toBe('state'); // the ring is empty: the state comes at once
    const one = await first.inbox.until((event) => event.type === 'sample', 3000);
    const two = await first.inbox.until((event) => event.type === 'sample', 3000);
    expect(JSON.parse(two.data)).toMatchObject({ ws: 0, sse: 0, poll: 0, in: 0, out: 0, published: 0 });
    const [run, seq] = one.lastEventId.split('-');
    expect(two.lastEventId).toBe(`${run}-${Number(seq) + 1}`);
    first.close();

    // Resumed: only what came after the id, then the state. (A sample taken while the close was on its way may follow two.)
    const resumed = sseClient(`${base}/admin/stream?key=${KEY}`, { 'Last-Event-ID': one.lastEventId });
    const replayed: string[] = [];
    for (let event = await nextEvent(resumed); event.type === 'sample'; event = await nextEvent(resumed)) replayed.push(event.lastEventId);
    expect(replayed[0]).toBe(two.lastEventId);
    resumed.close();

    // Nothing is sampled while no stream is open: a resume from the newest sample, well over a second later, gets none.
    const newest = replayed.at(-1)!;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const idle = sseClient(`${base}/admin/stream?key=${KEY}`, { 'Last-Event-ID': newest });
    expect((await nextEvent(idle)).type).toBe('state');
    idle.close();

    // An id of another run (a restart, another worker) is answered with a reset, then everything kept.
    const stranger = sseClient(`${base}/admin/stream?key=${KEY}`, { 'Last-Event-ID': 'f00d-7' });
    expect((await nextEvent(stranger)).type).toBe('reset');
    expect((await nextEvent(stranger)).lastEventId).toBe(one.lastEventId);
    stranger.close();
  });

  it(`refuse a stream past maxAdminStreams with 503`, async () => {
    const { base } = await start({ ...admin, maxAdminStreams: 2 });
    const streams = [sseClient(`${base}/admin/stream?key=${KEY}`), sseClient(`${base}/admin/stream?key=${KEY}`)];
    await Promise.all(streams.map((stream) => stream.opened));
    const refused = await request(`${base}/admin/stream?key=${KEY}`);
    expect(refused).toMatchObject({ status: 503, json: { error: 'at most 2 admin dashboards may be open at once; close one' } });
    expect(refused.headers.get('retry-after')).toBe('5');
    streams[0].close();
    await expect.poll(async () => (await sseClient(`${base}/admin/stream?key=${KEY}`).opened).statusCode).toBe(200);
    streams[1].close();
  });
});

describe.skipIf(!CHROMIUM)('the dashboard in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 30_000);
  afterAll(() => browser?.close());

  /** The dashboard, opened with the key, once its stream is live. */
  async function dashboard(base: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    page.on('pageerror', (error) => console.error('page error:', error));
    await page.goto(`${base}/admin?key=${KEY}`);
    await expect.poll(() => page.getAttribute('#status', 'data-status')).toBe('live');
    return page;
  }
  const text = (page: Page, selector: string): Promise<string> => page.locator(selector).innerText();
  const rows = (page: Page, selector: string): Promise<string[][]> =>
    page.$$eval(`${selector} tr`, (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  const within2s = { timeout: 2000 };

  it('counts sessions per transport and ranks channels within 2 s of traffic over WebSocket, SSE and long-poll', async () => {
    const { base, wsUrl } = await start(admin);
    const page = await dashboard(base);
    const sockets = [await subscriber(`${wsUrl}?channel=orders`), await subscriber(`${wsUrl}?channel=orders&channel=news`)];
    const events = sseClient(`${base}/sse?channel=orders`);
    await events.inbox.until((event) => event.type === 'ready');
    const held = request(`${base}/poll?channel=news&timeout=10`); // a long-poll session, waiting for news
    await expect.poll(async () => (await request(`${base}/metrics`)).text).toMatch(/^pushwire_polls_held 1$/m);
    for (let i = 0; i < 5; i++) await publish(base, { channel: 'orders', data: { i } }, KEY);
    await publish(base, { channel: 'news', data: 'extra!' }, KEY);

    await expect.poll(() => text(page, '#sessions-total'), within2s).toBe('4');
    expect([await text(page, '#sessions-ws'), await text(page, '#sessions-sse'), await text(page, '#sessions-poll')]).toEqual(['2', '1', '1']);
    await expect.poll(() => text(page, '#total-in'), within2s).toBe('6');
    expect(Number(await text(page, '#total-out'))).toBeGreaterThanOrEqual(5 * 3 + 2); // orders to 3 sessions, news to the socket and the held poll
    await expect.poll(() => rows(page, '#top-subscribers'), within2s).toEqual([
      ['orders', '', '3'],
      ['news', '', '2'],
    ]);
    await expect.poll(async () => (await rows(page, '#top-rate')).map(([channel]) => channel), within2s).toEqual(['orders', 'news']);
    expect(await text(page, '#channels-total')).toBe('2 channels with subscribers here');
    expect((await held).json.messages.map((m: Json) => m.data)).toEqual(['extra!']);
    for (const socket of sockets) socket.socket.close();
    events.close();
    await page.close();
  });

  it.skipIf(!REDIS)('with Redis, lists every process that shares it, with its sessions, and their total', async () => {
    const redis = await RedisServer.start();
    try {
      const here = await start({ ...admin, redis: redis.url(), nodeName: 'here' });
      const there = await start({ redis: redis.url(), nodeName: 'there', publishKey: KEY });
      const events = sseClient(`${there.base}/sse?channel=far`);
      await events.inbox.until((event) => event.type === 'ready');
      const page = await dashboard(here.base);
      // Each process writes its snapshot every 2 s.
      await expect.poll(() => rows(page, '#processes'), { timeout: 6000 }).toEqual([
        ['here (this one)', '0', '0', '0', '0', '0', expect.stringMatching(/MiB$/)],
        ['there', '0', '1', '0', '0', '0', expect.stringMatching(/MiB$/)],
        ['all 2', '0', '1', '0', '0', '0', expect.stringMatching(/MiB$/)],
      ]);
      events.close();
      await page.close();
    } finally {
      await redis.stop();
    }
  });

  it('lists a slow consumer the server cut', async () => {
    const { server, base, wsUrl } = await start({ ...admin, maxBufferedBytes: 64 * 1024 });
    const page = await dashboard(base);
    const slow = await subscriber(`${wsUrl}?channel=firehose&uid=snail`);
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause(); // stops reading: the server's buffer fills
    const payload = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 400 && server.metrics.drops.ws === 0; i++) {
      void server.publish({ channel: 'firehose', data: { i, payload } });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.metrics.drops.ws).toBe(1);
    await expect.poll(() => text(page, '#events'), within2s).toMatch(/slow consumer\s*WebSocket session \S+… \(user snail\) could not keep up and was cut/);
    await expect.poll(() => text(page, '#drops'), within2s).toBe('1');
    await page.close();
  });

  it('publishes a test message to a channel from the page: confirmed, delivered, logged', async () => {
    const { base, wsUrl } = await start(admin);
    const listener = await subscriber(`${wsUrl}?channel=news`);
    const page = await dashboard(base);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await page.fill('#publish-channel', 'news');
      await page.fill('#publish-event', 'test');
      await page.fill('#publish-data', '{"hello":"from the dashboard"}');
      const asked = new Promise<string>((resolve) => page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      }));
      await page.click('#publish button');
      expect(await asked).toBe('Publish to channel news? Every subscriber receives it.');
      const message = await listener.inbox.until((m: Json) => m.type === 'message');
      expect(message).toMatchObject({ channel: 'news', event: 'test', data: { hello: 'from the dashboard' } });
      await expect.poll(() => text(page, '#actions')).toMatch(new RegExp(`Publish to news: id ${message.id}, delivered to 1 session here`));
      expect(stderr.mock.calls.map(([line]) => String(line))).toContainEqual(
        expect.stringMatching(new RegExp(`^pushwire admin: published ${message.id} to 1 session \\(from 127\\.0\\.0\\.1\\)\\n$`)),
      );
    } finally {
      stderr.mockRestore();
    }
    listener.socket.close();
    await page.close();
  });

  it('disconnects a WebSocket session with the chosen close code, and ends an SSE session', async () => {
    const { base, wsUrl } = await start(admin);
    const target = await subscriber(`${wsUrl}?channel=news&uid=mallory`);
    const bystander = await subscriber(`${wsUrl}?channel=news&uid=alice`);
    const stream = sseClient(`${base}/sse?channel=news&uid=sam`);
    await stream.inbox.until((event) => event.type === 'ready');
    const page = await dashboard(base);
    page.on('dialog', (dialog) => void dialog.accept());
    const row = (uid: string) => page.locator('#sessions tr', { hasText: uid });
    await expect.poll(() => row('mallory').count()).toBe(1);
    await page.selectOption('#close-code', '4403');
    expect(await text(page, '#code-hint')).toBe("pushwire's browser client stops: it does not reconnect");
    await row('mallory').getByRole('button', { name: 'Disconnect' }).click();
    expect(await target.closed).toEqual({ code: 4403, reason: 'disconnected by an operator' });
    await expect.poll(() => text(page, '#actions')).toMatch(/Disconnect session \S+… \(WebSocket, user mallory\): closed with code 4403/);
    await expect.poll(() => row('mallory').count(), within2s).toBe(0);

    await row('sam').getByRole('button', { name: 'Disconnect' }).click();
    await stream.ended;
    await expect.poll(() => text(page, '#actions')).toMatch(/Disconnect session \S+… \(SSE, user sam\): ended/);
    expect(bystander.socket.readyState).toBe(bystander.socket.OPEN);
    bystander.socket.close();
    await page.close();
  });

  it('cancels a scheduled publish from the page', async () => {
    const { server, base } = await start(admin);
    const { json } = await publish(base, { channel: 'later', event: 'reminder', data: { n: 1 }, delayMs: 600_000 }, KEY);
    const page = await dashboard(base);
    page.on('dialog', (dialog) => void dialog.accept());
    const row = page.locator('#scheduled tr', { hasText: 'channel later · reminder' });
    await expect.poll(() => row.count(), within2s).toBe(1);
    expect(await text(page, '#scheduled-count')).toBe('1 publish waiting');
    await row.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => server.scheduled()).toEqual([]);
    await expect.poll(() => text(page, '#actions')).toMatch(new RegExp(`Cancel ${json.scheduled}: cancelled`));
    await expect.poll(() => text(page, '#scheduled'), within2s).toBe('Nothing is scheduled');
    await page.close();
  });

  it('charts the last seconds under load; the screenshot (UPDATE_SCREENSHOT=1: docs/admin.png) shows them', async () => {
    const { server, base, wsUrl } = await start({ ...admin, maxBufferedBytes: 64 * 1024 });
    const page = await dashboard(base, { width: 1280, height: 800 });
    const seconds = process.env.UPDATE_SCREENSHOT ? 70 : 4; // the charts show at least a minute
    const channels = ['orders', 'prices:eur', 'prices:usd', 'chat:lobby', 'alerts'];
    const clients = [];
    for (let i = 0; i < 24; i++) clients.push(await subscriber(`${wsUrl}?channel=${channels[i % 5]}&channel=${channels[(i * 3) % 5]}&uid=user${i}`));
    const streams = Array.from({ length: 6 }, (_, i) => sseClient(`${base}/sse?channel=${channels[i % 3]}&uid=reader${i}`));
    let polling = true;
    const pollers = Array.from({ length: 3 }, async (_, i) => {
      let query = `channel=alerts&uid=poller${i}&timeout=2`;
      while (polling) {
        const { json } = await request(`${base}/poll?${query}`);
        query = `channel=alerts&timeout=2&cursor=${json.cursor}&session=${json.session}`;
      }
    });
    await publish(base, { channel: 'alerts', data: 'nightly report', delayMs: 3_600_000 }, KEY);
    await publish(base, { uid: 'user3', data: 'your export is ready', delayMs: 900_000 }, KEY);
    await request(`${base}/nope`);
    const resumedTooLate = await subscriber(`${wsUrl}?channel=orders&uid=sleeper&since=1-1`); // an id from another run: a gap
    clients.push(resumedTooLate);
    const began = Date.now();
    for (let tick = 0; Date.now() - began < seconds * 1000; tick++) {
      // A rate that rises and falls, so the chart has a shape.
      const burst = Math.round(8 + 6 * Math.sin(tick / 15) + (tick % 7));
      for (let i = 0; i < burst; i++) void server.publish({ channel: channels[(tick + i) % 4], data: { tick, i } });
      if (tick === Math.floor(seconds * 6)) {
        const slow = await subscriber(`${wsUrl}?channel=firehose&uid=slowpoke`);
        (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
        for (let i = 0; i < 1000 && server.metrics.drops.ws === 0; i++) {
          void server.publish({ channel: 'firehose', data: 'x'.repeat(16 * 1024) });
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expect.poll(() => page.locator('#chart-rates polyline[data-series="out"]').count(), within2s).toBeGreaterThan(0);
    const points = await page.getAttribute('#chart-rates polyline[data-series="out"]', 'points');
    expect(points!.split(' ').length).toBeGreaterThanOrEqual(Math.min(seconds - 1, 3));
    expect(Number(await text(page, '#sessions-total'))).toBeGreaterThanOrEqual(24 + 1 + 6 + 3);
    await expect.poll(() => text(page, '#gaps'), within2s).toBe('1');
    const screenshot = await page.screenshot({ fullPage: true });
    if (process.env.UPDATE_SCREENSHOT) {
      mkdirSync('docs', { recursive: true });
      writeFileSync('docs/admin.png', screenshot);
    }
    polling = false;
    await Promise.all(pollers);
    for (const client of clients) client.socket.close();
    for (const stream of streams) stream.close();
    await page.close();
  }, 90_000);
});
