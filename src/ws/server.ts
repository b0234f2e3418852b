// WebSocketServer: accepts opening handshakes (RFC 6455 §4.2) on its own
// node:net listener, on a node:http(s) server's 'upgrade' event, or through
// handleUpgrade for callers that route upgrades themselves. All three paths
// share validateUpgradeRequest and the same WebSocket binding.
import { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { HandshakeError } from '../protocol/errors.js';
import {
  acceptResponse,
  errorResponse,
  validateUpgradeRequest,
  type UpgradeRequest,
} from '../protocol/handshake.js';
import { HeadReader, parseRequestHead, type HeadLimits } from '../protocol/http-head.js';
import { negotiateDeflate } from '../protocol/extensions.js';
import { CloseCode } from '../protocol/close.js';
import { assertDeflateSettings, assertLimits, SERVER_LIMITS } from './options.js';
import { sweepHeartbeat, WebSocket, type SocketOptions, type WebSocketHandler } from './websocket.js';

/** A verifyClient answer: accept, refuse with 403, or refuse with a chosen status. */
export type VerifyResult = boolean | { status: number; message?: string; headers?: Record<string, string> };

export interface VerifyInfo<Request extends UpgradeRequest = UpgradeRequest> {
  request: Request;
  /** Lower-cased Origin header, if the client sent one (browsers always do). */
  origin: string | undefined;
  /** True when the connection is TLS. */
  secure: boolean;
}

export interface WebSocketServerOptions<Request extends UpgradeRequest = UpgradeRequest> extends SocketOptions, HeadLimits {
  /** Listen on this port with pushwire's own HTTP head parser (mode a). */
  port?: number;
  /** Address for `port`. Default 127.0.0.1. */
  host?: string;
  /** Attach to this HTTP(S) server's 'upgrade' event (mode b). */
  server?: http.Server;
  /** Neither listen nor attach; the caller passes upgrades to `handleUpgrade` (mode c). */
  noServer?: boolean;
  /** Accept upgrades for this pathname only (others get 404). Default: any path. */
  path?: string;
  /** Subprotocols this server speaks; the client's most preferred one among them is chosen. */
  protocols?: string[];
  /** Choose the subprotocol yourself; return false for none. Overrides `protocols`. */
  handleProtocols?: (offered: string[], request: Request) => string | false;
  /** Accept or refuse a handshake (origin checks, authentication), sync or async. */
  verifyClient?: (info: VerifyInfo<Request>) => VerifyResult | Promise<VerifyResult>;
  /** Connection-lifecycle callbacks (or pass them as the constructor's second argument). */
  handler?: WebSocketHandler<Request>;
  /** Ping every client this often (ms) and drop those that sent nothing since the last round. 0 = off. */
  pingInterval?: number;
  /** Drop a connection whose handshake has not completed within this many ms (mode a). Default 10 000. */
  handshakeTimeout?: number;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/** Listener signatures of WebSocketServer's events. */
export interface WebSocketServerEvents<Request extends UpgradeRequest = UpgradeRequest> {
  connection: (socket: WebSocket, request: Request) => void;
  listening: () => void;
  error: (error: Error) => void;
  close: () => void;
}

// Typed overloads for the events above, merged into the class below.
export interface WebSocketServer<Request extends UpgradeRequest = UpgradeRequest> {
  on<E extends keyof WebSocketServerEvents>(event: E, listener: WebSocketServerEvents<Request>[E]): this;
  once<E extends keyof WebSocketServerEvents>(event: E, listener: WebSocketServerEvents<Request>[E]): this;
  off<E extends keyof WebSocketServerEvents>(event: E, listener: WebSocketServerEvents<Request>[E]): this;
}

/**
 * A WebSocket server.
 *
 * Events: `connection (socket: WebSocket, request: Request)`,
 * `listening`, `error (error)`, `close`.
 *
 * `Request` is the request handed to `connection`, `onOpen`, `verifyClient`
 * and `handleProtocols`: the parsed head (UpgradeRequest) with `port`; with
 * `server`, or `noServer` fed from node:http's 'upgrade' event, it is that
 * very `http.IncomingMessage` — say so with
 * `new WebSocketServer<http.IncomingMessage>(…)`.
 *
 * @example
 * const server = new WebSocketServer({ port: 9001 });
 * server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
 */
export class WebSocketServer<Request extends UpgradeRequest = UpgradeRequest> extends EventEmitter {
  /** Open connections. */
  readonly clients = new Set<WebSocket>();
  private readonly options: WebSocketServerOptions<Request>;
  private readonly netServer: net.Server | null = null;
  private readonly attachedTo: http.Server | null = null;
  private readonly pendingHandshakes = new Set<Duplex>();
  private readonly heartbeat: NodeJS.Timeout | null = null;
  /** Mode a: one timer for all pending handshakes (a per-socket timeout would outlive the handshake on the socket). */
  private readonly handshakeSweep: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: WebSocketServerOptions<Request>, handler?: WebSocketHandler<Request>) {
    super();
    const modes = [options.port !== undefined, options.server !== undefined, options.noServer === true];
    if (modes.filter(Boolean).length !== 1) {
      throw new TypeError('give exactly one of port, server or noServer');
    }
    assertLimits(options, SERVER_LIMITS);
    assertDeflateSettings(options.perMessageDeflate);
    this.options = handler ? { ...options, handler } : options;
    if (options.port !== undefined) {
      const netServer = net.createServer((socket) => this.readHandshake(socket));
      netServer.on('error', (error) => this.emit('error', error));
      netServer.on('listening', () => this.emit('listening'));
      netServer.listen(options.port, options.host ?? '127.0.0.1');
      this.netServer = netServer;
      const timeout = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
      this.handshakeSweep = setInterval(() => this.sweepHandshakes(), Math.max(50, timeout / 4));
      this.handshakeSweep.unref();
    } else if (options.server) {
      this.attachedTo = options.server;
      options.server.on('upgrade', this.onUpgrade);
    }
    if (options.pingInterval) {
      this.heartbeat = setInterval(() => this.clients.forEach(sweepHeartbeat), options.pingInterval);
      this.heartbeat.unref();
    }
  }

  /** The listening address (mode a), or the attached server's. */
  address(): net.AddressInfo | string | null {
    return (this.netServer ?? this.attachedTo)?.address() ?? null;
  }

  /**
   * Complete an opening handshake for a request parsed elsewhere (a `node:http`
   * 'upgrade' event, or your own router). `head` holds bytes that followed the
   * request. On success `callback` gets the open WebSocket, and `connection`
   * is emitted; on refusal the socket is answered with an HTTP error and closed.
   */
  handleUpgrade(
    request: Request,
    socket: Duplex,
    head: Buffer,
    callback?: (ws: WebSocket, request: Request) => void,
  ): void {
    if (!socket.listeners('error').includes(destroyOnError)) socket.on('error', destroyOnError);
    socket.pause(); // bytes that follow wait in the socket until the WebSocket reads them
    void this.completeHandshake(request, socket, head, callback);
  }

  /** Close every connection with 1001 (going away), stop listening, then call back. */
  close(callback?: (error?: Error) => void): void {
    if (this.closed) {
      if (callback) process.nextTick(callback);
      return;
    }
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.handshakeSweep) clearInterval(this.handshakeSweep);
    this.attachedTo?.off('upgrade', this.onUpgrade);
    for (const socket of this.pendingHandshakes) socket.destroy();
    const waits: Promise<void>[] = [];
    for (const ws of this.clients) {
      waits.push(new Promise((resolve) => ws.once('close', () => resolve())));
      ws.close(CloseCode.GoingAway, 'server shutting down');
    }
    if (this.netServer) {
      waits.push(new Promise((resolve) => this.netServer!.close(() => resolve())));
    }
    void Promise.all(waits).then(() => {
      this.emit('close');
      callback?.();
    });
  }

  private readonly onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!this.pathMatches(request.url) && this.attachedTo!.listenerCount('upgrade') > 1) {
      return; // another 'upgrade' listener serves this path
    }
    // Mode b: Request is IncomingMessage, or the default it extends.
    this.handleUpgrade(request as UpgradeRequest as Request, socket, head);
  };

  /** Mode a: read the request head from raw bytes with our own parser. */
  private readHandshake(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.pendingHandshakes.add(socket);
    // Shared listeners find their state on the socket: nothing per connection
    // outlives the handshake.
    const deadline = Date.now() + (this.options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT);
    (socket as HandshakeSocket)[kHandshake] = { server: this, reader: new HeadReader(this.options), deadline };
    socket.on('error', destroyOnError);
    socket.on('close', handshakeOnClose);
    socket.on('data', handshakeOnData);
  }

  /** @internal A chunk of a request head arrived on a mode-a socket. */
  readHead(socket: HandshakeSocket, reader: HeadReader, chunk: Buffer): void {
    let done: { head: string; rest: Buffer } | null;
    let request: UpgradeRequest;
    try {
      done = reader.push(chunk);
      if (!done) return;
      request = parseRequestHead(done.head, this.options);
    } catch (error) {
      refuse(socket, this.toHandshakeError(error));
      return;
    }
    socket.off('data', handshakeOnData);
    this.handleUpgrade(request as Request, socket, done.rest); // mode a: Request is the default UpgradeRequest
  }

  /** Refuse (408) the handshakes that have not completed in time. */
  private sweepHandshakes(): void {
    const now = Date.now();
    for (const socket of this.pendingHandshakes) {
      const state = (socket as HandshakeSocket)[kHandshake];
      if (state && state.deadline <= now) {
        this.pendingHandshakes.delete(socket);
        refuse(socket, new HandshakeError('PW_ERR_HANDSHAKE_TIMEOUT', 408, 'opening handshake timed out'));
      }
    }
  }

  /** @internal */
  forgetPending(socket: Duplex): void {
    this.pendingHandshakes.delete(socket);
  }

  private async completeHandshake(
    request: Request,
    socket: Duplex,
    head: Buffer,
    callback?: (ws: WebSocket, request: Request) => void,
  ): Promise<void> {
    let protocol: string;
    let deflate: ReturnType<typeof negotiateDeflate> = null;
    try {
      if (this.closed) throw new HandshakeError('PW_ERR_SHUTTING_DOWN', 503, 'server is shutting down');
      if (!this.pathMatches(request.url)) throw new HandshakeError('PW_ERR_NO_ENDPOINT', 404, 'no WebSocket endpoint at this path');
      const offer = validateUpgradeRequest(request);
      protocol = this.chooseProtocol(offer.protocols, request);
      // RFC 7692 §5: accept the first acceptable permessage-deflate offer, or none.
      const deflateOptions = this.options.perMessageDeflate;
      deflate = deflateOptions
        ? negotiateDeflate(offer.extensions, deflateOptions === true ? {} : deflateOptions)
        : null;
      if (this.options.verifyClient) {
        const verdict = await this.options.verifyClient({
          request,
          origin: offer.origin,
          secure: (socket as { encrypted?: boolean }).encrypted === true,
        });
        if (verdict !== true) {
          throw verdict === false
            ? new HandshakeError('PW_ERR_REFUSED', 403, 'connection refused')
            : new HandshakeError('PW_ERR_REFUSED', verdict.status, verdict.message ?? 'connection refused', verdict.headers);
        }
      }
      if (this.closed) throw new HandshakeError('PW_ERR_SHUTTING_DOWN', 503, 'server is shutting down');
      if (socket.destroyed) return;
      const extensionHeaders: [string, string][] = deflate ? [['Sec-WebSocket-Extensions', deflate.response]] : [];
      socket.write(acceptResponse(offer.key, protocol || undefined, extensionHeaders));
    } catch (error) {
      refuse(socket, this.toHandshakeError(error));
      return;
    }
    this.pendingHandshakes.delete(socket);
    releaseHandshake(socket);
    const ws = new WebSocket(null, this.options);
    ws.attach(socket, protocol, request.url, deflate?.params ?? null);
    this.clients.add(ws);
    ws.registry = this.clients;
    callback?.(ws, request);
    this.emit('connection', ws, request);
    ws.start(head, request);
  }

  /**
   * A refusal to send. Anything but a HandshakeError is a bug in a hook
   * (verifyClient, handleProtocols): the client gets a bare 500, the server
   * emits the error to its listeners, if any.
   */
  private toHandshakeError(error: unknown): HandshakeError {
    if (error instanceof HandshakeError) return error;
    if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
    return new HandshakeError('PW_ERR_INTERNAL', 500, 'internal server error');
  }

  private pathMatches(url: string | undefined): boolean {
    if (this.options.path === undefined) return true;
    // origin-form "/chat?x" or absolute-form "http://host/chat?x" (RFC 9112 §3.2)
    let pathname = (url ?? '/').split('?')[0];
    if (!pathname.startsWith('/')) {
      try {
        pathname = new URL(pathname).pathname;
      } catch {
        return false;
      }
    }
    return pathname === this.options.path;
  }

  /** §4.2.2 /subprotocol/: one of the client's values that the server is willing to use, or none. */
  private chooseProtocol(offered: string[], request: Request): string {
    if (offered.length === 0) return '';
    if (this.options.handleProtocols) {
      const chosen = this.options.handleProtocols(offered, request);
      if (chosen === false) return '';
      if (!offered.includes(chosen)) {
        throw new Error(`handleProtocols chose ${JSON.stringify(chosen)}, which the client did not offer`);
      }
      return chosen;
    }
    const supported = this.options.protocols ?? [];
    return offered.find((protocol) => supported.includes(protocol)) ?? '';
  }
}


/** Answer a refused handshake with its status and a JSON body, then close (RFC 6455 §4.2.1). */
function refuse(socket: Duplex, error: HandshakeError): void {
  if (socket.destroyed) return;
  socket.removeAllListeners('data');
  if (socket.writable) socket.end(errorResponse(error.status, error.message, error.headers));
  // A peer that never reads must not keep the socket alive.
  setTimeout(destroySocket, 1000, socket).unref();
}

const kHandshake = Symbol('pushwire.handshake');
// Any Request: the handshake reader is the same for all.
type HandshakeSocket = Duplex & { [kHandshake]?: { server: WebSocketServer<any>; reader: HeadReader; deadline: number } };

function handshakeOnData(this: HandshakeSocket, chunk: Buffer): void {
  const state = this[kHandshake];
  if (state) state.server.readHead(this, state.reader, chunk);
}

function handshakeOnClose(this: HandshakeSocket): void {
  this[kHandshake]?.server.forgetPending(this);
}

/** The handshake succeeded: drop its state and listeners, so nothing of it stays per connection. */
function releaseHandshake(socket: HandshakeSocket): void {
  socket.off('error', destroyOnError); // the WebSocket installs its own
  socket.off('close', handshakeOnClose);
  socket[kHandshake] = undefined;
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

function destroySocket(socket: Duplex): void {
  socket.destroy();
}
