// The pub/sub connection. A connection that subscribes only receives, so it
// is its own connection (in RESP2 a subscribed connection accepts nothing but
// (P)(UN)SUBSCRIBE, PING and QUIT). It remembers what it should be
// subscribed to, and subscribes again after every reconnect.
//
// How pub/sub looks on the wire (RESP §Request-Response model; RESP3 §Push type):
//   RESP2  *3 $7 message $<ch> $<payload>         a reply-shaped array
//   RESP3  >3 $7 message $<ch> $<payload>         a push
// and SUBSCRIBE a b is confirmed once per channel, [subscribe, a, 1] then
// [subscribe, b, 2] — arrays in RESP2, pushes in RESP3 — in command order.
import { RedisConnection, type ReconnectInfo, type RedisOptions } from './connection.js';
import { RedisConfigError, RedisReplyError } from './errors.js';
import { RespPush, type RespValue } from './resp.js';

/** Listener signatures of RedisSubscriber's events. */
export interface RedisSubscriberEvents {
  /** A message published to a subscribed channel. */
  message: (channel: string, message: string) => void;
  /** A message published to a channel matching a subscribed pattern. */
  pmessage: (pattern: string, channel: string, message: string) => void;
  /** Connected and greeted (again, after a reconnect). */
  ready: () => void;
  /**
   * After a reconnect, every remembered channel and pattern is subscribed
   * again. Messages published while the connection was down were not
   * received: catch up from durable storage (streams) now — anything
   * published from here on arrives as a message.
   */
  resubscribed: () => void;
  /** The connection was lost; messages published from now until `resubscribed` are missed. */
  disconnect: (error: Error) => void;
  reconnecting: (info: ReconnectInfo) => void;
  /** Closed for good: `null` after close()/quit(), else why. */
  end: (error: Error | null) => void;
}

// Typed overloads for the events above, merged into the class below.
export interface RedisSubscriber {
  on<E extends keyof RedisSubscriberEvents>(event: E, listener: RedisSubscriberEvents[E]): this;
  once<E extends keyof RedisSubscriberEvents>(event: E, listener: RedisSubscriberEvents[E]): this;
  off<E extends keyof RedisSubscriberEvents>(event: E, listener: RedisSubscriberEvents[E]): this;
}

/** Push kinds that confirm a (P)(UN)SUBSCRIBE: replies, one per name. */
const CONFIRMATIONS = new Set(['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe']);

/** Channels per (re)subscribe command, so one command stays a bounded size. */
const BATCH = 1000;

export const DEFAULT_PING_INTERVAL = 15_000;

/** Options of `RedisSubscriber`: those of the client but `returnBuffers`, and a health check. */
export interface RedisSubscriberOptions extends Omit<RedisOptions, 'returnBuffers'> {
  /**
   * Send PING this often, ms. A subscriber only listens, so without it a
   * connection that died silently (a partition, a host gone without a reset)
   * would go unnoticed for as long as TCP keepalive takes — minutes; with it,
   * a missing PONG is a command timeout and the subscriber reconnects. Default 15 000.
   */
  pingInterval?: number;
}

/**
 * A Redis connection for SUBSCRIBE and PSUBSCRIBE. Channel names and messages
 * are UTF-8 strings (the `returnBuffers` option is not taken).
 *
 * The subscriber keeps the set of channels and patterns it was asked for.
 * `subscribe` adds to it at once and resolves when Redis confirms; if the
 * connection is down (or drops before the confirmation) the promise rejects
 * with a RedisConnectionError **but the channel stays wanted** and is
 * subscribed on the next reconnect, after which `resubscribed` fires. A
 * refusal by the server (RedisReplyError, e.g. NOPERM) removes it again.
 *
 * @example
 * const sub = new RedisSubscriber('redis://127.0.0.1:6379');
 * sub.on('message', (channel, message) => console.log(channel, message));
 * sub.on('resubscribed', () => catchUpFromStreams());
 * await sub.connect();
 * await sub.subscribe('news', 'sports');
 */
export class RedisSubscriber extends RedisConnection {
  private readonly wantedChannels = new Set<string>();
  private readonly wantedPatterns = new Set<string>();
  private readonly pingInterval: number;
  private pingTimer: NodeJS.Timeout | null = null;

  /** Throws RedisConfigError for a bad URL or option; connects on connect(). */
  constructor(url: string, options: RedisSubscriberOptions = {}) {
    const { pingInterval = DEFAULT_PING_INTERVAL, ...rest } = options;
    super(url, { ...rest, returnBuffers: false });
    if (!(pingInterval > 0) || !Number.isFinite(pingInterval)) throw new RedisConfigError(`pingInterval must be a positive number, not ${pingInterval}`);
    this.pingInterval = pingInterval;
  }

  /** Channels subscribed or to be subscribed on reconnect. */
  get channels(): ReadonlySet<string> {
    return this.wantedChannels;
  }

  /** Patterns subscribed or to be subscribed on reconnect. */
  get patterns(): ReadonlySet<string> {
    return this.wantedPatterns;
  }

  /** SUBSCRIBE: resolves once Redis has confirmed every channel. */
  subscribe(...channels: string[]): Promise<void> {
    return this.change('SUBSCRIBE', this.wantedChannels, channels, true);
  }

  /** UNSUBSCRIBE the given channels (at least one: a bare UNSUBSCRIBE is not offered). */
  unsubscribe(...channels: string[]): Promise<void> {
    return this.change('UNSUBSCRIBE', this.wantedChannels, channels, false);
  }

  /** PSUBSCRIBE glob-style patterns (`news.*`). */
  psubscribe(...patterns: string[]): Promise<void> {
    return this.change('PSUBSCRIBE', this.wantedPatterns, patterns, true);
  }

  /** PUNSUBSCRIBE the given patterns. */
  punsubscribe(...patterns: string[]): Promise<void> {
    return this.change('PUNSUBSCRIBE', this.wantedPatterns, patterns, false);
  }

  private async change(command: string, wanted: Set<string>, names: string[], add: boolean): Promise<void> {
    const unique = [...new Set(names)];
    if (unique.length === 0) return;
    for (const name of unique) {
      if (add) wanted.add(name);
      else wanted.delete(name);
    }
    // Unsubscribing while disconnected is already done: the reconnect will not subscribe it.
    if (!add && !this.connected) return;
    try {
      for (let i = 0; i < unique.length; i += BATCH) {
        const batch = unique.slice(i, i + BATCH);
        await this.send([command, ...batch], batch.length);
      }
    } catch (error) {
      if (add && error instanceof RedisReplyError) for (const name of unique) wanted.delete(name);
      throw error;
    }
  }

  protected isEvent(value: RespValue): boolean {
    // RESP3: every push is out of band except the confirmations, which answer our commands.
    if (value instanceof RespPush) return !CONFIRMATIONS.has(value.items[0] as string);
    // RESP2: messages come as arrays shaped like replies; the kind tells them apart.
    return Array.isArray(value) && (value[0] === 'message' || value[0] === 'pmessage');
  }

  protected onEvent(value: RespValue): void {
    const items = (value instanceof RespPush ? value.items : value) as string[];
    if (items[0] === 'message') {
      // A message can still arrive for a channel just unsubscribed (UNSUBSCRIBE in flight).
      if (this.wantedChannels.has(items[1])) this.emit('message', items[1], items[2]);
    } else if (items[0] === 'pmessage') {
      if (this.wantedPatterns.has(items[1])) this.emit('pmessage', items[1], items[2], items[3]);
    }
    // Other pushes (e.g. sharded `smessage`, never asked for here) are dropped.
  }

  protected onReady(reconnected: boolean): void {
    // PING is allowed in a subscribed RESP2 connection too; its answer, [pong, ''], is a reply like any other.
    this.pingTimer = setInterval(this.ping, this.pingInterval);
    this.pingTimer.unref();
    if (reconnected) void this.resubscribe();
  }

  protected override onDown(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  private readonly ping = (): void => {
    // A late PONG is a command timeout: the connection drops and reconnects; nothing to do here.
    this.send(['PING']).catch(() => {});
  };

  private async resubscribe(): Promise<void> {
    const channels = [...this.wantedChannels];
    const patterns = [...this.wantedPatterns];
    try {
      const confirmations: Promise<RespValue>[] = [];
      for (let i = 0; i < channels.length; i += BATCH) {
        const batch = channels.slice(i, i + BATCH);
        confirmations.push(this.send(['SUBSCRIBE', ...batch], batch.length));
      }
      for (let i = 0; i < patterns.length; i += BATCH) {
        const batch = patterns.slice(i, i + BATCH);
        confirmations.push(this.send(['PSUBSCRIBE', ...batch], batch.length));
      }
      await Promise.all(confirmations);
    } catch {
      // Lost again (the next ready resubscribes) or refused: not resubscribed.
      return;
    }
    this.emit('resubscribed');
  }
}
