// The push port's defences: it is on loopback, but a web page can make the
// browser send HTTP to it and any local user can connect.
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { pushServers, wsClient } from '../helpers/push.js';

const start = pushServers();

/** A line-protocol connection: everything it reads, and whether the server closed it. */
function lineClient(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  const state = { text: '', closed: false };
  socket.on('data', (chunk: string) => (state.text += chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  void closed.then(() => (state.closed = true));
  return { socket, state, closed, lines: () => state.text.split('\n').filter((line) => line !== '') };
}

describe('push port', () => {
  it('closes on an HTTP request instead of publishing its body (a no-cors POST from a web page)', async () => {
    const { wsUrl, pushPort } = await start({ pushPort: 0 });
    const subscriber = wsClient(`${wsUrl}?channel=news`);
    await subscriber.inbox.until((m) => m.type === 'ready');
    const attacker = lineClient(pushPort!);
    attacker.socket.write(
      'POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n\r\n\n{"broadcast":true,"data":"forged"}\n',
    );
    await attacker.closed;
    expect(attacker.lines()).toEqual(['fail this is the push port, not HTTP: POST to /publish on the HTTP port instead']);
    // The next message the subscriber sees is a later marker, not the forged broadcast.
    const backend = lineClient(pushPort!);
    backend.socket.write('{"channel":"news","data":"marker"}\n');
    expect(await subscriber.inbox.next()).toMatchObject({ data: 'marker' });
    backend.socket.end();
    subscriber.socket.close();
  });

  it('publishes the lines of one write in their order, batches too', async () => {
    const { wsUrl, pushPort } = await start({ pushPort: 0 });
    const subscriber = wsClient(`${wsUrl}?channel=order`);
    await subscriber.inbox.until((m) => m.type === 'ready');
    const backend = lineClient(pushPort!);
    backend.socket.write('[{"channel":"order","data":1},{"channel":"order","data":2}]\n[{"channel":"order","data":3},{"channel":"order","data":4}]\n');
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((await subscriber.inbox.next()).data);
    expect(seen).toEqual([1, 2, 3, 4]);
    backend.socket.end();
    subscriber.socket.close();
  });

  it('with a push key, a connection must open with AUTH <key>', async () => {
    const { pushPort } = await start({ pushPort: 0, pushKey: 'sesame' });
    const stranger = lineClient(pushPort!);
    stranger.socket.write('{"broadcast":true,"data":1}\n');
    await stranger.closed;
    expect(stranger.lines()).toEqual(['fail send AUTH <push key> as the first line']);
    const wrong = lineClient(pushPort!);
    wrong.socket.write('AUTH guess\n');
    await wrong.closed;
    expect(wrong.lines()).toEqual(['fail send AUTH <push key> as the first line']);
    const backend = lineClient(pushPort!);
    backend.socket.write('AUTH sesame\n{"broadcast":true,"data":1}\n');
    await expect.poll(() => backend.lines()).toEqual(['ok auth', 'ok 0']);
    backend.socket.end();
  });

  it('closes idle connections and refuses connections over the cap', async () => {
    const { pushPort } = await start({ pushPort: 0, pushPortIdleMs: 50, maxPushPortConnections: 1 });
    const idle = lineClient(pushPort!);
    await new Promise((resolve) => idle.socket.once('connect', resolve));
    const second = lineClient(pushPort!);
    await second.closed; // over the cap: closed at once, while the first is still open
    expect(idle.state.closed).toBe(false);
    await idle.closed; // then the idle timeout
  });
});
