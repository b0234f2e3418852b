// HTTP plumbing shared by the push server's routes: typed errors that carry
// their status, JSON responses, bounded body reading.
import { isUtf8 } from 'node:buffer';
import type * as http from 'node:http';

// An HTTP refusal is told apart by its status; its code names that status,
// so every pushwire error can be matched on `code` alike.
const HTTP_ERROR_CODES = {
  400: 'PW_ERR_BAD_REQUEST',
  401: 'PW_ERR_UNAUTHORIZED',
  403: 'PW_ERR_FORBIDDEN',
  404: 'PW_ERR_NOT_FOUND',
  405: 'PW_ERR_METHOD_NOT_ALLOWED',
  408: 'PW_ERR_REQUEST_TIMEOUT',
  413: 'PW_ERR_BODY_TOO_LARGE',
  414: 'PW_ERR_URI_TOO_LONG',
  422: 'PW_ERR_INVALID_INPUT',
  426: 'PW_ERR_UPGRADE_REQUIRED',
  429: 'PW_ERR_TOO_MANY_REQUESTS',
  431: 'PW_ERR_HEADERS_TOO_LARGE',
  500: 'PW_ERR_INTERNAL',
  503: 'PW_ERR_UNAVAILABLE',
  507: 'PW_ERR_INSUFFICIENT_STORAGE',
} as const;

/** The code of an HttpError: the name of its status, or `PW_ERR_HTTP` for a status not listed. */
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[keyof typeof HTTP_ERROR_CODES] | 'PW_ERR_HTTP';

/**
 * A request refused with `status`; answered as `{"error": message}`.
 * `PushServer.publish` throws it (422, `PW_ERR_INVALID_INPUT`) for an invalid
 * publish, and hooks such as `authorize` may throw it to refuse a connect with
 * a status of their choice.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  /** Stable code to branch on, named after the status: 422 is `PW_ERR_INVALID_INPUT`. */
  readonly code: HttpErrorCode;

  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.code = (HTTP_ERROR_CODES as Record<number, HttpErrorCode>)[status] ?? 'PW_ERR_HTTP';
  }
}

/** Options that cannot work together, found before anything listens. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Stable code to branch on; the message names the option. */
  readonly code = 'PW_ERR_INVALID_CONFIG';
}

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' };

/** Answer with a JSON body. */
export function sendJson(
  response: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const text = JSON.stringify(body);
  response.writeHead(status, { ...JSON_HEADERS, ...headers, 'Content-Length': Buffer.byteLength(text) });
  response.end(text);
}

/** Answer a refusal (an HttpError, or a CommandError met over HTTP) as `{"error": …}` with its status and headers. */
export function sendError(
  response: http.ServerResponse,
  error: { status: number; message: string; headers?: Record<string, string> },
): void {
  sendJson(response, error.status, { error: error.message }, error.headers);
}

/**
 * Read a request body of at most `limit` bytes and parse it as JSON. Refuses
 * a larger body with 413 as soon as its Content-Length or its bytes say so
 * (RFC 9110 §15.5.14), an empty or malformed one with 400.
 */
export function readJsonBody(request: http.IncomingMessage, limit: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): HttpError =>
      new HttpError(413, `body is larger than ${limit} bytes`, { Connection: 'close' });
    const declared = Number(request.headers['content-length']);
    if (declared > limit) {
      request.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length > limit) {
        request.off('data', onData);
        request.resume(); // discard the rest; the response closes the connection
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('error', () => reject(new HttpError(400, 'request body was cut off')));
    request.on('end', () => {
      if (length > limit) return;
      const bytes = Buffer.concat(chunks);
      // RFC 8259 §8.1: JSON text exchanged between systems is UTF-8. Invalid
      // bytes are refused, not silently turned into U+FFFD and published.
      if (!isUtf8(bytes)) {
        reject(new HttpError(400, 'body is not valid UTF-8'));
        return;
      }
      const text = bytes.toString('utf8');
      if (text.trim() === '') {
        reject(new HttpError(400, 'body is empty; send JSON'));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch (error) {
        reject(new HttpError(400, `body is not valid JSON: ${(error as Error).message}`));
      }
    });
  });
}

/** The value of `Authorization: Bearer <token>`, if that is the scheme used (RFC 6750 §2.1). */
export function bearerToken(headers: http.IncomingHttpHeaders): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '');
  return match ? match[1] : undefined;
}
