// GET / HEAD /client.js: the browser client, built into dist/client as one
// self-contained module (pushwire-client.browser.js, the wire contract
// inlined), served so that a page on any allowed origin can `import` it:
// - CORS per the Fetch standard (§3.2 "CORS protocol"): module scripts are
//   always fetched in CORS mode, so without Access-Control-Allow-Origin a
//   cross-origin import fails;
// - a strong ETag per representation (RFC 9110 §8.8.3) and If-None-Match →
//   304 (§13.1.2, §15.4.5);
// - br or gzip when Accept-Encoding allows (RFC 9110 §12.5.3), each
//   compressed once, on the first request, and kept.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type * as http from 'node:http';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { HttpError } from './http-io.js';
import { checkOrigin } from './identity.js';

/** The content codings /client.js is available in, in order of preference on a tie (br is the smallest). */
const CODINGS = ['br', 'gzip', 'identity'] as const;
export type ContentCoding = (typeof CODINGS)[number];

/**
 * `no-cache` = store, but revalidate before each use (RFC 9111 §5.2.2.4).
 * The URL carries no version and the client must speak the same wire
 * contract as the server that serves it, so a page should pick up a new
 * server's client on its next load; the revalidation is one 304 of a few
 * hundred bytes. (`max-age=300` would save that round trip at the price of
 * up to five minutes of an old client against a new server.)
 */
const CACHE_CONTROL = 'no-cache';

/** One representation of the client: its bytes in one coding, and the entity tag that names exactly those bytes. */
interface Representation {
  readonly body: Buffer;
  readonly etag: string;
}

type ClientAsset = Readonly<Record<ContentCoding, Representation>>;

let clientAsset: Promise<ClientAsset> | null = null;

/**
 * The browser bundle. From dist/push it sits in ../client; when this module
 * runs from src (tests), the build's copy in dist is used.
 */
async function readBrowserClient(): Promise<Buffer> {
  for (const candidate of ['../client/pushwire-client.browser.js', '../../dist/client/pushwire-client.browser.js']) {
    try {
      return await readFile(new URL(candidate, import.meta.url));
    } catch {
      // try the next place
    }
  }
  throw new HttpError(500, 'the browser client is not built: run npm run build');
}

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);

/**
 * The client in every coding, built once per process. Entity tags differ per
 * coding: a strong validator names one sequence of bytes, and the gzip and
 * br bodies are other bytes than the source (RFC 9110 §8.8.3.3's example).
 */
async function buildClientAsset(): Promise<ClientAsset> {
  const source = await readBrowserClient();
  const hash = createHash('sha256').update(source).digest('base64url');
  const [gzipped, brotlied] = await Promise.all([
    gzip(source, { level: zlib.constants.Z_BEST_COMPRESSION }),
    brotli(source, {
      params: {
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
        [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: source.length,
      },
    }),
  ]);
  return {
    identity: { body: source, etag: `"${hash}"` },
    gzip: { body: gzipped, etag: `"${hash}-gzip"` },
    br: { body: brotlied, etag: `"${hash}-br"` },
  };
}

function browserClientAsset(): Promise<ClientAsset> {
  clientAsset ??= buildClientAsset().catch((error: unknown) => {
    clientAsset = null; // not built yet: look again on the next request
    throw error;
  });
  return clientAsset;
}

/** The smallest weight a qvalue can express (RFC 9110 §12.4.2: three decimals). */
const LOWEST_QVALUE = 0.001;

/**
 * The coding to answer with under an Accept-Encoding header (RFC 9110
 * §12.5.3): the acceptable one with the highest weight, br before gzip before
 * identity on a tie. A coding the header does not name gets the weight of
 * `*`, or is unacceptable; identity is acceptable unless excluded by
 * `identity;q=0`, or by `*;q=0` without an entry of its own, and when the
 * header does not weigh it, it is the last resort (`gzip;q=0.5` means gzip).
 * No header, or nothing acceptable: identity, which every client can read.
 */
export function negotiateCoding(acceptEncoding: string | undefined): ContentCoding {
  if (!acceptEncoding) return 'identity';
  const weights = parseAcceptEncoding(acceptEncoding);
  const weightOf = (coding: ContentCoding): number =>
    weights.get(coding) ?? weights.get('*') ?? (coding === 'identity' ? LOWEST_QVALUE : 0);
  let best: ContentCoding = 'identity';
  let bestWeight = 0;
  for (const coding of CODINGS) {
    const weight = weightOf(coding);
    if (weight > bestWeight) [best, bestWeight] = [coding, weight];
  }
  return best;
}

/** `gzip;q=0.8, br, *;q=0` → coding (lower-case) → weight. An entry with a malformed weight is left out. */
function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const entry of header.split(',')) {
    const [name, ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    if (!name) continue;
    let weight = 1;
    for (const parameter of parameters) {
      const qvalue = /^q=(0(\.\d{0,3})?|1(\.0{0,3})?)$/.exec(parameter);
      if (qvalue) weight = Number(qvalue[1]);
      else if (parameter.startsWith('q=')) weight = NaN;
    }
    // x-gzip is an alias of gzip (RFC 9110 §8.4.1.3).
    if (!Number.isNaN(weight)) weights.set(name === 'x-gzip' ? 'gzip' : name, weight);
  }
  return weights;
}

/**
 * Does If-None-Match name `etag`? (RFC 9110 §13.1.2: `*`, or a list of
 * entity tags compared with the weak comparison of §8.8.3.2, i.e. ignoring
 * `W/`.) Tags are picked out whole, since an opaque tag may contain commas.
 */
export function ifNoneMatchHits(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  for (const [, tag] of ifNoneMatch.matchAll(/(?:W\/)?("[^"]*")/g)) {
    if (tag === etag) return true;
  }
  return false;
}

/**
 * CORS headers for the client, which is public code: with no allowed-origins
 * list, `*` for every request, and then no `Vary: Origin` since the answer
 * does not depend on it (Fetch standard, "CORS protocol and HTTP caches").
 * With a list, an allowed Origin is reflected; the answer then depends on
 * Origin even for a request without one (same-origin, curl), so every
 * variant says `Vary: Origin`. A page from an origin not on the list gets
 * the same 403 as on /sse and /poll (checkOrigin): its import fails either
 * way, and a 403 with a JSON reason says why in the browser's network panel
 * where a 200 without the header would send the whole script for nothing.
 */
function corsHeaders(origin: string | undefined, allowedOrigins: readonly string[] | undefined): Record<string, string> {
  if (allowedOrigins === undefined || allowedOrigins.includes('*')) return { 'Access-Control-Allow-Origin': '*' };
  checkOrigin(origin, allowedOrigins);
  return origin === undefined ? { Vary: 'Origin' } : { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
}

/**
 * Answer GET or HEAD /client.js: 403 for a page from an origin not allowed,
 * 304 when the client's copy is current, else 200 with the client in the
 * best coding the request accepts.
 */
export async function serveBrowserClient(
  request: http.IncomingMessage,
  response: http.ServerResponse,
  allowedOrigins: readonly string[] | undefined,
): Promise<void> {
  const cors = corsHeaders(request.headers.origin, allowedOrigins);
  const coding = negotiateCoding(request.headers['accept-encoding']);
  const { body, etag } = (await browserClientAsset())[coding];
  // A 304 carries the fields a 200 would have that a cache must update (RFC 9110 §15.4.5), no content fields.
  const validators = {
    ...cors,
    Vary: cors.Vary ? `${cors.Vary}, Accept-Encoding` : 'Accept-Encoding',
    ETag: etag,
    'Cache-Control': CACHE_CONTROL,
  };
  if (ifNoneMatchHits(request.headers['if-none-match'], etag)) {
    response.writeHead(304, validators).end();
    return;
  }
  response.writeHead(200, {
    ...validators,
    'Content-Type': 'text/javascript; charset=utf-8',
    'Content-Length': body.length,
    ...(coding === 'identity' ? {} : { 'Content-Encoding': coding }),
  });
  // HEAD: the same fields, no content (RFC 9110 §9.3.2).
  response.end(request.method === 'HEAD' ? undefined : body);
}
