// Bytes that are not what they claim to be are refused, not repaired.
import { describe, expect, it } from 'vitest';
import { publish, pushServers, request } from '../helpers/push.js';

const start = pushServers();

describe('input hygiene', () => {
  it('a publish body that is not valid UTF-8 is 400, not published with U+FFFD', async () => {
    const { base } = await start();
    const body = Buffer.concat([Buffer.from('{"channel":"a","data":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const answer = await fetch(`${base}/publish`, { method: 'POST', body });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual({ error: 'body is not valid UTF-8' });
  });

  it('event names and uids with control characters or U+2028/U+2029 are refused', async () => {
    const { base } = await start();
    for (const event of ['a\u2028b', 'a\u2029b', 'tab\there', 'nul\u0000', 'del\u007f']) {
      const answer = await publish(base, { channel: 'a', event, data: 1 });
      expect(answer.status, JSON.stringify(event)).toBe(422);
    }
    expect((await publish(base, { uid: 'bob\u0001', data: 1 })).status).toBe(422);
    expect((await request(`${base}/sse?uid=${encodeURIComponent('bob\u2028')}`)).status).toBe(400);
    expect((await publish(base, { channel: 'a', event: 'fine-é', data: 1 })).status).toBe(200);
  });
});
