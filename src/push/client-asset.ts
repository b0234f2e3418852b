// GET /client.js: the browser client, built into dist/client as one
// self-contained module (pushwire-client.browser.js, the wire contract
// inlined) so a page can import it straight from the server.
import { readFile } from 'node:fs/promises';
import type * as http from 'node:http';
import { HttpError } from './http-io.js';

let browserClientSource: Promise<string> | null = null;

/**
 * The browser bundle. From dist/push it sits in ../client; when this module
 * runs from src (tests), the build's copy in dist is used.
 */
export function browserClient(): Promise<string> {
  browserClientSource ??= (async () => {
    for (const candidate of ['../client/pushwire-client.browser.js', '../../dist/client/pushwire-client.browser.js']) {
      try {
        return await readFile(new URL(candidate, import.meta.url), 'utf8');
      } catch {
        // try the next place
      }
    }
    browserClientSource = null;
    throw new HttpError(500, 'the browser client is not built: run npm run build');
  })();
  return browserClientSource;
}

export async function serveBrowserClient(_request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  const text = await browserClient();
  response.writeHead(200, {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Cache-Control': 'no-cache',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}
