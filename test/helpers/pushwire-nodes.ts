// Several `pushwire serve --redis URL --dev-identity` processes on one Redis
// (the built CLI, each in its own process, as test/helpers/server-process.ts
// starts it), and push clients that behave like the browser client across
// reconnects: they remember the newest id they saw (the cursor), reconnect
// with it to whichever node they are pointed at, and drop a message whose id
// is not after the cursor. Every delivery is recorded, so a test can tell
// what the client kept from what the server sent twice.
import { once } from 'node:events';
import WS from 'ws';
import { request, sseClient, type Json } from './push.js';
import type { ParsedEvent } from './sse-parser.js';
import { startCli, type ServerProcess } from './server-process.js';

/** One pushwire process of a cluster. */
export interface PushwireNode {
  readonly name: string;
  readonly proc: ServerProcess;
  readonly port: number;
  readonly base: string;
  readonly wsUrl: string;
  /** SIGTERM and wait for the exit; the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (kill -9) and wait for the exit. */
  kill(): Promise<void>;
  readonly alive: boolean;
}

/** Start `pushwire serve --redis <url> --dev-identity [args]`; resolves once it listens (it has joined the bus by then). */
export async function startNode(name: string, redisUrl: string, args: string[] = []): Promise<PushwireNode> {
  const proc = await startCli(['serve', '--redis', redisUrl, '--dev-identity', ...args]);
  const { child } = proc;
  return {
    name,
    proc,
    port: proc.port,
    base: `http://127.0.0.1:${proc.port}`,
    wsUrl: `ws://127.0.0.1:${proc.port}/ws`,
    stop: () => proc.stop(),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    get alive() {
      return child.exitCode === null && child.signalCode === null;
    },
  };
}

/** Start `names.length` nodes at once. */
export function startNodes(redisUrl: string, names: string[], args: string[] = []): Promise<PushwireNode[]> {
  return Promise.all(names.map((name) => startNode(name, redisUrl, args)));
}

/** GET /healthz's JSON. */
export async function health(node: PushwireNode): Promise<{ status: string; reason?: string }> {
  return (await request(`${node.base}/healthz`)).json;
}

/** One sample of a Prometheus metric (first line that matches `name` with optional labels). */
export async function metric(node: PushwireNode, name: string): Promise<number> {
  const text = (await request(`${node.base}/metrics`)).text;
  const match = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

/** The seq of an id `<epoch>-<seq>`. */
export function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf('-') + 1));
}

export type TransportKind = 'ws' | 'sse' | 'poll';

/** A message as a client received it. */
export interface Delivery {
  id: string;
  seq: number;
  data: Json;
  /** The node that delivered it. */
  node: string;
}

/**
 * A logical push client over one transport, on one channel, across any
 * number of connections to any nodes. `kept` is what a client keeps (each
 * id once, in order: a delivery whose seq is not after the cursor is
 * dropped); `deliveries` is every message any connection sent.
 */
export class PushClient {
  /** Newest id seen: from messages, the ready notice (WS, SSE) or a poll answer's cursor. */
  cursor: string | null = null;
  /** The cursor when the first connection said ready: messages after it are this client's. */
  subscribedAt: string | null = null;
  readonly kept: Delivery[] = [];
  readonly deliveries: Delivery[] = [];
  /** Every position the server gave: ready notices' lastId (WS), ready events' id (SSE), poll answers' cursor. */
  readonly positions: string[] = [];
  /** `since` values the server answered with a gap. */
  readonly gaps: (string | null)[] = [];
  /** The node of the live connection, or null. */
  node: PushwireNode | null = null;
  private closeConnection: (() => void) | null = null;
  private waiters: (() => void)[] = [];

  constructor(
    readonly kind: TransportKind,
    readonly channel: string,
    readonly label = `${kind}:${channel}`,
  ) {}

  /** Open a connection to `node` (resuming from the cursor if any) and resolve once it is ready. */
  async connect(node: PushwireNode, timeoutMs = 10_000): Promise<void> {
    this.disconnect();
    this.node = node;
    const ready = this.kind === 'ws' ? this.openWs(node) : this.kind === 'sse' ? this.openSse(node) : this.openPoll(node);
    await withTimeout(ready, timeoutMs, `${this.label} did not get ready on ${node.name}`);
    this.subscribedAt ??= this.cursor;
  }

  /** Close the live connection, if any (the client side goes away; nothing is resumed until connect()). */
  disconnect(): void {
    const close = this.closeConnection;
    this.closeConnection = null;
    this.node = null;
    close?.();
  }

  /** Whether a connection is open (or, for polls, the poll loop still runs). */
  get connected(): boolean {
    return this.closeConnection !== null;
  }

  /** Resolve once `kept` holds a message with seq ≥ `seq` (the newest one expected). */
  async waitForSeq(seq: number, timeoutMs = 10_000): Promise<void> {
    const reached = (): boolean => (this.kept.at(-1)?.seq ?? 0) >= seq;
    if (reached()) return;
    await withTimeout(
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (reached()) {
            this.waiters = this.waiters.filter((waiter) => waiter !== check);
            resolve();
          }
        };
        this.waiters.push(check);
      }),
      timeoutMs,
      () => `${this.label} waited for seq ${seq}; kept up to ${this.kept.at(-1)?.seq ?? 'nothing'} (cursor ${this.cursor}, node ${this.node?.name ?? 'none'})`,
    );
  }

  /** Deliveries that were dropped as already seen. */
  get duplicates(): Delivery[] {
    const seen = new Set<string>();
    return this.deliveries.filter((delivery) => (seen.has(delivery.id) ? true : (seen.add(delivery.id), false)));
  }

  /** A message reached the client. */
  private receive(envelope: Json, node: PushwireNode): void {
    const delivery: Delivery = { id: envelope.id, seq: seqOf(envelope.id), data: envelope.data, node: node.name };
    this.deliveries.push(delivery);
    if (this.cursor === null || delivery.seq > seqOf(this.cursor)) {
      this.cursor = delivery.id;
      this.kept.push(delivery);
    }
    for (const waiter of [...this.waiters]) waiter();
  }

  /** The server's position (ready notice, poll cursor): moves the cursor forward only. */
  private advance(id: string): void {
    this.positions.push(id);
    if (id && (this.cursor === null || seqOf(id) > seqOf(this.cursor))) this.cursor = id;
  }

  private openWs(node: PushwireNode): Promise<void> {
    const query = new URLSearchParams({ channel: this.channel });
    if (this.cursor) query.set('since', this.cursor);
    const socket = new WS(`${node.wsUrl}?${query}`);
    socket.on('error', () => {});
    const alive = (): boolean => this.closeConnection === close;
    const close = (): void => socket.terminate();
    this.closeConnection = close;
    return new Promise((resolve, reject) => {
      socket.on('message', (data) => {
        if (!alive()) return;
        const frame = JSON.parse(data.toString()) as Json;
        if (frame.type === 'message') this.receive(frame, node);
        else if (frame.type === 'gap') this.gaps.push(frame.since);
        else if (frame.type === 'ready') {
          this.advance(frame.lastId);
          resolve();
        }
      });
      socket.on('close', (code) => {
        if (alive()) this.closeConnection = null;
        reject(new Error(`${this.label}: WebSocket closed (${code}) before ready on ${node.name}`));
      });
    });
  }

  private openSse(node: PushwireNode): Promise<void> {
    const query = new URLSearchParams({ channel: this.channel, envelope: '1' });
    // A reconnect sends Last-Event-ID, as EventSource does.
    const sse = sseClient(`${node.base}/sse?${query}`, this.cursor ? { 'Last-Event-ID': this.cursor } : {});
    const close = (): void => void sse.close();
    this.closeConnection = close;
    const alive = (): boolean => this.closeConnection === close;
    return new Promise((resolve, reject) => {
      // Events are handled as they are parsed (the inbox is bypassed).
      sse.inbox.push = (event: ParsedEvent): void => {
        if (!alive()) return;
        if (event.type === 'gap') this.gaps.push(JSON.parse(event.data).since);
        else if (event.type === 'message') this.receive(JSON.parse(event.data), node);
        else if (event.type === 'ready') {
          this.advance(event.lastEventId);
          resolve();
        }
      };
      sse.opened.then(
        (response) => {
          if (response.statusCode !== 200) reject(new Error(`${this.label}: /sse answered ${response.statusCode}`));
        },
        (error: Error) => reject(error),
      );
      const ended = (): void => {
        if (alive()) this.closeConnection = null;
        reject(new Error(`${this.label}: event stream ended before ready on ${node.name}`));
      };
      sse.ended.then(ended, ended);
    });
  }

  /**
   * Long-polling: a first poll with timeout=0 opens the session (that is the
   * "ready"), then held polls follow one after another, each from the cursor
   * of the last answer.
   */
  private openPoll(node: PushwireNode): Promise<void> {
    const abort = new AbortController();
    const close = (): void => abort.abort();
    this.closeConnection = close;
    const alive = (): boolean => this.closeConnection === close;
    let session: string | null = null;
    const poll = async (timeout: number): Promise<void> => {
      const query = new URLSearchParams({ channel: this.channel, timeout: String(timeout) });
      if (this.cursor) query.set('cursor', this.cursor);
      if (session) query.set('session', session);
      const response = await fetch(`${node.base}/poll?${query}`, { signal: abort.signal });
      const body = (await response.json()) as Json;
      if (response.status !== 200) throw new Error(`${this.label}: poll answered ${response.status} ${JSON.stringify(body)}`);
      if (!alive()) return;
      if (body.gap) this.gaps.push(this.cursor);
      for (const envelope of body.messages) this.receive(envelope, node);
      this.advance(body.cursor);
      session = body.session;
    };
    return (async () => {
      await poll(0);
      void (async () => {
        while (alive()) {
          try {
            await poll(20);
          } catch {
            if (alive()) this.closeConnection = null; // the node went away: wait for connect()
            return;
          }
        }
      })();
    })();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(typeof message === 'string' ? message : message())), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A TCP proxy to a redis-server that can hold back what Redis sends to
 * subscriber connections (those that sent SUBSCRIBE): a node behind it then
 * lags on the bus — it has not seen messages other nodes already delivered —
 * while its command connection still works. Releasing sends what was held,
 * in order; dropping cuts those connections and discards what was held, so
 * the node has missed it on the bus and must catch up from `all`.
 */
export async function busDelayProxy(redisPort: number) {
  const net = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const flushers = new Set<() => void>();
  const droppers = new Set<() => void>();
  let holding = false;
  const server = net.createServer((inbound) => {
    const outbound = net.connect(redisPort, '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    let subscriber = false;
    const held: Buffer[] = [];
    const flush = (): void => {
      for (const chunk of held.splice(0)) inbound.write(chunk);
    };
    flushers.add(flush);
    const drop = (): void => {
      if (!subscriber) return;
      held.length = 0;
      inbound.destroy();
    };
    droppers.add(drop);
    inbound.on('data', (chunk: Buffer) => {
      if (/SUBSCRIBE/i.test(chunk.toString('latin1'))) subscriber = true;
      outbound.write(chunk);
    });
    outbound.on('data', (chunk: Buffer) => {
      if (subscriber && holding) held.push(chunk);
      else inbound.write(chunk);
    });
    inbound.on('close', () => {
      flushers.delete(flush);
      droppers.delete(drop);
      outbound.destroy();
    });
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    /** Hold (true) or release (false) what Redis sends to subscribers. */
    holdBus(hold: boolean): void {
      holding = hold;
      if (!hold) for (const flush of flushers) flush();
    },
    /** Cut the subscriber connections, discarding what was held; new ones pass freely. */
    dropBus(): void {
      holding = false;
      for (const drop of [...droppers]) drop();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
