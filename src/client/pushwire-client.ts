// The pushwire browser client: one connection to a pushwire server over
// WebSocket, Server-Sent Events (+ POST /send) or long-polling, in that order
// of preference, falling back when one cannot open and probing back up while
// on a fallback. It resumes from the last message id on every reconnect, on
// any transport, so nothing is missed or repeated, and reconnects with
// capped exponential backoff and full jitter. No dependencies; served by the
// server at /client.js.

import {
  isFinalCloseCode,
  type Ack,
  type Command,
  type ErrorReply,
  type GapNotice,
  type MessageEnvelope,
  type PollReply,
  type ReadyNotice,
  type ServerFrame,
} from '../push/contract.js';

export type { Ack, Command } from '../push/contract.js';

/** A way to reach the server: a WebSocket on /ws, Server-Sent Events on /sse (+ POST /send), long-polling on /poll. */
export type TransportName = 'websocket' | 'sse' | 'poll';

/** A delivered message, as the server sends it (the wire contract's envelope). */
export type PushMessage = MessageEnvelope;

/** Options of {@link connect}. Every one is optional. */
export interface ConnectOptions {
  /** Channels to subscribe to from the start. */
  channels?: string[];
  /** A JWT (`?token=`), or a function returning one (called on every connect). */
  token?: string | (() => string | Promise<string>);
  /** Development identity (`?uid=`), for servers without a JWT secret. */
  uid?: string;
  /**
   * Transports to use, in order of preference. Default all three. Those this
   * runtime cannot run are left out (Node 20 has no WebSocket); if none is
   * left, {@link connect} throws.
   */
  transports?: TransportName[];
  /**
   * Called when the server refuses the token (close 4401 / HTTP 401). Return
   * a fresh token to reconnect with; without this callback the client stops.
   */
  refreshToken?: () => string | Promise<string>;
  /** First reconnect delay, ms, before jitter; the server's retry hint overrides it. Default 1000. */
  initialDelayMs?: number;
  /** Longest reconnect delay, ms. Default 30 000. */
  maxDelayMs?: number;
  /** A transport that has not said `ready` within this many ms counts as blocked. Default 5000. */
  openTimeoutMs?: number;
  /** On a fallback transport, try the preferred one again after this many ms. Default 30 000. */
  upgradeAfterMs?: number;
  /** Long-poll hold, seconds. Default 25. */
  pollTimeout?: number;
}

/** The `close` event: a WebSocket close code (an HTTP refusal maps to 4000 + status). */
export interface CloseInfo {
  code: number;
  reason: string;
  /** False after {@link PushClient.close} or a refusal reconnecting cannot cure (see `isFinalCloseCode`). */
  willReconnect: boolean;
}

/** The events of a {@link PushClient} and what their listeners receive. */
export interface ClientEvents {
  /** Connected, and caught up with what was missed: live messages follow. */
  open: { transport: TransportName };
  /** A message, each exactly once and in order, across reconnects. */
  message: PushMessage;
  close: CloseInfo;
  /** The next connect is due in `delayMs`. */
  reconnecting: { attempt: number; delayMs: number };
  /** History no longer reaches back to `since`: messages were lost (reload what the page shows). */
  gap: { since: string | null };
  /** A listener threw, a token function failed, or a transport could not be constructed. */
  error: Error;
}

/** A command the server refused, with its status (HTTP-style code). */
export class PushError extends Error {
  override readonly name = 'PushError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Full jitter (uniform between 0 and the capped exponential delay). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

/** What a transport reports to the client. */
interface Link {
  /** Connected and resumed: the server said `ready`. */
  ready(session: string, cursor: string, retryMs?: number): void;
  message(message: PushMessage): void;
  gap(since: string | null): void;
  /** The transport ended; `code` is a close code (HTTP statuses map to 4000 + status). */
  closed(code: number, reason: string): void;
}

interface Transport {
  readonly name: TransportName;
  command(command: Command): Promise<Ack>;
  close(): void;
}

type Pending = { command: Command; resolve: (ack: Ack) => void; reject: (error: Error) => void };

const ALL_TRANSPORTS: readonly TransportName[] = ['websocket', 'sse', 'poll'];

/**
 * Whether this runtime has the API a transport is built on. Node 20 has
 * fetch and web streams but no global WebSocket (Node 22 has one); a page
 * always has all three.
 */
function transportAvailable(name: TransportName): boolean {
  const canFetch = typeof fetch === 'function' && typeof AbortController === 'function';
  if (name === 'websocket') return typeof WebSocket === 'function';
  if (name === 'sse') return canFetch && typeof ReadableStream === 'function' && typeof TextDecoder === 'function';
  return canFetch;
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/**
 * A connection to a pushwire server that survives disconnects: WebSocket,
 * falling back to SSE and then long-polling, resuming from the last id seen
 * on every reconnect. Create one with {@link connect}; it starts connecting
 * at once.
 */
export class PushClient {
  private readonly base: URL;
  private readonly options: ConnectOptions;
  private readonly order: TransportName[];
  private readonly channels: Set<string>;
  private readonly listeners = new Map<keyof ClientEvents, Set<(value: never) => void>>();
  private current: Transport | null = null;
  private opening: Transport | null = null;
  private cursor: string | null = null;
  private session = '';
  private retryMs: number;
  private attempt = 0;
  /** Transports that have opened before, and how often each failed to open since: see failOpen. */
  private readonly worked = new Map<TransportName, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private upgradeTimer: ReturnType<typeof setTimeout> | null = null;
  private closedByUser = false;
  private token: string | undefined;
  private readonly queue: Pending[] = [];

  /**
   * @param url The server's base URL (relative URLs resolve against the page).
   * @throws Error when none of `options.transports` can run in this runtime.
   */
  constructor(url: string, options: ConnectOptions = {}) {
    // Routes are resolved against the base, so a server behind a path prefix works: keep the trailing slash.
    this.base = new URL(url, typeof location === 'undefined' ? undefined : location.href);
    if (!this.base.pathname.endsWith('/')) this.base.pathname += '/';
    this.options = options;
    const wanted = options.transports?.length ? options.transports : ALL_TRANSPORTS;
    // Skipped here, once: a transport whose API is missing would fail the same way on every attempt.
    this.order = wanted.filter(transportAvailable);
    if (this.order.length === 0) {
      throw new Error(`pushwire: none of the transports ${wanted.join(', ')} can run here (websocket needs a global WebSocket; sse and poll need fetch)`);
    }
    this.channels = new Set(options.channels ?? []);
    this.retryMs = options.initialDelayMs ?? 1000;
    void this.connect(0);
  }

  /** The transport in use, or null while (re)connecting. */
  get transport(): TransportName | null {
    return this.current?.name ?? null;
  }

  /** The id of the last message seen: where the next connect resumes. */
  get lastId(): string | null {
    return this.cursor;
  }

  /** Listen to an event; returns a function that removes the listener. */
  on<E extends keyof ClientEvents>(event: E, listener: (value: ClientEvents[E]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (value: never) => void);
    return () => set!.delete(listener as (value: never) => void);
  }

  /** Subscribe now and on every reconnect; a refused subscription is forgotten (or the next connect would be refused too). */
  subscribe(channel: string): Promise<Ack> {
    this.channels.add(channel);
    if (!this.current) return Promise.resolve({ type: 'ack', channel });
    return this.current.command({ type: 'subscribe', channel }).catch((error: unknown) => {
      if (error instanceof PushError && error.code !== 0) this.channels.delete(channel);
      throw error;
    });
  }

  /** Stop receiving a channel, now and after reconnects. */
  unsubscribe(channel: string): Promise<Ack> {
    this.channels.delete(channel);
    return this.current ? this.current.command({ type: 'unsubscribe', channel }) : Promise.resolve({ type: 'ack', channel });
  }

  /** Publish to a channel (when the server lets clients publish there). */
  publish(channel: string, data: unknown, event?: string): Promise<Ack> {
    return this.command(event === undefined ? { type: 'publish', channel, data } : { type: 'publish', channel, event, data });
  }

  /** Send to the server's application handler (onMessage). */
  send(data: unknown): Promise<Ack> {
    return this.command({ type: 'send', data });
  }

  /** Close for good: pending commands are rejected, `close` fires with `willReconnect: false`. */
  close(): void {
    this.closedByUser = true;
    this.clearTimers();
    this.opening?.close();
    this.current?.close();
    this.opening = this.current = null;
    for (const pending of this.queue.splice(0)) pending.reject(new PushError(0, 'client closed'));
    this.emit('close', { code: 1000, reason: 'closed by the client', willReconnect: false });
  }

  // ---- connecting ----

  /**
   * Try transports from `index` on; the first that says ready wins. A probe
   * (on a fallback, trying the preferred transport again) tries only that one.
   */
  private async connect(index: number, probe = false): Promise<void> {
    if (this.closedByUser) return;
    if (index >= this.order.length) {
      this.scheduleReconnect();
      return;
    }
    const name = this.order[index];
    let transport: Transport | null = null;
    let opened = false;
    const failOpen = (code: number, reason: string): void => {
      clearTimeout(openTimer);
      if (opened || this.opening !== transport) return;
      this.opening = null;
      transport?.close();
      this.openFailed(name, index, probe, code, reason);
    };
    const openTimer = setTimeout(() => failOpen(4408, 'no ready message in time'), this.options.openTimeoutMs ?? 5000);
    const link: Link = {
      ready: (session, cursor, retryMs) => {
        clearTimeout(openTimer);
        if (this.opening !== transport) return;
        opened = true;
        this.opening = null;
        this.adopt(transport!, index, session, cursor, retryMs);
      },
      message: (message) => this.deliver(message),
      gap: (since) => this.emit('gap', { since }),
      closed: (code, reason) => {
        if (!opened) {
          failOpen(code, reason);
          return;
        }
        if (this.current !== transport) return;
        this.current = null;
        if (isFinalCloseCode(code)) void this.refuse(code, reason);
        else {
          this.emit('close', { code, reason, willReconnect: true });
          this.scheduleReconnect(index);
        }
      },
    };
    let token: string | undefined;
    try {
      token = await this.currentToken();
    } catch (error) {
      clearTimeout(openTimer);
      this.emit('error', toError(error));
      if (!probe) this.scheduleReconnect();
      return;
    }
    if (this.closedByUser) return clearTimeout(openTimer);
    try {
      transport = this.open(name, link, token);
    } catch (error) {
      clearTimeout(openTimer);
      this.emit('error', toError(error));
      this.cannotConstruct(name, index, probe);
      return;
    }
    this.opening = transport;
  }

  /** Opening failed: stop on a refusal, retry a transport that has worked (a blip), else fall back. */
  private openFailed(name: TransportName, index: number, probe: boolean, code: number, reason: string): void {
    if (isFinalCloseCode(code)) void this.refuse(code, reason);
    else if (probe) this.scheduleUpgrade();
    else if (this.retrySame(name)) this.scheduleReconnect(index);
    else void this.connect(index + 1); // blocked or down: fall back
  }

  /**
   * A transport's constructor threw (a browser throws SecurityError when the
   * page's CSP forbids the URL): it would throw again, so fall through to the
   * next transport at once, without the retries owed to one that has worked.
   */
  private cannotConstruct(name: TransportName, index: number, probe: boolean): void {
    this.worked.delete(name);
    if (probe) this.scheduleUpgrade();
    else void this.connect(index + 1);
  }

  private open(name: TransportName, link: Link, token: string | undefined): Transport {
    const query = new URLSearchParams();
    for (const channel of this.channels) query.append('channel', channel);
    if (this.cursor) query.set('since', this.cursor);
    if (token !== undefined) query.set('token', token);
    else if (this.options.uid !== undefined) query.set('uid', this.options.uid);
    if (name === 'websocket') return new WebSocketTransport(this.base, query, link);
    if (name === 'sse') return new SseTransport(this.base, query, link, () => this.session);
    return new PollTransport(this.base, query, link, this.options.pollTimeout ?? 25, () => this.session);
  }

  private adopt(transport: Transport, index: number, session: string, cursor: string, retryMs?: number): void {
    const previous = this.current;
    this.current = transport;
    this.session = session;
    this.advance(cursor);
    if (retryMs !== undefined) this.retryMs = retryMs;
    this.attempt = 0;
    this.worked.set(transport.name, 0);
    previous?.close();
    this.emit('open', { transport: transport.name });
    for (const pending of this.queue.splice(0)) transport.command(pending.command).then(pending.resolve, pending.reject);
    if (index > 0) this.scheduleUpgrade();
  }

  /**
   * A transport that has worked before and now fails to open is more likely
   * meeting a network outage than a proxy that blocks it: try it twice more
   * (with backoff) before falling back, so a blip does not downgrade us.
   */
  private retrySame(name: TransportName): boolean {
    const failures = this.worked.get(name);
    if (failures === undefined || failures >= 2) return false;
    this.worked.set(name, failures + 1);
    return true;
  }

  /** While on a fallback, open the preferred transport beside it now and then; it takes over once ready. */
  private scheduleUpgrade(): void {
    if (this.upgradeTimer) clearTimeout(this.upgradeTimer);
    this.upgradeTimer = setTimeout(() => {
      this.upgradeTimer = null;
      if (!this.current || this.opening || this.closedByUser) return;
      void this.connect(0, true);
    }, this.options.upgradeAfterMs ?? 30_000);
  }

  private scheduleReconnect(index = 0): void {
    if (this.closedByUser || this.timer) return;
    const delayMs = backoffDelay(this.attempt, this.retryMs, this.options.maxDelayMs ?? 30_000);
    this.attempt++;
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect(index);
    }, delayMs);
  }

  /** Refused for good (policy, auth): refresh the token if we can, else stop. */
  private async refuse(code: number, reason: string): Promise<void> {
    if (code === 4401 && this.options.refreshToken && this.attempt < 3) {
      try {
        this.token = await this.options.refreshToken();
        this.emit('close', { code, reason, willReconnect: true });
        this.scheduleReconnect();
        return;
      } catch (error) {
        this.emit('error', toError(error));
      }
    }
    this.clearTimers();
    this.current?.close();
    this.current = null;
    for (const pending of this.queue.splice(0)) pending.reject(new PushError(code >= 4000 ? code - 4000 : code, reason));
    this.emit('close', { code, reason, willReconnect: false });
  }

  private async currentToken(): Promise<string | undefined> {
    if (this.token !== undefined) return this.token;
    const { token } = this.options;
    return typeof token === 'function' ? await token() : token;
  }

  // ---- messages ----

  private deliver(message: PushMessage): void {
    // Two transports may overlap for a moment (an upgrade): ids only go forward.
    if (!this.advance(message.id)) return;
    this.emit('message', message);
  }

  /** Move the cursor to `id` if it is newer; false if it is not. */
  private advance(id: string): boolean {
    if (this.cursor !== null) {
      const [epoch, seq] = splitId(id);
      const [lastEpoch, lastSeq] = splitId(this.cursor);
      if (epoch === lastEpoch && seq <= lastSeq) return false;
    }
    this.cursor = id;
    return true;
  }

  private command(command: Command): Promise<Ack> {
    if (this.current) return this.current.command(command);
    if (this.closedByUser) return Promise.reject(new PushError(0, 'client closed'));
    if (this.queue.length >= 100) return Promise.reject(new PushError(0, 'too many commands waiting for a connection'));
    return new Promise((resolve, reject) => this.queue.push({ command, resolve, reject }));
  }

  private clearTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.upgradeTimer) clearTimeout(this.upgradeTimer);
    this.timer = this.upgradeTimer = null;
  }

  private emit<E extends keyof ClientEvents>(event: E, value: ClientEvents[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (value: ClientEvents[E]) => void)(value);
      } catch (error) {
        if (event !== 'error') this.emit('error', toError(error));
      }
    }
  }
}

function splitId(id: string): [string, number] {
  const dash = id.lastIndexOf('-');
  return [id.slice(0, dash), Number(id.slice(dash + 1))];
}

/**
 * Open a client: WebSocket, falling back to SSE, then long-polling.
 *
 * @example
 * const push = connect('https://push.example/', { channels: ['news'], token: jwt });
 * push.on('message', (m) => console.log(m.channel, m.data));
 */
export function connect(url: string, options: ConnectOptions = {}): PushClient {
  return new PushClient(url, options);
}

// ---- transports ----

/** POST /send with the session token: the send path of SSE and long-poll. */
async function postCommand(base: URL, session: string, command: Command): Promise<Ack> {
  const response = await fetch(new URL('send', base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Pushwire-Session': session },
    body: JSON.stringify(command),
  });
  const body = (await response.json()) as Ack & { error?: string };
  if (!response.ok) throw new PushError(response.status, body.error ?? response.statusText);
  return body;
}

function endpoint(base: URL, path: string, query: URLSearchParams): URL {
  const url = new URL(path, base);
  url.search = query.toString();
  return url;
}

class WebSocketTransport implements Transport {
  readonly name = 'websocket';
  private readonly socket: WebSocket;
  private nextRef = 1;
  private readonly inFlight = new Map<number, Pending>();

  constructor(base: URL, query: URLSearchParams, private readonly link: Link) {
    const url = endpoint(base, 'ws', query);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.socket = new WebSocket(url);
    this.socket.onmessage = (event) => this.receive(String(event.data));
    this.socket.onclose = (event) => {
      for (const pending of this.inFlight.values()) pending.reject(new PushError(0, 'disconnected'));
      this.inFlight.clear();
      this.link.closed(event.code, event.reason);
    };
  }

  command(command: Command): Promise<Ack> {
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      this.inFlight.set(ref, { command, resolve, reject });
      this.socket.send(JSON.stringify({ ...command, ref }));
    });
  }

  close(): void {
    this.socket.onclose = null;
    this.socket.close(1000);
    for (const pending of this.inFlight.values()) pending.reject(new PushError(0, 'disconnected'));
    this.inFlight.clear();
  }

  private receive(text: string): void {
    const frame = JSON.parse(text) as ServerFrame;
    switch (frame.type) {
      case 'message':
        this.link.message(frame);
        break;
      case 'ready':
        this.link.ready(frame.session, frame.lastId ?? '', frame.retry);
        break;
      case 'gap':
        this.link.gap(frame.since ?? null);
        break;
      case 'ack':
      case 'error':
        this.settle(frame);
    }
  }

  /** Resolve or reject the command the reply names by its ref (ours are numbers). */
  private settle(reply: Ack | ErrorReply): void {
    const pending = this.inFlight.get(reply.ref as number);
    if (!pending) return;
    this.inFlight.delete(reply.ref as number);
    if (reply.type === 'ack') pending.resolve(reply);
    else pending.reject(new PushError(reply.code, reply.message));
  }
}

/**
 * SSE read with fetch rather than EventSource: the client then sees HTTP
 * statuses (401/403 are final) and decides itself when and from where to
 * reconnect. The stream is parsed per WHATWG HTML §9.2.6.
 */
class SseTransport implements Transport {
  readonly name = 'sse';
  private readonly abort = new AbortController();
  private ended = false;

  constructor(
    private readonly base: URL,
    query: URLSearchParams,
    private readonly link: Link,
    private readonly session: () => string,
  ) {
    query.set('envelope', '1');
    void this.read(endpoint(base, 'sse', query));
  }

  command(command: Command): Promise<Ack> {
    return postCommand(this.base, this.session(), command);
  }

  close(): void {
    this.ended = true;
    this.abort.abort();
  }

  private async read(url: URL): Promise<void> {
    let code = 1006;
    let reason = 'stream ended';
    try {
      const response = await fetch(url, { headers: { Accept: 'text/event-stream' }, signal: this.abort.signal, cache: 'no-store' });
      if (!response.ok || !response.body) {
        code = 4000 + response.status;
        reason = ((await response.json().catch(() => ({}))) as { error?: string }).error ?? response.statusText;
      } else {
        await this.parse(response.body);
      }
    } catch {
      // network failure or our own abort
    }
    if (!this.ended) this.link.closed(code, reason);
  }

  private async parse(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let data = '';
    let event = '';
    let id = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      // A CR at the very end may be the first half of a CRLF: keep it for the next chunk.
      const complete = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
      const lines = buffer.slice(0, complete).split(/\r\n|\r|\n/);
      buffer = lines.pop()! + buffer.slice(complete);
      for (const line of lines) {
        if (line === '') {
          if (data !== '') this.dispatch(event, data.slice(0, -1), id);
          data = event = '';
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let text = colon === -1 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'data') data += `${text}\n`;
        else if (field === 'event') event = text;
        else if (field === 'id' && !text.includes('\0')) id = text;
      }
    }
  }

  /** In envelope mode a message is an unnamed event whose data is the envelope; `ready` and `gap` carry their notice without `type`. */
  private dispatch(event: string, data: string, id: string): void {
    const value: unknown = JSON.parse(data);
    if (event === 'ready') {
      const ready = value as Omit<ReadyNotice, 'type'>;
      this.link.ready(ready.session, id, ready.retry);
    } else if (event === 'gap') this.link.gap((value as Omit<GapNotice, 'type'>).since ?? null);
    else if (event === '' || event === 'message') this.link.message(value as MessageEnvelope);
  }
}

/** Long-polling: one request at a time, each from the cursor of the last answer. */
class PollTransport implements Transport {
  readonly name = 'poll';
  private readonly abort = new AbortController();
  private ended = false;
  private pollSession = '';

  constructor(
    private readonly base: URL,
    private readonly query: URLSearchParams,
    private readonly link: Link,
    private readonly timeout: number,
    private readonly session: () => string,
  ) {
    void this.loop();
  }

  command(command: Command): Promise<Ack> {
    return postCommand(this.base, this.session(), command);
  }

  close(): void {
    this.ended = true;
    this.abort.abort();
  }

  private async loop(): Promise<void> {
    let cursor = this.query.get('since');
    this.query.delete('since');
    let first = true;
    let code = 1006;
    let reason = 'poll failed';
    try {
      while (!this.ended) {
        const query = new URLSearchParams(this.query);
        if (cursor) query.set('cursor', cursor);
        if (this.pollSession) query.set('session', this.pollSession);
        query.set('timeout', first ? '0' : String(this.timeout));
        const response = await fetch(endpoint(this.base, 'poll', query), { signal: this.abort.signal, cache: 'no-store' });
        const body = (await response.json()) as PollReply & { error?: string };
        if (!response.ok) {
          code = 4000 + response.status;
          reason = body.error ?? response.statusText;
          break;
        }
        this.pollSession = body.session;
        if (body.gap) this.link.gap(cursor);
        for (const message of body.messages) this.link.message(message);
        cursor = body.cursor;
        if (first) this.link.ready(body.session, body.cursor);
        first = false;
      }
    } catch {
      // network failure or our own abort
    }
    if (!this.ended) this.link.closed(code, reason);
  }
}
