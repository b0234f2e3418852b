// End to end in headless Chromium (driven by playwright-core; see
// helpers/chromium.ts for which one): backend POST → pushwire → the browser
// client, over each transport, across a lost connection, with WebSocket
// upgrades blocked, imported from a page on another origin, and the demo chat.
// Without a Chromium the whole file is skipped, with a loud warning.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium, NO_CHROMIUM_WARNING } from '../helpers/chromium.js';
import { decodePng } from '../helpers/png.js';
import { cuttableProxy, publish, pushServers } from '../helpers/push.js';

const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn(NO_CHROMIUM_WARNING);
let browser: Browser;

const start = pushServers();
// Small reconnect delays keep the tests quick; the client reads them from the server.
const fast = { demo: true, sseRetryMs: 100 };

async function demoPage(base: string, query: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(`${base}/?${query}`);
  return page;
}

const transportOf = (page: Page): Promise<string | null> => page.getAttribute('#transport', 'data-transport');
const notes = (page: Page): Promise<string[]> => page.$$eval('#notes li', (items) => items.map((item) => item.textContent ?? ''));
const chat = (page: Page): Promise<string[]> => page.$$eval('#chat li', (items) => items.map((item) => item.textContent ?? ''));

/** A page on the server's origin with the client module loaded as `window.pw` and an event log as `window.log`. */
async function clientPage(base: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(`${base}/healthz`);
  await page.addScriptTag({ type: 'module', content: "import * as pw from '/client.js'; window.log = []; window.pw = pw;" });
  await page.waitForFunction(() => 'pw' in globalThis);
  return page;
}

type Log = [string, unknown][];
/** What the page scripts below find on globalThis. */
type PageGlobals = { pw: Record<string, any>; log: unknown[][] };
const log = (page: Page): Promise<Log> => page.evaluate(() => (globalThis as unknown as { log: Log }).log);

describe.skipIf(!CHROMIUM)('in Chromium', () => {
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  }, 30_000);
  afterAll(() => browser?.close());

  describe('the client through the demo page', () => {
    for (const transport of ['websocket', 'sse', 'poll'] as const) {
      it(`receives backend publishes over ${transport} (forced)`, async () => {
        const { base } = await start(fast);
        const page = await demoPage(base, `name=ann&transport=${transport}`);
        await expect.poll(() => transportOf(page)).toBe(transport);
        expect((await publish(base, { uid: 'ann', event: 'note', data: `over ${transport}` })).json.delivered).toBe(1);
        await expect.poll(() => notes(page)).toEqual([`note: over ${transport}`]);
        await page.close();
      });
    }

    it('a message published while the connection is down arrives after the reconnect, exactly once', async () => {
      const { base } = await start(fast);
      const proxy = await cuttableProxy(Number(new URL(base).port));
      try {
        const page = await demoPage(proxy.base, 'name=bo&maxDelay=300');
        await expect.poll(() => transportOf(page)).toBe('websocket');
        await publish(base, { uid: 'bo', data: 'before' });
        await expect.poll(() => notes(page)).toEqual(['before']);
        proxy.down(true);
        await expect.poll(() => transportOf(page)).toBe('offline');
        await publish(base, { uid: 'bo', data: 'while away' });
        proxy.down(false);
        // Usually WebSocket again; SSE when the first attempt still met the outage (it falls back, and probes up later).
        await expect.poll(() => transportOf(page), { timeout: 10_000 }).toMatch(/^(websocket|sse)$/);
        await publish(base, { uid: 'bo', data: 'after' });
        await expect.poll(() => notes(page)).toEqual(['before', 'while away', 'after']);
        // Exactly once: a duplicate would arrive before a later marker, on the same connection.
        await publish(base, { uid: 'bo', data: 'marker' });
        await expect.poll(() => notes(page)).toEqual(['before', 'while away', 'after', 'marker']);
        await page.close();
      } finally {
        await proxy.close();
      }
    });

    it('falls back to SSE when WebSocket upgrades are blocked, and still sends and receives', async () => {
      const { base } = await start(fast);
      const proxy = await cuttableProxy(Number(new URL(base).port), { refuseUpgrades: true });
      try {
        const page = await demoPage(proxy.base, 'name=cy');
        await expect.poll(() => transportOf(page), { timeout: 10_000 }).toBe('sse');
        await publish(base, { uid: 'cy', data: 'via sse' });
        await expect.poll(() => notes(page)).toEqual(['via sse']);
        await page.fill('#text', 'sent over POST /send');
        await page.click('#say button');
        await expect.poll(() => chat(page)).toEqual(['cy: sent over POST /send']);
        await page.close();
      } finally {
        await proxy.close();
      }
    });

    it('the demo chat delivers a message between two pages; the screenshot shows the transport indicator', async () => {
      const { base } = await start(fast);
      const alice = await demoPage(base, 'name=alice');
      const bob = await demoPage(base, 'name=bob&transport=poll');
      await expect.poll(() => transportOf(alice)).toBe('websocket');
      await expect.poll(() => transportOf(bob)).toBe('poll');
      await alice.fill('#text', 'hi bob');
      await alice.click('#say button');
      await expect.poll(() => chat(bob)).toEqual(['alice: hi bob']);
      await bob.fill('#text', 'hi alice');
      await bob.click('#say button');
      await expect.poll(() => chat(alice)).toEqual(['alice: hi bob', 'bob: hi alice']);
      await publish(base, { uid: 'alice', event: 'invoice', data: { id: 42, status: 'paid' } });
      await expect.poll(() => notes(alice)).toHaveLength(1);

      const screenshot = await alice.screenshot();
      if (process.env.UPDATE_SCREENSHOT) {
        mkdirSync('docs', { recursive: true });
        writeFileSync('docs/demo.png', screenshot);
      }
      // The indicator is drawn in the header, green for WebSocket (#1a7f37): find it in the pixels.
      const box = (await alice.locator('#transport').boundingBox())!;
      const image = decodePng(screenshot);
      expect(image.width).toBe(900);
      let green = 0;
      for (let y = Math.ceil(box.y); y < box.y + box.height; y++) {
        for (let x = Math.ceil(box.x); x < box.x + box.width; x++) {
          const [r, g, b] = image.pixel(x, y);
          if (Math.abs(r - 0x1a) < 12 && Math.abs(g - 0x7f) < 12 && Math.abs(b - 0x37) < 12) green++;
        }
      }
      expect(green / (box.width * box.height)).toBeGreaterThan(0.5);
      expect(await alice.locator('#transport').textContent()).toBe('websocket');
      await alice.close();
      await bob.close();
    });
  });

  describe('browser client behaviour', () => {
    it('falls through to long-polling behind a proxy that blocks upgrades and buffers event streams', async () => {
      const { base } = await start(fast);
      const proxy = await cuttableProxy(Number(new URL(base).port), { refuseUpgrades: true, bufferSse: true });
      try {
        const page = await clientPage(proxy.base);
        await page.evaluate((url) => {
          const w = globalThis as unknown as PageGlobals;
          const client = w.pw.connect(url, { uid: 'eve', openTimeoutMs: 500 });
          client.on('open', (value: { transport: string }) => w.log.push(['open', value.transport]));
          client.on('message', (message: { data: unknown }) => w.log.push(['message', message.data]));
        }, proxy.base);
        await expect.poll(() => log(page), { timeout: 5000 }).toEqual([['open', 'poll']]);
        await publish(base, { uid: 'eve', data: 'polled' });
        await expect.poll(() => log(page)).toEqual([['open', 'poll'], ['message', 'polled']]);
        await page.close();
      } finally {
        await proxy.close();
      }
    });

    it('backs off with full jitter, capped', async () => {
      const { base } = await start(fast);
      const page = await clientPage(base);
      const delays = await page.evaluate(() => {
        const { backoffDelay } = (globalThis as unknown as PageGlobals).pw;
        return [0, 1, 2, 5, 10].map((attempt) => [backoffDelay(attempt, 1000, 30_000, () => 0.999999), backoffDelay(attempt, 1000, 30_000, () => 0)]);
      });
      expect(delays).toEqual([[999, 0], [1999, 0], [3999, 0], [29_999, 0], [29_999, 0]]);
      await page.close();
    });

    it('reports a gap when history no longer reaches back to its last id, then delivers what is left', async () => {
      const { base } = await start({ ...fast, historySize: 1 });
      const proxy = await cuttableProxy(Number(new URL(base).port));
      try {
        const page = await demoPage(proxy.base, 'name=gus&maxDelay=300');
        await expect.poll(() => transportOf(page)).toBe('websocket');
        proxy.down(true);
        await expect.poll(() => transportOf(page)).toBe('offline');
        for (const text of ['one', 'two', 'three']) await publish(base, { uid: 'gus', data: text });
        proxy.down(false);
        await expect.poll(() => notes(page), { timeout: 10_000 }).toEqual(['three']);
        expect(await chat(page)).toEqual(['(some older messages are no longer available)']);
        await page.close();
      } finally {
        await proxy.close();
      }
    });

    it('does not reconnect after an auth refusal (4401) unless refreshToken gives a new token', async () => {
      const { signToken } = await import('../../src/auth/jwt.js');
      const secret = 'browser-secret';
      const { base } = await start({ ...fast, jwtSecret: secret });
      const expired = signToken({ sub: 'dee', exp: 1 }, secret);
      const valid = signToken({ sub: 'dee' }, secret);
      const page = await clientPage(base);
      await page.evaluate(
        ({ url, expired }) => {
          const w = globalThis as unknown as PageGlobals & { sockets: number };
          // Count every WebSocket the client constructs: a reconnect would make a second one.
          w.sockets = 0;
          globalThis.WebSocket = class extends WebSocket {
            constructor(...args: ConstructorParameters<typeof WebSocket>) {
              super(...args);
              w.sockets++;
            }
          };
          const client = w.pw.connect(url, { token: expired, initialDelayMs: 50 });
          for (const event of ['open', 'reconnecting']) client.on(event, (value: unknown) => w.log.push([event, value]));
          client.on('close', (value: unknown) => {
            w.log.push(['close', value]);
            // A reconnect timer set at the close would wait under 50 ms (initialDelayMs, attempt 0); timers
            // run in deadline order (HTML §8.6), so by this one any reconnect has constructed its socket.
            setTimeout(() => w.log.push(['settled', w.sockets]), 100);
          });
        },
        { url: base, expired },
      );
      await expect.poll(() => log(page)).toContainEqual(['settled', 1]);
      expect(await log(page)).toEqual([
        ['close', { code: 4401, reason: 'token expired', willReconnect: false }],
        ['settled', 1],
      ]);

      await page.evaluate(
        ({ url, expired, valid }) => {
          const w = globalThis as unknown as PageGlobals;
          w.log.length = 0;
          const client = w.pw.connect(url, { token: expired, refreshToken: async () => valid, initialDelayMs: 50 });
          for (const event of ['open', 'close']) client.on(event, (value: unknown) => w.log.push([event, value]));
          client.on('message', (message: { data: unknown }) => w.log.push(['message', message.data]));
        },
        { url: base, expired, valid },
      );
      await expect.poll(() => log(page)).toContainEqual(['open', { transport: 'websocket' }]);
      await publish(base, { uid: 'dee', data: 'authenticated' });
      await expect.poll(() => log(page)).toContainEqual(['message', 'authenticated']);
      expect((await log(page))[0]).toEqual(['close', { code: 4401, reason: 'token expired', willReconnect: true }]);
      await page.close();
    });

    it('on a fallback, moves back up to WebSocket once upgrades work again, without losing or repeating messages', async () => {
      const { base } = await start(fast);
      const proxy = await cuttableProxy(Number(new URL(base).port), { refuseUpgrades: true });
      try {
        const page = await clientPage(proxy.base);
        await page.evaluate((url) => {
          const w = globalThis as unknown as PageGlobals;
          const client = w.pw.connect(url, { channels: ['up'], upgradeAfterMs: 300, initialDelayMs: 50 });
          client.on('open', (value: { transport: string }) => w.log.push(['open', value.transport]));
          client.on('message', (message: { data: unknown }) => w.log.push(['message', message.data]));
        }, proxy.base);
        await expect.poll(() => log(page)).toContainEqual(['open', 'sse']);
        await publish(base, { channel: 'up', data: 1 });
        await expect.poll(() => log(page)).toContainEqual(['message', 1]);
        proxy.refuseUpgrades(false);
        await expect.poll(() => log(page), { timeout: 5000 }).toContainEqual(['open', 'websocket']);
        await publish(base, { channel: 'up', data: 2 });
        // A lost or repeated message would show in the log before the marker that follows it.
        await publish(base, { channel: 'up', data: 'marker' });
        await expect.poll(() => log(page)).toContainEqual(['message', 'marker']);
        expect(await log(page)).toEqual([
          ['open', 'sse'],
          ['message', 1],
          ['open', 'websocket'],
          ['message', 2],
          ['message', 'marker'],
        ]);
        await page.close();
      } finally {
        await proxy.close();
      }
    });
  });

  describe('the client imported from a page on another origin', () => {
    const pages = otherOriginPages();

    it('no allowed-origins list: the page imports /client.js, connects and receives a publish', async () => {
      const other = await pages();
      const { base } = await start(fast);
      const page = await otherOriginPage(other, base);
      await expect.poll(() => pageLog(page)).toEqual([['open', 'websocket']]);
      await publish(base, { uid: 'zoe', data: 'across origins' });
      await expect.poll(() => pageLog(page)).toEqual([['open', 'websocket'], ['message', 'across origins']]);
      await page.close();
    });

    for (const transport of ['websocket', 'sse', 'poll'] as const) {
      it(`a list that includes the page's origin: imported, connects over ${transport}, receives`, async () => {
        const other = await pages();
        const { base } = await start({ ...fast, allowedOrigins: ['https://app.example', other.origin] });
        const page = await otherOriginPage(other, base, transport);
        await expect.poll(() => pageLog(page)).toEqual([['open', transport]]);
        await publish(base, { uid: 'zoe', data: transport });
        await expect.poll(() => pageLog(page)).toEqual([['open', transport], ['message', transport]]);
        await page.close();
      });
    }

    it("a list that excludes the page's origin: /client.js answers 403 and the module fails to load", async () => {
      const other = await pages();
      const { base } = await start({ ...fast, allowedOrigins: ['https://app.example'] });
      const page = await browser.newPage();
      // Chromium reports a response it blocks for CORS as a failed request, not as a response with a status.
      const blocked = page.waitForEvent('requestfailed', (request) => request.url() === `${base}/client.js`);
      await page.goto(other.url(base));
      await blocked;
      await page.waitForFunction(() => (globalThis as { importFailed?: boolean }).importFailed === true);
      expect(await pageLog(page)).toBeNull(); // the module body never ran
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toContain('pushwire_http_errors_total{status="403"} 1');
      await page.close();
    });
  });
});

interface OtherOrigin {
  /** `http://127.0.0.1:<its port>`: not the push server's origin. */
  origin: string;
  /** The page, importing the client from `pushBase`, optionally forcing a transport. */
  url(pushBase: string, transport?: string): string;
}

/**
 * For a describe block: a `pages()` that starts a tiny node:http server on
 * another loopback port, whose page imports the client from the push server
 * with a static `import` in a module script, connects as uid zoe and logs
 * `open` and `message` events in `window.log`. If the import fails, the
 * script element's error event sets `window.importFailed`.
 */
function otherOriginPages(): () => Promise<OtherOrigin> {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(
      servers.splice(0).map((server) => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(resolve));
      }),
    );
  });
  return async () => {
    const server = http.createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://page');
      const pushBase = url.searchParams.get('push') ?? '';
      if (url.pathname !== '/' || !/^http:\/\/127\.0\.0\.1:\d+$/.test(pushBase)) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(otherOriginHtml(pushBase));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return {
      origin,
      url: (pushBase, transport) => `${origin}/?${new URLSearchParams({ push: pushBase, ...(transport ? { transport } : {}) })}`,
    };
  };
}

function otherOriginHtml(pushBase: string): string {
  return `<!doctype html>
<meta charset="utf-8">
<title>a page on another origin</title>
<script type="module" onerror="window.importFailed = true">
  import { connect } from '${pushBase}/client.js';
  const transport = new URLSearchParams(location.search).get('transport');
  const log = (window.log = []);
  const push = connect('${pushBase}/', { uid: 'zoe', ...(transport ? { transports: [transport] } : {}) });
  push.on('open', ({ transport }) => log.push(['open', transport]));
  push.on('message', (message) => log.push(['message', message.data]));
</script>
`;
}

async function otherOriginPage(other: OtherOrigin, pushBase: string, transport?: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(other.url(pushBase, transport));
  return page;
}

/** The other-origin page's event log, or null before (or without) its module running. */
const pageLog = (page: Page): Promise<Log | null> => page.evaluate(() => (globalThis as unknown as { log?: Log }).log ?? null);
