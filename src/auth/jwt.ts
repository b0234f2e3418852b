// JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, RFC 7515 §3 compact
// serialization, RFC 7518 §3.2 "HS256") — just what pushwire needs to learn a
// client's user id. The clock is passed in, so verification is deterministic.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Why a token was refused. */
export type TokenErrorCode =
  | 'PW_ERR_TOKEN_MALFORMED' // not three base64url parts
  | 'PW_ERR_TOKEN_ALGORITHM' // `alg` is not HS256 (RFC 7518 §3.2)
  | 'PW_ERR_TOKEN_SIGNATURE' // the signature does not match
  | 'PW_ERR_TOKEN_SUBJECT' // no string `sub` claim
  | 'PW_ERR_TOKEN_EXPIRED' // past `exp` (RFC 7519 §4.1.4): get a new token
  | 'PW_ERR_TOKEN_NOT_YET_VALID'; // before `nbf` (RFC 7519 §4.1.5)

/** A token was refused; answer with `status` (401). */
export class TokenError extends Error {
  override readonly name = 'TokenError';
  readonly status = 401;

  constructor(
    /** Stable reason to branch on, e.g. `PW_ERR_TOKEN_EXPIRED` to fetch a fresh token. */
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The claims pushwire reads. Others are kept as they are. */
export interface TokenClaims {
  /** The user id (RFC 7519 §4.1.2). */
  sub: string;
  /** Expiry, seconds since the epoch (§4.1.4). */
  exp?: number;
  /** Not before, seconds since the epoch (§4.1.5). */
  nbf?: number;
  [claim: string]: unknown;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

function sign(input: string, secret: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(input).digest();
}

/** Issue an HS256 token (for tests, tools and backends written in JavaScript). */
export function signToken(claims: TokenClaims, secret: string | Buffer): string {
  const input = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${base64url(sign(input, secret))}`;
}

/**
 * Verify an HS256 token and return its claims. Refuses (TokenError, 401) a
 * malformed token, any `alg` but HS256 (so never "none"), a bad signature
 * (compared in constant time), a missing or non-string `sub`, an expired
 * token or one not yet valid. `nowMs` is the current time; `leewaySeconds`
 * tolerates clock skew.
 */
export function verifyToken(token: string, secret: string | Buffer, nowMs: number, leewaySeconds = 0): TokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) {
    throw new TokenError('PW_ERR_TOKEN_MALFORMED', 'malformed token');
  }
  const [headerPart, payloadPart, signaturePart] = parts;
  const header = parseJson(headerPart);
  if (header?.alg !== 'HS256') throw new TokenError('PW_ERR_TOKEN_ALGORITHM', 'token must be signed with HS256');
  const expected = sign(`${headerPart}.${payloadPart}`, secret);
  const actual = Buffer.from(signaturePart, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw new TokenError('PW_ERR_TOKEN_SIGNATURE', 'bad token signature');
  }
  const claims = parseJson(payloadPart);
  if (!claims || typeof claims.sub !== 'string' || claims.sub === '') throw new TokenError('PW_ERR_TOKEN_SUBJECT', 'token has no subject (sub)');
  const now = nowMs / 1000;
  if (claims.exp !== undefined && (typeof claims.exp !== 'number' || now >= claims.exp + leewaySeconds)) {
    throw new TokenError('PW_ERR_TOKEN_EXPIRED', 'token expired');
  }
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now < claims.nbf - leewaySeconds)) {
    throw new TokenError('PW_ERR_TOKEN_NOT_YET_VALID', 'token not valid yet');
  }
  return claims as TokenClaims;
}

function parseJson(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
