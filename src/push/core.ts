// What every transport shares once a request is accepted: checking who the
// client is and what it may subscribe to, the one session lifecycle (admit →
// connect → backlog → ready → onOpen → live → close), and running commands.
// Wire formats stay in the transports; routing and the server's own life stay
// in push-server.ts.
import { randomBytes } from 'node:crypto';
import type * as http from 'node:http';
import type { Ack, GapNotice, ReadyNotice } from './contract.js';
import type { Broker } from '../hub/broker.js';
import { newestId, seqOf, type Hub, type HubMessage, type PublishInput, type Replay, type Session, type SessionSink } from '../hub/hub.js';
import { HttpError } from './http-io.js';
import { checkOrigin, identify, type Identity, type IdentitySettings } from './identity.js';
import type { Metrics, Transport } from './metrics.js';
import { checkChannel, CommandError, serializeData, type Command } from './wire.js';

/**
 * The application hook: one object sees every session, whatever its
 * transport. Every method is optional; an exception thrown by one goes to
 * `onError` and never reaches the client or the process.
 */
export interface PushHandler {
  /** A session is live: its backlog and ready notice are sent, so whatever this publishes reaches it too. */
  onOpen?(session: Session): void;
  /** A client's `send` command (WebSocket frame or `POST /send`). */
  onMessage?(session: Session, data: unknown): void;
  onClose?(session: Session): void;
  /**
   * Exceptions from the other methods and from hooks (`session` is null before
   * a session exists), and a WebSocket client's protocol errors.
   */
  onError?(session: Session | null, error: Error): void;
}

/** Decide whether `identity` may subscribe to (or publish on) `channel`. */
export type ChannelCheck = (channel: string, identity: Identity) => boolean | Promise<boolean>;

/** Resolved settings every part of the server reads. */
export interface Settings extends IdentitySettings {
  allowedOrigins: readonly string[] | undefined;
  authorize: ChannelCheck | undefined;
  clientPublish: boolean | ChannelCheck;
  handler: PushHandler;
  maxChannels: number;
  maxBodyBytes: number;
  maxBufferedBytes: number;
  maxClientErrors: number;
  /** Reconnect delay hint for clients, ms (SSE `retry:`, and `retry` in the ready message). */
  retryMs: number;
  now: () => number;
}

/**
 * What a refused request or command is answered with: its status and message.
 * Hooks may throw either to refuse with a status of their choice.
 */
export type Refusal = HttpError | CommandError;

/** A connect request that passed its checks: who, which channels, and from where to resume. */
export interface Admission {
  identity: Identity;
  channels: string[];
  /** The last id the client saw; absent on a fresh connect. */
  since: string | undefined;
}

/** A session as the server tracks it: the hub's view plus what the transports need. */
export interface Client {
  readonly session: Session;
  readonly identity: Identity;
  readonly transport: Transport;
  /** Secret naming this session in `POST /send` (and poll requests). */
  readonly token: string;
}

/** What a new session is sent before live messages, in this order. */
export interface Opening {
  /** History no longer covers the resume point (or the unread inbox lost messages): the client should reload. */
  gap: GapNotice | null;
  /** Everything after the resume point, or on a fresh connect the user's unread inbox; oldest first. */
  backlog: readonly HubMessage[];
  /** Live messages follow; `lastId` is the cursor to resume from. */
  ready: Required<ReadyNotice>;
}

/**
 * A transport's part in the session lifecycle (`PushCore.connect`): its own
 * client object, the opening in its wire format, and live delivery. `L` is
 * what the session connected over (a socket, an event-stream response, a poll
 * request).
 */
export interface SessionTransport<C extends Client, L> {
  readonly name: Transport;
  /** Build the transport's client: `base` with what the transport keeps per session. */
  createClient(base: Client, link: L): C;
  /** Send (or, for a poll, answer with) the opening; live messages may follow from then on. */
  begin(client: C, opening: Opening, link: L): void;
  /** A live message for `client`. Called once per recipient: encode once per message, not per call. */
  deliver(client: C, message: HubMessage): void;
  /**
   * End one session from the server's side (an operator's disconnect): a
   * WebSocket is closed with `code` and `reason`; an event stream or a poll
   * session, which have no close code, are simply ended. The transport then
   * sees the end as usual and calls `PushCore.close`.
   */
  end(client: C, code: number, reason: string): void;
}

/**
 * What the admin dashboard watches, told by the core as things happen. The
 * costly hooks (`published`, `delivered`: once per message, once per
 * recipient) are called only while `sampling` is true — while a dashboard is
 * open; the rare ones (drops, gaps) always, so a dashboard opened later
 * still lists them.
 */
export interface Observer {
  readonly sampling: boolean;
  /** A message was published through this process (only while sampling). */
  published(message: HubMessage): void;
  /** A live message is handed to a session's transport (only while sampling). */
  delivered(message: HubMessage): void;
  /** A session was cut as a slow consumer. */
  dropped(client: Client): void;
  /** A resume found history no longer reaching back to `since`. */
  gap(client: Client, since: string): void;
}

export class PushCore {
  /** Open sessions by token. */
  readonly clients = new Map<string, Client>();
  /** Told of every bug reported (the server emits it as 'error'). */
  onBug: ((error: Error) => void) | null = null;
  /** The admin dashboard's sampler, when the dashboard is enabled. */
  observer: Observer | null = null;

  constructor(
    /** Sessions and their subscriptions in this process. */
    private readonly hub: Hub,
    /** Ids, history and fan-out: the hub itself, or a shared one (Redis). */
    private readonly broker: Broker,
    private readonly settings: Settings,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Check a connect request: origin (403), identity (401), channel names
   * (422), channel authorization (403). `since` is the resume id the
   * transport found (query or Last-Event-ID).
   */
  async admit(query: URLSearchParams, headers: http.IncomingHttpHeaders, since: string | null): Promise<Admission> {
    checkOrigin(headers.origin, this.settings.allowedOrigins);
    const identity = identify(query, headers, this.settings, this.settings.now());
    const channels = [...new Set(query.getAll('channel'))];
    if (channels.length > this.settings.maxChannels) {
      throw new HttpError(422, `at most ${this.settings.maxChannels} channels per session`);
    }
    for (const channel of channels) checkChannel(channel);
    if (this.settings.authorize) {
      for (const channel of channels) {
        if (!(await this.maySubscribe(channel, identity))) throw new HttpError(403, `not allowed to subscribe to ${channel}`);
      }
    }
    return { identity, channels, since: since === null || since === '' ? undefined : since };
  }

  /**
   * The session lifecycle, the same for every transport:
   * 1. open the hub session and subscribe its channels — live messages are
   *    held back from here on, so none can slip between backlog and live;
   * 2. let the transport build its client;
   * 3. compute the backlog: what came after `since` (a resume: counted, and
   *    its gap too) or, on a fresh connect, the user's unread inbox — from
   *    memory at once, or from a shared store (Redis) after a round trip;
   * 4. hand the transport the opening: gap notice, backlog, ready notice,
   *    then the live messages held back, less those the backlog already had;
   * 5. tell the application (`onOpen`): the session is live, so whatever
   *    the hook publishes reaches it like any other message.
   * Resolves with the client, or null when it went away during step 3.
   */
  async connect<C extends Client, L>(admission: Admission, transport: SessionTransport<C, L>, link: L): Promise<C | null> {
    const route = new Route(transport, this);
    const session = this.hub.open(route, { uid: admission.identity.uid, transport: transport.name });
    for (const channel of admission.channels) this.hub.subscribe(session, channel);
    const client = transport.createClient(
      { session, identity: admission.identity, transport: transport.name, token: newToken() },
      link,
    );
    route.client = client;
    this.clients.set(client.token, client);
    // The cursor is taken before the backlog: everything up to it that
    // concerns the session is in the backlog; what follows comes live.
    const lastId = this.broker.lastId;
    let replay: Replay;
    try {
      replay = await this.backlog(client, admission.since);
    } catch (error) {
      this.close(client); // the transport answers the refusal
      throw error;
    }
    if (!this.clients.has(client.token)) return null; // gone while the backlog was read
    const { gap } = replay;
    // A fresh connect's backlog is the unread inbox, read while live messages
    // came in: what is newer than the cursor is left to live delivery (the
    // session is subscribed already), so the position cannot pass a live
    // channel message that is older than an inbox one.
    const messages = admission.since === undefined ? replay.messages.filter((message) => message.seq <= seqOf(lastId)) : replay.messages;
    // Where the session stands: the newest of what this process has seen,
    // what the backlog holds, and where the client already was — a process
    // that lags behind on the bus must neither send again what the client
    // has nor hand it an older position.
    const position = newestId(lastId, messages.at(-1)?.id, admission.since);
    transport.begin(
      client,
      {
        gap: gap ? { type: 'gap', since: admission.since ?? null } : null,
        backlog: messages,
        ready: {
          type: 'ready',
          session: client.token,
          uid: client.identity.uid ?? null,
          channels: [...session.channels],
          lastId: position,
          retry: this.settings.retryMs,
        },
      },
      link,
    );
    route.open(seqOf(position));
    this.callHook(session, 'onOpen', session);
    return client;
  }

  /** What a live session missed after `cursor` (a poll's next request); not counted as a resume. */
  catchUp(client: Client, cursor: string): Replay | Promise<Replay> {
    return this.broker.replay(client.session, cursor);
  }

  /** The id of the newest message: the cursor of an answer that holds everything up to now. */
  get lastId(): string {
    return this.broker.lastId;
  }

  close(client: Client): void {
    if (!this.clients.delete(client.token)) return;
    this.hub.close(client.session);
    this.callHook(client.session, 'onClose', client.session);
  }

  /** Count messages written to a client. */
  countDelivered(client: Client, count = 1): void {
    this.metrics.delivered[client.transport] += count;
  }

  /** Count a client dropped because it could not keep up. */
  countDropped(client: Client): void {
    this.metrics.drops[client.transport]++;
    this.observer?.dropped(client);
  }

  /** Count a command that never reached `run` (refused while parsing). */
  countReceived(client: Client): void {
    this.metrics.received[client.transport]++;
  }

  /**
   * A publish from any source, counted. Resolves once the message has its id
   * and is stored (with a shared broker, after a round trip to it).
   */
  async publish(input: PublishInput): Promise<{ message: HubMessage; delivered: number }> {
    const json = input.json ?? serializeData(input.data); // 422 before anything is stored
    const published = await this.broker.publish({ ...input, json });
    this.metrics.published++;
    if (this.observer?.sampling) this.observer.published(published.message);
    return published;
  }

  /** Run a client's command; throws CommandError for a refusal. */
  async run(client: Client, command: Command): Promise<Ack> {
    this.metrics.received[client.transport]++;
    const ack: Ack = command.ref === undefined ? { type: 'ack' } : { type: 'ack', ref: command.ref };
    switch (command.type) {
      case 'subscribe':
        if (!client.session.channels.has(command.channel)) {
          if (client.session.channels.size >= this.settings.maxChannels) {
            throw new CommandError('PW_ERR_TOO_MANY_CHANNELS', 422, `at most ${this.settings.maxChannels} channels per session`);
          }
          await this.checkSubscribeCommand(command.channel, client.identity);
          this.hub.subscribe(client.session, command.channel);
        }
        return { ...ack, channel: command.channel };
      case 'unsubscribe':
        this.hub.unsubscribe(client.session, command.channel);
        return { ...ack, channel: command.channel };
      case 'publish': {
        await this.checkPublishCommand(command.channel, client.identity);
        const { message, delivered } = await this.publish({
          target: { channel: command.channel },
          event: command.event,
          data: command.data,
        });
        return { ...ack, id: message.id, delivered };
      }
      case 'send':
        this.callHook(client.session, 'onMessage', client.session, command.data);
        return ack;
    }
  }

  /** Call a handler method; its exception goes to onError (and an exception there is dropped). */
  callHook<K extends keyof PushHandler>(session: Session | null, name: K, ...args: Parameters<NonNullable<PushHandler[K]>>): void {
    const method = this.settings.handler[name] as ((...a: unknown[]) => void) | undefined;
    if (!method) return;
    try {
      method.apply(this.settings.handler, args);
    } catch (error) {
      if (name !== 'onError') this.reportError(session, error);
    }
  }

  /** A bug (in a hook, or here): to the handler's onError and to `onBug`. */
  reportError(session: Session | null, error: unknown): void {
    const bug = error instanceof Error ? error : new Error(String(error));
    this.callHook(session, 'onError', session, bug);
    this.onBug?.(bug);
  }

  /** The answer for a failed request or command: a Refusal as it is; anything else is a bug, reported and answered 500. */
  refusal(error: unknown, session: Session | null): Refusal {
    if (error instanceof HttpError || error instanceof CommandError) return error;
    this.reportError(session, error);
    return new HttpError(500, 'internal server error');
  }

  /** Step 3 of connect: the backlog, with resumes and gaps counted. */
  private async backlog(client: Client, since: string | undefined): Promise<Replay> {
    if (since === undefined) return this.broker.unread(client.session);
    const replay = await this.broker.replay(client.session, since);
    this.metrics.resumes[client.transport]++;
    if (replay.gap) {
      this.metrics.gaps[client.transport]++;
      this.observer?.gap(client, since);
    }
    return replay;
  }

  private async checkSubscribeCommand(channel: string, identity: Identity): Promise<void> {
    if (!(await this.maySubscribe(channel, identity))) {
      throw new CommandError('PW_ERR_SUBSCRIBE_FORBIDDEN', 403, `not allowed to subscribe to ${channel}`);
    }
  }

  /** Clients publish only where clientPublish allows, and only where they may subscribe. */
  private async checkPublishCommand(channel: string, identity: Identity): Promise<void> {
    const { clientPublish } = this.settings;
    const allowed = typeof clientPublish === 'function' ? await clientPublish(channel, identity) : clientPublish;
    if (!allowed) throw new CommandError('PW_ERR_PUBLISH_FORBIDDEN', 403, `clients may not publish to ${channel}`);
    await this.checkSubscribeCommand(channel, identity);
  }

  private async maySubscribe(channel: string, identity: Identity): Promise<boolean> {
    const { authorize } = this.settings;
    return !authorize || (await authorize(channel, identity));
  }
}

/**
 * The hub's sink for one session: it hands each message to the session's
 * transport, once, in id order. Until the opening is sent (step 4 of connect)
 * live messages wait here; then those the backlog already carried are
 * skipped. `client` is set in step 2, in the same turn as step 1.
 */
class Route<C extends Client> implements SessionSink {
  client!: C;
  /** Live messages that came while the backlog was read; null once open. */
  private waiting: HubMessage[] | null = [];
  /** The highest seq handed to the transport. */
  private lastSeq = 0;
  constructor(
    private readonly transport: SessionTransport<C, unknown>,
    /** For its observer: one field read per delivery when no dashboard is open. */
    private readonly core: PushCore,
  ) {}

  deliver(message: HubMessage): void {
    if (this.waiting !== null) {
      this.waiting.push(message);
      return;
    }
    if (message.seq <= this.lastSeq) return; // the backlog had it already
    this.lastSeq = message.seq;
    const observer = this.core.observer;
    if (observer !== null && observer.sampling) observer.delivered(message);
    this.transport.deliver(this.client, message);
  }

  /** The opening is sent, its backlog ending at `lastSeq`: hand on what waited. */
  open(lastSeq: number): void {
    this.lastSeq = lastSeq;
    const waiting = this.waiting!;
    this.waiting = null;
    for (const message of waiting) this.deliver(message);
  }
}

function newToken(): string {
  return randomBytes(18).toString('base64url');
}
