// SIGTERM drains and exits 0 within the documented grace, even when a peer
// never answers the closing handshake; what was accepted before is delivered.
import { describe, expect, it } from 'vitest';
import { buildFrame } from '../helpers/frames.js';
import { publish } from '../helpers/push.js';
import { RawClient } from '../helpers/raw-client.js';
import { startCli } from '../helpers/server-process.js';

describe('graceful shutdown', () => {
  it('serve: a WebSocket peer that never closes is cut after --shutdown-grace; exit 0; the last publish arrived first', async () => {
    const server = await startCli(['serve', '--shutdown-grace', '1', '--dev-identity']);
    const peer = await RawClient.connect(server.port, '', '/ws?channel=news');
    await peer.until(() => peer.frames.some((frame) => frame.payload.toString().includes('"ready"')));
    expect((await publish(`http://127.0.0.1:${server.port}`, { channel: 'news', data: 'last words' })).status).toBe(200);
    const started = Date.now();
    const code = await server.stop(); // the raw peer never answers the close frame
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
    const texts = peer.frames.map((frame) => (frame.opcode === 0x8 ? `close ${frame.payload.readUInt16BE(0)}` : frame.payload.toString()));
    expect(texts.at(-2)).toContain('last words');
    expect(texts.at(-1)).toBe('close 1001');
  });

  it('echo: the same, exit 0 within the grace', async () => {
    const server = await startCli(['echo', '--shutdown-grace', '1']);
    const peer = await RawClient.connect(server.port);
    peer.send(buildFrame(0x1, 'hello'));
    await peer.until(() => peer.frames.length === 1);
    expect(await server.stop()).toBe(0);
    expect(peer.frames.at(-1)).toMatchObject({ opcode: 0x8 });
  });
});
