// The command connection: `command(...)` with pipelining, and Lua scripts by
// their SHA-1 with a fallback to their source (EVALSHA, then EVAL on NOSCRIPT).
import { createHash } from 'node:crypto';
import { RedisConnection, type ReconnectInfo, type RedisOptions } from './connection.js';
import { RedisArgumentError, RedisReplyError } from './errors.js';
import { RespPush, type RedisArgument, type RespValue } from './resp.js';

/**
 * Commands whose answers are not one reply each (pub/sub confirmations and
 * messages, MONITOR's feed): on this connection they would put every later
 * reply out of step, so they are refused.
 */
const PUSH_MODE = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'SUNSUBSCRIBE', 'MONITOR']);

/** Listener signatures of RedisClient's events. */
export interface RedisClientEvents {
  /** Connected and greeted (again, after a reconnect). */
  ready: () => void;
  /** A ready connection was lost; its commands in flight failed with PW_ERR_REDIS_CONNECTION_LOST. */
  disconnect: (error: Error) => void;
  /** A reconnect attempt is scheduled after `info.delay` ms. */
  reconnecting: (info: ReconnectInfo) => void;
  /** Closed for good: `null` after close()/quit(), else why (credentials refused, …). */
  end: (error: Error | null) => void;
  /** RESP3 out-of-band data on this connection (e.g. client-side caching's `invalidate`). */
  push: (push: RespPush) => void;
}

// Typed overloads for the events above, merged into the class below.
export interface RedisClient {
  on<E extends keyof RedisClientEvents>(event: E, listener: RedisClientEvents[E]): this;
  once<E extends keyof RedisClientEvents>(event: E, listener: RedisClientEvents[E]): this;
  off<E extends keyof RedisClientEvents>(event: E, listener: RedisClientEvents[E]): this;
}

/**
 * A Redis connection for commands. Commands are written as soon as they are
 * issued, without waiting for earlier replies (pipelining), and each promise
 * settles with its own reply, in order.
 *
 * Failure contract: a command issued while disconnected is refused at once
 * (PW_ERR_REDIS_NOT_CONNECTED) — nothing is buffered; commands in flight when
 * the connection drops fail with PW_ERR_REDIS_CONNECTION_LOST and are **never
 * replayed**: each may or may not have run, and only the caller knows whether
 * running it twice is safe. The client reconnects by itself (backoff with full
 * jitter) until close(), unless the server refuses its credentials.
 *
 * Do not send blocking commands (BLPOP, XREAD BLOCK …) or SUBSCRIBE here:
 * they would hold up every command behind them; use a RedisSubscriber for
 * pub/sub.
 *
 * @example
 * const redis = new RedisClient('redis://127.0.0.1:6379/0');
 * await redis.connect();
 * await redis.command('SET', 'greeting', 'hello');
 * const [a, b] = await Promise.all([redis.command('GET', 'greeting'), redis.command('INCR', 'n')]);
 * await redis.quit();
 */
export class RedisClient extends RedisConnection {
  /** Throws RedisConfigError for a bad URL or option; connects on connect(). */
  constructor(url: string, options: RedisOptions = {}) {
    super(url, options);
  }

  /**
   * Run one command. Resolves with its reply (see `RespValue`); rejects with
   * a `RedisReplyError` when the server answers with an error, a
   * `RedisConnectionError` when the connection is down, lost, late or full,
   * or a `RedisArgumentError` for an argument RESP cannot carry.
   */
  command(...args: RedisArgument[]): Promise<RespValue> {
    const name = args[0];
    if (typeof name === 'string' && name.length >= 7 && name.length <= 12 && PUSH_MODE.has(name.toUpperCase())) {
      return Promise.reject(new RedisArgumentError(`${name} is answered out of band; use a RedisSubscriber`));
    }
    return this.send(args);
  }

  /**
   * Run a Lua script by its SHA-1 (EVALSHA); if the server does not have it
   * cached (NOSCRIPT — after a restart or SCRIPT FLUSH), send its source
   * (EVAL), which caches it again for the next EVALSHA.
   */
  async evalScript(script: RedisScript, keys: readonly RedisArgument[] = [], args: readonly RedisArgument[] = []): Promise<RespValue> {
    try {
      return await this.send(['EVALSHA', script.sha1, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!(error instanceof RedisReplyError) || error.redisCode !== 'NOSCRIPT') throw error;
      return this.send(['EVAL', script.source, keys.length, ...keys, ...args]);
    }
  }

  protected isEvent(value: RespValue): boolean {
    // RESP3 §Push type: "the first non push type reply processed will be the actual reply".
    return value instanceof RespPush;
  }

  protected onEvent(value: RespValue): void {
    this.emit('push', value);
  }

  protected onReady(): void {}
}

/** A Lua script and its SHA-1, computed once, for `RedisClient.evalScript`. */
export class RedisScript {
  /** Hex SHA-1 of the source: the name EVALSHA knows the script by. */
  readonly sha1: string;

  constructor(
    /** The Lua source. */
    readonly source: string,
  ) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }
}
