// One Redis connection's life, shared by RedisClient and RedisSubscriber:
// open a TCP or TLS socket, greet the server (HELLO 3, or AUTH in RESP2,
// then SELECT), write commands without waiting (pipelining) and match the
// replies in order, and when the socket is lost fail what was in flight and
// reconnect with backoff and jitter. The wire format is resp.ts's; this file
// owns the I/O, the timers and the clock.
//
//   idle ──connect()──▶ connecting ──handshake ok──▶ ready ──socket lost──▶ reconnecting
//                          │  ▲                        │                      │
//                          │  └───── backoff timer ────┼──────────────────────┘
//                          └─ first attempt fails, or the server refuses our credentials ─▶ closed
//                                                      └──── close() / quit() ────────────▶ closed
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { backoffDelay } from './backoff.js';
import { RedisConfigError, RedisConnectionError, RedisReplyError } from './errors.js';
import { NEED_MORE, RespReader, encodeCommand, type RedisArgument, type RespReaderOptions, type RespValue } from './resp.js';
import { parseRedisUrl, redact, type RedisEndpoint } from './url.js';

/** Options of `RedisClient` and `RedisSubscriber`. Every limit has a safe default. */
export interface RedisOptions extends RespReaderOptions {
  /** ACL user; overrides the URL's. */
  username?: string;
  /** Password (`requirepass` or the ACL user's); overrides the URL's. */
  password?: string;
  /** Database to SELECT after connecting; overrides the URL's. Default 0 (no SELECT). */
  db?: number;
  /**
   * Protocol to ask for. 3 (default): `HELLO 3`, falling back to RESP2 when the
   * server does not know HELLO (Redis < 6). 2: no HELLO at all.
   */
  resp?: 2 | 3;
  /** Name shown by CLIENT LIST (HELLO … SETNAME, or CLIENT SETNAME in RESP2). */
  clientName?: string;
  /** Extra node:tls options for `rediss://` URLs: `ca`, `cert`, `key`, `servername`, `rejectUnauthorized`, … */
  tls?: tls.ConnectionOptions;
  /** Most time for TCP, TLS and the handshake together, ms. Default 10 000. */
  connectTimeout?: number;
  /**
   * Most time a command may wait for its reply, ms. Default 5 000. Replies
   * are matched by position, so a late reply cannot be told apart: on a
   * timeout the connection is presumed dead, dropped and re-established.
   */
  commandTimeout?: number;
  /** Most commands awaiting replies on the connection; more are refused with PW_ERR_REDIS_TOO_MANY_PENDING. Default 10 000. */
  maxPending?: number;
  /** First reconnect delay's upper bound, ms (full jitter: the delay is drawn from [0, bound)). Default 100. */
  retryDelay?: number;
  /** Cap on the reconnect delay's bound, which doubles per failed attempt, ms. Default 2 000. */
  maxRetryDelay?: number;
}

export const DEFAULT_CONNECT_TIMEOUT = 10_000;
export const DEFAULT_COMMAND_TIMEOUT = 5_000;
export const DEFAULT_MAX_PENDING = 10_000;
export const DEFAULT_RETRY_DELAY = 100;
export const DEFAULT_MAX_RETRY_DELAY = 2_000;

/** What the `reconnecting` event reports. */
export interface ReconnectInfo {
  /** 1 for the first attempt after a loss. */
  attempt: number;
  /** Wait before this attempt, ms. */
  delay: number;
  /** Why the previous connection or attempt ended. */
  error: Error;
}

type State = 'idle' | 'connecting' | 'ready' | 'reconnecting' | 'closing' | 'closed';

/** A command waiting for its reply (or, for SUBSCRIBE and friends, its confirmations). */
interface Pending {
  resolve: (value: RespValue) => void;
  reject: (error: Error) => void;
  /** performance.now() after which the reply is late. */
  deadline: number;
  /** Replies still to come: 1, or one per channel for (P)(UN)SUBSCRIBE. */
  remaining: number;
}

/** Error replies during the greeting that mean "try again later" rather than "you are not welcome". */
const TRANSIENT = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'TRYAGAIN']);

/**
 * The connection machinery behind `RedisClient` and `RedisSubscriber`.
 * Subclasses decide which replies are out-of-band events (`isEvent`) and
 * what to do once a connection is ready (`onReady`).
 */
export abstract class RedisConnection extends EventEmitter {
  private readonly endpoint: RedisEndpoint;
  private readonly options: Required<
    Pick<RedisOptions, 'connectTimeout' | 'commandTimeout' | 'maxPending' | 'retryDelay' | 'maxRetryDelay' | 'resp'>
  >;
  private readonly readerOptions: RespReaderOptions;
  private readonly tlsOptions: tls.ConnectionOptions | undefined;
  private readonly clientName: string | undefined;
  /** The URL with its password hidden, for messages. */
  protected readonly target: string;

  private state: State = 'idle';
  private socket: net.Socket | null = null;
  private reader: RespReader | null = null;
  /** Commands in flight, oldest first: a queue with a moving head (no O(n) shift per reply). */
  private queue: (Pending | undefined)[] = [];
  private queueHead = 0;
  private corked = false;
  private commandTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  /** Settles the promise returned by connect(), while the first attempt runs. */
  private firstConnect: { resolve: () => void; reject: (error: Error) => void } | null = null;
  private connecting: Promise<void> | null = null;
  /** Resolves quit() once the socket is gone. */
  private quitting: Promise<void> | null = null;
  private protocolVersion: 2 | 3 = 2;
  private everReady = false;

  constructor(url: string, options: RedisOptions = {}) {
    super();
    const endpoint = parseRedisUrl(url);
    this.target = redact(url);
    if (options.username !== undefined) endpoint.username = options.username;
    if (options.password !== undefined) endpoint.password = options.password;
    if (options.db !== undefined) endpoint.db = options.db;
    if (!Number.isInteger(endpoint.db) || endpoint.db < 0) throw new RedisConfigError(`db must be a non-negative integer, not ${options.db}`);
    if (endpoint.username !== undefined && endpoint.password === undefined) {
      throw new RedisConfigError('a Redis user name needs a password');
    }
    this.endpoint = endpoint;
    this.options = {
      connectTimeout: positive(options.connectTimeout, DEFAULT_CONNECT_TIMEOUT, 'connectTimeout'),
      commandTimeout: positive(options.commandTimeout, DEFAULT_COMMAND_TIMEOUT, 'commandTimeout'),
      maxPending: positive(options.maxPending, DEFAULT_MAX_PENDING, 'maxPending'),
      retryDelay: positive(options.retryDelay, DEFAULT_RETRY_DELAY, 'retryDelay'),
      maxRetryDelay: positive(options.maxRetryDelay, DEFAULT_MAX_RETRY_DELAY, 'maxRetryDelay'),
      resp: options.resp ?? 3,
    };
    if (this.options.resp !== 2 && this.options.resp !== 3) throw new RedisConfigError(`resp must be 2 or 3, not ${options.resp}`);
    this.readerOptions = {
      maxBulkLength: options.maxBulkLength,
      maxAggregateLength: options.maxAggregateLength,
      maxDepth: options.maxDepth,
      maxLineLength: options.maxLineLength,
      returnBuffers: options.returnBuffers,
    };
    this.tlsOptions = options.tls;
    this.clientName = options.clientName;
  }

  /** Connected and greeted: commands are accepted. */
  get connected(): boolean {
    return this.state === 'ready';
  }

  /** The protocol the current (or last) connection speaks: 3 after a successful HELLO 3, else 2. */
  get protocol(): 2 | 3 {
    return this.protocolVersion;
  }

  /** Commands written and waiting for their replies. */
  get pending(): number {
    return this.queue.length - this.queueHead;
  }

  /**
   * Open the connection and greet the server. Resolves once commands are
   * accepted; rejects (and the client is closed) if this first attempt fails —
   * refused, timed out, or credentials refused. Later losses reconnect on their own.
   */
  connect(): Promise<void> {
    if (this.connecting) return this.connecting; // called again: the same outcome
    if (this.state === 'closed') return Promise.reject(this.refusal());
    this.connecting = new Promise<void>((resolve, reject) => {
      this.firstConnect = { resolve, reject };
      this.open();
    });
    return this.connecting;
  }

  /**
   * Stop at once: commands in flight fail with PW_ERR_REDIS_CLOSED, the socket
   * is destroyed, no reconnect follows. Emits `end`.
   */
  close(): void {
    if (this.state === 'closed') return;
    this.finish(null, new RedisConnectionError('PW_ERR_REDIS_CLOSED', 'the Redis client was closed'));
  }

  /**
   * Stop gracefully: refuse new commands, let those in flight get their
   * replies (each still bounded by commandTimeout), then end the connection.
   * (Not the QUIT command, deprecated since Redis 7.2: closing the socket is
   * what it did.)
   */
  quit(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    if (this.quitting) return this.quitting;
    if (this.state !== 'ready' || this.pending === 0) {
      this.close();
      return Promise.resolve();
    }
    this.state = 'closing';
    this.quitting = new Promise<void>((resolve) => this.once('end', () => resolve()));
    return this.quitting;
  }

  // ---- for subclasses ------------------------------------------------------------

  /** True for replies that answer no command: RESP3 pushes, RESP2 pub/sub messages. */
  protected abstract isEvent(value: RespValue): boolean;
  /** Handle a value isEvent chose. */
  protected abstract onEvent(value: RespValue): void;
  /** The connection is greeted and ready; `reconnected` is false the first time. */
  protected abstract onReady(reconnected: boolean): void;
  /** The connection is gone (lost or closed); its commands in flight have failed. */
  protected onDown(): void {}

  /**
   * Write a command and wait for `replies` replies (the last one resolves).
   * Refused at once unless the connection is ready: nothing is queued while
   * disconnected.
   */
  protected send(args: readonly RedisArgument[], replies = 1): Promise<RespValue> {
    if (this.state !== 'ready') return Promise.reject(this.refusal());
    return this.dispatch(args, replies);
  }

  // ---- the socket ----------------------------------------------------------------

  private open(): void {
    this.state = 'connecting';
    const { host, port } = this.endpoint;
    const socket = this.endpoint.tls
      ? tls.connect({
          host,
          port,
          // SNI carries host names only (RFC 6066 §3); Node warns when given an address.
          ...(net.isIP(host) === 0 ? { servername: host } : {}),
          ...this.tlsOptions,
        })
      : net.connect({ host, port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);
    this.socket = socket;
    this.reader = new RespReader(this.readerOptions);
    this.corked = false;
    this.connectTimer = setTimeout(() => {
      this.connectTimer = null;
      this.lose(socket, new RedisConnectionError('PW_ERR_REDIS_CONNECT_TIMEOUT', `no connection to ${this.target} within ${this.options.connectTimeout} ms`));
    }, this.options.connectTimeout);
    this.connectTimer.unref();

    socket.once(this.endpoint.tls ? 'secureConnect' : 'connect', () => {
      if (this.socket === socket) void this.greet(socket);
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.socket === socket) this.onData(chunk);
    });
    socket.on('error', (error) => {
      const wrapped =
        this.state === 'connecting'
          ? new RedisConnectionError('PW_ERR_REDIS_CONNECT_FAILED', `cannot connect to ${this.target}: ${error.message}`, { cause: error })
          : new RedisConnectionError('PW_ERR_REDIS_CONNECTION_LOST', `connection to ${this.target} failed: ${error.message}`, { cause: error });
      this.lose(socket, wrapped);
    });
    socket.on('close', () => {
      const midReply = this.reader !== null && !this.reader.idle;
      this.lose(
        socket,
        new RedisConnectionError(
          this.state === 'connecting' ? 'PW_ERR_REDIS_CONNECT_FAILED' : 'PW_ERR_REDIS_CONNECTION_LOST',
          `${this.target} closed the connection${midReply ? ' in the middle of a reply' : ''}`,
        ),
      );
    });
  }

  /**
   * RESP §Client handshake: "New RESP connections should begin the session by
   * calling the HELLO command." HELLO 3 with AUTH in one round trip; a server
   * that does not know HELLO gets AUTH and stays in RESP2. Then SELECT.
   */
  private async greet(socket: net.Socket): Promise<void> {
    const { username, password, db } = this.endpoint;
    // Each step checks that this socket is still the current one: a step's
    // reply can arrive in the same read as bytes that end the connection.
    const call = (args: RedisArgument[]): Promise<RespValue> =>
      this.socket === socket ? this.dispatch(args) : Promise.reject(new RedisConnectionError('PW_ERR_REDIS_CONNECTION_LOST', 'superseded'));
    try {
      let version: 2 | 3 = 2;
      if (this.options.resp === 3) {
        const hello: RedisArgument[] = ['HELLO', '3'];
        if (password !== undefined) hello.push('AUTH', username ?? 'default', password);
        if (this.clientName !== undefined) hello.push('SETNAME', this.clientName);
        try {
          await call(hello);
          version = 3;
        } catch (error) {
          // RESP §Client handshake: -NOPROTO for a version it lacks, "-ERR unknown
          // command 'HELLO'" from a server that only speaks RESP2.
          if (!(error instanceof RedisReplyError) || !(error.redisCode === 'NOPROTO' || /unknown command/i.test(error.message))) throw error;
        }
      }
      if (version === 2) {
        if (password !== undefined) await call(username === undefined ? ['AUTH', password] : ['AUTH', username, password]);
        if (this.clientName !== undefined) await call(['CLIENT', 'SETNAME', this.clientName]);
      }
      if (db !== 0) await call(['SELECT', db]);
      this.protocolVersion = version;
    } catch (error) {
      if (this.socket !== socket) return;
      if (error instanceof RedisReplyError) {
        const auth = /^(WRONGPASS|NOAUTH|NOPERM)$/.test(error.redisCode) || /password|auth/i.test(error.message);
        const refusal = auth
          ? new RedisConnectionError('PW_ERR_REDIS_AUTH_FAILED', `${this.target} refused the credentials: ${error.message}`, { cause: error })
          : new RedisConnectionError('PW_ERR_REDIS_CONNECT_FAILED', `${this.target} refused the connection's setup: ${error.message}`, {
              cause: error,
            });
        // A wrong password or database stays wrong: retrying forever would only hammer the server.
        if (!TRANSIENT.has(error.redisCode)) return this.finish(socket, refusal);
        return this.lose(socket, refusal);
      }
      // Lost during the greeting: the socket's own handlers already took over.
      return;
    }
    if (this.socket === socket) this.ready();
  }

  private ready(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.state = 'ready';
    this.attempt = 0;
    const reconnected = this.everReady;
    this.everReady = true;
    const first = this.firstConnect;
    this.firstConnect = null;
    first?.resolve();
    this.emit('ready');
    this.onReady(reconnected);
  }

  private onData(chunk: Buffer): void {
    const reader = this.reader!;
    reader.feed(chunk);
    for (;;) {
      let value: RespValue | typeof NEED_MORE;
      try {
        value = reader.read();
      } catch (error) {
        // RespProtocolError: nothing more on this connection can be trusted.
        return this.lose(this.socket!, error as Error);
      }
      if (value === NEED_MORE) return;
      if (this.isEvent(value)) {
        this.onEvent(value);
        if (this.reader !== reader) return; // a listener closed us
        continue;
      }
      const entry = this.queue[this.queueHead];
      if (entry === undefined) {
        // A reply nobody asked for: Redis says why before it hangs up
        // ("-ERR max number of clients reached"), or the stream is out of step.
        const reason = value instanceof RedisReplyError ? value.message : 'a reply to no command';
        return this.lose(this.socket!, new RedisConnectionError('PW_ERR_REDIS_CONNECTION_LOST', `${this.target}: ${reason}`, value instanceof RedisReplyError ? { cause: value } : undefined));
      }
      // An error ends the entry however many confirmations it awaited (an ACL
      // refusal of SUBSCRIBE a b is one error, not two).
      if (value instanceof RedisReplyError) {
        this.shift();
        entry.reject(value);
      } else if (--entry.remaining === 0) {
        this.shift();
        entry.resolve(value);
      }
      if (this.state === 'closing' && this.pending === 0) return this.finish(this.socket, null);
    }
  }

  /** Write a command on the current socket, whatever the state (the greeting uses it before `ready`). */
  private dispatch(args: readonly RedisArgument[], replies = 1): Promise<RespValue> {
    if (this.pending >= this.options.maxPending) {
      return Promise.reject(new RedisConnectionError('PW_ERR_REDIS_TOO_MANY_PENDING', `${this.options.maxPending} commands already await replies (maxPending)`));
    }
    let bytes: Buffer;
    try {
      bytes = encodeCommand(args);
    } catch (error) {
      return Promise.reject(error);
    }
    const socket = this.socket;
    if (socket === null) return Promise.reject(this.refusal());
    return new Promise<RespValue>((resolve, reject) => {
      this.queue.push({ resolve, reject, deadline: performance.now() + this.options.commandTimeout, remaining: replies });
      // Commands of one tick leave in one write: cork now, uncork on the next tick.
      if (!this.corked) {
        this.corked = true;
        socket.cork();
        process.nextTick(this.uncork, socket);
      }
      socket.write(bytes);
      if (this.commandTimer === null) this.armCommandTimer();
    });
  }

  private shift(): void {
    this.queue[this.queueHead++] = undefined;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  /**
   * One timer for the whole queue: replies come in order, so the oldest
   * command is the first that can be late. When it fires early (that command
   * was answered), it re-arms for the new oldest.
   */
  private armCommandTimer(): void {
    const head = this.queue[this.queueHead];
    if (head === undefined) return;
    this.commandTimer = setTimeout(this.checkCommandTimeout, Math.max(0, head.deadline - performance.now()));
    this.commandTimer.unref();
  }

  private readonly checkCommandTimeout = (): void => {
    this.commandTimer = null;
    const head = this.queue[this.queueHead];
    if (head === undefined || this.socket === null) return;
    if (performance.now() < head.deadline) return this.armCommandTimer();
    const late = new RedisConnectionError('PW_ERR_REDIS_COMMAND_TIMEOUT', `no reply from ${this.target} within ${this.options.commandTimeout} ms`);
    this.shift();
    head.reject(late);
    this.lose(this.socket, late);
  };

  private readonly uncork = (socket: net.Socket): void => {
    if (this.socket === socket) this.corked = false;
    socket.uncork();
  };

  // ---- endings ---------------------------------------------------------------------

  /** The socket is gone or must go: fail what was in flight, then reconnect (or give up on a first attempt). */
  private lose(socket: net.Socket, error: Error): void {
    if (this.socket !== socket) return;
    if (this.firstConnect || this.state === 'closing') return this.finish(socket, error);
    this.dropSocket(error);
    if (this.state === 'ready') this.emit('disconnect', error);
    this.scheduleReconnect(error);
  }

  private dropSocket(error: Error): void {
    const socket = this.socket;
    this.socket = null;
    this.reader = null;
    socket?.destroy();
    for (const timer of [this.commandTimer, this.connectTimer]) if (timer) clearTimeout(timer);
    this.commandTimer = this.connectTimer = null;
    const lost =
      error instanceof RedisConnectionError && (error.code === 'PW_ERR_REDIS_CONNECTION_LOST' || error.code === 'PW_ERR_REDIS_CLOSED')
        ? error
        : new RedisConnectionError('PW_ERR_REDIS_CONNECTION_LOST', `lost the connection to ${this.target}: ${error.message}`, { cause: error });
    const queue = this.queue;
    const head = this.queueHead;
    this.queue = [];
    this.queueHead = 0;
    // Never replayed: each may or may not have run; the caller knows whether retrying is safe.
    for (let i = head; i < queue.length; i++) queue[i]!.reject(lost);
    this.onDown();
  }

  private scheduleReconnect(error: Error): void {
    this.state = 'reconnecting';
    const delay = backoffDelay(this.attempt, this.options.retryDelay, this.options.maxRetryDelay);
    this.attempt++;
    const info: ReconnectInfo = { attempt: this.attempt, delay, error };
    this.emit('reconnecting', info);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.state === 'reconnecting') this.open();
    }, delay);
  }

  /** Closed for good: by the user (`error` null or PW_ERR_REDIS_CLOSED), or a first attempt or the greeting failed. */
  private finish(socket: net.Socket | null, error: Error | null): void {
    if (this.socket !== socket && socket !== null) return;
    const closedByUser = error instanceof RedisConnectionError && error.code === 'PW_ERR_REDIS_CLOSED';
    const wasReady = this.state === 'ready';
    this.dropSocket(error ?? new RedisConnectionError('PW_ERR_REDIS_CLOSED', 'the Redis client was closed'));
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.state = 'closed';
    const first = this.firstConnect;
    this.firstConnect = null;
    if (first) first.reject(asConnectFailure(error, this.target));
    else if (wasReady && error && !closedByUser) this.emit('disconnect', error);
    this.emit('end', closedByUser ? null : error);
  }

  private refusal(): RedisConnectionError {
    return this.state === 'closed' || this.state === 'closing'
      ? new RedisConnectionError('PW_ERR_REDIS_CLOSED', 'the Redis client was closed')
      : new RedisConnectionError('PW_ERR_REDIS_NOT_CONNECTED', `not connected to ${this.target} (${this.state})`);
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw new RedisConfigError(`${name} must be a positive number, not ${value}`);
  return value;
}

/** What connect() rejects with: a RedisConnectionError, the protocol error or socket error as its cause. */
function asConnectFailure(error: Error | null, target: string): RedisConnectionError {
  if (error === null) return new RedisConnectionError('PW_ERR_REDIS_CLOSED', 'the Redis client was closed');
  if (error instanceof RedisConnectionError) {
    return error.code === 'PW_ERR_REDIS_CONNECTION_LOST'
      ? new RedisConnectionError('PW_ERR_REDIS_CONNECT_FAILED', error.message, { cause: error.cause ?? error })
      : error;
  }
  return new RedisConnectionError('PW_ERR_REDIS_CONNECT_FAILED', `cannot connect to ${target}: ${error.message}`, { cause: error });
}
