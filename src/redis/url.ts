// Redis connection URLs, as the IANA "redis" and "rediss" URI schemes and
// every Redis client read them:
//
//   redis://[[username]:password@]host[:port][/db]     TCP
//   rediss://[[username]:password@]host[:port][/db]    TLS
//
// Sans-I/O: only parsing, so a bad URL fails before any socket is opened.
import { RedisConfigError } from './errors.js';

/** Where and how to connect, read from a URL. */
export interface RedisEndpoint {
  /** `rediss://`: connect with node:tls. */
  tls: boolean;
  /** Host name or IP address; an IPv6 address without its brackets. */
  host: string;
  /** Default 6379. */
  port: number;
  /** ACL user name (Redis 6+); undefined for the password-only `AUTH` of `requirepass`. */
  username: string | undefined;
  password: string | undefined;
  /** Database index selected after connecting; default 0. */
  db: number;
}

export const DEFAULT_REDIS_PORT = 6379;

/**
 * Read a `redis://` or `rediss://` URL. User name and password are
 * percent-decoded (`redis://:p%40ss@host` has the password `p@ss`); the path,
 * if any, is the database number. Throws `RedisConfigError` for another scheme,
 * a missing host, a bad port or database, or a query or fragment (no options
 * are read from the URL, so none is silently ignored).
 */
export function parseRedisUrl(text: string): RedisEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisConfigError(`not a URL: ${JSON.stringify(redact(text))}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new RedisConfigError(`a Redis URL starts with redis:// or rediss://, not ${url.protocol}//`);
  }
  // WHATWG URL keeps an IPv6 literal's brackets in `hostname`; node:net wants it bare.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new RedisConfigError(`no host in ${JSON.stringify(redact(text))}`);
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  if (port === 0) throw new RedisConfigError('port 0 cannot be connected to');
  const path = url.pathname;
  let db = 0;
  if (path !== '' && path !== '/') {
    const match = /^\/(\d{1,5})$/.exec(path);
    if (!match) throw new RedisConfigError(`the path of a Redis URL is a database number, not ${JSON.stringify(path)}`);
    db = Number(match[1]);
  }
  if (url.search !== '' || url.hash !== '') {
    throw new RedisConfigError('a Redis URL takes no query or fragment here; pass options to the client instead');
  }
  return {
    tls: url.protocol === 'rediss:',
    host,
    port,
    username: url.username === '' ? undefined : decode(url.username, 'user name'),
    password: url.password === '' ? undefined : decode(url.password, 'password'),
    db,
  };
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RedisConfigError(`the ${what} in the Redis URL is not valid percent-encoding`);
  }
}

/** The URL with its password replaced by `***`, for messages and logs. */
export function redact(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}
