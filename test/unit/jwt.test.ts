import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signToken, TokenError, verifyToken } from '../../src/auth/jwt.js';

const secret = 'test-secret';
const now = Date.UTC(2026, 10, 23, 12);

describe('HS256 tokens (RFC 7519, RFC 7518 §3.2)', () => {
  it('verifies what it signs and returns the claims', () => {
    const token = signToken({ sub: 'alice', exp: now / 1000 + 60, role: 'admin' }, secret);
    expect(verifyToken(token, secret, now)).toMatchObject({ sub: 'alice', role: 'admin' });
  });

  it('accepts a token made by another HS256 implementation (RFC 7515 structure)', () => {
    // Built by hand: header and payload base64url, HMAC-SHA256 over "header.payload".
    const header = Buffer.from('{"typ":"JWT",\r\n "alg":"HS256"}').toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'bob', exp: now / 1000 + 10 })).toString('base64url');
    const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
    expect(verifyToken(`${header}.${payload}.${signature}`, secret, now).sub).toBe('bob');
  });

  const refusals: [string, () => string][] = [
    ['a wrong secret', () => signToken({ sub: 'a' }, 'other')],
    ['an expired token', () => signToken({ sub: 'a', exp: now / 1000 - 1 }, secret)],
    ['a token not valid yet', () => signToken({ sub: 'a', nbf: now / 1000 + 60 }, secret)],
    ['no subject', () => signToken({ sub: '' }, secret)],
    ['alg none', () => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}.`],
    ['alg HS512', () => {
      const h = Buffer.from('{"alg":"HS512"}').toString('base64url');
      const p = Buffer.from('{"sub":"a"}').toString('base64url');
      return `${h}.${p}.${createHmac('sha512', secret).update(`${h}.${p}`).digest('base64url')}`;
    }],
    ['a tampered payload', () => {
      const [h, , s] = signToken({ sub: 'alice' }, secret).split('.');
      return `${h}.${Buffer.from('{"sub":"mallory"}').toString('base64url')}.${s}`;
    }],
    ['two parts', () => 'abc.def'],
    ['padding characters', () => `${signToken({ sub: 'a' }, secret)}=`],
  ];
  for (const [name, make] of refusals) {
    it(`refuses ${name} with a 401 TokenError`, () => {
      expect(() => verifyToken(make(), secret, now)).toThrow(TokenError);
      try {
        verifyToken(make(), secret, now);
      } catch (error) {
        expect((error as TokenError).status).toBe(401);
      }
    });
  }

  it('honours leeway for clock skew', () => {
    const token = signToken({ sub: 'a', exp: now / 1000 - 5 }, secret);
    expect(() => verifyToken(token, secret, now)).toThrow(TokenError);
    expect(verifyToken(token, secret, now, 10).sub).toBe('a');
  });

  it('never throws anything but TokenError on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (text) => {
        try {
          verifyToken(text, secret, now);
        } catch (error) {
          expect(error).toBeInstanceOf(TokenError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
