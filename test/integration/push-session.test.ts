// One session lifecycle for every transport: admit → connect → backlog →
// ready → onOpen → live → close. The handler's onOpen runs once the client
// is fully set up, so anything it publishes reaches the new session like any
// live message — on /ws, /sse and /poll alike.
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/hub/hub.js';
import type { PushHandler } from '../../src/push/core.js';
import type { PushServer } from '../../src/push/push-server.js';
import { publish, pushServers, request, sseClient, wsClient, type Json } from '../helpers/push.js';

const start = pushServers();

/** A server whose handler greets every new session on its first channel, recording hook errors. */
async function greetingServer(extra: PushHandler = {}) {
  const errors: Error[] = [];
  let server!: PushServer;
  const running = await start({
    handler: {
      ...extra,
      onOpen: (session: Session) => {
        extra.onOpen?.(session);
        const [channel] = session.channels;
        void server.publish({ channel, event: 'welcome', data: `hello ${session.transport}` });
      },
      onError: (_session: Session | null, error: Error) => errors.push(error),
    },
  });
  server = running.server;
  return { ...running, errors };
}

describe('onOpen publishing to the new session’s own channel', () => {
  it('reaches a WebSocket client right after its ready message', async () => {
    const { wsUrl, errors } = await greetingServer();
    const client = wsClient(`${wsUrl}?channel=room`);
    expect((await client.inbox.next()).type).toBe('ready');
    expect(errors.map(String)).toEqual([]); // onOpen has run by now: it runs in the turn that sent ready
    expect(await client.inbox.next()).toMatchObject({ type: 'message', channel: 'room', event: 'welcome', data: 'hello ws' });
    client.socket.close();
  });

  it('reaches an SSE client right after its ready event', async () => {
    const { base, errors } = await greetingServer();
    const sse = sseClient(`${base}/sse?channel=room`);
    expect((await sse.inbox.next()).type).toBe('ready');
    expect(errors.map(String)).toEqual([]);
    const welcome = await sse.inbox.next();
    expect({ type: welcome.type, data: JSON.parse(welcome.data) }).toEqual({ type: 'welcome', data: 'hello sse' });
    sse.close();
  });

  it('answers a long-poll client’s first (held) poll', async () => {
    const { base, errors } = await greetingServer();
    const first = await request(`${base}/poll?channel=room&timeout=5`);
    expect(errors.map(String)).toEqual([]);
    expect(first.json.messages).toEqual([expect.objectContaining({ channel: 'room', event: 'welcome', data: 'hello poll' })]);
    expect(first.json.cursor).toBe(first.json.messages[0].id);
  });
});

describe('the order of a connect', () => {
  it('resumed backlog, then ready, then what onOpen published, then live messages', async () => {
    const opened: string[] = [];
    const { base, wsUrl } = await greetingServer({ onOpen: (session) => opened.push(session.transport) });
    const seen = (await publish(base, { channel: 'room', data: 'before' })).json.id as string;
    await publish(base, { channel: 'room', data: 'missed' });
    const client = wsClient(`${wsUrl}?channel=room&since=${seen}`);
    const take = async (n: number): Promise<Json[]> => {
      const got: Json[] = [];
      for (let i = 0; i < n; i++) got.push(await client.inbox.next());
      return got;
    };
    const [missed, ready, welcome] = await take(3);
    expect(missed).toMatchObject({ type: 'message', data: 'missed' });
    expect(ready).toMatchObject({ type: 'ready', lastId: missed.id });
    expect(welcome).toMatchObject({ type: 'message', event: 'welcome' });
    expect(opened).toEqual(['ws']);
    await publish(base, { channel: 'room', data: 'live' });
    expect(await client.inbox.next()).toMatchObject({ data: 'live' });
    client.socket.close();
  });
});
