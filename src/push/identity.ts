// Who a client is (RFC 7519 JWT `sub`, or `?uid=` in development) and whether
// its Origin may connect. Runs before any transport opens a session.
import type * as http from 'node:http';
import { TokenError, verifyToken, type TokenClaims } from '../auth/jwt.js';
import { bearerToken, HttpError } from './http-io.js';
import { CONTROL, MAX_NAME_LENGTH } from './wire.js';

/** A client's identity: a user id when it proved one, the token's claims when it used a token. */
export interface Identity {
  uid?: string;
  claims?: TokenClaims;
}

export interface IdentitySettings {
  jwtSecret?: string;
  /** Accept `?uid=` without proof (development identity: an explicit opt-in). */
  devIdentity: boolean;
  leewaySeconds: number;
}

/**
 * The identity a request proves. A token comes as `?token=` (browsers cannot
 * set headers on WebSocket or EventSource) or `Authorization: Bearer`. No
 * token and no uid: anonymous. Throws 401 for a bad token or a uid that may
 * not be taken on trust.
 */
export function identify(
  query: URLSearchParams,
  headers: http.IncomingHttpHeaders,
  settings: IdentitySettings,
  nowMs: number,
): Identity {
  const token = query.get('token') ?? bearerToken(headers);
  const uid = query.get('uid');
  if (settings.jwtSecret !== undefined) {
    if (uid !== null) throw new HttpError(401, '?uid= is not accepted when the server checks tokens; send ?token=');
    if (token === undefined) return {};
    try {
      const claims = verifyToken(token, settings.jwtSecret, nowMs, settings.leewaySeconds);
      return { uid: claims.sub, claims };
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      throw new HttpError(error.status, error.message, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
  }
  if (token !== undefined) throw new HttpError(401, 'this server has no JWT secret, so it cannot check tokens');
  if (uid === null) return {};
  if (!settings.devIdentity) {
    throw new HttpError(401, '?uid= is taken on trust only with development identity (--dev-identity); send a token');
  }
  if (uid === '' || uid.length > MAX_NAME_LENGTH || CONTROL.test(uid)) {
    throw new HttpError(400, `uid must be 1-${MAX_NAME_LENGTH} characters without control characters`);
  }
  return { uid };
}

/**
 * Refuse (403) a browser page from an origin not in `allowed` (RFC 6455
 * §10.2, and the CORS check for SSE and polling). No list: every origin;
 * no Origin header: not a browser, allowed.
 */
export function checkOrigin(origin: string | undefined, allowed: readonly string[] | undefined): void {
  if (origin === undefined || allowed === undefined || allowed.includes('*')) return;
  if (!allowed.includes(origin.toLowerCase())) throw new HttpError(403, `origin ${origin} is not allowed`);
}
