// Who a client is, by default: nobody in particular. `?uid=` is taken on
// trust only when development identity is asked for, and private channels
// need no code.
import { describe, expect, it } from 'vitest';
import { createServer } from '../../src/index.js';
import { ConfigError } from '../../src/push/http-io.js';
import { publish, pushServers, request, sseClient } from '../helpers/push.js';

const start = pushServers();

describe('identity defaults', () => {
  it('?uid= is refused (401) unless devIdentity is on, even on loopback', async () => {
    const { base } = await start({ devIdentity: false });
    await publish(base, { uid: 'bob', data: 'for bob only' });
    const answer = await request(`${base}/sse?uid=bob`);
    expect(answer.status).toBe(401);
    expect(answer.json.error).toMatch(/development identity/);
    expect((await request(`${base}/poll?uid=bob&timeout=0`)).status).toBe(401);
  });

  it('demo turns development identity on; devIdentity with a JWT secret is a configuration error', async () => {
    const { base } = await start({ devIdentity: undefined, demo: true });
    const sse = sseClient(`${base}/sse?uid=alice`);
    expect(JSON.parse((await sse.inbox.until((e) => e.type === 'ready')).data).uid).toBe('alice');
    sse.close();
    expect(() => createServer({ devIdentity: true, jwtSecret: 's' })).toThrow(ConfigError);
  });

  it('userChannelPrefix: user:<uid> channels are for that user alone', async () => {
    const { base } = await start({ userChannelPrefix: 'user:' });
    expect((await request(`${base}/sse?uid=alice&channel=user:bob`)).status).toBe(403);
    expect((await request(`${base}/sse?channel=user:alice`)).status).toBe(403); // anonymous
    const own = sseClient(`${base}/sse?uid=alice&channel=user:alice`);
    await own.inbox.until((e) => e.type === 'ready');
    await publish(base, { channel: 'user:alice', data: 'private' });
    expect(JSON.parse((await own.inbox.next()).data)).toBe('private');
    own.close();
  });
});
