// GET /ws: the WebSocket transport. A refused connect is still upgraded and
// then closed with 4000 + the HTTP status (4401, 4403, …), because a browser
// cannot read the status of a failed handshake but can read a close code.
import type * as http from 'node:http';
import type * as net from 'node:net';
import type { HubMessage } from '../hub/hub.js';
import { WebSocketServer } from '../ws/server.js';
import { OPEN, PreparedMessage, type WebSocket } from '../ws/websocket.js';
import { POLICY_CLOSE, refusalCloseCode, SLOW_CONSUMER_CLOSE } from './contract.js';
import type { Client, Opening, PushCore, Refusal, SessionTransport } from './core.js';
import { TurnCork } from './turn-cork.js';
import { CommandError, envelopeJson, parseCommandText, type Ref } from './wire.js';

export interface WebSocketTransportSettings {
  maxMessageBytes: number;
  perMessageDeflate: boolean;
  pingIntervalMs: number;
  /** Commands of one client waiting for an answer; more are refused (429). */
  maxPendingCommands: number;
  /** A client with more than this many bytes waiting to be written is closed with 1013. */
  maxBufferedBytes: number;
  /** Invalid commands a client may send before it is closed with 1008. */
  maxClientErrors: number;
}

interface WsClient extends Client {
  socket: WebSocket;
  errors: number;
  pending: number;
  tail: Promise<void>;
}

export class WebSocketTransport implements SessionTransport<WsClient, WebSocket> {
  readonly name = 'ws';
  private readonly server: WebSocketServer;
  // One encoding per published message, reused for every socket it reaches.
  private preparedFor: HubMessage | null = null;
  private prepared: PreparedMessage | null = null;
  private readonly cork = new TurnCork();
  /** The session behind each accepted socket (refused ones have none). */
  private readonly clients = new WeakMap<WebSocket, WsClient>();

  constructor(
    private readonly core: PushCore,
    private readonly settings: WebSocketTransportSettings,
  ) {
    // One handler object for all sockets, instead of three listener closures per client.
    this.server = new WebSocketServer(
      {
        noServer: true,
        maxPayload: settings.maxMessageBytes,
        perMessageDeflate: settings.perMessageDeflate,
        pingInterval: settings.pingIntervalMs,
      },
      {
        onMessage: (ws, data, isBinary) => {
          const client = this.clients.get(ws);
          if (client) this.receive(client, data, isBinary);
        },
        onClose: (ws) => {
          const client = this.clients.get(ws);
          if (client) this.core.close(client);
        },
        // A peer's protocol error is the client's fault, not a bug: the handler hears of it, the server does not.
        onError: (ws, error) => {
          const client = this.clients.get(ws);
          if (client) this.core.callHook(client.session, 'onError', client.session, error);
        },
      },
    );
  }

  /** Take an upgrade request for /ws (the URL is already parsed). */
  handleUpgrade(request: http.IncomingMessage, socket: net.Socket, head: Buffer, url: URL): void {
    // Guards the socket while admission awaits hooks; handleUpgrade installs its own.
    socket.on('error', destroyOnError);
    const admitted = this.core.admit(url.searchParams, request.headers, url.searchParams.get('since')).then(
      (admission) => ({ admission }),
      (error: unknown) => ({ error: this.core.refusal(error, null) }),
    );
    void admitted.then((result) => {
      socket.off('error', destroyOnError); // nothing of the admission stays on the socket
      this.server.handleUpgrade(request, socket, head, (ws) => {
        if ('error' in result) ws.close(refusalCloseCode(result.error.status), result.error.message);
        else {
          this.core.connect(result.admission, this, ws).catch((error: unknown) => {
            const refusal = this.core.refusal(error, null);
            ws.close(refusalCloseCode(refusal.status), refusal.message);
          });
        }
      });
    });
  }

  /** Close every connection with 1001 (going away). */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Drop every connection still open at once (a peer that never answered our close). */
  terminate(): void {
    for (const ws of this.server.clients) ws.terminate();
  }

  createClient(base: Client, ws: WebSocket): WsClient {
    const client = Object.assign(base, { socket: ws, errors: 0, pending: 0, tail: Promise.resolve() });
    this.clients.set(ws, client);
    return client;
  }

  /** Text frames: the gap notice, the backlog as envelopes, the ready notice. */
  begin(client: WsClient, { gap, backlog, ready }: Opening): void {
    if (gap) client.socket.send(JSON.stringify(gap));
    // The backlog is bounded by history, not by the slow-consumer budget: a
    // client resuming after a long absence gets all of it. The budget applies
    // from the first live message on.
    for (const message of backlog) this.send(client, message);
    client.socket.send(JSON.stringify(ready));
  }

  /** An operator's disconnect: the closing handshake with `code`; onClose then closes the session. */
  end(client: WsClient, code: number, reason: string): void {
    client.socket.close(code, reason);
  }

  deliver(client: WsClient, message: HubMessage): void {
    if (client.socket.readyState !== OPEN || this.cutIfSlow(client)) return;
    this.send(client, message);
  }

  /** Write one message as a text frame, encoded once for every client it reaches. */
  private send(client: WsClient, message: HubMessage): void {
    const ws = client.socket;
    if (message !== this.preparedFor) {
      this.prepared = new PreparedMessage(envelopeJson(message));
      this.preparedFor = message;
    }
    this.cork.hold(ws);
    ws.sendPrepared(this.prepared!);
    this.core.countDelivered(client);
  }

  /**
   * The slow-consumer budget (maxBufferedBytes, counted as on SSE): a client
   * with more than that waiting to be written is cut. Its 1013 close frame
   * would queue behind everything it is not reading, so the TCP connection is
   * cut at once; it reconnects and resumes from its last id, missing nothing.
   */
  private cutIfSlow(client: WsClient): boolean {
    const ws = client.socket;
    if (ws.bufferedAmount <= this.settings.maxBufferedBytes) return false;
    this.core.countDropped(client);
    ws.close(SLOW_CONSUMER_CLOSE, 'slow consumer: reconnect and resume');
    ws.terminate();
    return true;
  }

  private receive(client: WsClient, data: Buffer, isBinary: boolean): void {
    // Answers to commands count against the same budget as deliveries.
    if (this.cutIfSlow(client)) return;
    if (isBinary) {
      this.refuse(client, new CommandError('PW_ERR_BINARY_COMMAND', 400, 'binary frames are not accepted; send JSON text'));
      return;
    }
    const parsed = parseCommandText(data.toString('utf8'));
    if ('error' in parsed) {
      this.core.countReceived(client);
      this.refuse(client, parsed.error, parsed.ref);
      return;
    }
    const { command } = parsed;
    if (client.pending >= this.settings.maxPendingCommands) {
      this.refuse(client, new CommandError('PW_ERR_TOO_MANY_PENDING', 429, 'too many commands waiting for an answer'), command.ref);
      return;
    }
    // Commands are answered in the order they came, even when a hook is async.
    client.pending++;
    client.tail = client.tail.then(async () => {
      try {
        const ack = await this.core.run(client, command);
        if (client.socket.readyState === OPEN) client.socket.send(JSON.stringify(ack));
      } catch (error) {
        this.refuse(client, this.core.refusal(error, client.session), command.ref);
      } finally {
        client.pending--;
      }
    });
  }

  /** Answer with an error message; past the client's error budget, close with 1008 (policy violation). */
  private refuse(client: WsClient, error: Refusal, ref?: Ref): void {
    const ws = client.socket;
    if (ws.readyState !== OPEN) return;
    const reply: Record<string, unknown> = { type: 'error', code: error.status, message: error.message };
    if (ref !== undefined) reply.ref = ref;
    ws.send(JSON.stringify(reply));
    if (++client.errors > this.settings.maxClientErrors) {
      ws.close(POLICY_CLOSE, 'too many invalid commands');
    }
  }
}

function destroyOnError(this: net.Socket): void {
  this.destroy();
}
