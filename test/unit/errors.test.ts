// Stable error codes: every error class carries a `code` users can branch
// on, each code is documented in the README's Errors table, and the throw
// sites give the code their condition names.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TokenError, signToken, verifyToken } from '../../src/auth/jwt.js';
import { decodeClosePayload } from '../../src/protocol/close.js';
import { ClientHandshakeError, HandshakeError, InvalidStateError, ProtocolError } from '../../src/protocol/errors.js';
import { FrameParser } from '../../src/protocol/frame-parser.js';
import { validateUpgradeRequest } from '../../src/protocol/handshake.js';
import { ConfigError, HttpError } from '../../src/push/http-io.js';
import { CommandError, parseCommand } from '../../src/push/wire.js';
import { buildFrame } from '../helpers/frames.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

/** The error `run` throws. */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('error codes', () => {
  it('every PW_ERR_ code in src/ is in the README’s Errors table, and the table lists no other', () => {
    const inSource = new Set(
      sourceFiles(join(root, 'src')).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/'(PW_ERR_[A-Z0-9_]+)'/g)].map((m) => m[1])),
    );
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = /\n## Errors\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    const documented = new Set([...section.matchAll(/`(PW_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]));
    expect([...inSource].sort()).toEqual([...documented].sort());
  });

  it('protocol errors name the rule the peer broke, with its close code', () => {
    const parser = new FrameParser({ onFrameStart() {}, onFramePayload() {}, onFrameEnd() {} }, { expectMasked: true });
    expect(thrown(() => parser.push(buildFrame(0x1, 'hi', { mask: null })))).toMatchObject({ code: 'PW_ERR_UNMASKED_FRAME', closeCode: 1002 });
    expect(thrown(() => decodeClosePayload(Uint8Array.of(3)))).toMatchObject({ code: 'PW_ERR_INVALID_CLOSE_PAYLOAD', closeCode: 1002 });
    expect(thrown(() => decodeClosePayload(Uint8Array.of(3, 232, 0xff)))).toMatchObject({ code: 'PW_ERR_INVALID_UTF8', closeCode: 1007 });
  });

  it('handshake refusals tell a plain HTTP request (426) from an unsupported version (also 426)', () => {
    const headers = { host: 'h', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };
    const plain = thrown(() => validateUpgradeRequest({ method: 'GET', httpVersion: '1.1', headers }));
    expect(plain).toBeInstanceOf(HandshakeError);
    expect(plain).toMatchObject({ code: 'PW_ERR_NOT_WEBSOCKET', status: 426 });
    const request = { method: 'GET', httpVersion: '1.1', headers: { ...headers, upgrade: 'websocket', 'sec-websocket-version': '8' } };
    expect(thrown(() => validateUpgradeRequest(request))).toMatchObject({ code: 'PW_ERR_UNSUPPORTED_VERSION', status: 426 });
  });

  it('token refusals say why, so a client can tell an expired token from a forged one', () => {
    const now = 1_800_000_000_000;
    const expired = signToken({ sub: 'a', exp: now / 1000 - 1 }, 's');
    expect(thrown(() => verifyToken(expired, 's', now))).toMatchObject({ code: 'PW_ERR_TOKEN_EXPIRED', status: 401 });
    expect(thrown(() => verifyToken(expired, 'other', now))).toMatchObject({ code: 'PW_ERR_TOKEN_SIGNATURE' });
    expect(thrown(() => verifyToken('x', 's', now))).toBeInstanceOf(TokenError);
  });

  it('command refusals are CommandErrors carrying the status the client is told; HTTP refusals name their status', () => {
    const refused = thrown(() => parseCommand({ type: 'dance' }));
    expect(refused).toBeInstanceOf(CommandError);
    expect(refused).not.toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ code: 'PW_ERR_INVALID_COMMAND', status: 422 });
    expect(new HttpError(422, 'bad').code).toBe('PW_ERR_INVALID_INPUT');
    expect(new HttpError(418, 'teapot').code).toBe('PW_ERR_HTTP');
    expect(new ConfigError('x').code).toBe('PW_ERR_INVALID_CONFIG');
    expect(new InvalidStateError('x').code).toBe('PW_ERR_INVALID_STATE');
  });

  it('the older constructors still work, with a generic code', () => {
    expect(new ProtocolError(1002, 'old')).toMatchObject({ code: 'PW_ERR_PROTOCOL', closeCode: 1002, message: 'old' });
    expect(new HandshakeError(400, 'old', { A: 'b' })).toMatchObject({ code: 'PW_ERR_HANDSHAKE', status: 400, headers: { A: 'b' } });
    expect(new ClientHandshakeError('old', 503)).toMatchObject({ code: 'PW_ERR_CLIENT_HANDSHAKE', status: 503, message: 'old' });
    expect(new ClientHandshakeError('PW_ERR_INVALID_ACCEPT', 'new', 101)).toMatchObject({ code: 'PW_ERR_INVALID_ACCEPT', status: 101 });
  });
});
