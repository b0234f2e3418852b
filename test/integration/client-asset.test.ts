// GET / HEAD /client.js over a real port, read with node:http so the test
// sees the bytes and fields as sent (fetch would decode them): CORS that
// follows allowedOrigins, a strong ETag per coding with 304s, br / gzip with
// the right Content-Length, HEAD.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pushServers } from '../helpers/push.js';

const start = pushServers();
const built = readFileSync(new URL('../../dist/client/pushwire-client.browser.js', import.meta.url));

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function rawRequest(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }));
    });
    request.on('error', reject);
    request.end();
  });
}

async function clientJs(headers: Record<string, string> = {}, options: { allowedOrigins?: string[]; method?: string } = {}): Promise<RawAnswer> {
  const { base } = await start(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {});
  return rawRequest(`${base}/client.js`, headers, options.method);
}

const varyList = (answer: RawAnswer): string[] => (answer.headers.vary ?? '').split(',').map((name) => name.trim().toLowerCase());

describe('GET /client.js', () => {
  it('sends the built module with a strong ETag, no-cache and Vary: Accept-Encoding', async () => {
    const answer = await clientJs();
    expect(answer.status).toBe(200);
    expect(answer.body.equals(built)).toBe(true);
    expect(answer.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(answer.headers['content-length']).toBe(String(built.length));
    expect(answer.headers['content-encoding']).toBeUndefined();
    expect(answer.headers.etag).toMatch(/^"[\w-]+"$/); // strong: no W/ prefix
    expect(answer.headers['cache-control']).toBe('no-cache');
    expect(varyList(answer)).toEqual(['accept-encoding']);
  });

  describe('CORS', () => {
    it('no allowed-origins list: Access-Control-Allow-Origin: * for any request, without Vary: Origin', async () => {
      for (const headers of [{}, { Origin: 'https://app.example' }] as Record<string, string>[]) {
        const answer = await clientJs(headers);
        expect(answer.status).toBe(200);
        expect(answer.headers['access-control-allow-origin']).toBe('*');
        expect(varyList(answer)).not.toContain('origin');
      }
    });

    it("'*' in the list counts as no list", async () => {
      const answer = await clientJs({ Origin: 'https://app.example' }, { allowedOrigins: ['*'] });
      expect(answer.headers['access-control-allow-origin']).toBe('*');
    });

    it('an allowed Origin is reflected, with Vary: Origin', async () => {
      const answer = await clientJs({ Origin: 'https://App.example' }, { allowedOrigins: ['https://app.example', 'https://b.example'] });
      expect(answer.status).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBe('https://App.example');
      expect(varyList(answer)).toEqual(['origin', 'accept-encoding']);
    });

    it('with a list, a request without Origin (same-origin, curl) gets the script and Vary: Origin, no ACAO', async () => {
      const answer = await clientJs({}, { allowedOrigins: ['https://app.example'] });
      expect(answer.status).toBe(200);
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      expect(varyList(answer)).toContain('origin');
    });

    it('an Origin not on the list gets 403 with a JSON reason and no ACAO', async () => {
      const answer = await clientJs({ Origin: 'https://evil.example' }, { allowedOrigins: ['https://app.example'] });
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body.toString())).toEqual({ error: 'origin https://evil.example is not allowed' });
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
      expect(answer.headers.etag).toBeUndefined();
    });
  });

  describe('compression', () => {
    it.each([
      ['gzip, deflate, br', 'br', brotliDecompressSync],
      ['gzip, deflate', 'gzip', gunzipSync],
    ] as const)('Accept-Encoding: %s → %s, decoding to the module, with its own ETag and Content-Length', async (accept, coding, decode) => {
      const { base } = await start();
      const plain = await rawRequest(`${base}/client.js`);
      const answer = await rawRequest(`${base}/client.js`, { 'Accept-Encoding': accept });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-encoding']).toBe(coding);
      expect(answer.headers['content-length']).toBe(String(answer.body.length));
      expect(answer.body.length).toBeLessThan(built.length / 2);
      expect(decode(answer.body).equals(built)).toBe(true);
      expect(answer.headers.etag).toBe(plain.headers.etag!.replace(/"$/, `-${coding}"`));
      expect(varyList(answer)).toEqual(['accept-encoding']);
      // Compressed once: the next request gets the very same bytes.
      expect((await rawRequest(`${base}/client.js`, { 'Accept-Encoding': accept })).body.equals(answer.body)).toBe(true);
    });

    it('identity when the request refuses both', async () => {
      const answer = await clientJs({ 'Accept-Encoding': 'br;q=0, gzip;q=0' });
      expect(answer.headers['content-encoding']).toBeUndefined();
      expect(answer.body.equals(built)).toBe(true);
    });
  });

  describe('conditional requests', () => {
    it('If-None-Match with the current ETag → 304 with the validators and CORS fields, no body', async () => {
      const { base } = await start({ allowedOrigins: ['https://app.example'] });
      const headers = { 'Accept-Encoding': 'gzip', Origin: 'https://app.example' };
      const first = await rawRequest(`${base}/client.js`, headers);
      for (const tag of [first.headers.etag!, `W/${first.headers.etag}`, `"other", ${first.headers.etag}`, '*']) {
        const again = await rawRequest(`${base}/client.js`, { ...headers, 'If-None-Match': tag });
        expect(again.status, tag).toBe(304);
        expect(again.body.length).toBe(0);
        expect(again.headers.etag).toBe(first.headers.etag);
        expect(again.headers['cache-control']).toBe('no-cache');
        expect(again.headers.vary).toBe(first.headers.vary);
        expect(again.headers['access-control-allow-origin']).toBe('https://app.example');
        expect(again.headers['content-encoding']).toBeUndefined();
      }
    });

    it("another coding's ETag, or a stale one, gets the full answer", async () => {
      const { base } = await start();
      const gzipped = await rawRequest(`${base}/client.js`, { 'Accept-Encoding': 'gzip' });
      for (const tag of [gzipped.headers.etag!, '"stale"']) {
        const answer = await rawRequest(`${base}/client.js`, { 'If-None-Match': tag });
        expect(answer.status).toBe(200);
        expect(answer.body.equals(built)).toBe(true);
      }
    });
  });

  it('HEAD: the same fields as GET, no body', async () => {
    const { base } = await start();
    const get = await rawRequest(`${base}/client.js`, { 'Accept-Encoding': 'br' });
    const head = await rawRequest(`${base}/client.js`, { 'Accept-Encoding': 'br' }, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    for (const field of ['content-type', 'content-length', 'content-encoding', 'etag', 'cache-control', 'vary', 'access-control-allow-origin']) {
      expect(head.headers[field], field).toBe(get.headers[field]);
    }
  });

  it('other methods: 405 naming GET and HEAD', async () => {
    const answer = await clientJs({}, { method: 'POST' });
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('GET, HEAD');
  });
});
