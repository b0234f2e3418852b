// The publish API for backends: POST /publish (one publish or a batch),
// GET /scheduled, DELETE /scheduled/:id, the push port's lines, and
// PushServer.publish from code. All of them validate the same JSON
// (wire.ts) and end in one dispatch: now, or at a scheduled time.
import { createHash, timingSafeEqual } from 'node:crypto';
import type * as http from 'node:http';
import type { PushCore } from './core.js';
import { bearerToken, HttpError, readJsonBody, sendJson } from './http-io.js';
import { Scheduler, type ScheduledPublish, type ScheduleInput, type SchedulerLimits, type Schedules } from './scheduler.js';
import { parsePublish, parsePublishBody, serializeData, type PublishRequest } from './wire.js';

/** The answer to one publish. */
export type PublishResult = { id: string; delivered: number } | { scheduled: string; at: string };

export interface PublishApiSettings {
  /** Required as `Authorization: Bearer <key>`; absent = no check. */
  publishKey: string | undefined;
  /** Origins whose pages may call the publish API (besides the server's own); `*` does not count here. */
  allowedOrigins: readonly string[] | undefined;
  maxBodyBytes: number;
  maxBatch: number;
  /** Limits of waiting scheduled publishes (count and estimated bytes). */
  schedules: SchedulerLimits;
  now: () => number;
}

/** A publish ready to go: validated, and its data serialized once. */
type Prepared = { request: PublishRequest; json: string };

/** GET /scheduled pages: `?limit=` up to this many items. */
const MAX_PAGE = 1000;

export class PublishApi {
  readonly scheduler: Schedules;

  constructor(
    private readonly core: PushCore,
    private readonly settings: PublishApiSettings,
    /** Schedules shared with other processes (Redis); default: this process's memory. */
    shared?: Schedules,
  ) {
    this.scheduler =
      shared ??
      new Scheduler(
        (request, json) => {
          this.publishNow(request, json).catch((error: unknown) => core.reportError(null, error));
        },
        settings.now,
        settings.schedules,
      );
  }

  /** POST /publish: 200 with the result (a batch: an array of them), 202 for a single scheduled publish. */
  async publishHttp(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    checkBrowser(request, this.settings.allowedOrigins);
    this.checkPublishKey(request);
    await this.answerPublish(request, response);
  }

  /**
   * The rest of POST /publish once the caller is let in: read the body (one
   * publish or a batch), publish or schedule, answer. The admin dashboard's
   * test publish comes this way too. Resolves with the results answered.
   */
  async answerPublish(request: http.IncomingMessage, response: http.ServerResponse): Promise<PublishResult[]> {
    const body = await readJsonBody(request, this.settings.maxBodyBytes);
    const { requests, batch } = parsePublishBody(body, this.settings.now(), this.settings.maxBatch);
    const results = await this.dispatchAll(requests);
    if (batch) sendJson(response, 200, results);
    else sendJson(response, 'scheduled' in results[0] ? 202 : 200, results[0]);
    return results;
  }

  /**
   * GET /scheduled[?limit=N][&after=<id>]: waiting publishes, soonest first,
   * a page at a time (default 100, at most 1000); `next` is the `after` of
   * the following page, null on the last.
   */
  async listScheduled(request: http.IncomingMessage, response: http.ServerResponse, query: URLSearchParams): Promise<void> {
    this.checkPublishKey(request);
    const limitText = query.get('limit');
    const limit = limitText === null ? 100 : Number(limitText);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_PAGE}`);
    }
    const page = await this.scheduler.list(limit + 1, query.get('after') ?? undefined);
    const next = page.length > limit ? page[limit - 1].id : null;
    sendJson(response, 200, { scheduled: page.slice(0, limit).map(describeScheduled), next, total: await this.scheduler.count() });
  }

  /** DELETE /scheduled/:id. */
  async cancelScheduled(request: http.IncomingMessage, response: http.ServerResponse, id: string): Promise<void> {
    checkBrowser(request, this.settings.allowedOrigins);
    this.checkPublishKey(request);
    if (!(await this.scheduler.cancel(id))) throw new HttpError(404, `no scheduled publish ${id}`);
    sendJson(response, 200, { cancelled: id });
  }

  /** A publish from the embedding process; throws HttpError 422 for an invalid one. */
  async publishFromCode(input: Record<string, unknown>): Promise<PublishResult> {
    return (await this.dispatchAll([parsePublish(input, this.settings.now())]))[0];
  }

  /** One line of the push port: `ok <delivered>` or `ok scheduled <ids>` is written by the port. */
  async publishLine(body: unknown): Promise<string> {
    const { requests } = parsePublishBody(body, this.settings.now(), this.settings.maxBatch);
    let delivered = 0;
    const scheduled: string[] = [];
    for (const result of await this.dispatchAll(requests)) {
      if ('scheduled' in result) scheduled.push(result.scheduled);
      else delivered += result.delivered;
    }
    return scheduled.length === requests.length ? `scheduled ${scheduled.join(' ')}` : String(delivered);
  }

  /** RFC 6750 §3: 401 without a key, 403 with a wrong one. */
  checkPublishKey(request: http.IncomingMessage): void {
    const key = this.settings.publishKey;
    if (key === undefined) return;
    const given = bearerToken(request.headers);
    if (given === undefined) {
      throw new HttpError(401, 'send the publish key as Authorization: Bearer <key>', {
        'WWW-Authenticate': 'Bearer realm="pushwire"',
      });
    }
    if (!sameSecret(given, key)) throw new HttpError(403, 'wrong publish key');
  }

  /**
   * Publish or schedule each request, in order — all or none: every item's
   * data is serialized first (422 names the item that cannot be) and the
   * schedules must fit the limits together (507), before anything happens.
   */
  private async dispatchAll(requests: PublishRequest[]): Promise<PublishResult[]> {
    const prepared: Prepared[] = requests.map((request, index) => ({
      request,
      json: serializeData(request.data, requests.length > 1 ? `item ${index}: ` : ''),
    }));
    const waiting = prepared.filter(({ request }) => request.at !== undefined) as ScheduleInput[];
    const scheduled = waiting.length > 0 ? await this.scheduler.scheduleAll(waiting) : [];
    // In order: with a shared broker each publish waits for its id before the next goes.
    const results: PublishResult[] = [];
    let next = 0;
    for (const { request, json } of prepared) {
      if (request.at === undefined) {
        results.push(await this.publishNow(request, json));
      } else {
        const item = scheduled[next++];
        results.push({ scheduled: item.id, at: new Date(item.at).toISOString() });
      }
    }
    return results;
  }

  private async publishNow(request: PublishRequest, json: string): Promise<{ id: string; delivered: number }> {
    const { message, delivered } = await this.core.publish({ target: request.target, event: request.event, data: request.data, json });
    return { id: message.id, delivered };
  }
}

/**
 * For routes that change state (the publish API, the admin dashboard):
 * backends call them without an Origin; browsers send one (Fetch standard
 * §3.1) and may be made to by any page — a "simple" cross-site POST
 * (text/plain) needs no preflight, so CORS alone would not stop it. A
 * request with an Origin is refused (403) unless it comes from the server's
 * own origin or one listed by name in `allowedOrigins` (`*` does not count);
 * the message says it may not `action`.
 */
export function checkBrowser(request: http.IncomingMessage, allowedOrigins: readonly string[] | undefined, action = 'publish'): void {
  const origin = request.headers.origin?.toLowerCase();
  if (origin === undefined) return;
  const host = request.headers.host?.toLowerCase();
  const sameOrigin = host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
  if (!sameOrigin && !allowedOrigins?.includes(origin)) {
    throw new HttpError(403, `origin ${origin} may not ${action}: list it in allowedOrigins`);
  }
}

function describeScheduled(item: ScheduledPublish): Record<string, unknown> {
  const { target, event, data } = item.request;
  return { id: item.id, at: new Date(item.at).toISOString(), ...target, ...(event === undefined ? {} : { event }), data };
}


/** Compare secrets in constant time, whatever their lengths. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
