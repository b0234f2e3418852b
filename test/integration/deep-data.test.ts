// Data nested deeper than JSON.stringify's stack can go parses fine but can
// never be sent. It is refused when published (422), so no resume, inbox
// replay or poll can meet it later — and nothing can take the process down.
import { describe, expect, it } from 'vitest';
import { publish, pushServers, request, sseClient, wsClient } from '../helpers/push.js';

const start = pushServers();
const DEPTH = 100_000;
const deep = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;

describe('data nested too deeply to serialize', () => {
  it('POST /publish answers 422, single or in a batch, and stores nothing', async () => {
    const { base, wsUrl } = await start();
    const single = await request(`${base}/publish`, { body: `{"uid":"alice","data":${deep}}` });
    expect(single.status).toBe(422);
    expect(single.json.error).toBe('"data" cannot be serialized: nested too deeply');
    const batch = await request(`${base}/publish`, { body: `[{"uid":"alice","data":1},{"uid":"alice","data":${deep}}]` });
    expect(batch.status).toBe(422);
    expect(batch.json.error).toMatch(/^item 1: "data" cannot be serialized/);
    // alice's unread inbox, a resume and a poll all still work, and hold only what was accepted.
    expect((await publish(base, { uid: 'alice', data: 'fine' })).status).toBe(200);
    const ws = wsClient(`${wsUrl}?uid=alice`);
    expect(await ws.inbox.next()).toMatchObject({ type: 'message', data: 'fine' });
    ws.socket.close();
    const sse = sseClient(`${base}/sse?uid=alice&since=0-0`);
    await sse.inbox.until((event) => event.type === 'ready');
    sse.close();
    const poll = await request(`${base}/poll?uid=alice&timeout=0`);
    expect(poll.status).toBe(200);
  });

  it('a client publish command answers an error, not a crash or a 500', async () => {
    const { wsUrl } = await start({ clientPublish: true });
    const client = wsClient(`${wsUrl}?channel=room`);
    await client.inbox.until((m) => m.type === 'ready');
    const nested = `${'['.repeat(30_000)}${']'.repeat(30_000)}`; // under the 64 KiB message limit
    client.socket.send(`{"type":"publish","channel":"room","data":${nested},"ref":7}`);
    expect(await client.inbox.next()).toMatchObject({ type: 'error', code: 422, ref: 7 });
  });
});
