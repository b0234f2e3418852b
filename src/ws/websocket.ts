// The WebSocket transport: binds the sans-I/O Connection to a node:net socket
// and owns what needs I/O — writes and backpressure, timers, the closing
// handshake's deadline. The client's connect is in client-connect.ts.
import { isUtf8 } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type * as tls from 'node:tls';
import { PerMessageDeflate, type DeflateTuning } from './deflate.js';
import { assertDeflateSettings, assertLimits, SOCKET_LIMITS } from './options.js';
import { CloseCode, encodeClosePayload } from '../protocol/close.js';
import { Connection, DEFAULT_MAX_PAYLOAD, type ConnectionHandler, type Role } from '../protocol/connection.js';
import { ClientHandshakeError, InvalidStateError, ProtocolError } from '../protocol/errors.js';
import type { DeflateOptions, DeflateParams } from '../protocol/extensions.js';
import { encodeFrame, Opcode, toBuffer } from '../protocol/frame.js';
import type { UpgradeRequest } from '../protocol/handshake.js';
import { connectClient } from './client-connect.js';

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
export type ReadyState = typeof CONNECTING | typeof OPEN | typeof CLOSING | typeof CLOSED;

/**
 * The handler-object shape known from Ratchet and Workerman: one object sees
 * every connection's life. Every method is optional. An exception thrown by
 * `onOpen`, `onMessage` or `onClose` is passed to `onError` instead of
 * escaping into the socket's event loop.
 *
 * `Request` is what a server's `onOpen` gets: see WebSocketServer.
 */
export interface WebSocketHandler<Request = UpgradeRequest> {
  /** The connection is open. A server passes the upgrade request; a client passes `undefined`. */
  onOpen?(socket: WebSocket, request: Request): void;
  onMessage?(socket: WebSocket, data: Buffer, isBinary: boolean): void;
  onClose?(socket: WebSocket, code: number, reason: string): void;
  /** Protocol errors of the peer, and exceptions thrown by the other handler methods. */
  onError?(socket: WebSocket, error: Error): void;
}

/** Options shared by server-side sockets and clients. */
export interface SocketOptions {
  /** Largest incoming message in bytes; larger ones fail the connection with 1009. Default 100 MiB. */
  maxPayload?: number;
  /** Most frames one message may arrive in; more fail the connection with 1009. Default 100 000. */
  maxFragments?: number;
  /** How long to wait for the peer's part of the closing handshake before dropping TCP, in ms. Default 10 000. */
  closeTimeout?: number;
  /** Connection-lifecycle callbacks, as an alternative to event listeners. */
  handler?: WebSocketHandler<UpgradeRequest | undefined>;
  /**
   * Offer (client) or accept (server) permessage-deflate (RFC 7692): `true`
   * for the defaults, or the parameters to ask for and the compressor's
   * tuning. Default false.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

/** permessage-deflate settings: negotiation preferences plus compressor tuning. */
export interface PerMessageDeflateOptions extends DeflateOptions, DeflateTuning {}

/** Options of the Node client, `new WebSocket(url, options)`. */
export interface ClientOptions extends SocketOptions {
  /** Subprotocols to offer, most preferred first (RFC 6455 §4.1 item 10). */
  protocols?: string | string[];
  /** Origin header to send (browsers send one; RFC 6455 §10.2). */
  origin?: string;
  /** Further request headers (cookies, authorization). */
  headers?: Record<string, string>;
  /** Give up if the handshake has not completed within this many ms. Default 30 000. */
  handshakeTimeout?: number;
  /** Send a ping every this many ms and drop the connection if nothing arrived in between. 0 = off (default). */
  pingInterval?: number;
  /** TLS options for wss:// (ca, servername, rejectUnauthorized, …). */
  tls?: tls.ConnectionOptions;
}

/** Options of `send`. */
export interface SendOptions {
  /** Send as a binary message. Default: true for bytes, false for strings. */
  binary?: boolean;
  /** False to send this as a fragment of a longer message (RFC 6455 §5.4). Default true. */
  fin?: boolean;
  /**
   * Compress this message when permessage-deflate is in use and the message
   * is at least `threshold` bytes. Default true. Fragments are never compressed.
   */
  compress?: boolean;
}

/**
 * A message serialized once as an unmasked, unfragmented frame (RFC 6455
 * §5.2): a broadcast to N server-side sockets then costs one encoding and N
 * writes of the same buffer.
 */
export class PreparedMessage {
  readonly frame: Buffer;
  readonly isBinary: boolean;
  readonly payloadLength: number;

  constructor(readonly data: string | Buffer) {
    this.isBinary = typeof data !== 'string';
    const frame = encodeFrame({ fin: true, opcode: this.isBinary ? Opcode.Binary : Opcode.Text, payload: data, mask: null });
    this.frame = Array.isArray(frame) ? Buffer.concat(frame) : frame;
    this.payloadLength = this.isBinary ? data.length : Buffer.byteLength(data);
  }
}

export type SendCallback = (error?: Error | null) => void;
export type Sendable = string | Buffer | ArrayBuffer | ArrayBufferView;

const DEFAULT_CLOSE_TIMEOUT = 10_000;
const EMPTY = Buffer.alloc(0);
/** Never pushed to: see the queues of WebSocket. */
const NONE: never[] = [];

/** Masking keys come from a pooled random buffer refilled 2048 keys at a time (RFC 6455 §5.3, §10.3). */
const maskPool = Buffer.alloc(8192);
let maskPoolOffset = maskPool.length;
function randomMask(): Uint8Array {
  if (maskPoolOffset === maskPool.length) {
    randomFillSync(maskPool);
    maskPoolOffset = 0;
  }
  const mask = maskPool.subarray(maskPoolOffset, maskPoolOffset + 4);
  maskPoolOffset += 4;
  return mask;
}

/** Shared socket listeners find their WebSocket through this key: no closures per connection. */
const kWebSocket = Symbol('pushwire.websocket');
type BoundSocket = Duplex & { [kWebSocket]?: WebSocket };

/** Listener signatures of WebSocket's events. */
export interface WebSocketEvents {
  open: () => void;
  message: (data: Buffer, isBinary: boolean) => void;
  ping: (data: Buffer) => void;
  pong: (data: Buffer) => void;
  close: (code: number, reason: string) => void;
  error: (error: Error) => void;
  drain: () => void;
}

// Typed overloads for the events above, merged into the class below.
export interface WebSocket {
  on<E extends keyof WebSocketEvents>(event: E, listener: WebSocketEvents[E]): this;
  once<E extends keyof WebSocketEvents>(event: E, listener: WebSocketEvents[E]): this;
  off<E extends keyof WebSocketEvents>(event: E, listener: WebSocketEvents[E]): this;
}

/**
 * A WebSocket connection, server side or client side, with an EventEmitter API
 * familiar to `ws` users.
 *
 * Events: `open` (clients); `message (data: Buffer, isBinary: boolean)`; `ping (data)`;
 * `pong (data)`; `close (code: number, reason: string)`; `error (error)`;
 * `drain` when buffered data has been flushed.
 * `error` is only emitted while someone listens, so a misbehaving peer can
 * never crash a process that did not subscribe to it.
 *
 * @example
 * const ws = new WebSocket('ws://127.0.0.1:9001/');
 * ws.on('open', () => ws.send('hello'));
 * ws.on('message', (data, isBinary) => console.log(isBinary ? data : data.toString()));
 */
export class WebSocket extends EventEmitter {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;

  private target: string;
  /** The agreed subprotocol, '' when none. */
  protocol = '';
  private state: ReadyState = CONNECTING;
  private socket: BoundSocket | null = null;
  private connection: Connection | null = null;
  private readonly role: Role;
  // Queues start as the shared empty NONE and get their own array on first push:
  // an idle connection carries no arrays (memory per connection).
  private outgoing: Buffer[] = NONE;
  /** The options given (a server shares one object among all its sockets). */
  private readonly options: ClientOptions;
  private deflate: PerMessageDeflate | null = null;
  /** Messages waiting for earlier compressed ones to be inflated, in order. */
  private inbound: InboundMessage[] = NONE;
  /** Sends (and a close) waiting for earlier messages to be compressed, in order. */
  private outbound: OutboundJob[] = NONE;
  private outboundBytes = 0;
  private fragmenting = false;
  private closeTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private closeCode: number = CloseCode.Abnormal;
  private closeReason = '';
  /** A ping's payload waiting for its pong until the socket drains (see onPing). */
  private pendingPong: Buffer | null = null;
  /** Set on every received chunk; cleared by the keepalive sweep. @internal */
  alive = true;
  /** The server's set of open connections, which this one leaves when it closes. @internal */
  registry: Set<WebSocket> | null = null;

  /**
   * Connect to `address` (ws://, wss://). Passing `null` creates a server-side
   * socket; that is for WebSocketServer, which then calls `attach`.
   */
  constructor(address: string | URL | null, options: ClientOptions = {}) {
    super();
    assertLimits(options, SOCKET_LIMITS);
    assertDeflateSettings(options.perMessageDeflate);
    this.options = options;
    if (address === null) {
      this.role = 'server';
      this.target = '';
      return;
    }
    this.role = 'client';
    this.target = String(address);
    this.connect(new URL(address), options);
  }

  /** The URL connected to (client) or the request target (server side). */
  get url(): string {
    return this.target;
  }

  get readyState(): ReadyState {
    return this.state;
  }

  /** Bytes accepted by `send` and not yet handed to the operating system (including messages waiting to be compressed). */
  get bufferedAmount(): number {
    return (this.socket ? this.socket.writableLength : 0) + this.outboundBytes;
  }

  /** The negotiated extensions, as the Sec-WebSocket-Extensions value ('' for none). */
  get extensions(): string {
    return this.deflate ? 'permessage-deflate' : '';
  }

  /**
   * Send a message. Strings go as text, bytes as binary, unless `options.binary`
   * says otherwise. Returns false when the socket's buffer is full (wait for
   * `drain` before sending more). The callback runs once the data is written.
   * Throws an InvalidStateError while connecting; after close, the callback
   * (if any) gets the error.
   */
  send(data: Sendable, options: SendOptions | SendCallback = {}, callback?: SendCallback): boolean {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    if (this.state === CONNECTING) throw new InvalidStateError('WebSocket is still connecting');
    if (this.state !== OPEN) {
      if (callback) process.nextTick(callback, new InvalidStateError('WebSocket is not open'));
      return false;
    }
    const isBinary = options.binary ?? typeof data !== 'string';
    const fin = options.fin ?? true;
    const payload = toPayload(data, isBinary);
    const compress =
      this.deflate !== null &&
      options.compress !== false &&
      fin &&
      !this.fragmenting &&
      byteLength(payload) >= this.deflate.threshold;
    this.fragmenting = !fin;
    if (!compress && this.outbound.length === 0) {
      this.connection!.send(payload, isBinary, fin);
      return this.flush(callback);
    }
    // Behind a message being compressed, everything waits its turn (RFC 7692 keeps message order).
    const job: OutboundJob = { payload, isBinary, fin, compressed: null, callback };
    if (this.outbound === NONE) this.outbound = [];
    this.outbound.push(job);
    this.outboundBytes += byteLength(payload);
    if (compress) {
      const bytes = typeof payload === 'string' ? Buffer.from(payload) : toBuffer(payload);
      job.compressed = 'pending';
      this.deflate!.compress(bytes, (error, result) => {
        job.compressed = error ? null : result!;
        this.sendQueued();
      });
    }
    return this.socket ? !this.socket.writableNeedDrain : false;
  }

  /**
   * Send a message encoded once for many sockets (see PreparedMessage). Falls
   * back to `send` where the shared frame cannot be used: on a client (frames
   * are masked per connection), while a fragmented message or a compression
   * is in progress, or when permessage-deflate would compress this message.
   */
  sendPrepared(message: PreparedMessage, callback?: SendCallback): boolean {
    if (
      this.state !== OPEN ||
      this.role === 'client' ||
      this.fragmenting ||
      this.outbound.length > 0 ||
      (this.deflate !== null && message.payloadLength >= this.deflate.threshold)
    ) {
      return this.send(message.data, { binary: message.isBinary }, callback);
    }
    this.connection!.sendEncoded(message.frame);
    return this.flush(callback);
  }

  /** Send a ping (payload at most 125 bytes, RFC 6455 §5.5.2). */
  ping(data: Sendable = EMPTY, callback?: SendCallback): void {
    this.sendControl('ping', data, callback);
  }

  /** Send a pong (payload at most 125 bytes, RFC 6455 §5.5.3). */
  pong(data: Sendable = EMPTY, callback?: SendCallback): void {
    this.sendControl('pong', data, callback);
  }

  /**
   * Start the closing handshake (RFC 6455 §7.1.2). `code` must be one that may
   * be sent (1000–1003, 1007–1014, 3000–4999); without one the close frame is
   * empty. The socket is dropped if the peer does not answer within `closeTimeout`.
   */
  close(code?: number, reason?: string): void {
    if (this.state === CLOSED || this.state === CLOSING) return;
    if (this.state === CONNECTING) {
      this.failHandshake(new ClientHandshakeError('PW_ERR_CONNECTION_CLOSED', 'closed before the connection was established'));
      return;
    }
    encodeClosePayload(code, reason); // throws now for a code that may not be sent
    this.state = CLOSING;
    if (this.outbound.length > 0) {
      this.outbound.push({ close: { code, reason } }); // non-empty, so already its own array
      return;
    }
    this.sendClose(code, reason);
  }

  private sendClose(code: number | undefined, reason: string | undefined): void {
    this.connection!.close(code, reason);
    this.flush();
    this.startCloseTimer();
  }

  /** Send what waits in `outbound`, in order, up to the first message still being compressed. */
  private sendQueued(): void {
    const connection = this.connection!;
    this.socket?.cork(); // whatever is ready leaves in one writev
    try {
      this.sendReady(connection);
    } finally {
      this.socket?.uncork();
    }
  }

  private sendReady(connection: Connection): void {
    while (this.outbound.length > 0) {
      const job = this.outbound[0];
      if ('close' in job) {
        this.outbound.shift();
        if (connection.state === 'open') this.sendClose(job.close.code, job.close.reason);
        continue;
      }
      if (job.compressed === 'pending') return;
      this.outbound.shift();
      this.outboundBytes -= byteLength(job.payload);
      if (connection.state !== 'open') {
        if (job.callback) process.nextTick(job.callback, new InvalidStateError('WebSocket is not open'));
        continue;
      }
      if (job.compressed) connection.send(job.compressed, job.isBinary, true, true);
      else connection.send(job.payload, job.isBinary, job.fin);
      this.flush(job.callback);
    }
  }

  /**
   * Hold writes until `uncork`, so that several messages leave in one
   * `writev` (a fan-out serving many publishes in one event-loop turn).
   * Calls nest; every `cork` needs its `uncork`.
   */
  cork(): void {
    this.socket?.cork();
  }

  uncork(): void {
    this.socket?.uncork();
  }

  /** Drop the TCP connection at once, without a closing handshake. */
  terminate(): void {
    if (this.socket) this.socket.destroy();
    else if (this.state !== CLOSED) this.finish();
  }

  // ---- binding to a socket ----

  /**
   * Take over a socket whose opening handshake is complete; nothing is read
   * until `start`, so listeners added in between miss no message. @internal
   */
  attach(socket: Duplex, protocol: string, url = '', deflate: DeflateParams | null = null): void {
    if (url) this.target = url;
    this.protocol = protocol;
    if (deflate) {
      this.deflate = new PerMessageDeflate(deflate, this.role, this.options.maxPayload ?? DEFAULT_MAX_PAYLOAD, deflateSettings(this.options) ?? {});
    }
    const bound = socket as BoundSocket;
    bound[kWebSocket] = this;
    this.socket = bound;
    this.connection = new Connection(new ConnectionEvents(this), {
      role: this.role,
      maxPayload: this.options.maxPayload,
      maxFragments: this.options.maxFragments,
      // Pongs are written by onPing, which knows whether the socket is backed up.
      autoPong: false,
      generateMask: this.role === 'client' ? randomMask : undefined,
      perMessageDeflate: deflate !== null,
    });
    // TCP settings, where there is TCP: node:http hands upgrades over as a Duplex.
    if (socket instanceof net.Socket) {
      socket.setNoDelay(true);
      socket.setTimeout(0);
    }
    // Only what every connection needs: 'drain' is watched once a write
    // returns false, and 'end' only where Node does not end the socket itself.
    if (socket.allowHalfOpen) socket.on('end', socketOnEnd);
    socket.on('close', socketOnClose);
    socket.on('error', socketOnError);
    this.state = OPEN;
  }

  /**
   * Start reading: first `head`, the bytes that arrived behind the handshake,
   * then the socket. `request` is handed to the handler's onOpen. @internal
   */
  start(head: Buffer, request?: UpgradeRequest): void {
    const socket = this.socket!;
    if (this.role === 'client') this.emit('open');
    this.callHandler('onOpen', request);
    if (head.length > 0 && this.state === OPEN) this.receive(head);
    socket.on('data', socketOnData);
    socket.resume();
  }

  /** @internal */
  receive(chunk: Buffer): void {
    this.alive = true;
    // Everything written while this chunk is processed — replies sent from
    // 'message' listeners, pongs, a close — leaves in one writev.
    const socket = this.socket!;
    socket.cork();
    try {
      this.connection!.receive(chunk);
      this.flush();
    } finally {
      socket.uncork();
    }
  }

  /** @internal Queue bytes produced by the Connection. */
  queue(data: Buffer): void {
    if (this.outgoing === NONE) this.outgoing = [];
    this.outgoing.push(data);
  }

  /** Write what the Connection produced, one corked batch, callback on the last write. */
  private flush(callback?: SendCallback): boolean {
    const socket = this.socket;
    const out = this.outgoing;
    if (!socket || socket.destroyed || !socket.writable) {
      out.length = 0;
      if (callback) process.nextTick(callback, new InvalidStateError('socket is closed'));
      return false;
    }
    if (out.length === 0) {
      if (callback) process.nextTick(callback);
      return !socket.writableNeedDrain;
    }
    let ok: boolean;
    if (out.length === 1) {
      ok = socket.write(out[0], callback);
    } else {
      socket.cork();
      const last = out.length - 1;
      for (let i = 0; i < last; i++) socket.write(out[i]);
      ok = socket.write(out[last], callback);
      socket.uncork();
    }
    out.length = 0;
    if (!ok) this.watchDrain();
    return ok;
  }

  private sendControl(kind: 'ping' | 'pong', data: Sendable, callback?: SendCallback): void {
    if (this.state === CONNECTING) throw new InvalidStateError('WebSocket is still connecting');
    if (this.state !== OPEN) {
      if (callback) process.nextTick(callback, new InvalidStateError('WebSocket is not open'));
      return;
    }
    this.connection![kind](toPayload(data, true));
    this.flush(callback);
  }

  // ---- events from the Connection (see ConnectionEvents) ----

  /** @internal */
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void {
    if (!compressed && this.inbound.length === 0) {
      this.deliver(data, isBinary);
      return;
    }
    // Keep order behind messages still being inflated, and stop reading until they are.
    const entry: InboundMessage = { data: compressed ? null : data, isBinary };
    if (this.inbound === NONE) this.inbound = [];
    this.inbound.push(entry);
    this.socket!.pause();
    if (!compressed) return;
    this.deflate!.decompress(data, (error, result) => {
      if (error) return this.failInbound(error as ProtocolError);
      // RFC 7692 §6: the inflated text is what must be UTF-8 (RFC 6455 §8.1).
      if (!isBinary && !isUtf8(result!)) {
        return this.failInbound(new ProtocolError('PW_ERR_INVALID_UTF8', 1007, 'text message is not valid UTF-8'));
      }
      entry.data = result!;
      this.deliverInbound();
    });
  }

  /**
   * @internal A ping arrived: answer it with a pong carrying the same data
   * (RFC 6455 §5.5.2), unless our close frame is out. While the socket is
   * backed up only the latest ping is answered, once it drains — §5.5.3
   * allows answering just the most recent — so a peer that pings and never
   * reads cannot make pongs pile up in memory.
   */
  onPing(data: Buffer): void {
    if (this.socket!.writableNeedDrain) {
      this.pendingPong = Buffer.from(data); // a copy: `data` is a view into a received chunk
      this.watchDrain();
    } else if (this.connection!.state === 'open') {
      this.connection!.pong(data); // leaves with receive()'s flush
    }
    this.emit('ping', data);
  }

  /** @internal The socket's buffer emptied: the peer reads again. */
  onDrain(): void {
    this.alive = true;
    const pong = this.pendingPong;
    if (pong !== null) {
      this.pendingPong = null;
      if (this.connection!.state === 'open') {
        this.connection!.pong(pong);
        this.flush();
      }
    }
    this.emit('drain');
  }

  private watchDrain(): void {
    const socket = this.socket!;
    if (socket.listenerCount('drain', socketOnDrain) === 0) socket.on('drain', socketOnDrain);
  }

  private failInbound(error: ProtocolError): void {
    this.inbound.length = 0;
    this.connection!.fail(error); // onProtocolError writes the close frame and ends TCP
  }

  private deliverInbound(): void {
    while (this.inbound.length > 0 && this.inbound[0].data !== null) {
      const { data, isBinary } = this.inbound.shift()!;
      this.socket!.cork();
      try {
        this.deliver(data!, isBinary);
        this.flush();
      } finally {
        this.socket!.uncork();
      }
    }
    if (this.inbound.length === 0) this.socket!.resume();
  }

  private deliver(data: Buffer, isBinary: boolean): void {
    if (this.socket!.destroyed) return; // terminated by an earlier listener
    this.emit('message', data, isBinary);
    this.callHandler('onMessage', data, isBinary);
  }

  /** @internal The peer's close frame arrived (RFC 6455 §7.1.3). */
  onCloseReceived(code: number, reason: string): void {
    this.closeCode = code;
    this.closeReason = reason;
    this.state = CLOSING;
    this.endTransport();
  }

  /** @internal The peer broke the protocol; our close frame is queued (§7.1.7). */
  onProtocolError(error: ProtocolError): void {
    this.closeCode = error.closeCode;
    this.closeReason = error.message;
    this.state = CLOSING;
    this.emitError(error);
    this.endTransport();
  }

  /**
   * §7.1.1: "the underlying TCP connection, in most normal cases, SHOULD be
   * closed first by the server". The server ends TCP now; the client waits for
   * the server to do so, and drops it itself after `closeTimeout`.
   */
  private endTransport(): void {
    this.flush();
    if (this.role === 'server') this.socket?.end();
    this.startCloseTimer();
  }

  private startCloseTimer(): void {
    if (this.closeTimer || !this.socket) return;
    this.closeTimer = setTimeout(destroySocket, this.options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT, this.socket);
    this.closeTimer.unref();
  }

  /** @internal The TCP connection is gone. */
  finish(): void {
    if (this.state === CLOSED) return;
    this.state = CLOSED;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.closeTimer = this.heartbeatTimer = null;
    this.registry?.delete(this);
    this.deflate?.close();
    this.inbound.length = 0;
    for (const job of this.outbound.splice(0)) {
      if ('payload' in job && job.callback) process.nextTick(job.callback, new InvalidStateError('WebSocket is closed'));
    }
    this.outboundBytes = 0;
    this.emit('close', this.closeCode, this.closeReason);
    this.callHandler('onClose', this.closeCode, this.closeReason);
  }

  private emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    const { handler } = this.options;
    if (handler?.onError) handler.onError(this, error);
  }

  private callHandler(name: 'onOpen' | 'onMessage' | 'onClose', ...args: unknown[]): void {
    const { handler } = this.options;
    const method = handler?.[name] as ((...a: unknown[]) => void) | undefined;
    if (!method) return;
    try {
      method.call(handler, this, ...args);
    } catch (error) {
      this.emitError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  // ---- client: connect and opening handshake (RFC 6455 §4.1) ----

  private connect(url: URL, options: ClientOptions): void {
    this.socket = connectClient(url, options, deflateSettings(options), {
      opened: (socket, protocol, deflate, rest) => {
        this.attach(socket, protocol, '', deflate);
        if (options.pingInterval) {
          this.heartbeatTimer = setInterval(sweepHeartbeat, options.pingInterval, this);
          this.heartbeatTimer.unref();
        }
        this.start(rest);
      },
      failed: (error) => this.failHandshake(error),
    }) as BoundSocket;
  }

  private failHandshake(error: Error): void {
    if (this.state !== CONNECTING) return;
    this.state = CLOSING;
    this.socket?.destroy();
    // Like a browser: 'error', then 'close' on a later tick.
    process.nextTick(failHandshakeEvents, this, error);
  }

  /** @internal */
  reportHandshakeFailure(error: Error): void {
    this.emitError(error);
    setImmediate(finishSocket, this);
  }
}

/** Delivers Connection events to its WebSocket. */
class ConnectionEvents implements ConnectionHandler {
  constructor(private readonly ws: WebSocket) {}
  write(data: Buffer): void {
    this.ws.queue(data);
  }
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void {
    this.ws.onMessage(data, isBinary, compressed);
  }
  onPing(data: Buffer): void {
    this.ws.onPing(data);
  }
  onPong(data: Buffer): void {
    this.ws.emit('pong', data);
  }
  onCloseReceived(code: number, reason: string): void {
    this.ws.onCloseReceived(code, reason);
  }
  onProtocolError(error: ProtocolError): void {
    this.ws.onProtocolError(error);
  }
}

type InboundMessage = { data: Buffer | null; isBinary: boolean };
type OutboundJob =
  | {
      payload: Uint8Array | string;
      isBinary: boolean;
      fin: boolean;
      /** The compressed payload; 'pending' while zlib works; null to send uncompressed. */
      compressed: Buffer | 'pending' | null;
      callback?: SendCallback;
    }
  | { close: { code?: number; reason?: string } };

function byteLength(payload: Uint8Array | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

function toPayload(data: Sendable, isBinary: boolean): Uint8Array | string {
  if (typeof data === 'string') return isBinary ? Buffer.from(data) : data;
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('send() takes a string, Buffer, ArrayBuffer or typed array');
}

// Shared socket listeners ('this' is the socket).
/** `perMessageDeflate` as settings, or null when it is off. */
function deflateSettings(options: ClientOptions): PerMessageDeflateOptions | null {
  const value = options.perMessageDeflate;
  return value === true ? {} : value ? value : null;
}

function socketOnData(this: BoundSocket, chunk: Buffer): void {
  this[kWebSocket]!.receive(chunk);
}
function socketOnEnd(this: BoundSocket): void {
  // The peer closed its side; finish ours (allowHalfOpen sockets stay open otherwise).
  this.end();
}
function socketOnClose(this: BoundSocket): void {
  this[kWebSocket]!.finish();
}
function socketOnDrain(this: BoundSocket): void {
  this[kWebSocket]!.onDrain();
}
function socketOnError(this: BoundSocket): void {
  // ECONNRESET and the like: the 'close' event that follows reports 1006.
  this.destroy();
}
function finishSocket(ws: WebSocket): void {
  ws.finish();
}
function failHandshakeEvents(ws: WebSocket, error: Error): void {
  ws.reportHandshakeFailure(error);
}
function destroySocket(socket: Duplex): void {
  socket.destroy();
}

/**
 * One keepalive round for one connection: drop it if nothing arrived since the
 * last round, otherwise ping it. @internal
 */
export function sweepHeartbeat(ws: WebSocket): void {
  if (!ws.alive) {
    ws.terminate();
    return;
  }
  ws.alive = false;
  if (ws.readyState === OPEN) ws.ping();
}
