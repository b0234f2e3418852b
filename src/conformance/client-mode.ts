// Client mode: the tool listens, and the WebSocket *client* under test
// connects to it again and again (Autobahn's fuzzingserver role). Each
// connection is handed to the next case; after the last, the next one is
// closed with code 4000 and the reason DONE_REASON, which tells the
// client's harness to stop (a case may close with 4000 too, never with
// that reason).
// The server's side of the opening handshake (RFC 6455 §4.2) is checked here.
import * as net from 'node:net';
import { acceptFor, readHead, type Connector, type Opened, type RunOptions } from './runner.js';
import { closeBody, encodeFrame, Op } from './wire.js';

/** The close code and reason that tell a harness the run is over (a private code, §7.4.2). */
export const DONE_CODE = 4000;
export const DONE_REASON = 'pushwire conformance: done';

/** How long to wait for the client to come back for the next case (ms). */
const DEFAULT_WAIT_MS = 30_000;

/**
 * The §4.1 checks the server makes of a client's opening handshake (§4.2.1):
 * GET over HTTP/1.1, Host, Upgrade: websocket, Connection: Upgrade, a key of
 * 16 bytes in base64, version 13. Returns the key, or why it is refused.
 */
export function checkRequest(head: string): { ok: true; key: string } | { ok: false; error: string } {
  const [requestLine, ...lines] = head.split('\r\n');
  if (!/^GET \S+ HTTP\/1\.1$/.test(requestLine)) return { ok: false, error: `request line "${requestLine}" is not a GET over HTTP/1.1 (§4.1 item 2)` };
  const fields = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      fields.set(name, fields.has(name) ? `${fields.get(name)}, ${value}` : value);
    }
  }
  if (!fields.has('host')) return { ok: false, error: 'no Host field (§4.1 item 4)' };
  if (!(fields.get('upgrade') ?? '').toLowerCase().split(/\s*,\s*/).includes('websocket')) return { ok: false, error: 'no "Upgrade: websocket" (§4.1 item 5)' };
  if (!(fields.get('connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade')) return { ok: false, error: 'no "Connection: Upgrade" (§4.1 item 6)' };
  const key = fields.get('sec-websocket-key') ?? '';
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return { ok: false, error: `Sec-WebSocket-Key "${key}" is not 16 bytes in base64 (§4.1 item 7)` };
  if (fields.get('sec-websocket-version') !== '13') return { ok: false, error: 'Sec-WebSocket-Version is not 13 (§4.1 item 9)' };
  return { ok: true, key };
}

/** A listening socket handing out the connections of the client under test, one per case. */
export class ClientSession {
  private readonly waiting: net.Socket[] = [];
  private readonly takers: ((socket: net.Socket | null) => void)[] = [];
  private done = false;

  private constructor(
    private readonly server: net.Server,
    private readonly waitMs: number,
  ) {
    server.on('connection', (socket) => {
      socket.on('error', () => {});
      socket.setNoDelay(true);
      if (this.done) return void this.sayDone(socket);
      const taker = this.takers.shift();
      if (taker) taker(socket);
      else this.waiting.push(socket);
    });
  }

  /** Listen on `host`:`port` (0: any free port). */
  static async listen(port: number, host = '127.0.0.1', waitMs = DEFAULT_WAIT_MS): Promise<ClientSession> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return new ClientSession(server, waitMs);
  }

  /** Where the client under test should connect. */
  get url(): string {
    const { address, port } = this.server.address() as net.AddressInfo;
    return `ws://${address.includes(':') ? `[${address}]` : address}:${port}/`;
  }

  /** The next connection of the client, or null when none comes within the wait. */
  next(): Promise<net.Socket | null> {
    const ready = this.waiting.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const at = this.takers.indexOf(take);
        if (at !== -1) this.takers.splice(at, 1);
        resolve(null);
      }, this.waitMs);
      const take = (socket: net.Socket | null): void => {
        clearTimeout(timer);
        resolve(socket);
      };
      this.takers.push(take);
    });
  }

  /** Connections as a Connector: each `open` takes the client's next connection and answers its handshake (§4.2.2). */
  connector(): Connector {
    return {
      peer: 'client',
      open: async (_offer: string | undefined, options: RunOptions): Promise<Opened> => {
        const socket = await this.next();
        if (!socket) return { ok: false, error: `the client did not connect within ${this.waitMs} ms` };
        const head = await readHead(socket, options.timeoutMs, 'request');
        const checked = 'error' in head ? { ok: false as const, error: head.error } : checkRequest(head.text);
        if (!checked.ok) {
          socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return { ok: false, error: `the client's opening handshake: ${checked.error}` };
        }
        // No extension is accepted: the client's offers, if any, are declined (allowed, §9.1).
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(checked.key)}\r\n\r\n`);
        return { ok: true, socket, extensions: null, deflate: null };
      },
    };
  }

  /**
   * The run is over: connections waiting and to come are told so (close
   * 4000 with DONE_REASON); waits up to `graceMs` for the client to come and hear it,
   * then stops listening.
   */
  async finish(graceMs = 5000): Promise<void> {
    this.done = true;
    for (const taker of this.takers.splice(0)) taker(null);
    for (const socket of this.waiting.splice(0)) this.sayDone(socket);
    const heard = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, graceMs);
      this.server.once('connection', () => {
        clearTimeout(timer);
        setImmediate(resolve);
      });
    });
    await heard;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Stop at once (a run that failed to start). */
  close(): Promise<void> {
    this.done = true;
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private sayDone(socket: net.Socket): void {
    void readHead(socket, 5000, 'request').then((head) => {
      const checked = 'error' in head ? null : checkRequest(head.text);
      if (!checked?.ok) return void socket.destroy();
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(checked.key)}\r\n\r\n`);
      socket.end(encodeFrame({ fin: true, rsv: 0, opcode: Op.Close, mask: null, payload: closeBody(DONE_CODE, DONE_REASON) }));
      socket.resume();
    });
  }
}
