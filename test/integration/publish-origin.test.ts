// The publish API is for backends. A web page can make a browser POST to it
// (a "simple" text/plain request needs no CORS preflight), so a request that
// carries an Origin must come from the server's own origin or a listed one.
import { describe, expect, it } from 'vitest';
import { pushServers, request, wsClient } from '../helpers/push.js';

const start = pushServers();

function post(url: string, headers: Record<string, string>, body: unknown) {
  return request(url, { method: 'POST', headers: { 'Content-Type': 'text/plain', ...headers }, body: JSON.stringify(body) });
}

describe('cross-site publish', () => {
  it('refuses a foreign Origin on POST /publish and DELETE /scheduled, with or without an origin list', async () => {
    for (const allowedOrigins of [undefined, ['https://app.example']]) {
      const { base, wsUrl } = await start({ allowedOrigins });
      const subscriber = wsClient(`${wsUrl}?channel=news`);
      await subscriber.inbox.until((m) => m.type === 'ready');
      const forged = await post(`${base}/publish`, { Origin: 'https://evil.example' }, { channel: 'news', data: 'forged' });
      expect(forged.status).toBe(403);
      expect(forged.json.error).toMatch(/origin https:\/\/evil\.example may not publish/);
      const cancel = await request(`${base}/scheduled/sched-1`, { method: 'DELETE', headers: { Origin: 'https://evil.example' } });
      expect(cancel.status).toBe(403);
      // A backend (no Origin) publishes; the subscriber's next message is that one.
      expect((await post(`${base}/publish`, {}, { channel: 'news', data: 'marker' })).status).toBe(200);
      expect(await subscriber.inbox.next()).toMatchObject({ data: 'marker' });
      subscriber.socket.close();
    }
  });

  it('accepts the server\'s own origin and a listed one', async () => {
    const { base } = await start({ allowedOrigins: ['https://app.example'] });
    const own = await post(`${base}/publish`, { Origin: base }, { channel: 'news', data: 1 });
    expect(own.status).toBe(200);
    const listed = await post(`${base}/publish`, { Origin: 'https://app.example' }, { channel: 'news', data: 2 });
    expect(listed.status).toBe(200);
  });
});
