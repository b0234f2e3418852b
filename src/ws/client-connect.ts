// The client's side of the opening handshake (RFC 6455 §4.1): open TCP or
// TLS, send the GET with a fresh Sec-WebSocket-Key, read the response head
// and check it (§4.1 steps 1-6 of "the client MUST validate the server's
// response"), then hand the socket to the WebSocket that asked.
import { randomFillSync } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { ClientHandshakeError } from '../protocol/errors.js';
import { acceptDeflateResponse, deflateOffer, type DeflateOptions, type DeflateParams } from '../protocol/extensions.js';
import { clientRequest, keyFromNonce, verifyServerResponse } from '../protocol/handshake.js';
import { HeadReader, parseResponseHead } from '../protocol/http-head.js';

const DEFAULT_HANDSHAKE_TIMEOUT = 30_000;

/** What the handshake needs of the client's options. */
export interface ConnectSettings {
  protocols?: string | string[];
  origin?: string;
  headers?: Record<string, string>;
  handshakeTimeout?: number;
  tls?: tls.ConnectionOptions;
}

/** How the handshake ends: once, one way or the other. */
export interface HandshakeOutcome {
  /** The server accepted: `rest` is what arrived behind the response head. */
  opened(socket: net.Socket, protocol: string, deflate: DeflateParams | null, rest: Buffer): void;
  failed(error: Error): void;
}

/**
 * Connect to `url` (ws:, wss:, or http:/https: as aliases) and run the
 * opening handshake, offering permessage-deflate when `deflateOptions` is set. Throws SyntaxError for a URL no WebSocket can use; every
 * later failure goes to `outcome.failed`. Returns the socket at once, so the
 * caller can destroy it while the handshake runs.
 */
export function connectClient(
  url: URL,
  options: ConnectSettings,
  deflateOptions: DeflateOptions | null,
  outcome: HandshakeOutcome,
): net.Socket {
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  if (!secure && url.protocol !== 'ws:' && url.protocol !== 'http:') {
    throw new SyntaxError(`unsupported URL scheme ${url.protocol} (use ws: or wss:)`);
  }
  if (url.hash) throw new SyntaxError('a WebSocket URL must not have a fragment (RFC 6455 §3)');
  const port = Number(url.port) || (secure ? 443 : 80);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const protocols =
    options.protocols === undefined ? [] : typeof options.protocols === 'string' ? [options.protocols] : options.protocols;
  // §4.1: the key is 16 random bytes, base64-encoded, new for every connection.
  const key = keyFromNonce(randomFillSync(new Uint8Array(16)));
  const request = clientRequest({
    path: `${url.pathname}${url.search}`,
    host: url.port ? `${url.hostname}:${url.port}` : url.hostname,
    key,
    protocols,
    origin: options.origin,
    headers: deflateOptions
      ? { ...options.headers, 'Sec-WebSocket-Extensions': deflateOffer(deflateOptions) }
      : options.headers,
  });
  const socket = secure
    ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...options.tls })
    : net.connect({ host, port });
  const reader = new HeadReader();
  const timer = setTimeout(() => {
    outcome.failed(new ClientHandshakeError('PW_ERR_HANDSHAKE_TIMEOUT', 'opening handshake timed out'));
  }, options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT);
  timer.unref();
  socket.once(secure ? 'secureConnect' : 'connect', () => socket.write(request));
  socket.on('data', (chunk: Buffer) => {
    let done: { head: string; rest: Buffer } | null;
    let protocol: string;
    let deflate: DeflateParams | null = null;
    try {
      done = reader.push(chunk);
      if (!done) return;
      const response = parseResponseHead(done.head, (message) => new ClientHandshakeError('PW_ERR_MALFORMED_RESPONSE', message));
      const agreed = verifyServerResponse(response, { key, protocols, extensionsOffered: deflateOptions !== null });
      protocol = agreed.protocol;
      if (agreed.extensions !== undefined) deflate = acceptDeflateResponse(agreed.extensions, deflateOptions!);
    } catch (error) {
      clearTimeout(timer);
      outcome.failed(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    clearTimeout(timer);
    socket.removeAllListeners('data');
    socket.removeAllListeners('error');
    socket.removeAllListeners('close');
    outcome.opened(socket, protocol, deflate, done.rest);
  });
  socket.on('error', (error) => {
    clearTimeout(timer);
    outcome.failed(error);
  });
  socket.on('close', () => {
    clearTimeout(timer);
    outcome.failed(new ClientHandshakeError('PW_ERR_CONNECTION_CLOSED', 'connection closed during the opening handshake'));
  });
  return socket;
}
