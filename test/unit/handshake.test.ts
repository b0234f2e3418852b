import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientHandshakeError, HandshakeError } from '../../src/protocol/errors.js';
import {
  acceptKey,
  acceptResponse,
  clientRequest,
  errorResponse,
  keyFromNonce,
  validateUpgradeRequest,
  verifyServerResponse,
} from '../../src/protocol/handshake.js';
import { HeadReader, parseRequestHead, parseResponseHead, serializeHead } from '../../src/protocol/http-head.js';
import { cutsArbitrary, splitAt } from '../helpers/chunking.js';

const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function request(headers: Record<string, string>, method = 'GET', version = '1.1') {
  const base: Record<string, string> = {
    host: 'server.example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': RFC_KEY,
    'sec-websocket-version': '13',
  };
  const merged = { ...base, ...headers };
  for (const [k, v] of Object.entries(merged)) if (v === '') delete merged[k];
  return { method, url: '/chat', httpVersion: version, headers: merged };
}

function statusOf(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    if (error instanceof HandshakeError) return error.status;
    throw error;
  }
  return 101;
}

describe('Sec-WebSocket-Accept (RFC 6455 §1.3, §4.2.2)', () => {
  it('matches the RFC\'s worked example', () => {
    expect(acceptKey(RFC_KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
  it('builds a 101 response with the accept value and the chosen subprotocol', () => {
    const response = acceptResponse(RFC_KEY, 'chat');
    expect(response).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n',
    );
  });
});

describe('validateUpgradeRequest (RFC 6455 §4.2.1)', () => {
  it('accepts the RFC\'s sample handshake and reads its offers', () => {
    const offer = validateUpgradeRequest(
      request({ origin: 'http://Example.com', 'sec-websocket-protocol': 'chat, superchat' }),
    );
    expect(offer).toMatchObject({ key: RFC_KEY, protocols: ['chat', 'superchat'], origin: 'http://example.com' });
  });
  it('treats Upgrade and Connection case-insensitively and Connection as a list', () => {
    expect(statusOf(() => validateUpgradeRequest(request({ upgrade: 'WebSocket', connection: 'keep-alive, UPGRADE' })))).toBe(101);
  });
  const refusals: [string, () => unknown, number][] = [
    ['POST', () => validateUpgradeRequest(request({}, 'POST')), 405],
    ['HTTP/1.0', () => validateUpgradeRequest(request({}, 'GET', '1.0')), 400],
    ['no Upgrade', () => validateUpgradeRequest(request({ upgrade: '' })), 426],
    ['Upgrade: h2c', () => validateUpgradeRequest(request({ upgrade: 'h2c' })), 426],
    ['no Connection: upgrade', () => validateUpgradeRequest(request({ connection: 'keep-alive' })), 400],
    ['no Host', () => validateUpgradeRequest(request({ host: '' })), 400],
    ['no version', () => validateUpgradeRequest(request({ 'sec-websocket-version': '' })), 400],
    ['version 8', () => validateUpgradeRequest(request({ 'sec-websocket-version': '8' })), 426],
    ['no key', () => validateUpgradeRequest(request({ 'sec-websocket-key': '' })), 400],
    ['key of 15 bytes', () => validateUpgradeRequest(request({ 'sec-websocket-key': Buffer.alloc(15).toString('base64') })), 400],
    ['key of 17 bytes', () => validateUpgradeRequest(request({ 'sec-websocket-key': Buffer.alloc(17).toString('base64') })), 400],
    ['key not base64', () => validateUpgradeRequest(request({ 'sec-websocket-key': '!!!!!!!!!!!!!!!!!!!!!!==' })), 400],
    ['two keys', () => validateUpgradeRequest(request({ 'sec-websocket-key': `${RFC_KEY}, ${RFC_KEY}` })), 400],
    ['empty subprotocol', () => validateUpgradeRequest(request({ 'sec-websocket-protocol': 'chat,,x' })), 400],
    ['subprotocol with a space', () => validateUpgradeRequest(request({ 'sec-websocket-protocol': 'a b' })), 400],
    ['duplicate subprotocol', () => validateUpgradeRequest(request({ 'sec-websocket-protocol': 'chat, chat' })), 400],
  ];
  for (const [name, fn, status] of refusals) {
    it(`${name} → ${status}`, () => expect(statusOf(fn)).toBe(status));
  }
  it('a 426 for a wrong version names version 13 (§4.2.2 step 4)', () => {
    try {
      validateUpgradeRequest(request({ 'sec-websocket-version': '8' }));
    } catch (error) {
      expect((error as HandshakeError).headers).toEqual({ 'Sec-WebSocket-Version': '13' });
    }
  });
});

describe('HeadReader and parseRequestHead', () => {
  const raw =
    'GET /chat?x=1 HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${RFC_KEY}\r\nX-Multi: a\r\nx-multi: b\r\nSec-WebSocket-Version: 13\r\n\r\n`;

  it('finds the head however the bytes are split and returns what followed', () => {
    fc.assert(
      fc.property(cutsArbitrary, fc.uint8Array({ maxLength: 20 }), (cuts, tail) => {
        const reader = new HeadReader();
        const bytes = Buffer.concat([Buffer.from(raw, 'latin1'), Buffer.from(tail)]);
        let done: { head: string; rest: Buffer } | null = null;
        const after: Buffer[] = [];
        for (const piece of splitAt(bytes, cuts)) {
          if (done) after.push(piece);
          else done = reader.push(piece);
        }
        expect(done).not.toBeNull();
        expect(done!.head).toBe(raw.slice(0, -4));
        expect(Buffer.concat([done!.rest, ...after]).equals(Buffer.from(tail))).toBe(true);
      }),
    );
  });

  it('parses the request line and combines repeated fields', () => {
    const head = parseRequestHead(raw.slice(0, -4));
    expect(head).toMatchObject({ method: 'GET', url: '/chat?x=1', httpVersion: '1.1' });
    expect(head.headers['x-multi']).toBe('a, b');
    expect(head.headers['host']).toBe('server.example.com');
  });

  it('refuses an oversized head with 431 before it ends', () => {
    const reader = new HeadReader({ maxHeaderSize: 100 });
    expect(() => reader.push(Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(200)}`))).toThrow(
      expect.objectContaining({ status: 431 }),
    );
  });

  it('refuses too many header fields with 431', () => {
    const head = `GET / HTTP/1.1\r\n${Array.from({ length: 5 }, (_, i) => `X-${i}: y`).join('\r\n')}`;
    expect(statusOf(() => parseRequestHead(head, { maxHeaderCount: 4 }))).toBe(431);
  });

  const malformed = [
    'GET / HTTP/1.1 extra',
    'GET  / HTTP/1.1',
    'GET / HTTQ/1.1',
    'G(T / HTTP/1.1',
    'GET / HTTP/1.1\r\nNo-Colon',
    'GET / HTTP/1.1\r\nSpace : before colon',
    'GET / HTTP/1.1\r\nA: b\r\n folded',
    'GET / HTTP/1.1\r\nA: b\nInjected: c',
    'GET / HTTP/1.1\r\nA: b\0c',
  ];
  for (const head of malformed) {
    it(`400 for ${JSON.stringify(head)}`, () => expect(statusOf(() => parseRequestHead(head))).toBe(400));
  }

  it('never throws anything but a HandshakeError on arbitrary heads', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        try {
          const head = parseRequestHead(text);
          validateUpgradeRequest(head);
        } catch (error) {
          expect(error).toBeInstanceOf(HandshakeError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('client side (RFC 6455 §4.1)', () => {
  const key = keyFromNonce(new Uint8Array(16).fill(7));
  const ok = {
    httpVersion: '1.1',
    status: 101,
    statusText: 'Switching Protocols',
    headers: { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': acceptKey(key) } as Record<string, string>,
  };

  it('writes a request the server side accepts', () => {
    const text = clientRequest({ path: '/chat', host: 'example.com:8080', key, protocols: ['chat', 'v2'], origin: 'http://a.test' });
    const head = parseRequestHead(text.slice(0, -4));
    expect(validateUpgradeRequest(head)).toMatchObject({ key, protocols: ['chat', 'v2'], origin: 'http://a.test' });
  });

  it('accepts a correct answer and reports the agreed subprotocol', () => {
    expect(verifyServerResponse(ok, { key })).toEqual({ protocol: '', extensions: undefined });
    expect(
      verifyServerResponse({ ...ok, headers: { ...ok.headers, 'sec-websocket-extensions': 'permessage-deflate' } }, { key, extensionsOffered: true }),
    ).toEqual({ protocol: '', extensions: 'permessage-deflate' });
    expect(
      verifyServerResponse({ ...ok, headers: { ...ok.headers, 'sec-websocket-protocol': 'v2' } }, { key, protocols: ['chat', 'v2'] }),
    ).toEqual({ protocol: 'v2', extensions: undefined });
  });

  const bad: [string, typeof ok][] = [
    ['status 200', { ...ok, status: 200 }],
    ['no Upgrade', { ...ok, headers: { ...ok.headers, upgrade: 'h2c' } }],
    ['no Connection', { ...ok, headers: { ...ok.headers, connection: 'close' } }],
    ['wrong accept', { ...ok, headers: { ...ok.headers, 'sec-websocket-accept': acceptKey('x') } }],
    ['unrequested extension', { ...ok, headers: { ...ok.headers, 'sec-websocket-extensions': 'permessage-deflate' } }],
    ['unoffered subprotocol', { ...ok, headers: { ...ok.headers, 'sec-websocket-protocol': 'other' } }],
  ];
  for (const [name, response] of bad) {
    it(`fails on ${name}`, () => {
      expect(() => verifyServerResponse(response, { key, protocols: ['chat'] })).toThrow(ClientHandshakeError);
    });
  }

  it('parses status lines and refuses malformed ones', () => {
    const make = (m: string) => new ClientHandshakeError(m);
    expect(parseResponseHead('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket', make).status).toBe(101);
    expect(() => parseResponseHead('HTTP/1.1 10 Nope', make)).toThrow(ClientHandshakeError);
  });
});

describe('error responses', () => {
  it('carry a JSON body and the right length', () => {
    const text = errorResponse(426, 'upgrade required', { 'Sec-WebSocket-Version': '13' });
    const [head, body] = text.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 426 Upgrade Required');
    expect(head).toContain('Sec-WebSocket-Version: 13');
    expect(JSON.parse(body)).toEqual({ error: 'upgrade required' });
    expect(head).toContain(`Content-Length: ${Buffer.byteLength(body)}`);
  });
  it('cannot be split by header values holding CR or LF', () => {
    expect(() => serializeHead('HTTP/1.1 200 OK', [['X', 'a\r\nInjected: 1']])).toThrow(TypeError);
    expect(() => serializeHead('HTTP/1.1 200 OK', [['Bad Name', 'a']])).toThrow(TypeError);
  });
});
