// RFC 6455 §4 Opening Handshake: the server's reading of the client request
// (§4.2.1), the server's answer (§4.2.2), the client's request (§4.1) and its
// checks of the server's answer (§4.1, "the client MUST validate"). No I/O.
import { createHash } from 'node:crypto';
import { ClientHandshakeError, HandshakeError } from './errors.js';
import { serializeHead, splitList, TOKEN, type ResponseHead } from './http-head.js';

/** §1.3: the GUID appended to the key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** §4.2.1 item 6: the only protocol version this implementation speaks. */
export const WEBSOCKET_VERSION = '13';

/** A base64 encoding of 16 bytes (§4.2.1 item 5). */
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

/**
 * The request as the handshake sees it. Both our own head parser's output and
 * a `node:http` IncomingMessage fit this shape.
 */
export interface UpgradeRequest {
  method?: string;
  url?: string;
  httpVersion: string;
  headers: Record<string, string | string[] | undefined>;
}

/** What a valid client handshake asks for. */
export interface ClientOffer {
  /** The Sec-WebSocket-Key value, to be answered with `acceptKey(key)`. */
  key: string;
  /** Subprotocols the client offered, in its order of preference (§4.2.1 item 8). */
  protocols: string[];
  /** The lower-cased Origin, when sent (§4.2.2 step 4, /origin/). */
  origin?: string;
  /** The raw Sec-WebSocket-Extensions value, when sent (§9.1). */
  extensions?: string;
}

/** §4.2.2 step 5.4: base64(SHA-1(key + GUID)). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

/** Read one header as a single string; repeated fields are joined with ", ". */
export function headerValue(
  headers: UpgradeRequest['headers'],
  name: string,
): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function hasToken(value: string | undefined, token: string): boolean {
  return splitList(value).some((item) => item.toLowerCase() === token);
}

/**
 * Check a client's opening handshake against RFC 6455 §4.2.1, step by step.
 * Throws a HandshakeError carrying the status to answer with.
 */
export function validateUpgradeRequest(request: UpgradeRequest): ClientOffer {
  const { headers } = request;
  // 1. "An HTTP/1.1 or higher GET request"
  if (request.method !== undefined && request.method !== 'GET') {
    throw new HandshakeError('PW_ERR_INVALID_METHOD', 405, 'a WebSocket handshake must use GET', { Allow: 'GET' });
  }
  const [major, minor] = request.httpVersion.split('.').map(Number);
  if (!(major > 1 || (major === 1 && minor >= 1))) {
    throw new HandshakeError('PW_ERR_INVALID_HTTP_VERSION', 400, 'a WebSocket handshake needs HTTP/1.1 or higher');
  }
  // 3. "An |Upgrade| header field containing the value "websocket""
  //    Without it this is a plain HTTP request to a WebSocket endpoint: 426 says how to upgrade.
  if (!hasToken(headerValue(headers, 'upgrade'), 'websocket')) {
    throw new HandshakeError('PW_ERR_NOT_WEBSOCKET', 426, 'this endpoint speaks WebSocket only: Upgrade: websocket required', {
      Upgrade: 'websocket',
      Connection: 'Upgrade, close',
    });
  }
  // 4. "A |Connection| header field that includes the token "Upgrade""
  if (!hasToken(headerValue(headers, 'connection'), 'upgrade')) {
    throw new HandshakeError('PW_ERR_INVALID_CONNECTION_HEADER', 400, 'Connection header must include "Upgrade"');
  }
  // 2. "A |Host| header field containing the server's authority"
  const host = headerValue(headers, 'host');
  if (host === undefined || host === '') throw new HandshakeError('PW_ERR_MISSING_HOST', 400, 'missing Host header');
  // 6. "A |Sec-WebSocket-Version| header field, with a value of 13"
  const version = headerValue(headers, 'sec-websocket-version');
  const versionHeader = { 'Sec-WebSocket-Version': WEBSOCKET_VERSION };
  if (version === undefined) {
    throw new HandshakeError('PW_ERR_MISSING_VERSION', 400, 'missing Sec-WebSocket-Version header', versionHeader);
  }
  if (version.trim() !== WEBSOCKET_VERSION) {
    // §4.2.2 step 4, /version/: answer 426 naming the versions understood.
    throw new HandshakeError('PW_ERR_UNSUPPORTED_VERSION', 426, `unsupported WebSocket version ${JSON.stringify(version)}`, versionHeader);
  }
  // 5. "A |Sec-WebSocket-Key| header field with a base64-encoded value that,
  //    when decoded, is 16 bytes in length"
  const key = headerValue(headers, 'sec-websocket-key')?.trim();
  if (key === undefined || !KEY_PATTERN.test(key)) {
    throw new HandshakeError('PW_ERR_INVALID_KEY', 400, 'missing or invalid Sec-WebSocket-Key header');
  }
  // 8. "Optionally, a |Sec-WebSocket-Protocol| header field" — a list of tokens.
  const protocols = parseProtocolList(headerValue(headers, 'sec-websocket-protocol'));
  const origin = headerValue(headers, 'origin') ?? headerValue(headers, 'sec-websocket-origin');
  return {
    key,
    protocols,
    origin: origin?.toLowerCase(),
    extensions: headerValue(headers, 'sec-websocket-extensions'),
  };
}

/** Parse Sec-WebSocket-Protocol: distinct tokens, comma-separated (§4.3, §11.3.4). */
export function parseProtocolList(value: string | undefined): string[] {
  if (value === undefined) return [];
  const protocols = value.split(',').map((item) => item.trim());
  const seen = new Set<string>();
  for (const protocol of protocols) {
    if (!TOKEN.test(protocol)) {
      throw new HandshakeError('PW_ERR_INVALID_SUBPROTOCOL', 400, `invalid subprotocol ${JSON.stringify(protocol)}`);
    }
    if (seen.has(protocol)) throw new HandshakeError('PW_ERR_INVALID_SUBPROTOCOL', 400, `subprotocol ${protocol} offered twice`);
    seen.add(protocol);
  }
  return protocols;
}

/** The server's 101 answer (§4.2.2 step 5). */
export function acceptResponse(
  key: string,
  protocol?: string,
  extraHeaders: Iterable<[string, string]> = [],
): string {
  const headers: [string, string][] = [
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Accept', acceptKey(key)],
  ];
  if (protocol) headers.push(['Sec-WebSocket-Protocol', protocol]);
  headers.push(...extraHeaders);
  return serializeHead('HTTP/1.1 101 Switching Protocols', headers);
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** An HTTP error answer with a JSON body `{"error": message}`; the connection closes after it. */
export function errorResponse(
  status: number,
  message: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): string {
  const body = JSON.stringify({ error: message });
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...extraHeaders,
  };
  return serializeHead(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, Object.entries(headers)) + body;
}

// ---- client side (§4.1) ----

/** What the client puts in its request. */
export interface ClientRequest {
  /** Request target: path and query, e.g. "/chat?room=1". */
  path: string;
  /** Host header value: host[:port] (§4.1 item 4). */
  host: string;
  /** A fresh nonce: base64 of 16 random bytes (§4.1 item 7). */
  key: string;
  protocols?: string[];
  origin?: string;
  /** Further header fields (cookies, authorization). */
  headers?: Record<string, string>;
}

/** Make a Sec-WebSocket-Key from 16 random bytes supplied by the caller. */
export function keyFromNonce(nonce: Uint8Array): string {
  if (nonce.length !== 16) throw new RangeError('the nonce must be 16 bytes (RFC 6455 §4.1)');
  return Buffer.from(nonce).toString('base64');
}

/** The client's opening handshake (§4.1 items 1–12). */
export function clientRequest(request: ClientRequest): string {
  const headers: [string, string][] = [
    ['Host', request.host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', request.key],
    ['Sec-WebSocket-Version', WEBSOCKET_VERSION],
  ];
  if (request.protocols && request.protocols.length > 0) {
    for (const protocol of request.protocols) {
      if (!TOKEN.test(protocol)) throw new SyntaxError(`invalid subprotocol ${JSON.stringify(protocol)}`);
    }
    if (new Set(request.protocols).size !== request.protocols.length) {
      throw new SyntaxError('subprotocols must be distinct');
    }
    headers.push(['Sec-WebSocket-Protocol', request.protocols.join(', ')]);
  }
  if (request.origin) headers.push(['Origin', request.origin]);
  for (const [name, value] of Object.entries(request.headers ?? {})) headers.push([name, value]);
  return serializeHead(`GET ${request.path} HTTP/1.1`, headers);
}

/**
 * Check the server's answer (§4.1, "If the server's response does not conform
 * ... the client MUST _Fail the WebSocket Connection_"). Returns the agreed
 * subprotocol ('' for none).
 */
export function verifyServerResponse(
  response: ResponseHead,
  expected: { key: string; protocols?: string[]; extensionsOffered?: boolean },
): { protocol: string; extensions?: string } {
  const { headers } = response;
  // 1. "If the status code received from the server is not 101, the client handles
  //    the response per HTTP procedures" — we do not follow redirects or auth.
  if (response.status !== 101) {
    throw new ClientHandshakeError(
      'PW_ERR_UNEXPECTED_STATUS',
      `server answered ${response.status} ${response.statusText}`.trim(),
      response.status,
    );
  }
  // 2. Upgrade must be "websocket" (case-insensitive).
  if (headers['upgrade']?.toLowerCase() !== 'websocket') {
    throw new ClientHandshakeError('PW_ERR_INVALID_UPGRADE_RESPONSE', 'response lacks "Upgrade: websocket"', 101);
  }
  // 3. Connection must contain the token "Upgrade".
  if (!hasToken(headers['connection'], 'upgrade')) {
    throw new ClientHandshakeError('PW_ERR_INVALID_UPGRADE_RESPONSE', 'response lacks "Connection: Upgrade"', 101);
  }
  // 4. Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)).
  if (headers['sec-websocket-accept']?.trim() !== acceptKey(expected.key)) {
    throw new ClientHandshakeError('PW_ERR_INVALID_ACCEPT', 'Sec-WebSocket-Accept does not match the key', 101);
  }
  // 5. No extension we did not ask for (§9.1); what was chosen among our
  //    offers is checked by the extension (extensions.ts).
  const extensions = headers['sec-websocket-extensions'];
  if (extensions !== undefined && !expected.extensionsOffered) {
    throw new ClientHandshakeError('PW_ERR_UNEXPECTED_EXTENSION', 'server selected an extension that was not offered', 101);
  }
  // 6. A subprotocol, if any, must be one we offered.
  const protocol = headers['sec-websocket-protocol']?.trim() ?? '';
  if (protocol !== '' && !(expected.protocols ?? []).includes(protocol)) {
    throw new ClientHandshakeError(
      'PW_ERR_UNEXPECTED_SUBPROTOCOL',
      `server selected subprotocol ${JSON.stringify(protocol)} that was not offered`,
      101,
    );
  }
  return { protocol, extensions };
}
