// GET /ws through the real server: the envelope, commands and their answers,
// resume after reconnect, identity, channel authorization, abuse handling.
import { describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/jwt.js';
import type { Session } from '../../src/hub/hub.js';
import { publish, pushServers, wsClient, type Json } from '../helpers/push.js';

const start = pushServers();

async function ready(url: string) {
  const client = wsClient(url);
  const first = await client.inbox.until((m) => m.type === 'ready');
  return { ...client, ready: first };
}

describe('WebSocket transport', () => {
  it('sends a ready message, then every message of its channels as a JSON envelope', async () => {
    const { base, wsUrl } = await start();
    const client = await ready(`${wsUrl}?channel=a&channel=b`);
    expect(client.ready).toEqual({
      type: 'ready',
      session: expect.stringMatching(/^[\w-]{24}$/),
      uid: null,
      channels: ['a', 'b'],
      lastId: expect.stringMatching(/-0$/),
      retry: 3000,
    });
    await publish(base, { channel: 'b', data: [1, 'two', { three: 3 }] });
    await publish(base, { channel: 'elsewhere', data: 'not for us' });
    await publish(base, { channel: 'a', event: 'note', data: null });
    const first = await client.inbox.next();
    expect(Object.keys(first)).toEqual(['type', 'channel', 'id', 'data', 'time']);
    expect(first).toMatchObject({ type: 'message', channel: 'b', data: [1, 'two', { three: 3 }] });
    expect(await client.inbox.next()).toMatchObject({ channel: 'a', event: 'note', data: null });
    client.socket.close();
  });

  it('subscribe, unsubscribe and publish commands are answered with acks carrying the ref', async () => {
    const { wsUrl } = await start({ clientPublish: (channel) => channel.startsWith('chat:') });
    const alice = await ready(wsUrl);
    const bob = await ready(`${wsUrl}?channel=chat:lobby`);
    alice.send({ type: 'subscribe', channel: 'chat:lobby', ref: 1 });
    expect(await alice.inbox.next()).toEqual({ type: 'ack', ref: 1, channel: 'chat:lobby' });
    alice.send({ type: 'publish', channel: 'chat:lobby', event: 'say', data: 'hello', ref: 'p1' });
    const ack = await alice.inbox.until((m) => m.type === 'ack');
    expect(ack).toEqual({ type: 'ack', ref: 'p1', id: expect.any(String), delivered: 2 });
    expect(await bob.inbox.next()).toMatchObject({ channel: 'chat:lobby', id: ack.id, event: 'say', data: 'hello' });
    alice.send({ type: 'publish', channel: 'news', data: 'x', ref: 2 });
    expect(await alice.inbox.until((m) => m.type !== 'message')).toEqual({
      type: 'error',
      code: 403,
      message: 'clients may not publish to news',
      ref: 2,
    });
    bob.send({ type: 'unsubscribe', channel: 'chat:lobby' });
    expect(await bob.inbox.next()).toEqual({ type: 'ack', channel: 'chat:lobby' });
    alice.send({ type: 'publish', channel: 'chat:lobby', data: 'anyone?', ref: 3 });
    expect(await alice.inbox.until((m) => m.type === 'ack')).toMatchObject({ ref: 3, delivered: 1 });
    alice.socket.close();
    bob.socket.close();
  });

  it('answers garbage with error messages, then closes with 1008 past the error budget', async () => {
    const { wsUrl } = await start({ maxClientErrors: 3 });
    const client = await ready(wsUrl);
    const garbage: [unknown, number, RegExp][] = [
      ['{not json', 400, /^not JSON/],
      [{ type: 'dance' }, 422, /unknown command type/],
      [{ type: 'subscribe', channel: 'a b', ref: 7 }, 422, /channel must be/],
    ];
    for (const [input, code, message] of garbage) {
      client.send(input);
      const reply = await client.inbox.next();
      expect(reply).toMatchObject({ type: 'error', code });
      expect(reply.message).toMatch(message);
    }
    client.socket.send(Buffer.from([1, 2, 3]));
    expect(await client.inbox.next()).toMatchObject({ type: 'error', code: 400, message: expect.stringMatching(/binary/) });
    expect(await client.closed).toEqual({ code: 1008, reason: 'too many invalid commands' });
  });

  it('resumes from since= with every missed message once, in order, then live ones', async () => {
    const { base, wsUrl } = await start();
    const first = await ready(`${wsUrl}?channel=feed&uid=u1`);
    await publish(base, { channel: 'feed', data: 1 });
    const seen = await first.inbox.next();
    first.socket.close();
    await first.closed;
    await publish(base, { channel: 'feed', data: 2 });
    await publish(base, { uid: 'u1', data: 3 });
    await publish(base, { channel: 'other', data: 'no' });
    await publish(base, { broadcast: true, data: 4 });
    const again = wsClient(`${wsUrl}?channel=feed&uid=u1&since=${seen.id}`);
    const replayed = [await again.inbox.next(), await again.inbox.next(), await again.inbox.next()];
    expect(replayed.map((m: Json) => m.data)).toEqual([2, 3, 4]);
    expect(await again.inbox.next()).toMatchObject({ type: 'ready', lastId: replayed[2].id });
    await publish(base, { channel: 'feed', data: 5 });
    expect((await again.inbox.next()).data).toBe(5);
    again.socket.close();
  });

  it('reports a gap when history no longer covers the resume point', async () => {
    const { base, wsUrl } = await start({ historySize: 2 });
    const first = await ready(`${wsUrl}?channel=c`);
    first.socket.close();
    for (let i = 1; i <= 5; i++) await publish(base, { channel: 'c', data: i });
    const again = wsClient(`${wsUrl}?channel=c&since=${first.ready.lastId}`);
    expect(await again.inbox.next()).toEqual({ type: 'gap', since: first.ready.lastId });
    expect([(await again.inbox.next()).data, (await again.inbox.next()).data]).toEqual([4, 5]);
    expect((await again.inbox.next()).type).toBe('ready');
    again.socket.close();
  });

  it('a user offline when a uid message was published gets it on the next connect, once', async () => {
    const { base, wsUrl } = await start();
    expect((await publish(base, { uid: 'carol', event: 'invoice', data: 'paid' })).json.delivered).toBe(0);
    const first = wsClient(`${wsUrl}?uid=carol`);
    expect(await first.inbox.next()).toMatchObject({ uid: 'carol', event: 'invoice', data: 'paid' });
    expect((await first.inbox.next()).type).toBe('ready');
    first.socket.close();
    await first.closed;
    const second = await ready(`${wsUrl}?uid=carol`);
    // Nothing else may come before a later marker: the invoice is not sent again.
    await publish(base, { uid: 'carol', data: 'marker' });
    expect(await second.inbox.next()).toMatchObject({ data: 'marker' });
    second.socket.close();
  });

  it('uid messages reach only that user, on every session it has', async () => {
    const { base, wsUrl } = await start();
    const alice1 = await ready(`${wsUrl}?uid=alice`);
    const alice2 = await ready(`${wsUrl}?uid=alice`);
    const bob = await ready(`${wsUrl}?uid=bob`);
    expect((await publish(base, { uid: 'alice', data: 'for alice' })).json.delivered).toBe(2);
    expect((await publish(base, { uid: 'bob', data: 'for bob' })).json.delivered).toBe(1);
    expect((await alice1.inbox.next()).data).toBe('for alice');
    expect((await alice2.inbox.next()).data).toBe('for alice');
    expect((await bob.inbox.next()).data).toBe('for bob');
    // Nothing else may come before a later marker: no session got the other user's message.
    await publish(base, { broadcast: true, data: 'marker' });
    for (const c of [alice1, alice2, bob]) expect((await c.inbox.next()).data).toBe('marker');
    for (const c of [alice1, alice2, bob]) c.socket.close();
  });
});

describe('identity and authorization', () => {
  const secret = 'jwt-secret';
  const now = 1_800_000_000_000;

  it('a token names the user; an expired or forged one, or ?uid= with a secret, closes with 4401', async () => {
    const { base, wsUrl } = await start({ jwtSecret: secret, now: () => now });
    const token = signToken({ sub: 'dave', exp: now / 1000 + 60 }, secret);
    const dave = await ready(`${wsUrl}?token=${token}`);
    expect(dave.ready.uid).toBe('dave');
    await publish(base, { uid: 'dave', data: 'hi dave' });
    expect((await dave.inbox.next()).data).toBe('hi dave');
    const refused = [
      signToken({ sub: 'dave', exp: now / 1000 - 60 }, secret),
      signToken({ sub: 'dave' }, 'other secret'),
      'not.a.token',
    ];
    for (const bad of refused) {
      const client = wsClient(`${wsUrl}?token=${bad}`);
      const { code } = await client.closed;
      expect(code).toBe(4401);
    }
    const claimed = wsClient(`${wsUrl}?uid=dave`);
    expect(await claimed.closed).toEqual({ code: 4401, reason: expect.stringMatching(/uid/) });
    const viaHeader = wsClient(wsUrl, { headers: { Authorization: `Bearer ${token}` } });
    expect((await viaHeader.inbox.until((m) => m.type === 'ready')).uid).toBe('dave');
    dave.socket.close();
    viaHeader.socket.close();
  });

  it('the authorize hook decides channels at connect (4403) and on subscribe (error 403)', async () => {
    const calls: string[] = [];
    const { wsUrl } = await start({
      authorize: async (channel, identity) => {
        calls.push(`${identity.uid ?? '-'}:${channel}`);
        return !channel.startsWith('private:') || channel === `private:${identity.uid}`;
      },
    });
    const intruder = wsClient(`${wsUrl}?uid=eve&channel=private:alice`);
    expect(await intruder.closed).toEqual({ code: 4403, reason: 'not allowed to subscribe to private:alice' });
    const alice = await ready(`${wsUrl}?uid=alice&channel=private:alice`);
    alice.send({ type: 'subscribe', channel: 'private:bob', ref: 1 });
    expect(await alice.inbox.next()).toMatchObject({ type: 'error', code: 403, ref: 1 });
    expect(calls).toEqual(['eve:private:alice', 'alice:private:alice', 'alice:private:bob']);
    alice.socket.close();
  });

  it('the application hook sees open, message and close; its exceptions go to onError', async () => {
    const events: string[] = [];
    const errors: Error[] = [];
    const { wsUrl } = await start({
      handler: {
        onOpen: (session: Session) => events.push(`open ${session.transport} ${session.uid}`),
        onMessage: (session: Session, data: unknown) => {
          events.push(`message ${session.uid} ${JSON.stringify(data)}`);
          if (data === 'boom') throw new Error('handler bug');
        },
        onClose: (session: Session) => events.push(`close ${session.uid}`),
        onError: (_session: Session | null, error: Error) => errors.push(error),
      },
    });
    const client = await ready(`${wsUrl}?uid=zed`);
    client.send({ type: 'send', data: { text: 'hi' }, ref: 1 });
    expect(await client.inbox.next()).toEqual({ type: 'ack', ref: 1 });
    client.send({ type: 'send', data: 'boom', ref: 2 });
    expect(await client.inbox.next()).toEqual({ type: 'ack', ref: 2 });
    client.socket.close();
    await client.closed;
    await expect.poll(() => events.at(-1)).toBe('close zed');
    expect(events).toEqual(['open ws zed', 'message zed {"text":"hi"}', 'message zed "boom"', 'close zed']);
    expect(errors.map((e) => e.message)).toEqual(['handler bug']);
  });

  it('cuts a client that does not read (past maxBufferedBytes its 1013 could not be read either: 1006); it resumes without loss', async () => {
    const { server, wsUrl } = await start({ maxBufferedBytes: 64 * 1024 });
    const slow = await ready(`${wsUrl}?channel=firehose`);
    // Stop reading: the server's socket buffer fills up.
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'x'.repeat(16 * 1024);
    let published = 0;
    while (published < 400 && server.metrics.drops.ws === 0) {
      void server.publish({ channel: 'firehose', data: { i: published++, payload } });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.metrics.drops.ws).toBe(1);
    await server.publish({ channel: 'firehose', data: { i: published++, payload } }); // after the drop
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slow.closed).code).toBe(1006);
    const delivered = slow.inbox.pending.filter((m: Json) => m.type === 'message');
    const resumeFrom = delivered.at(-1)?.id ?? slow.ready.lastId;
    const again = wsClient(`${wsUrl}?channel=firehose&since=${resumeFrom}`);
    const replayed: number[] = [];
    for (let m = await again.inbox.next(); m.type !== 'ready'; m = await again.inbox.next()) replayed.push(m.data.i);
    expect(replayed.length).toBeGreaterThan(0);
    expect([...delivered.map((m: Json) => m.data.i), ...replayed]).toEqual(Array.from({ length: published }, (_, i) => i));
    again.socket.close();
  });
});
