// The Redis client (src/redis/) against a real redis-server on 127.0.0.1
// (test/helpers/redis-server.ts), and against small fake servers built here
// with node:net for what a real one never does: replies cut mid-frame,
// garbage, silence. Every wait is for an event, bounded by a timeout.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  NEED_MORE,
  RedisClient,
  RedisConfigError,
  RedisConnectionError,
  RedisReplyError,
  RedisScript,
  RedisSubscriber,
  RespProtocolError,
  RespReader,
  type RedisOptions,
  type RedisSubscriberOptions,
  type RespValue,
} from '../../src/redis/index.js';
import { next } from '../helpers/events.js';
import { NO_REDIS_WARNING, RedisServer, findRedisServer } from '../helpers/redis-server.js';

const REDIS = findRedisServer();
if (!REDIS) console.warn(NO_REDIS_WARNING);

/** Fast reconnects for tests; everything else at its default. */
const QUICK: RedisOptions = { retryDelay: 20, maxRetryDelay: 200 };

/** Clients opened by a test, closed after it whatever happened. */
const opened: (RedisClient | RedisSubscriber)[] = [];
afterEach(() => {
  for (const client of opened.splice(0)) client.close();
});

async function client(url: string, options: RedisOptions = {}): Promise<RedisClient> {
  const redis = new RedisClient(url, { ...QUICK, ...options });
  opened.push(redis);
  await redis.connect();
  return redis;
}

async function subscriber(url: string, options: RedisSubscriberOptions = {}): Promise<RedisSubscriber> {
  const sub = new RedisSubscriber(url, { ...QUICK, ...options });
  opened.push(sub);
  await sub.connect();
  return sub;
}

/** The rejection of `promise` (fails if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('parseRedisUrl and options', () => {
  it('refuses what cannot work before opening a socket', () => {
    for (const url of ['http://127.0.0.1', 'redis://', 'redis://h/x', 'redis://h?db=1', 'redis://u@h', 'nonsense']) {
      expect(() => new RedisClient(url), url).toThrow(RedisConfigError);
    }
    expect(() => new RedisClient('redis://h', { commandTimeout: 0 })).toThrow(RedisConfigError);
    expect(() => new RedisClient('redis://h', { maxPending: -1 })).toThrow(expect.objectContaining({ code: 'PW_ERR_REDIS_INVALID_CONFIG' }));
  });
});

describe.skipIf(!REDIS)('RedisClient against redis-server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('runs commands: strings, integers, nulls, binary data, error replies as RedisReplyError', async () => {
    const redis = await client(server.url());
    expect(redis.protocol).toBe(3);
    expect(await redis.command('SET', 'basic:a', 'héllo')).toBe('OK');
    expect(await redis.command('GET', 'basic:a')).toBe('héllo');
    expect(await redis.command('GET', 'basic:missing')).toBeNull();
    expect(await redis.command('INCRBY', 'basic:n', 41)).toBe(41);
    expect(await redis.command('INCR', 'basic:n')).toBe(42);
    expect(await redis.command('DEL', 'basic:a', 'basic:n')).toBe(2);
    const wrong = await rejection(redis.command('LPUSH', 'basic:s', 'x').then(() => redis.command('INCR', 'basic:s')));
    expect(wrong).toBeInstanceOf(RedisReplyError);
    expect(wrong).toMatchObject({ code: 'PW_ERR_REDIS_REPLY', redisCode: 'WRONGTYPE' });
    expect(await rejection(redis.command('NOSUCHCOMMAND'))).toMatchObject({ redisCode: 'ERR' });
    // The connection survives error replies.
    expect(await redis.command('PING')).toBe('PONG');

    const bytes = await client(server.url(), { returnBuffers: true });
    const binary = Buffer.from([0, 13, 10, 255, 128]);
    await bytes.command('SET', 'basic:bin', binary);
    expect(await bytes.command('GET', 'basic:bin')).toEqual(binary);
  });

  it('pipelines: 1000 commands are written before any reply, and each gets its own reply in order', async () => {
    const redis = await client(server.url());
    const replies: Promise<RespValue>[] = [];
    for (let i = 0; i < 500; i++) {
      replies.push(redis.command('SET', `pipe:${i}`, i));
      replies.push(redis.command('GET', `pipe:${i}`));
    }
    expect(redis.pending).toBe(1000);
    const values = await Promise.all(replies);
    for (let i = 0; i < 500; i++) {
      expect(values[2 * i]).toBe('OK');
      expect(values[2 * i + 1]).toBe(String(i));
    }
    expect(redis.pending).toBe(0);
  });

  it('RESP3 after HELLO 3 (maps, doubles), RESP2 when asked for (flat arrays, strings)', async () => {
    const three = await client(server.url(), { resp: 3 });
    await three.command('HSET', 'proto:h', 'f', 'v');
    await three.command('ZADD', 'proto:z', 1.5, 'm');
    expect(three.protocol).toBe(3);
    expect(await three.command('HGETALL', 'proto:h')).toEqual(new Map([['f', 'v']]));
    expect(await three.command('ZSCORE', 'proto:z', 'm')).toBe(1.5);
    const hello = await three.command('HELLO', 3);
    expect(hello).toBeInstanceOf(Map);
    expect((hello as Map<RespValue, RespValue>).get('proto')).toBe(3);

    const two = await client(server.url(), { resp: 2 });
    expect(two.protocol).toBe(2);
    expect(await two.command('HGETALL', 'proto:h')).toEqual(['f', 'v']);
    expect(await two.command('ZSCORE', 'proto:z', 'm')).toBe('1.5');
  });

  it('SELECT: the URL’s database (or the db option) is selected on every connection', async () => {
    const three = await client(server.url(3));
    await three.command('SET', 'select:k', 'in-3');
    const zero = await client(server.url());
    expect(await zero.command('GET', 'select:k')).toBeNull();
    const option = await client(server.url(), { db: 3 });
    expect(await option.command('GET', 'select:k')).toBe('in-3');
    expect(String(await three.command('CLIENT', 'INFO'))).toMatch(/ db=3 /);
    const refused = await rejection(client(server.url(), { db: 99_999 }));
    expect(refused).toMatchObject({ code: 'PW_ERR_REDIS_CONNECT_FAILED' });
    expect((refused as RedisConnectionError).cause).toBeInstanceOf(RedisReplyError);
  });

  it('EVALSHA falls back to EVAL on NOSCRIPT, then EVALSHA hits the cached script', async () => {
    const redis = await client(server.url());
    const script = new RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    expect(script.sha1).toMatch(/^[0-9a-f]{40}$/);
    await redis.command('SCRIPT', 'FLUSH');
    await redis.command('CONFIG', 'RESETSTAT');
    expect(await redis.evalScript(script, ['script:n'], [5])).toBe(5);
    expect(await redis.command('SCRIPT', 'EXISTS', script.sha1)).toEqual([1]);
    expect(await redis.evalScript(script, ['script:n'], [2])).toBe(7);
    const stats = String(await redis.command('INFO', 'commandstats'));
    expect(stats).toMatch(/cmdstat_eval:calls=1,/);
    expect(stats).toMatch(/cmdstat_evalsha:calls=2,.*failed_calls=1/);
    // Errors other than NOSCRIPT come back as they are.
    const broken = new RedisScript('return redis.call("NOSUCHCOMMAND")');
    expect(await rejection(redis.evalScript(broken))).toBeInstanceOf(RedisReplyError);
  });

  it('pub/sub: channel and pattern messages in RESP3 and RESP2; unsubscribing stops them', async () => {
    const publisher = await client(server.url());
    for (const resp of [3, 2] as const) {
      const sub = await subscriber(server.url(), { resp });
      expect(sub.protocol).toBe(resp);
      await sub.subscribe('ps:news', 'ps:sport');
      await sub.psubscribe('ps:weather:*');
      expect(await publisher.command('PUBSUB', 'NUMSUB', 'ps:news', 'ps:sport')).toEqual(['ps:news', 1, 'ps:sport', 1]);
      const message = next<[string, string]>(sub, 'message');
      expect(await publisher.command('PUBLISH', 'ps:news', `hello ${resp}`)).toBe(1);
      expect(await message).toEqual(['ps:news', `hello ${resp}`]);
      const pmessage = next<[string, string, string]>(sub, 'pmessage');
      await publisher.command('PUBLISH', 'ps:weather:paris', 'rain');
      expect(await pmessage).toEqual(['ps:weather:*', 'ps:weather:paris', 'rain']);

      await sub.unsubscribe('ps:news');
      await sub.punsubscribe('ps:weather:*');
      expect([...sub.channels]).toEqual(['ps:sport']);
      const seen: string[] = [];
      sub.on('message', (channel) => seen.push(channel));
      sub.on('pmessage', (_pattern, channel) => seen.push(channel));
      expect(await publisher.command('PUBLISH', 'ps:news', 'missed')).toBe(0);
      await publisher.command('PUBLISH', 'ps:weather:paris', 'missed');
      // The next message on a channel still subscribed comes first: nothing else arrived.
      const after = next<[string, string]>(sub, 'message');
      await publisher.command('PUBLISH', 'ps:sport', 'goal');
      expect(await after).toEqual(['ps:sport', 'goal']);
      expect(seen).toEqual(['ps:sport']);
      sub.close();
    }
  });

  it('refuses commands past maxPending with a typed error, and keeps working', async () => {
    const redis = await client(server.url(), { maxPending: 5 });
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => redis.command('PING')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results.slice(5)) expect(r).toMatchObject({ status: 'rejected', reason: { code: 'PW_ERR_REDIS_TOO_MANY_PENDING' } });
    expect(await redis.command('PING')).toBe('PONG');
  });

  it('a reply later than commandTimeout drops the connection (PW_ERR_REDIS_COMMAND_TIMEOUT), then it reconnects', async () => {
    const admin = await client(server.url());
    const slow = await client(server.url(), { commandTimeout: 200 });
    const disconnected = next<[Error]>(slow, 'disconnect');
    await admin.command('CLIENT', 'PAUSE', 600, 'ALL');
    const late = await rejection(slow.command('GET', 'timeout:k'));
    expect(late).toMatchObject({ code: 'PW_ERR_REDIS_COMMAND_TIMEOUT' });
    expect((await disconnected)[0]).toBe(late);
    // Reconnect attempts are paused as well, until the pause ends.
    await next(slow, 'ready', 10_000);
    expect(await slow.command('PING')).toBe('PONG');
  });

  it('refuses arguments RESP cannot carry, and push-mode commands, without touching the connection', async () => {
    const redis = await client(server.url());
    expect(await rejection(redis.command('SET', 'k', NaN))).toMatchObject({ code: 'PW_ERR_REDIS_INVALID_ARGUMENT' });
    expect(await rejection(redis.command())).toMatchObject({ code: 'PW_ERR_REDIS_INVALID_ARGUMENT' });
    // Pub/sub and MONITOR answer out of band: refused here, they belong to a RedisSubscriber.
    for (const name of ['SUBSCRIBE', 'psubscribe', 'Unsubscribe', 'MONITOR']) {
      expect(await rejection(redis.command(name, 'x'))).toMatchObject({ code: 'PW_ERR_REDIS_INVALID_ARGUMENT' });
    }
    expect(await redis.command('PING')).toBe('PONG');
  });

  it('quit() lets commands in flight finish; close() fails them; both refuse new ones', async () => {
    const redis = await client(server.url());
    const inFlight = [redis.command('SET', 'quit:k', 1), redis.command('GET', 'quit:k')];
    const ended = next<[Error | null]>(redis, 'end');
    await redis.quit();
    expect(await Promise.all(inFlight)).toEqual(['OK', '1']);
    expect((await ended)[0]).toBeNull();
    expect(await rejection(redis.command('PING'))).toMatchObject({ code: 'PW_ERR_REDIS_CLOSED' });

    const other = await client(server.url());
    const cut = other.command('PING');
    other.close();
    expect(await rejection(cut)).toMatchObject({ code: 'PW_ERR_REDIS_CLOSED' });
  });
});

describe.skipIf(!REDIS)('RedisClient: authentication and protocol fallback', () => {
  let secured: RedisServer;
  let helloless: RedisServer;
  beforeAll(async () => {
    [secured, helloless] = await Promise.all([
      RedisServer.start({ password: 's3cret:/@' }),
      // A server without HELLO, as Redis 5 and older: RESP2 and the one-argument AUTH.
      RedisServer.start({ password: 'old', args: ['--rename-command', 'HELLO', ''] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([secured?.cleanup(), helloless?.cleanup()]);
  });

  it('AUTH: the URL’s password (percent-encoded) or the password option; an ACL user', async () => {
    const viaUrl = await client(secured.url());
    expect(await viaUrl.command('PING')).toBe('PONG');
    const viaOption = await client(`redis://127.0.0.1:${secured.port}`, { password: 's3cret:/@' });
    expect(await viaOption.command('PING')).toBe('PONG');
    expect(await viaOption.command('ACL', 'SETUSER', 'alice', 'on', '>wonder land', '~*', '&*', '+@all')).toBe('OK');
    const alice = await client(`redis://alice:${encodeURIComponent('wonder land')}@127.0.0.1:${secured.port}`);
    expect(await alice.command('ACL', 'WHOAMI')).toBe('alice');
  });

  it('a SUBSCRIBE the ACL refuses rejects with the server’s NOPERM, and the channels are not kept', async () => {
    const admin = await client(secured.url());
    await admin.command('ACL', 'SETUSER', 'bob', 'on', '>builder', '~*', 'resetchannels', '&allowed:*', '+@all');
    const sub = await subscriber(`redis://bob:builder@127.0.0.1:${secured.port}`);
    const refused = await rejection(sub.subscribe('allowed:1', 'forbidden'));
    expect(refused).toBeInstanceOf(RedisReplyError);
    expect(refused).toMatchObject({ redisCode: 'NOPERM' });
    expect([...sub.channels]).toEqual([]);
    // One error answered the whole command: the connection is still in step.
    await sub.subscribe('allowed:2');
    const message = next<[string, string]>(sub, 'message');
    await admin.command('PUBLISH', 'allowed:2', 'ok');
    expect(await message).toEqual(['allowed:2', 'ok']);
  });

  it('a wrong password is PW_ERR_REDIS_AUTH_FAILED with the server’s WRONGPASS, and is not retried', async () => {
    let attempts = 0;
    const redis = new RedisClient(`redis://:wrong@127.0.0.1:${secured.port}`, QUICK);
    opened.push(redis);
    redis.on('reconnecting', () => attempts++);
    const refused = await rejection(redis.connect());
    expect(refused).toBeInstanceOf(RedisConnectionError);
    expect(refused).toMatchObject({ code: 'PW_ERR_REDIS_AUTH_FAILED' });
    expect((refused as RedisConnectionError).cause).toMatchObject({ redisCode: 'WRONGPASS' });
    expect(attempts).toBe(0);
    expect(await rejection(redis.command('PING'))).toMatchObject({ code: 'PW_ERR_REDIS_CLOSED' });

    const none = await rejection(client(`redis://127.0.0.1:${secured.port}`));
    expect(none).toMatchObject({ code: 'PW_ERR_REDIS_AUTH_FAILED', cause: { redisCode: 'NOAUTH' } });
  });

  it('falls back to RESP2 when the server does not know HELLO, and authenticates with AUTH', async () => {
    const redis = await client(helloless.url());
    expect(redis.protocol).toBe(2);
    await redis.command('HSET', 'fallback:h', 'f', 'v');
    expect(await redis.command('HGETALL', 'fallback:h')).toEqual(['f', 'v']);
    const wrong = await rejection(client(`redis://:nope@127.0.0.1:${helloless.port}`));
    expect(wrong).toMatchObject({ code: 'PW_ERR_REDIS_AUTH_FAILED' });
    const sub = await subscriber(helloless.url());
    await sub.subscribe('fallback:ch');
    const message = next<[string, string]>(sub, 'message');
    await redis.command('PUBLISH', 'fallback:ch', 'resp2');
    expect(await message).toEqual(['fallback:ch', 'resp2']);
  });
});

describe.skipIf(!REDIS)('RedisClient over TLS (rediss://)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start({ tls: true, password: 'tls-pass' });
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('connects with the test CA, and refuses a certificate it does not trust', async () => {
    const ca = readFileSync(new URL('../fixtures/cert.pem', import.meta.url));
    const redis = await client(server.url(), { tls: { ca } });
    expect(await redis.command('SET', 'tls:k', 'over tls')).toBe('OK');
    expect(await redis.command('GET', 'tls:k')).toBe('over tls');
    const byName = await client(`rediss://:tls-pass@localhost:${server.port}`, { tls: { ca } });
    expect(await byName.command('PING')).toBe('PONG');
    const untrusted = await rejection(client(server.url()));
    expect(untrusted).toMatchObject({ code: 'PW_ERR_REDIS_CONNECT_FAILED' });
  });
});

describe.skipIf(!REDIS)('Redis faults: kill -9 and restart on the same port', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.cleanup();
  });

  it('commands fail with typed errors while Redis is down and work after; the subscriber resubscribes and says so', async () => {
    const redis = await client(server.url());
    const sub = await subscriber(server.url());
    await sub.subscribe('fault:news');
    await sub.psubscribe('fault:p:*');
    const reconnects: number[] = [];
    redis.on('reconnecting', (info) => {
      expect(info.error).toBeInstanceOf(Error);
      expect(info.delay).toBeLessThan(200);
      reconnects.push(info.attempt);
    });

    // A command in flight when Redis dies fails as lost — not replayed.
    const clientLost = next<[Error]>(redis, 'disconnect');
    const subLost = next<[Error]>(sub, 'disconnect');
    await server.kill();
    const [lost] = await clientLost;
    expect(lost).toBeInstanceOf(RedisConnectionError);
    expect((await subLost)[0]).toMatchObject({ code: 'PW_ERR_REDIS_CONNECTION_LOST' });

    // While it is down: refused at once, never queued.
    const down = await rejection(redis.command('PING'));
    expect(down).toMatchObject({ code: 'PW_ERR_REDIS_NOT_CONNECTED' });
    // A subscription asked for while down is remembered and made on reconnect.
    expect(await rejection(sub.subscribe('fault:later'))).toMatchObject({ code: 'PW_ERR_REDIS_NOT_CONNECTED' });
    expect([...sub.channels].sort()).toEqual(['fault:later', 'fault:news']);
    await next(redis, 'reconnecting', 5_000); // it keeps trying while the port is closed

    const ready = next(redis, 'ready', 10_000);
    const resubscribed = next(sub, 'resubscribed', 10_000);
    await server.restart();
    await Promise.all([ready, resubscribed]);
    expect(reconnects[0]).toBe(1);
    expect(reconnects.length).toBeGreaterThanOrEqual(2);

    expect(await redis.command('PING')).toBe('PONG');
    expect(await redis.command('PUBSUB', 'NUMSUB', 'fault:news', 'fault:later')).toEqual(['fault:news', 1, 'fault:later', 1]);
    const messages = next<[string, string]>(sub, 'message');
    await redis.command('PUBLISH', 'fault:news', 'back');
    expect(await messages).toEqual(['fault:news', 'back']);
    const later = next<[string, string]>(sub, 'message');
    await redis.command('PUBLISH', 'fault:later', 'also');
    expect(await later).toEqual(['fault:later', 'also']);
    const pattern = next<[string, string, string]>(sub, 'pmessage');
    await redis.command('PUBLISH', 'fault:p:1', 'pattern too');
    expect(await pattern).toEqual(['fault:p:*', 'fault:p:1', 'pattern too']);
  });

  it('a stopped server refuses a first connect with PW_ERR_REDIS_CONNECT_FAILED, without retrying', async () => {
    await server.stop();
    let attempts = 0;
    const redis = new RedisClient(server.url(), QUICK);
    opened.push(redis);
    redis.on('reconnecting', () => attempts++);
    const refused = await rejection(redis.connect());
    expect(refused).toMatchObject({ code: 'PW_ERR_REDIS_CONNECT_FAILED', cause: { code: 'ECONNREFUSED' } });
    expect(attempts).toBe(0);
    await server.restart();
  });
});

// ---- fake servers: what a real Redis never sends ------------------------------------

/**
 * A TCP server that reads RESP commands and answers each with what `answer`
 * returns (bytes to write, or 'close' to hang up). HELLO is refused as by a
 * RESP2-only server, so the client stays in RESP2 unless `answer` says otherwise.
 */
async function fakeServer(answer: (command: string[], socket: net.Socket) => string | Buffer | 'close' | 'silence'): Promise<{ url: string; server: net.Server; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    const reader = new RespReader();
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      reader.feed(chunk);
      for (let command = reader.read(); command !== NEED_MORE; command = reader.read()) {
        const reply = answer(command as string[], socket);
        if (reply === 'close') socket.destroy();
        else if (reply !== 'silence') socket.write(reply);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  fakes.push(server);
  return { url: `redis://127.0.0.1:${port}`, server, connections: () => connections };
}

const fakes: net.Server[] = [];
afterEach(() => {
  for (const server of fakes.splice(0)) server.close();
});

/** RESP2-only greeting, then `rest` for every other command. */
function resp2(rest: (command: string[], socket: net.Socket) => string | Buffer | 'close' | 'silence') {
  return (command: string[], socket: net.Socket): string | Buffer | 'close' | 'silence' =>
    command[0] === 'HELLO' ? "-ERR unknown command 'HELLO'\r\n" : rest(command, socket);
}

describe('RedisClient against a broken server', () => {
  it('a reply cut mid-frame, then the server hangs up: the command fails as lost, and the client reconnects', async () => {
    const fake = await fakeServer(
      resp2((command, socket) => {
        if (command[0] !== 'GET') return '+PONG\r\n';
        socket.end('$10\r\nhel');
        return 'silence';
      }),
    );
    const redis = await client(fake.url);
    const disconnected = next<[Error]>(redis, 'disconnect');
    const cut = await rejection(redis.command('GET', 'k'));
    expect(cut).toBeInstanceOf(RedisConnectionError);
    expect(cut).toMatchObject({ code: 'PW_ERR_REDIS_CONNECTION_LOST' });
    expect(cut.message).toMatch(/in the middle of a reply/);
    expect((await disconnected)[0]).toBe(cut);
    await next(redis, 'ready', 5_000);
    expect(await redis.command('PING')).toBe('PONG');
  });

  it('garbage instead of a reply: a RespProtocolError, the connection dropped, no crash', async () => {
    const fake = await fakeServer(resp2((command) => (command[0] === 'GET' ? '?garbage\r\n' : '+PONG\r\n')));
    const redis = await client(fake.url);
    const disconnected = next<[Error]>(redis, 'disconnect');
    const pending = [redis.command('GET', 'k'), redis.command('PING')];
    const [first, second] = await Promise.allSettled(pending);
    expect(first).toMatchObject({ status: 'rejected', reason: { code: 'PW_ERR_REDIS_CONNECTION_LOST' } });
    expect((first as PromiseRejectedResult).reason.cause).toBeInstanceOf(RespProtocolError);
    expect((first as PromiseRejectedResult).reason.cause).toMatchObject({ code: 'PW_ERR_REDIS_BAD_TYPE' });
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'PW_ERR_REDIS_CONNECTION_LOST' } });
    const [reason] = await disconnected;
    expect(reason).toBeInstanceOf(RespProtocolError);
    // It reconnects to the same (still broken) server and answers PING there.
    await next(redis, 'ready', 5_000);
    expect(await redis.command('PING')).toBe('PONG');
    expect(fake.connections()).toBe(2);
  });

  it('a declared 2^40-byte bulk is refused at once (PW_ERR_REDIS_BULK_TOO_LONG), not awaited', async () => {
    const fake = await fakeServer(resp2(() => `$${2 ** 40}\r\n`));
    const redis = await client(fake.url);
    const disconnected = next<[Error]>(redis, 'disconnect');
    const refused = await rejection(redis.command('GET', 'k'));
    expect(refused).toMatchObject({ code: 'PW_ERR_REDIS_CONNECTION_LOST', cause: { code: 'PW_ERR_REDIS_BULK_TOO_LONG' } });
    await disconnected;
  });

  it('garbage during the greeting: connect() rejects with PW_ERR_REDIS_CONNECT_FAILED, its cause the protocol error', async () => {
    const fake = await fakeServer(() => 'HTTP/1.1 400 Bad Request\r\n\r\n');
    const refused = await rejection(client(fake.url));
    expect(refused).toMatchObject({ code: 'PW_ERR_REDIS_CONNECT_FAILED' });
    expect((refused as RedisConnectionError).cause).toBeInstanceOf(RespProtocolError);
  });

  it('a subscriber whose server stops answering PING reconnects (health check within pingInterval + commandTimeout)', async () => {
    let pings = 0;
    const fake = await fakeServer(
      resp2((command) => {
        if (command[0] !== 'PING') return '+OK\r\n';
        // The first connection answers one PING, then goes quiet as a dead link would.
        return ++pings === 1 ? '+PONG\r\n' : 'silence';
      }),
    );
    const sub = await subscriber(fake.url, { pingInterval: 50, commandTimeout: 150 });
    const [lost] = await next<[Error]>(sub, 'disconnect', 5_000);
    expect(lost).toMatchObject({ code: 'PW_ERR_REDIS_COMMAND_TIMEOUT' });
    expect(pings).toBeGreaterThanOrEqual(2);
    await next(sub, 'ready', 5_000);
    expect(fake.connections()).toBe(2);
  });

  it('connect() twice is one attempt with one outcome', async () => {
    const fake = await fakeServer(resp2(() => '+PONG\r\n'));
    const redis = new RedisClient(fake.url, QUICK);
    opened.push(redis);
    const first = redis.connect();
    expect(redis.connect()).toBe(first);
    await first;
    expect(fake.connections()).toBe(1);
  });

  it('a server that accepts and never answers: PW_ERR_REDIS_CONNECT_TIMEOUT', async () => {
    const fake = await fakeServer(() => 'silence');
    const refused = await rejection(client(fake.url, { connectTimeout: 300 }));
    expect(refused).toMatchObject({ code: 'PW_ERR_REDIS_CONNECT_TIMEOUT' });
  });
});
