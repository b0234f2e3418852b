// Helpers for driving a real push server over loopback.
import * as http from 'node:http';
import { afterEach, expect } from 'vitest';
import WS from 'ws';
import { createServer, type PushServer, type PushServerOptions } from '../../src/push/push-server.js';
import { parseEventStream, type ParsedEvent } from './sse-parser.js';

export interface Running {
  server: PushServer;
  base: string;
  wsUrl: string;
  pushPort: number | undefined;
}

export async function startPush(options: PushServerOptions = {}): Promise<Running> {
  // Tests name users with ?uid=: development identity, unless a test configures tokens.
  const server = createServer({ pingIntervalMs: 0, devIdentity: options.jwtSecret === undefined, ...options });
  const { port, pushPort } = await server.listen(0);
  return { server, base: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/ws`, pushPort };
}

/**
 * For a test file: a `start(options)` that starts a push server and closes
 * it (and every other it started) after each test.
 */
export function pushServers(): (options?: PushServerOptions) => Promise<Running> {
  const started: Running[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map(({ server }) => server.close(200)));
  });
  return async (options = {}) => {
    const running = await startPush(options);
    started.push(running);
    return running;
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: Json;
}

/** One HTTP request; the body (if any) is sent as given, or JSON-encoded when not a string. */
export async function request(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const body = init.body === undefined || typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const response = await fetch(url, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), body, headers: init.headers });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export function publish(base: string, body: unknown, key?: string): Promise<Answer> {
  return request(`${base}/publish`, { body, headers: key === undefined ? {} : { Authorization: `Bearer ${key}` } });
}

/** Resolves once the server holds `count` long-poll requests (its `pushwire_polls_held` gauge), so a publish will wake them. */
export async function pollsHeld(base: string, count: number): Promise<void> {
  const gauge = async (): Promise<number> => Number(/^pushwire_polls_held (\d+)$/m.exec((await request(`${base}/metrics`)).text)?.[1]);
  await expect.poll(gauge, { timeout: 5000 }).toBe(count);
}

/** Items in arrival order; `next` waits for the next one, `until` skips to the first that matches. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next(timeoutMs = 5000): Promise<T> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error('timed out waiting for the next item'));
      }, timeoutMs);
      const waiter = (value: T): void => {
        clearTimeout(timer);
        resolve(value);
      };
      this.waiters.push(waiter);
    });
  }

  async until(match: (item: T) => boolean, timeoutMs = 5000): Promise<T> {
    for (;;) {
      const item = await this.next(timeoutMs);
      if (match(item)) return item;
    }
  }

  /** What arrived and was not taken yet. */
  get pending(): readonly T[] {
    return this.items;
  }
}

export type Json = any;

/** A `ws` client whose JSON messages land in an Inbox; `closed` resolves with the close code and reason. */
export function wsClient(url: string, options: WS.ClientOptions = {}) {
  const socket = new WS(url, options);
  const inbox = new Inbox<Json>();
  socket.on('message', (data) => inbox.push(JSON.parse(data.toString())));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  socket.on('error', () => {});
  const send = (value: unknown): void => socket.send(typeof value === 'string' ? value : JSON.stringify(value));
  return { socket, inbox, closed, send };
}

/** A raw SSE reader over node:http that parses with the spec's algorithm. */
export function sseClient(url: string, headers: Record<string, string> = {}) {
  let text = '';
  const inbox = new Inbox<ParsedEvent>();
  let unparsed = '';
  let lastEventId = '';
  let response!: http.IncomingMessage;
  const request = http.get(url, { headers });
  const opened = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.on('response', (res) => {
      response = res;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        // Parse up to the last complete event; the rest waits for more bytes.
        unparsed += chunk;
        const end = unparsed.lastIndexOf('\n\n');
        if (end === -1) return;
        const parsed = parseEventStream(unparsed.slice(0, end + 2), lastEventId);
        lastEventId = parsed.lastEventId;
        unparsed = unparsed.slice(end + 2);
        for (const event of parsed.events) inbox.push(event);
      });
      resolve(res);
    });
    request.on('error', reject);
  });
  const ended = opened.then((res) => new Promise<void>((resolve) => res.on('close', () => resolve())));
  return {
    opened,
    ended,
    inbox,
    get text() {
      return text;
    },
    get response() {
      return response;
    },
    close: () => request.destroy(),
  };
}

/**
 * A TCP proxy to `port` for network trouble on demand: `cut()` drops every
 * connection, `down(true)` also refuses new ones until `down(false)`. With
 * `refuseUpgrades` it answers WebSocket upgrade requests with 403, as some
 * corporate proxies do; with `bufferSse` it holds back /sse responses until
 * the server ends them, as a buffering proxy does.
 */
export async function cuttableProxy(port: number, options: { refuseUpgrades?: boolean; bufferSse?: boolean } = {}) {
  const { createServer, connect } = await import('node:net');
  const settings = { ...options, down: false };
  const sockets = new Set<import('node:net').Socket>();
  const track = (socket: import('node:net').Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server = createServer((inbound) => {
    track(inbound);
    if (settings.down) {
      inbound.destroy();
      return;
    }
    const outbound = connect(port, '127.0.0.1');
    track(outbound);
    let first = true;
    let holding = false;
    const held: Buffer[] = [];
    inbound.on('data', (chunk: Buffer) => {
      const head = chunk.toString('latin1');
      if (first && settings.refuseUpgrades && /^upgrade:\s*websocket/im.test(head)) {
        inbound.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
        outbound.destroy();
        return;
      }
      first = false;
      // Requests on one connection come one after another: after GET /sse, the rest is the stream.
      if (settings.bufferSse && head.startsWith('GET /sse')) holding = true;
      outbound.write(chunk);
    });
    outbound.on('data', (chunk: Buffer) => {
      if (holding) held.push(chunk);
      else inbound.write(chunk);
    });
    outbound.on('end', () => inbound.end(Buffer.concat(held)));
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`,
    cut: () => sockets.forEach((socket) => socket.destroy()),
    /** Drop every connection and refuse new ones (true), or accept them again (false). */
    down: (down: boolean) => {
      settings.down = down;
      if (down) sockets.forEach((socket) => socket.destroy());
    },
    /** Start or stop refusing upgrades on new connections. */
    refuseUpgrades: (refuse: boolean) => {
      settings.refuseUpgrades = refuse;
    },
    close: () => new Promise<void>((resolve) => {
      sockets.forEach((socket) => socket.destroy());
      server.close(() => resolve());
    }),
  };
}
