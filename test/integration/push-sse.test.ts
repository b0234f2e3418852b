// GET /sse through the real server, read by the `eventsource` package (a
// WHATWG-conformant client) and by the spec's parsing algorithm.
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import type { Session } from '../../src/hub/hub.js';
import { cuttableProxy, Inbox, publish, request, sseClient, startPush, type Running } from '../helpers/push.js';

let cleanup: (() => unknown)[] = [];
async function start(options: Parameters<typeof startPush>[0] = {}): Promise<Running> {
  const running = await startPush({ sseRetryMs: 50, ...options });
  cleanup.push(() => running.server.close(200));
  return running;
}
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** An EventSource whose message events (and named ones) land in an Inbox. */
function eventSource(url: string, named: string[] = []) {
  const source = new EventSource(url);
  cleanup.push(() => source.close());
  const inbox = new Inbox<MessageEvent>();
  source.addEventListener('message', (event) => inbox.push(event));
  for (const name of named) source.addEventListener(name, (event) => inbox.push(event));
  const opens = new Inbox<true>();
  source.addEventListener('open', () => opens.push(true));
  return { source, inbox, opens };
}

describe('SSE transport', () => {
  it('streams text/event-stream with the headers that stop proxy buffering, retry first, then events', async () => {
    const { base } = await start();
    const sse = sseClient(`${base}/sse?channel=news`);
    const response = await sse.opened;
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    const ready = await sse.inbox.next();
    expect(sse.text.startsWith('retry: 50\n\n')).toBe(true);
    expect(ready.type).toBe('ready');
    expect(JSON.parse(ready.data)).toEqual({ session: expect.any(String), uid: null, channels: ['news'], retry: 50 });
    await publish(base, { channel: 'news', event: 'headline', data: { text: 'line one\nline two\r\n' } });
    await publish(base, { channel: 'news', data: 'plain' });
    const headline = await sse.inbox.next();
    expect(headline.type).toBe('headline');
    expect(JSON.parse(headline.data)).toEqual({ text: 'line one\nline two\r\n' });
    expect(headline.lastEventId).toMatch(/-1$/);
    const plain = await sse.inbox.next();
    expect({ type: plain.type, data: plain.data }).toEqual({ type: 'message', data: '"plain"' });
    sse.close();
  });

  it('?envelope=1 sends every message as an unnamed event carrying the whole envelope', async () => {
    const { base } = await start();
    const sse = sseClient(`${base}/sse?channel=a&uid=al&envelope=1`);
    await sse.inbox.until((e) => e.type === 'ready');
    await publish(base, { channel: 'a', event: 'x', data: 1 });
    await publish(base, { uid: 'al', data: 2 });
    const first = await sse.inbox.next();
    expect(first.type).toBe('message');
    expect(JSON.parse(first.data)).toMatchObject({ type: 'message', channel: 'a', event: 'x', data: 1, id: first.lastEventId });
    expect(JSON.parse((await sse.inbox.next()).data)).toMatchObject({ uid: 'al', data: 2 });
    sse.close();
  });

  it('EventSource receives, loses its connection, reconnects with Last-Event-ID: no gap, no duplicate', async () => {
    const { server, base } = await start();
    const proxy = await cuttableProxy(Number(new URL(base).port));
    cleanup.push(proxy.close);
    const { inbox, opens } = eventSource(`${proxy.base}/sse?channel=live`);
    await opens.next();
    const got: number[] = [];
    for (let i = 1; i <= 3; i++) await publish(base, { channel: 'live', data: i });
    for (let i = 1; i <= 3; i++) got.push(JSON.parse((await inbox.next()).data));
    proxy.cut();
    for (let i = 4; i <= 6; i++) await publish(base, { channel: 'live', data: i });
    await opens.next(); // the automatic reconnect
    await publish(base, { channel: 'live', data: 7 });
    for (let i = 4; i <= 7; i++) got.push(JSON.parse((await inbox.next()).data));
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(server.metrics.resumes.sse).toBe(1);
    // Nothing else may come before a later marker: the resume sent no duplicate.
    await publish(base, { channel: 'live', data: 'marker' });
    expect(JSON.parse((await inbox.next()).data)).toBe('marker');
  });

  it('a connection lost before any message resumes from the ready event’s id', async () => {
    const { base } = await start();
    const proxy = await cuttableProxy(Number(new URL(base).port));
    cleanup.push(proxy.close);
    const { inbox, opens } = eventSource(`${proxy.base}/sse?channel=quiet`, ['ready']);
    await opens.next();
    expect((await inbox.next()).type).toBe('ready');
    proxy.cut();
    await publish(base, { channel: 'quiet', data: 'while away' });
    await opens.next();
    expect(JSON.parse((await inbox.until((e) => e.type === 'message')).data)).toBe('while away');
  });

  it('?lastEventId= resumes a first connect; a gap event comes first when history is short', async () => {
    const { base } = await start({ historySize: 2 });
    const ids: string[] = [];
    for (let i = 1; i <= 4; i++) ids.push((await publish(base, { channel: 'h', data: i })).json.id);
    const resumed = sseClient(`${base}/sse?channel=h&lastEventId=${ids[1]}`);
    expect((await resumed.inbox.next()).data).toBe('3');
    expect((await resumed.inbox.next()).data).toBe('4');
    expect((await resumed.inbox.next()).type).toBe('ready');
    resumed.close();
    const gapped = sseClient(`${base}/sse?channel=h`, { 'Last-Event-ID': ids[0] });
    const gap = await gapped.inbox.next();
    expect({ type: gap.type, data: JSON.parse(gap.data) }).toEqual({ type: 'gap', data: { since: ids[0] } });
    expect([(await gapped.inbox.next()).data, (await gapped.inbox.next()).data]).toEqual(['3', '4']);
    gapped.close();
  });

  it('sends heartbeat comments', async () => {
    const { base } = await start({ heartbeatMs: 30 });
    const sse = sseClient(`${base}/sse`);
    await sse.inbox.next();
    await expect.poll(() => sse.text.split('\n').filter((line) => line === ':').length, { timeout: 2000 }).toBeGreaterThan(2);
    sse.close();
  });

  it('POST /send with the session token: subscribe on the open stream, and messages to the app hook', async () => {
    const received: [string, unknown][] = [];
    const { base } = await start({ handler: { onMessage: (s: Session, data: unknown) => received.push([s.transport, data]) } });
    const sse = sseClient(`${base}/sse?uid=sam`);
    const { session } = JSON.parse((await sse.inbox.next()).data);
    const sub = await request(`${base}/send`, { body: { type: 'subscribe', channel: 'late', ref: 'r' }, headers: { 'X-Pushwire-Session': session } });
    expect(sub).toMatchObject({ status: 200, json: { type: 'ack', ref: 'r', channel: 'late' } });
    await publish(base, { channel: 'late', data: 'joined' });
    expect((await sse.inbox.next()).data).toBe('"joined"');
    const sent = await request(`${base}/send?session=${session}`, { body: { type: 'send', data: { hello: 1 } } });
    expect(sent.json).toEqual({ type: 'ack' });
    expect(received).toEqual([['sse', { hello: 1 }]]);
    const bad = await request(`${base}/send?session=${session}`, { body: { type: 'publish', channel: 'late', data: 1 } });
    expect(bad).toMatchObject({ status: 403, json: { error: 'clients may not publish to late' } });
    const badBody = await request(`${base}/send?session=${session}`, { body: '[oops' });
    expect(badBody.status).toBe(400);
    sse.close();
    await sse.ended;
    await expect.poll(async () => (await request(`${base}/send?session=${session}`, { body: { type: 'send', data: 1 } })).status).toBe(401);
  });

  it('drops a stream that does not read; EventSource resumes without loss', async () => {
    const { server, base } = await start({ maxBufferedBytes: 32 * 1024 });
    const sse = sseClient(`${base}/sse?channel=big`);
    await sse.inbox.next();
    sse.response.pause();
    const payload = 'y'.repeat(8 * 1024);
    let published = 0;
    while (published < 500 && server.metrics.drops.sse === 0) {
      void server.publish({ channel: 'big', data: { i: published++, payload } });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(server.metrics.drops.sse).toBe(1);
    sse.response.resume();
    await sse.ended;
    const seen = sse.inbox.pending.filter((e) => e.type === 'message');
    const last = seen.at(-1)!.lastEventId;
    const again = sseClient(`${base}/sse?channel=big`, { 'Last-Event-ID': last });
    const rest: number[] = [];
    for (let e = await again.inbox.next(); e.type !== 'ready'; e = await again.inbox.next()) rest.push(JSON.parse(e.data).i);
    const all = [...seen.map((e) => JSON.parse(e.data).i), ...rest];
    expect(all).toEqual(Array.from({ length: published }, (_, i) => i));
    again.close();
  });
});
