// The admin dashboard (`admin: true`, `pushwire serve --admin`). GET /admin
// serves the page (admin-page.ts); GET /admin/stream feeds it over
// pushwire's own Server-Sent Events; three POSTs are an operator's actions:
// publish a test message, cancel a scheduled publish, disconnect a session.
// Every route wants the admin key (`adminKey`, else the publish key) as
// `?key=` — an EventSource cannot send headers — or `Authorization: Bearer`,
// and refuses pages of foreign origins (403) as the publish API does.
//
// The stream is sampled once a second, and only while at least one is open:
// the first stream starts the timer and the sampler's measuring, the last
// one to close stops both. Each sample is an event with an id `<run>-<n>`,
// kept in a ring of SAMPLE_RING: a page that reconnects with Last-Event-ID
// gets the samples after it (a `reset` first when the id is from another run
// or process), a fresh one all of them, which fills its charts. The lists
// (sessions, channels, schedules, recent events) travel once a second in a
// `state` event without an id: only the newest matters, so none is replayed.
import type { NodeSummary } from './redis-presence.js';
import { randomBytes } from 'node:crypto';
import type * as http from 'node:http';
import type { Hub } from '../hub/hub.js';
import { isValidCloseCode } from '../protocol/close.js';
import { encodeSseEvent, encodeSseRetry } from '../protocol/sse.js';
import { ADMIN_PAGE, ADMIN_PAGE_CSP } from './admin-page.js';
import { AdminSampler, Ring, tokenPrefix, type AdminEvent, type ChannelRate } from './admin-sampler.js';
import type { Client, PushCore } from './core.js';
import { bearerToken, HttpError, readJsonBody, sendJson } from './http-io.js';
import type { Metrics, Transport } from './metrics.js';
import { checkBrowser, sameSecret, type PublishApi, type PublishResult } from './publish-api.js';
import type { ScheduledPublish } from './scheduler.js';

/** The dashboard's routes and their methods (only when it is enabled; 404 otherwise). */
export const ADMIN_ROUTES: Record<string, readonly string[]> = {
  '/admin': ['GET'],
  '/admin/stream': ['GET'],
  '/admin/publish': ['POST'],
  '/admin/cancel': ['POST'],
  '/admin/disconnect': ['POST'],
};

const SAMPLE_EVERY_MS = 1000;
/** Samples kept for charts and resumes: 5 minutes at one a second. */
export const SAMPLE_RING = 300;
/** Sessions listed in a state event (oldest first), and scheduled publishes (soonest first). */
export const LISTED_SESSIONS = 50;
export const LISTED_SCHEDULED = 20;
/** Rows of each top-channel table. */
const TOP_CHANNELS = 10;
/** A listed session's channels beyond this are only counted. */
const LISTED_CHANNELS = 5;
/** A scheduled publish's data is shown up to this many characters of its JSON. */
const DATA_PREVIEW = 80;
const DISCONNECT_REASON = 'disconnected by an operator';

/** What the dashboard reads and does, supplied by the server. */
export interface AdminSources {
  core: PushCore;
  hub: Hub;
  metrics: Metrics;
  publishApi: PublishApi;
  /** End one session through its transport (`SessionTransport.end`). */
  end(client: Client, code: number, reason: string): void;
  /** This process, as the page names it (the node name, or host:port). */
  node(): string;
  /** With Redis: every process that shares it (presence snapshots seen lately), with its figures. Null without Redis. */
  processes: (() => Promise<NodeSummary[]>) | null;
  /** Why the shared broker is degraded, or null when it is fine (or there is none). */
  degraded(): string | null;
}

export interface AdminSettings {
  /** The key every admin route wants. */
  key: string;
  /** Origins besides the server's own whose pages may call the routes. */
  allowedOrigins: readonly string[] | undefined;
  /** Admin streams open at once; more are refused with 503. */
  maxStreams: number;
  /** An admin stream with more than this many bytes unsent is cut (its page reconnects and resumes). */
  maxBufferedBytes: number;
  maxBodyBytes: number;
  startedAt: number;
  now: () => number;
  /** Where each action is logged, one line each. */
  log: (line: string) => void;
}

/** One session in the page's list. */
export interface ListedSession {
  /** The hub's session number: what a disconnect names. */
  id: number;
  /** The first characters of the session token, as the client saw it in `ready`. */
  token: string;
  transport: Transport;
  uid: string | null;
  /** Up to LISTED_CHANNELS of its channels, and how many it has. */
  channels: string[];
  channelCount: number;
}

/** The lists the page shows, as of the latest state event. */
export interface AdminState {
  node: { name: string; pid: number; startedAt: number; redis: boolean; processes: number | null; degraded: string | null };
  /** With Redis: the processes that share it, this one first (null when Redis did not answer). */
  nodes: NodeSummary[] | null;
  sessions: { total: number; list: ListedSession[] };
  channels: { total: number; bySubscribers: { channel: string; sessions: number }[]; byRate: ChannelRate[] };
  scheduled: { total: number | null; list: Record<string, unknown>[]; error?: string };
  events: AdminEvent[];
}

export class AdminConsole {
  /** The core's observer: what the samples are made of. */
  readonly sampler: AdminSampler;
  private readonly streams = new Set<http.ServerResponse>();
  private readonly samples = new Ring<{ seq: number; text: string }>(SAMPLE_RING);
  private sampleSeq = 0;
  /** Names this run in sample ids, so a page resuming from another run (or another worker) starts over. */
  private readonly run = randomBytes(4).toString('hex');
  private timer: NodeJS.Timeout | null = null;
  /** A state event is being put together (with Redis it waits for answers): the next tick skips its own. */
  private stateBusy = false;

  constructor(
    private readonly sources: AdminSources,
    private readonly settings: AdminSettings,
  ) {
    this.sampler = new AdminSampler({ metrics: sources.metrics, sessionCounts: () => sources.hub.sessionCounts(), now: settings.now });
  }

  /** A request for one of ADMIN_ROUTES, its method already checked. */
  async handle(request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void> {
    checkBrowser(request, this.settings.allowedOrigins, 'use the admin dashboard');
    this.checkKey(request, url.searchParams);
    switch (url.pathname) {
      case '/admin':
        return this.page(response);
      case '/admin/stream':
        return this.stream(request, response, url.searchParams);
      case '/admin/publish':
        return this.publish(request, response);
      case '/admin/cancel':
        return this.cancel(request, response);
      case '/admin/disconnect':
        return this.disconnect(request, response);
    }
  }

  /** An HTTP request answered with an error status, for the recent events. */
  httpError(method: string, target: string, status: number): void {
    this.sampler.httpError(method, target, status);
  }

  /** End every admin stream and stop sampling (shutdown). */
  close(): void {
    this.stopSampling();
    for (const response of this.streams) response.end();
  }

  /** RFC 6750 §3 as on the publish API: 401 without a key, 403 with a wrong one. */
  private checkKey(request: http.IncomingMessage, query: URLSearchParams): void {
    const given = query.get('key') ?? bearerToken(request.headers);
    if (given === undefined) {
      throw new HttpError(401, 'the admin dashboard needs its key: open /admin?key=<admin key> (the publish key when no admin key is set)', {
        'WWW-Authenticate': 'Bearer realm="pushwire admin"',
      });
    }
    if (!sameSecret(given, this.settings.key)) throw new HttpError(403, 'wrong admin key');
  }

  private page(response: http.ServerResponse): void {
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      // The URL carries the key: neither caches nor other sites (Referer) get to keep it.
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'Content-Security-Policy': ADMIN_PAGE_CSP,
      'X-Content-Type-Options': 'nosniff',
    });
    response.end(ADMIN_PAGE);
  }

  /** GET /admin/stream: `retry:`, the samples the page has not seen, the current state, then one of each a second. */
  private async stream(request: http.IncomingMessage, response: http.ServerResponse, query: URLSearchParams): Promise<void> {
    if (this.streams.size >= this.settings.maxStreams) {
      throw new HttpError(503, `at most ${this.settings.maxStreams} admin dashboards may be open at once; close one`, { 'Retry-After': '5' });
    }
    const lastEventId = headerValue(request.headers['last-event-id']) ?? query.get('lastEventId');
    response.socket?.setNoDelay(true);
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    this.streams.add(response);
    response.on('close', () => {
      this.streams.delete(response);
      if (this.streams.size === 0) this.stopSampling();
    });
    this.startSampling();
    response.write(`${encodeSseRetry(SAMPLE_EVERY_MS)}\n${this.replay(lastEventId)}`);
    this.write(response, await this.stateEvent());
  }

  /** The samples after `lastEventId`; all of them for a fresh page, after a `reset` for one that saw another run. */
  private replay(lastEventId: string | null): string {
    const samples = this.samples.toArray();
    let after = 0;
    let text = '';
    if (lastEventId !== null && lastEventId !== '') {
      const dash = lastEventId.lastIndexOf('-');
      const seq = Number(lastEventId.slice(dash + 1));
      if (lastEventId.slice(0, dash) === this.run && Number.isSafeInteger(seq)) after = seq;
      // An empty data field would not be dispatched (WHATWG HTML §9.2.6), so reset says why.
      else text += encodeSseEvent({ event: 'reset', data: JSON.stringify({ reason: 'another server run or process' }) });
    }
    for (const sample of samples) if (sample.seq > after) text += sample.text;
    return text;
  }

  private startSampling(): void {
    if (this.timer !== null) return;
    this.sampler.start();
    this.timer = setInterval(() => this.tick(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  private stopSampling(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.sampler.stop();
  }

  /** Once a second while streams are open: a sample to every stream (encoded once, kept in the ring), then the state. */
  private tick(): void {
    const seq = ++this.sampleSeq;
    const text = encodeSseEvent({ id: `${this.run}-${seq}`, event: 'sample', data: JSON.stringify(this.sampler.take()) });
    this.samples.push({ seq, text });
    for (const response of this.streams) this.write(response, text);
    if (this.stateBusy) return;
    this.stateBusy = true;
    void this.stateEvent()
      .then((state) => {
        for (const response of this.streams) this.write(response, state);
      })
      .catch((error: unknown) => this.sources.core.reportError(null, error)) // a bug: what Redis cannot answer is not an error here
      .finally(() => (this.stateBusy = false));
  }

  /**
   * Write to one admin stream. A page that stopped reading (a laptop gone to
   * sleep) is cut past maxBufferedBytes, as a slow subscriber is: it
   * reconnects and resumes from its last sample.
   */
  private write(response: http.ServerResponse, text: string): void {
    if (response.writableEnded || response.destroyed) return;
    if (response.writableLength > this.settings.maxBufferedBytes) response.destroy();
    else response.write(text);
  }

  /** The `state` event. Never rejects: what Redis cannot answer is shown as unknown. */
  private async stateEvent(): Promise<string> {
    const { core, hub, processes } = this.sources;
    const sessions: ListedSession[] = [];
    for (const client of core.clients.values()) {
      if (sessions.length === LISTED_SESSIONS) break;
      sessions.push(listSession(client));
    }
    const [scheduled, nodes] = await Promise.all([this.scheduled(), processes ? processes().catch(() => null) : null]);
    const state: AdminState = {
      node: {
        name: this.sources.node(),
        pid: process.pid,
        startedAt: this.settings.startedAt,
        redis: processes !== null,
        processes: nodes?.length ?? null,
        degraded: this.sources.degraded(),
      },
      nodes,
      sessions: { total: core.clients.size, list: sessions },
      channels: {
        total: hub.presenceCounts().channels,
        bySubscribers: hub.busiestChannels(TOP_CHANNELS).map(([channel, count]) => ({ channel, sessions: count })),
        byRate: this.sampler.topRates(TOP_CHANNELS),
      },
      scheduled,
      events: this.sampler.recentEvents(),
    };
    return encodeSseEvent({ event: 'state', data: JSON.stringify(state) });
  }

  private async scheduled(): Promise<AdminState['scheduled']> {
    const { scheduler } = this.sources.publishApi;
    try {
      const [items, total] = await Promise.all([scheduler.list(LISTED_SCHEDULED), scheduler.count()]);
      return { total, list: items.map(listScheduled) };
    } catch (error) {
      return { total: null, list: [], error: (error as Error).message };
    }
  }

  // ---- actions: each logged, and answered with what it did ----

  /** POST /admin/publish: the body of POST /publish, taken the same way. */
  private async publish(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const results = await this.sources.publishApi.answerPublish(request, response);
    this.log(request, `published ${results.map(describeResult).join('; ')}`);
  }

  /** POST /admin/cancel `{"id":"sched-1"}`. */
  private async cancel(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const { id } = (await this.readObject(request)) as { id?: unknown };
    if (typeof id !== 'string' || id === '') throw new HttpError(422, 'id must name a scheduled publish');
    if (!(await this.sources.publishApi.scheduler.cancel(id))) throw new HttpError(404, `no scheduled publish ${id}`);
    this.log(request, `cancelled scheduled publish ${id}`);
    sendJson(response, 200, { cancelled: id });
  }

  /** POST /admin/disconnect `{"session":12,"code":1012}`: a WebSocket gets the close code; SSE and poll sessions are ended. */
  private async disconnect(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const { session, code } = (await this.readObject(request)) as { session?: unknown; code?: unknown };
    if (typeof session !== 'number' || !Number.isSafeInteger(session)) throw new HttpError(422, 'session must be a session number from the list');
    if (typeof code !== 'number' || !Number.isInteger(code) || !isValidCloseCode(code)) {
      throw new HttpError(422, 'code must be a close code a server may send: 1000-1003, 1007-1014 or 3000-4999');
    }
    let client: Client | undefined;
    for (const candidate of this.sources.core.clients.values()) {
      if (candidate.session.id === session) {
        client = candidate;
        break;
      }
    }
    if (!client) throw new HttpError(404, `no session ${session} here: it has ended already`);
    const { transport } = client;
    this.sources.end(client, code, DISCONNECT_REASON);
    const who = `session ${tokenPrefix(client.token)}… (${transport}${client.identity.uid === undefined ? '' : `, uid ${client.identity.uid}`})`;
    this.log(request, transport === 'ws' ? `closed ${who} with code ${code}` : `ended ${who}`);
    sendJson(response, 200, { disconnected: session, transport, code: transport === 'ws' ? code : null });
  }

  private async readObject(request: http.IncomingMessage): Promise<object> {
    const body = await readJsonBody(request, this.settings.maxBodyBytes);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(422, 'send a JSON object');
    return body;
  }

  private log(request: http.IncomingMessage, what: string): void {
    this.settings.log(`pushwire admin: ${what} (from ${request.socket.remoteAddress ?? 'unknown'})`);
  }
}

function listSession(client: Client): ListedSession {
  const channels: string[] = [];
  for (const channel of client.session.channels) {
    if (channels.length === LISTED_CHANNELS) break;
    channels.push(channel);
  }
  return {
    id: client.session.id,
    token: tokenPrefix(client.token),
    transport: client.transport,
    uid: client.identity.uid ?? null,
    channels,
    channelCount: client.session.channels.size,
  };
}

function listScheduled(item: ScheduledPublish): Record<string, unknown> {
  const { target, event } = item.request;
  const preview = item.json.length > DATA_PREVIEW ? `${item.json.slice(0, DATA_PREVIEW)}…` : item.json;
  return { id: item.id, at: item.at, ...target, ...(event === undefined ? {} : { event }), data: preview };
}

function describeResult(result: PublishResult): string {
  if ('scheduled' in result) return `${result.scheduled} for ${result.at}`;
  return `${result.id} to ${result.delivered} session${result.delivered === 1 ? '' : 's'}`;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
