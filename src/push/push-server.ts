// The pushwire push server: one node:http server carrying the WebSocket,
// SSE and long-poll transports, the publish API for backends, health and
// metrics, and an optional line-protocol push port. Routing, auth of the
// publish API, and the server's life (listen, graceful close) live here.
import cluster from 'node:cluster';
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type * as net from 'node:net';
import { hostname } from 'node:os';
import { Hub } from '../hub/hub.js';
import { ADMIN_ROUTES, AdminConsole } from './admin.js';
import { DEMO_PAGE } from './demo-page.js';
import { errorResponse } from '../protocol/handshake.js';
import { PushCore, type ChannelCheck, type Client, type PushHandler, type SessionTransport, type Settings } from './core.js';
import { serveBrowserClient } from './client-asset.js';
import { ConfigError, HttpError, readJsonBody, sendError, sendJson } from './http-io.js';
import { checkOrigin } from './identity.js';
import { Metrics, type Transport } from './metrics.js';
import { PollTransport } from './poll-transport.js';
import { createPushPort } from './push-port.js';
import { PublishApi, type PublishResult } from './publish-api.js';
import { RedisBroker } from './redis-broker.js';
import { parseStreamSpec, RedisConsumer, type QueueSpec } from './redis-consumer.js';
import { RedisPresence, type NodeStats } from './redis-presence.js';
import { RedisScheduler } from './redis-scheduler.js';
import type { ScheduledPublish } from './scheduler.js';
import { SseTransport } from './sse-transport.js';
import { parseCommand } from './wire.js';
import { WebSocketTransport } from './ws-transport.js';

export interface PushServerOptions {
  /** Required by POST /publish and /scheduled as `Authorization: Bearer <key>`; required to listen beyond loopback. */
  publishKey?: string;
  /** HS256 secret of client tokens: how a client proves its user id (`?token=` or `Authorization: Bearer`). */
  jwtSecret?: string;
  /**
   * Development identity: take `?uid=` on trust, without proof. Off by
   * default (a same-host reverse proxy makes every client look like
   * loopback); on with `demo`. Cannot be combined with `jwtSecret`.
   */
  devIdentity?: boolean;
  /**
   * Private channels without code: a channel named `<prefix><uid>` (e.g.
   * `user:alice` with prefix `user:`) may be subscribed to only by that user.
   * Checked before `authorize`. Default: none.
   */
  userChannelPrefix?: string;
  /** Clock skew tolerated on token `exp`/`nbf`, seconds. Default 5. */
  tokenLeewaySeconds?: number;
  /** Origins (scheme://host[:port], lower case) whose pages may connect; `*` or absent: any. */
  allowedOrigins?: string[];
  /** Messages kept per channel, per user inbox, and for broadcast. Default 1000. */
  historySize?: number;
  /** Longest a message is kept for resume, ms. Default 1 hour. */
  historyAgeMs?: number;
  /** Bytes of history kept across all channels, inboxes and broadcast; past it the oldest message anywhere goes. Default 32 MiB. */
  maxHistoryBytes?: number;
  /** Scheduled publishes waiting at once; more are refused with 507. Default 10 000. */
  maxScheduled?: number;
  /** Bytes of data scheduled publishes may hold together; more are refused with 507. Default 16 MiB. */
  maxScheduledBytes?: number;
  /** May this identity subscribe to this channel? Default: yes. */
  authorize?: ChannelCheck;
  /** May clients publish to a channel (`true`, `false` or a check)? They must also pass `authorize`. Default false. */
  clientPublish?: boolean | ChannelCheck;
  /** The application hook: onOpen / onMessage / onClose / onError, for every transport. */
  handler?: PushHandler;
  /** Largest request body (publish, send), bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Most publishes in one batch. Default 1000. */
  maxBatch?: number;
  /** Largest WebSocket message a client may send, bytes. Default 64 KiB. */
  maxMessageBytes?: number;
  /** Most channels one session may hold. Default 100. */
  maxChannels?: number;
  /**
   * The slow-consumer budget: a WebSocket or SSE session with more than this
   * many bytes waiting to be written is cut (it resumes from its last id on
   * reconnect); a poll answer holds at most this many bytes. Default 1 MiB.
   */
  maxBufferedBytes?: number;
  /** Invalid commands a WebSocket client may send before it is closed with 1008. Default 10. */
  maxClientErrors?: number;
  /** Accept permessage-deflate on /ws. Default false (broadcast frames are then encoded once for all). */
  perMessageDeflate?: boolean;
  /** WebSocket keepalive ping interval, ms; 0 = off. Default 30 000. */
  pingIntervalMs?: number;
  /** Reconnect delay hint for clients, ms: SSE `retry:`, and `retry` in every transport's ready message. Default 3000. */
  sseRetryMs?: number;
  /** SSE heartbeat comment interval, ms (also how often idle poll sessions are swept). Default 15 000. */
  heartbeatMs?: number;
  /** Long-poll hold when the request gives no `timeout`, ms. Default 25 000. */
  pollTimeoutMs?: number;
  /** Longest `timeout` a poll may ask for, ms. Default 60 000. */
  maxPollTimeoutMs?: number;
  /** A poll session with no request for this long is closed, ms. Default 2 × maxPollTimeoutMs. */
  pollSessionTtlMs?: number;
  /** Poll sessions kept at once; past it the least recently polled idle one is ended (503 when all are busy). Default 10 000. */
  maxPollSessions?: number;
  /** Channel subscriptions of all poll sessions together; evicts like maxPollSessions. Default 20 000. */
  maxPollSubscriptions?: number;
  /** Poll sessions per remote address (429 when all are busy); 0 = off, e.g. behind a reverse proxy. Default 1000. */
  maxPollSessionsPerAddress?: number;
  /** A request head must arrive within this many ms, or the connection gets 408. Default 10 000. */
  headersTimeoutMs?: number;
  /** A whole request (head and body) must arrive within this many ms, or it gets 408. Default 30 000. */
  requestTimeoutMs?: number;
  /** Also listen on 127.0.0.1:pushPort for the line protocol (0 = any free port). */
  pushPort?: number;
  /** Shared secret of the push port: each connection's first line must be `AUTH <key>`. Default: none. */
  pushKey?: string;
  /** A push-port connection idle this long is closed, ms. Default 60 000. */
  pushPortIdleMs?: number;
  /** Push-port connections open at once. Default 64. */
  maxPushPortConnections?: number;
  /** The clock (ms), for tokens, history and schedules. Default Date.now. */
  now?: () => number;
  /** Serve the demo chat at `/` and let clients publish to `demo:` channels. Default false. */
  demo?: boolean;
  /**
   * Serve the admin dashboard at `/admin` (live counters, charts, channels,
   * sessions, and actions: test publish, cancel a schedule, disconnect a
   * session). Needs `adminKey` or `publishKey`: the page takes it as `?key=`.
   * Default false.
   */
  admin?: boolean;
  /** The dashboard's own key; without it the publish key opens the dashboard. Only with `admin`. */
  adminKey?: string;
  /** Admin dashboards streaming at once; more are refused with 503. Default 8. */
  maxAdminStreams?: number;
  /**
   * Share ids, history and fan-out with other pushwire processes through
   * Redis: `redis://[user:pass@]host:port[/db]` or `rediss://…`. Default:
   * none (one process, everything in memory).
   */
  redis?: string;
  /** Prefix of pushwire's Redis keys and bus channel. Default `pushwire:`. */
  redisPrefix?: string;
  /** With `redis`: consume publish commands (the JSON of POST /publish) from this Redis list (LPUSH to it). */
  consumeList?: string;
  /** With `redis`: consume publish commands from this Redis stream, `KEY[:GROUP]` (XADD KEY * json '{…}'). */
  consumeStream?: string;
  /** This process's stable name in Redis (its list consumer's processing list). Default `<hostname>:<port>`. */
  nodeName?: string;
  /** Test hook: runs after a queued entry is taken and before it is published. @internal */
  beforeConsumedPublish?: () => Promise<void>;
}

export type { PublishResult } from './publish-api.js';

/** Routes and the methods they allow (405 lists them in `Allow`). */
const ROUTES: Record<string, readonly string[]> = {
  '/ws': ['GET'],
  '/sse': ['GET', 'OPTIONS'],
  '/poll': ['GET', 'OPTIONS'],
  '/send': ['POST', 'OPTIONS'],
  '/publish': ['POST'],
  '/scheduled': ['GET'],
  '/healthz': ['GET'],
  '/presence': ['GET'],
  '/metrics': ['GET'],
  '/client.js': ['GET', 'HEAD'],
};
const SCHEDULED_ITEM = /^\/scheduled\/([^/]+)$/;
/** Headers a browser client may send cross-origin (CORS preflight). */
const CORS_REQUEST_HEADERS = 'Content-Type, Authorization, Last-Event-ID, X-Pushwire-Session';

/** Listener signatures of PushServer's events. */
export interface PushServerEvents {
  /** A bug in a hook (including the handler's own methods) or in the server. Only emitted while listened to. */
  error: (error: Error) => void;
}

export interface PushServer {
  on<E extends keyof PushServerEvents>(event: E, listener: PushServerEvents[E]): this;
  off<E extends keyof PushServerEvents>(event: E, listener: PushServerEvents[E]): this;
}

/**
 * The push server. Create with `createServer(options)`, then `listen()`.
 *
 * @example
 * const server = createServer({ publishKey: 'secret' });
 * await server.listen(8080);
 * // a backend: curl -H 'Authorization: Bearer secret' -d '{"channel":"news","data":"hi"}' localhost:8080/publish
 */
export class PushServer extends EventEmitter {
  readonly hub: Hub;
  readonly metrics = new Metrics();
  /** The node:http server everything runs on. */
  readonly httpServer: http.Server;
  private readonly options: PushServerOptions;
  private readonly settings: Settings;
  private readonly core: PushCore;
  /** The shared broker and schedules when `redis` is set. */
  private readonly redis: RedisBroker | null;
  private readonly redisSchedules: RedisScheduler | null;
  private readonly redisPresence: RedisPresence | null;
  private readonly consumers: RedisConsumer[] = [];
  private readonly ws: WebSocketTransport;
  private readonly sse: SseTransport;
  private readonly poll: PollTransport;
  private readonly publishApi: PublishApi;
  /** The dashboard, with `admin`. */
  private readonly admin: AdminConsole | null;
  private pushPort: net.Server | null = null;
  private maintenance: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;
  private readonly startedAt: number;

  constructor(options: PushServerOptions = {}) {
    super();
    checkOptions(options);
    this.options = options;
    const now = options.now ?? Date.now;
    this.startedAt = now();
    this.hub = new Hub({
      historySize: options.historySize,
      historyAgeMs: options.historyAgeMs,
      maxRetainedBytes: options.maxHistoryBytes ?? 32 * 1024 * 1024,
      now,
    });
    this.settings = {
      jwtSecret: options.jwtSecret,
      devIdentity: (options.devIdentity ?? options.demo ?? false) && options.jwtSecret === undefined,
      leewaySeconds: options.tokenLeewaySeconds ?? 5,
      allowedOrigins: options.allowedOrigins?.map((origin) => origin.toLowerCase()),
      authorize: withUserChannels(options.userChannelPrefix, options.authorize),
      clientPublish: options.demo ? demoPublish(options.clientPublish ?? false) : (options.clientPublish ?? false),
      handler: options.handler ?? {},
      maxChannels: options.maxChannels ?? 100,
      maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
      maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
      maxClientErrors: options.maxClientErrors ?? 10,
      retryMs: options.sseRetryMs ?? 3000,
      now,
    };
    this.redis = options.redis
      ? new RedisBroker(this.hub, {
          url: options.redis,
          prefix: options.redisPrefix,
          historySize: options.historySize ?? 1000,
          historyAgeMs: options.historyAgeMs ?? 60 * 60 * 1000,
          now,
        })
      : null;
    this.core = new PushCore(this.hub, this.redis ?? this.hub, this.settings, this.metrics);
    if (this.redis) this.redis.onError = (error) => this.core.reportError(null, error);
    this.core.onBug = (error) => {
      if (this.listenerCount('error') > 0) this.emit('error', error);
    };
    this.ws = new WebSocketTransport(this.core, {
      maxMessageBytes: options.maxMessageBytes ?? 64 * 1024,
      perMessageDeflate: options.perMessageDeflate ?? false,
      pingIntervalMs: options.pingIntervalMs ?? 30_000,
      maxPendingCommands: 64,
      maxBufferedBytes: this.settings.maxBufferedBytes,
      maxClientErrors: this.settings.maxClientErrors,
    });
    this.sse = new SseTransport(this.core, { maxBufferedBytes: this.settings.maxBufferedBytes });
    const maxPollTimeoutMs = options.maxPollTimeoutMs ?? 60_000;
    this.poll = new PollTransport(this.core, {
      defaultTimeoutMs: Math.min(options.pollTimeoutMs ?? 25_000, maxPollTimeoutMs),
      maxTimeoutMs: maxPollTimeoutMs,
      sessionTtlMs: options.pollSessionTtlMs ?? 2 * maxPollTimeoutMs,
      maxBatch: 1000,
      maxAnswerBytes: this.settings.maxBufferedBytes,
      maxSessions: options.maxPollSessions ?? 10_000,
      maxSubscriptions: options.maxPollSubscriptions ?? 20_000,
      maxSessionsPerAddress: options.maxPollSessionsPerAddress ?? 1000,
      now,
    });
    const scheduleLimits = { maxItems: options.maxScheduled ?? 10_000, maxBytes: options.maxScheduledBytes ?? 16 * 1024 * 1024 };
    this.redisSchedules = this.redis
      ? new RedisScheduler(() => this.redis!.publishContext, scheduleLimits, now, (error) => this.core.reportError(null, error), options.redisPrefix)
      : null;
    this.redisPresence = this.redis
      ? new RedisPresence(
          this.hub,
          () => this.nodeStats(),
          () => this.redis!.publishContext.client,
          options.redisPrefix ?? 'pushwire:',
          now,
          (error) => this.core.reportError(null, error),
        )
      : null;
    this.publishApi = new PublishApi(
      this.core,
      {
        publishKey: options.publishKey,
        allowedOrigins: this.settings.allowedOrigins,
        maxBodyBytes: this.settings.maxBodyBytes,
        maxBatch: options.maxBatch ?? 1000,
        schedules: scheduleLimits,
        now,
      },
      this.redisSchedules ?? undefined,
    );
    this.admin = options.admin ? this.createAdmin(options, now) : null;
    if (this.admin) this.core.observer = this.admin.sampler;
    const requestTimeout = options.requestTimeoutMs ?? 30_000;
    this.httpServer = http.createServer(
      {
        // A request head must arrive within headersTimeoutMs and its body
        // within requestTimeoutMs (408 otherwise); Node checks both on this
        // interval, so it is short enough for the limits to mean what they say.
        headersTimeout: Math.min(options.headersTimeoutMs ?? 10_000, requestTimeout || Infinity),
        requestTimeout,
        connectionsCheckingInterval: 1000,
      },
      (request, response) => this.handleRequest(request, response),
    );
    this.httpServer.on('upgrade', (request: http.IncomingMessage, socket: net.Socket, head: Buffer) =>
      this.handleUpgrade(request, socket, head),
    );
    this.httpServer.on('clientError', (error: NodeJS.ErrnoException, socket: net.Socket) => {
      const refusal = CLIENT_ERRORS[error.code ?? ''] ?? CLIENT_ERRORS.default;
      if (socket.writable) socket.end(errorResponse(refusal.status, refusal.message));
      else socket.destroy();
    });
  }

  /**
   * Start listening (and the push port, if configured). Refuses (ConfigError)
   * a host other than loopback without a publish key.
   */
  async listen(port = 8080, host = '127.0.0.1'): Promise<{ port: number; pushPort?: number }> {
    const loopback = isLoopback(host);
    if (!loopback && this.options.publishKey === undefined) {
      throw new ConfigError(`refusing to listen on ${host} without a publish key: anyone could publish`);
    }
    await this.redis?.start(); // ids and history first: then clients may come
    this.redisSchedules?.start();
    this.redisPresence?.start();
    await listenOn(this.httpServer, port, host);
    await this.startConsumers();
    const heartbeatMs = this.options.heartbeatMs ?? 15_000;
    this.maintenance = setInterval(() => {
      this.sse.heartbeat();
      this.poll.sweep();
      this.hub.sweep(); // idle streams age out too, not only on their next publish
    }, heartbeatMs);
    this.maintenance.unref();
    const result: { port: number; pushPort?: number } = { port: (this.httpServer.address() as net.AddressInfo).port };
    if (this.options.pushPort !== undefined) {
      this.pushPort = createPushPort((body) => this.publishApi.publishLine(body), {
        maxLineBytes: this.settings.maxBodyBytes,
        key: this.options.pushKey,
        idleTimeoutMs: this.options.pushPortIdleMs ?? 60_000,
        maxConnections: this.options.maxPushPortConnections ?? 64,
      });
      await listenOn(this.pushPort, this.options.pushPort, '127.0.0.1');
      result.pushPort = (this.pushPort.address() as net.AddressInfo).port;
    }
    return result;
  }

  /**
   * Publish from the embedding process: the same object POST /publish takes
   * (`channel` | `uid` | `broadcast: true`, `event`, `data`, `delayMs` | `at`).
   * Rejects with HttpError 422 for an invalid one (503 when a shared broker
   * cannot be reached).
   */
  publish(input: Record<string, unknown>): Promise<PublishResult> {
    return this.publishApi.publishFromCode(input);
  }

  /** Publishes waiting for their time, soonest first. */
  async scheduled(): Promise<ScheduledPublish[]> {
    return this.publishApi.scheduler.list();
  }

  /**
   * Graceful shutdown: stop accepting (503), close WebSockets with 1001
   * behind whatever they still had to send, end SSE streams, answer held
   * polls, drop scheduled publishes (they live in memory), then resolve once
   * every connection is gone. Peers that have not closed within `graceMs`
   * are cut, so this always resolves within about `graceMs`.
   */
  close(graceMs = 5000): Promise<void> {
    this.closing ??= (async () => {
      if (this.maintenance) clearInterval(this.maintenance);
      this.publishApi.scheduler.stop();
      const closed: Promise<unknown>[] = [];
      if (this.pushPort?.listening) closed.push(new Promise((resolve) => this.pushPort!.close(resolve)));
      if (this.httpServer.listening) closed.push(new Promise((resolve) => this.httpServer.close(resolve)));
      this.sse.close();
      this.poll.close();
      this.admin?.close();
      const cut = setTimeout(() => {
        this.ws.terminate();
        this.httpServer.closeAllConnections();
      }, graceMs);
      await this.ws.close();
      this.httpServer.closeIdleConnections();
      await Promise.all(closed);
      clearTimeout(cut);
      await Promise.all(this.consumers.map((consumer) => consumer.stop()));
      await this.redisPresence?.stop();
      await this.redis?.stop();
    })();
    return this.closing;
  }

  // ---- HTTP ----

  private handleRequest(request: http.IncomingMessage, response: http.ServerResponse): void {
    response.on('finish', () => {
      if (response.statusCode < 400) return;
      this.metrics.countError(response.statusCode);
      this.admin?.httpError(request.method ?? '', request.url ?? '', response.statusCode);
    });
    this.route(request, response).catch((error: unknown) => sendError(response, this.core.refusal(error, null)));
  }

  private async route(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    if (this.closing) throw new HttpError(503, 'server is shutting down', { Connection: 'close' });
    const url = parseUrl(request.url);
    const scheduledItem = SCHEDULED_ITEM.exec(url.pathname);
    const methods = scheduledItem
      ? ['DELETE']
      : url.pathname === '/' && this.options.demo
        ? ['GET']
        : (ROUTES[url.pathname] ?? (this.admin ? ADMIN_ROUTES[url.pathname] : undefined));
    if (!methods) throw new HttpError(404, `no route ${url.pathname}`);
    if (!methods.includes(request.method ?? '')) {
      throw new HttpError(405, `${request.method} is not allowed on ${url.pathname}`, { Allow: methods.join(', ') });
    }
    if (methods.includes('OPTIONS')) this.allowBrowsers(request, response);
    if (request.method === 'OPTIONS') {
      response.writeHead(204, { 'Access-Control-Allow-Methods': methods.join(', ') }).end();
      return;
    }
    if (scheduledItem) return this.publishApi.cancelScheduled(request, response, scheduledItem[1]);
    if (this.admin && Object.hasOwn(ADMIN_ROUTES, url.pathname)) return this.admin.handle(request, response, url);
    switch (url.pathname) {
      case '/ws':
        throw new HttpError(426, 'this is a WebSocket endpoint: send an Upgrade request', { Upgrade: 'websocket' });
      case '/sse':
        return this.sse.handle(request, response, url);
      case '/poll':
        return this.poll.handle(request, response, url);
      case '/send':
        return this.send(request, response, url);
      case '/publish':
        return this.publishApi.publishHttp(request, response);
      case '/scheduled':
        return this.publishApi.listScheduled(request, response, url.searchParams);
      case '/healthz': {
        const degraded = this.redis?.degraded ?? null;
        return sendJson(response, 200, {
          status: degraded === null ? 'ok' : 'degraded',
          ...(degraded === null ? {} : { reason: degraded }),
          uptimeSeconds: Math.floor((this.settings.now() - this.startedAt) / 1000),
          sessions: this.core.clients.size,
        });
      }
      case '/presence':
        return this.presence(request, response, url.searchParams);
      case '/metrics':
        response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
        response.end(
          this.metrics.render({
            sessions: this.hub.sessionCounts(),
            scheduled: this.publishApi.scheduler.size,
            scheduledBytes: this.publishApi.scheduler.bytes,
            heldPolls: this.poll.heldCount,
            pollSessionsEvicted: this.poll.evicted,
            history: this.hub.historyStats(),
            ...this.hub.presenceCounts(),
            queue: {
              consumed: this.consumers.reduce((sum, consumer) => sum + consumer.counts.consumed, 0),
              deadLetters: this.consumers.reduce((sum, consumer) => sum + consumer.counts.deadLetters, 0),
            },
          }),
        );
        return;
      case '/client.js':
        return serveBrowserClient(request, response, this.settings.allowedOrigins);
      case '/':
        response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
        response.end(DEMO_PAGE);
        return;
    }
  }

  /** CORS (Fetch standard §3.2) for the browser-facing routes: reflect an allowed Origin. */
  private allowBrowsers(request: http.IncomingMessage, response: http.ServerResponse): void {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    checkOrigin(origin, this.settings.allowedOrigins);
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Vary', 'Origin');
    if (request.method === 'OPTIONS') {
      response.setHeader('Access-Control-Allow-Headers', CORS_REQUEST_HEADERS);
      response.setHeader('Access-Control-Max-Age', '600');
    }
  }

  /** POST /send: a command from an SSE or poll (or WebSocket) session, named by its token. */
  private async send(request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void> {
    const token = request.headers['x-pushwire-session'] ?? url.searchParams.get('session') ?? '';
    const client = this.core.clients.get(Array.isArray(token) ? token[0] : token);
    if (!client) throw new HttpError(401, 'unknown or expired session: reconnect to get a new one');
    const command = parseCommand(await readJsonBody(request, this.settings.maxBodyBytes));
    sendJson(response, 200, await this.core.run(client, command));
  }

  /**
   * GET /presence?channel=… (sessions subscribed) or ?uid=… (is the user
   * online, and with how many sessions), across every process with --redis.
   * Needs the publish key: who is online is the backend's business.
   */
  private async presence(request: http.IncomingMessage, response: http.ServerResponse, query: URLSearchParams): Promise<void> {
    this.publishApi.checkPublishKey(request);
    const channel = query.get('channel');
    const uid = query.get('uid');
    if ((channel === null) === (uid === null)) throw new HttpError(400, 'ask about one ?channel= or one ?uid=');
    const field = channel !== null ? (`c:${channel}` as const) : (`u:${uid}` as const);
    let sessions: number;
    if (this.redisPresence) {
      try {
        sessions = await this.redisPresence.count(field);
      } catch (error) {
        throw new HttpError(503, `the message broker is unreachable: ${(error as Error).message}`);
      }
    } else {
      sessions = channel !== null ? this.hub.channelSessions(channel) : this.hub.userSessionCount(uid!);
    }
    sendJson(response, 200, channel !== null ? { channel, sessions } : { uid, online: sessions > 0, sessions });
  }

  /** The dashboard, reading and acting on this server's parts. */
  private createAdmin(options: PushServerOptions, now: () => number): AdminConsole {
    const transports: Record<Transport, SessionTransport<Client, never>> = { ws: this.ws, sse: this.sse, poll: this.poll };
    return new AdminConsole(
      {
        core: this.core,
        hub: this.hub,
        metrics: this.metrics,
        publishApi: this.publishApi,
        end: (client, code, reason) => transports[client.transport].end(client, code, reason),
        node: () => this.adminNodeName(),
        processes: this.redisPresence ? () => this.redisPresence!.summaries() : null,
        degraded: () => this.redis?.degraded ?? null,
      },
      {
        key: (options.adminKey ?? options.publishKey)!, // checkOptions refuses admin without either
        allowedOrigins: this.settings.allowedOrigins,
        maxStreams: options.maxAdminStreams ?? 8,
        maxBufferedBytes: this.settings.maxBufferedBytes,
        maxBodyBytes: this.settings.maxBodyBytes,
        startedAt: this.startedAt,
        now,
        log: (line) => process.stderr.write(`${line}\n`),
      },
    );
  }

  /** This process's name for people: the node name, or host:port (and the worker, under --workers). */
  private adminNodeName(): string {
    const port = (this.httpServer.address() as net.AddressInfo | null)?.port ?? '-';
    return this.options.nodeName ?? `${hostname()}:${port}${cluster.isWorker ? `:w${cluster.worker!.id}` : ''}`;
  }

  /** What this process says of itself to the others (Redis presence snapshots), for the admin dashboard. */
  private nodeStats(): NodeStats {
    const sessions = this.hub.sessionCounts();
    const delivered = this.metrics.delivered;
    return {
      name: this.adminNodeName(),
      ws: sessions.get('ws') ?? 0,
      sse: sessions.get('sse') ?? 0,
      poll: sessions.get('poll') ?? 0,
      published: this.metrics.published,
      delivered: delivered.ws + delivered.sse + delivered.poll,
      rss: process.memoryUsage.rss(),
    };
  }

  /** `consumeList` / `consumeStream`: one consumer each, named after this process. */
  private async startConsumers(): Promise<void> {
    const queues: QueueSpec[] = [];
    if (this.options.consumeList !== undefined) queues.push({ kind: 'list', key: this.options.consumeList });
    if (this.options.consumeStream !== undefined) queues.push(parseStreamSpec(this.options.consumeStream));
    for (const queue of queues) {
      const consumer = new RedisConsumer(
        queue,
        {
          url: this.options.redis!,
          node: this.adminNodeName(), // workers share host and port: each has a name of its own
          maxBodyBytes: this.settings.maxBodyBytes,
          maxBatch: this.options.maxBatch ?? 1000,
          now: this.settings.now,
          beforePublish: this.options.beforeConsumedPublish,
        },
        () => this.redis!.publishContext,
        this.publishApi.scheduler,
        (error) => this.core.reportError(null, error),
      );
      await consumer.start();
      this.consumers.push(consumer);
    }
  }

  // ---- upgrades ----

  private handleUpgrade(request: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    let url: URL;
    try {
      url = parseUrl(request.url);
      if (this.closing) throw new HttpError(503, 'server is shutting down');
      if (url.pathname !== '/ws') throw new HttpError(404, `no WebSocket endpoint at ${url.pathname}; use /ws`);
    } catch (error) {
      const refusal = this.core.refusal(error, null);
      socket.on('error', () => socket.destroy());
      socket.end(errorResponse(refusal.status, refusal.message));
      return;
    }
    this.ws.handleUpgrade(request, socket, head, url);
  }
}

/** Create a push server (not yet listening). */
export function createServer(options: PushServerOptions = {}): PushServer {
  return new PushServer(options);
}

/** `authorize`, behind the rule that `<prefix><uid>` channels belong to that user alone. */
function withUserChannels(prefix: string | undefined, authorize: ChannelCheck | undefined): ChannelCheck | undefined {
  if (prefix === undefined) return authorize;
  return (channel, identity) => {
    if (channel.startsWith(prefix) && channel.slice(prefix.length) !== identity.uid) return false;
    return authorize ? authorize(channel, identity) : true;
  };
}

/** In the demo, clients may also publish to `demo:` channels. */
function demoPublish(clientPublish: boolean | ChannelCheck): ChannelCheck {
  return (channel, identity) =>
    channel.startsWith('demo:') || (typeof clientPublish === 'function' ? clientPublish(channel, identity) : clientPublish);
}

/** nginx's large_client_header_buffers default is 8k too. */
const MAX_URL_LENGTH = 8 * 1024;

/** What Node's HTTP parser reports, as the status it deserves (RFC 9110 §15.5). */
const CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: 'request head larger than 16 KiB' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'request not received in time' },
  default: { status: 400, message: 'malformed HTTP request' },
};

function parseUrl(target: string | undefined): URL {
  // RFC 9112 §3: a request-target longer than the server wishes to parse gets 414.
  if (target !== undefined && target.length > MAX_URL_LENGTH) {
    throw new HttpError(414, `request target longer than ${MAX_URL_LENGTH} bytes`);
  }
  try {
    return new URL(target ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, 'malformed request target');
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function listenOn(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

const NUMERIC_OPTIONS = [
  'tokenLeewaySeconds',
  'historySize',
  'historyAgeMs',
  'maxHistoryBytes',
  'maxScheduled',
  'maxScheduledBytes',
  'maxBodyBytes',
  'maxBatch',
  'maxMessageBytes',
  'maxChannels',
  'maxBufferedBytes',
  'maxClientErrors',
  'pingIntervalMs',
  'sseRetryMs',
  'heartbeatMs',
  'pollTimeoutMs',
  'maxPollTimeoutMs',
  'pollSessionTtlMs',
  'maxPollSessions',
  'maxPollSubscriptions',
  'maxPollSessionsPerAddress',
  'pushPort',
  'pushPortIdleMs',
  'headersTimeoutMs',
  'requestTimeoutMs',
  'maxPushPortConnections',
  'maxAdminStreams',
] as const;

function checkOptions(options: PushServerOptions): void {
  for (const name of NUMERIC_OPTIONS) {
    const value = options[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new ConfigError(`${name} must be a whole number ≥ 0`);
    }
  }
  if (options.heartbeatMs === 0) throw new ConfigError('heartbeatMs must be at least 1');
  if ((options.consumeList !== undefined || options.consumeStream !== undefined) && options.redis === undefined) {
    throw new ConfigError('consumeList and consumeStream need redis: the queue is a Redis list or stream');
  }
  if (options.admin && options.adminKey === undefined && options.publishKey === undefined) {
    throw new ConfigError('admin needs a key (adminKey or publishKey): the dashboard can publish and disconnect sessions');
  }
  if (options.adminKey !== undefined && !options.admin) throw new ConfigError('adminKey is the key of the admin dashboard: set admin too');
  if (options.devIdentity && options.jwtSecret !== undefined) {
    throw new ConfigError('devIdentity trusts ?uid= and jwtSecret requires proof: choose one');
  }
  for (const name of ['publishKey', 'adminKey', 'jwtSecret', 'pushKey', 'userChannelPrefix', 'redis', 'redisPrefix', 'consumeList', 'consumeStream', 'nodeName'] as const) {
    if (options[name] === '') throw new ConfigError(`${name} must not be empty`);
  }
}
