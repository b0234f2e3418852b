// `pushwire/client` under Node 20, which has fetch and ReadableStream but no
// global WebSocket (issue 10, bug 3): the client must skip the transport it
// cannot use and connect over SSE at once, instead of retrying WebSocket
// forever. Run against the TypeScript source and against the built module
// the package's `./client` export names for Node (`npm test` builds first).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WS from 'ws';
import { createServer, type PushServer } from '../../src/index.js';
import { Inbox } from '../helpers/push.js';

/**
 * The part of the client's API these tests use. Written out rather than
 * imported: the client is type-checked with the DOM library
 * (tsconfig.client.json), which the Node test project does not load.
 */
interface NodeClient {
  on(event: string, listener: (value: unknown) => void): () => void;
  close(): void;
  readonly transport: string | null;
}
interface ClientModule {
  connect(url: string, options?: { channels?: string[]; uid?: string; transports?: string[]; initialDelayMs?: number }): NodeClient;
}

const MODULES = {
  source: new URL('../../src/client/pushwire-client.ts', import.meta.url).href,
  build: new URL('../../dist/client/pushwire-client.js', import.meta.url).href,
};

type ClientEvent = [string, unknown];

/** A client whose events land in an Inbox, in order. */
function recorded(client: NodeClient): Inbox<ClientEvent> {
  const events = new Inbox<ClientEvent>();
  for (const name of ['open', 'message', 'close', 'reconnecting', 'gap', 'error']) {
    client.on(name, (value) => events.push([name, value instanceof Error ? `${value.name}: ${value.message}` : value]));
  }
  return events;
}

// Node 22 and later define a global WebSocket; hide it so this file tests Node 20's situation on any Node.
type WebSocketGlobal = { WebSocket?: unknown };
let nativeWebSocket: PropertyDescriptor | undefined;
beforeAll(() => {
  nativeWebSocket = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
  delete (globalThis as WebSocketGlobal).WebSocket;
});
afterAll(() => {
  if (nativeWebSocket) Object.defineProperty(globalThis, 'WebSocket', nativeWebSocket);
});

let server: PushServer | undefined;
const clients: NodeClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  delete (globalThis as WebSocketGlobal).WebSocket;
  await server?.close(200);
  server = undefined;
});

/**
 * A push server on loopback that takes `?uid=` on trust (development
 * identity) and gives a short reconnect hint (the client's first backoff reads it).
 */
async function startServer(): Promise<string> {
  server = createServer({ pingIntervalMs: 0, sseRetryMs: 100, devIdentity: true });
  const { port } = await server.listen(0, '127.0.0.1');
  return `http://127.0.0.1:${port}`;
}

async function sessionCount(base: string): Promise<number> {
  const health = (await (await fetch(`${base}/healthz`)).json()) as { sessions: number };
  return health.sessions;
}

for (const [build, href] of Object.entries(MODULES)) {
  describe(`the client on Node without a global WebSocket (${build})`, () => {
    let client: ClientModule;
    beforeAll(async () => {
      client = (await import(/* @vite-ignore */ href).catch((error: unknown) => {
        throw new Error(`cannot import ${href}${build === 'build' ? ': run npm run build first (npm test does)' : ''}`, { cause: error });
      })) as ClientModule;
    });

    it('opens over SSE at once, receives a published message and closes cleanly', async () => {
      expect((globalThis as WebSocketGlobal).WebSocket).toBeUndefined();
      const base = await startServer();
      const push = client.connect(base, { uid: 'nora', channels: ['news'] });
      clients.push(push);
      const events = recorded(push);

      // First event, no error or backoff before it: WebSocket was skipped, not tried and retried.
      expect(await events.next(3000)).toEqual(['open', { transport: 'sse' }]);
      expect(push.transport).toBe('sse');

      await fetch(`${base}/publish`, { method: 'POST', body: JSON.stringify({ channel: 'news', event: 'headline', data: 'from node' }) });
      expect(await events.next()).toMatchObject(['message', { type: 'message', channel: 'news', event: 'headline', data: 'from node' }]);

      push.close();
      expect(await events.next()).toEqual(['close', { code: 1000, reason: 'closed by the client', willReconnect: false }]);
      await expect.poll(() => sessionCount(base)).toBe(0);
      expect(events.pending).toEqual([]);
    });

    it('refuses at once when no transport it was given can run here', () => {
      // (Pushed to `clients` only if it does not throw, so a regression still gets closed.)
      expect(() => clients.push(client.connect('http://127.0.0.1:9/', { transports: ['websocket'] }))).toThrow(/WebSocket/);
    });

    it('a WebSocket that worked before but now throws on construction falls through to SSE, not retried', async () => {
      // A WebSocket global with the browser API (ws's), which can be made to throw as a browser does when a page's CSP forbids the URL.
      const sockets: WS[] = [];
      let forbidden = false;
      (globalThis as WebSocketGlobal).WebSocket = class extends WS {
        constructor(url: string | URL) {
          if (forbidden) throw new DOMException(`Refused to connect to '${url}'`, 'SecurityError');
          super(url);
          sockets.push(this);
        }
      };
      const base = await startServer();
      const push = client.connect(base, { uid: 'olga', channels: ['news'], initialDelayMs: 50 });
      clients.push(push);
      const events = recorded(push);
      expect(await events.next(3000)).toEqual(['open', { transport: 'websocket' }]);

      forbidden = true;
      sockets[0].terminate(); // the connection is lost: the client reconnects, to WebSocket first since it worked
      expect(await events.next()).toEqual(['close', { code: 1006, reason: '', willReconnect: true }]);
      expect(await events.next()).toMatchObject(['reconnecting', { attempt: 1 }]);
      expect(await events.next()).toEqual(['error', expect.stringContaining('SecurityError')]);
      expect(await events.next(3000)).toEqual(['open', { transport: 'sse' }]);

      await fetch(`${base}/publish`, { method: 'POST', body: JSON.stringify({ channel: 'news', data: 'still here' }) });
      expect(await events.next()).toMatchObject(['message', { data: 'still here' }]);
      expect(sockets).toHaveLength(1);
    });
  });
}
