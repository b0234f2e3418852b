// GET /poll: long-polling. Each request carries the cursor of the last
// answer; the server answers at once when history holds messages after it,
// otherwise holds the request until one arrives or the timeout passes. The
// session (identity, channels, the token for POST /send) outlives a single
// request and expires when its client stops polling.
import type * as http from 'node:http';
import { newestId, seqOf, type HubMessage } from '../hub/hub.js';
import type { Client, Opening, PushCore, SessionTransport } from './core.js';
import { HttpError, sendError } from './http-io.js';
import { envelopeJson } from './wire.js';

export interface PollTransportSettings {
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  /** A session with no request for this long is closed. */
  sessionTtlMs: number;
  /** Most messages in one answer; the cursor then points at the last one sent. */
  maxBatch: number;
  /** Most bytes in one answer (the slow-consumer budget of the other transports); at least one message goes. */
  maxAnswerBytes: number;
  /** Poll sessions kept at once. */
  maxSessions: number;
  /** Channel subscriptions held by poll sessions together. */
  maxSubscriptions: number;
  /** Poll sessions kept at once for one remote address; 0 = no limit (behind a proxy every client has its address). */
  maxSessionsPerAddress: number;
  /** The clock, ms. */
  now: () => number;
}

interface PollRequest {
  response: http.ServerResponse;
  timeoutMs: number;
  address: string;
  /** The cursor the client sent, if any. */
  cursor: string | undefined;
}

interface HeldRequest {
  response: http.ServerResponse;
  timer: NodeJS.Timeout;
  messages: HubMessage[];
  flushing: boolean;
}

interface PollClient extends Client {
  held: HeldRequest | null;
  lastSeen: number;
  address: string;
  /** The newest cursor the client has sent: no answer's cursor may be older. */
  floor: string | undefined;
}

/** One poll request: where to answer, how long it may be held, and who asks. */

export class PollTransport implements SessionTransport<PollClient, PollRequest> {
  readonly name = 'poll';
  /** Sessions by token, least recently polled first (a poll moves its session to the end). */
  private readonly clients = new Map<string, PollClient>();
  private readonly perAddress = new Map<string, number>();
  /** Sessions ended early to make room for new ones. */
  evicted = 0;

  constructor(
    private readonly core: PushCore,
    private readonly settings: PollTransportSettings,
  ) {}

  async handle(request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void> {
    const query = url.searchParams;
    const cursor = query.get('cursor') ?? undefined;
    let poll: PollRequest;
    let client: PollClient | undefined;
    try {
      poll = { response, timeoutMs: this.parseTimeout(query.get('timeout')), address: request.socket.remoteAddress ?? '', cursor };
      if (cursor === '') throw new HttpError(400, 'cursor must not be empty; leave it out on the first poll');
      client = this.clients.get(query.get('session') ?? '');
      if (!client) {
        // No live session (first poll, or it expired): the core opens one and answers this poll through begin().
        const admission = await this.core.admit(query, request.headers, cursor ?? null);
        if (response.destroyed) return;
        this.makeRoom(poll.address, admission.channels.length);
        const opened = await this.core.connect(admission, this, poll);
        // Ended while its backlog was read (made room for another, or shutdown): say so rather than leave it hanging.
        if (opened === null && !response.headersSent) sendError(response, new HttpError(503, 'the session ended before it opened; poll again', { 'Retry-After': '1' }));
        return;
      }
    } catch (error) {
      sendError(response, this.core.refusal(error, null));
      return;
    }
    client.lastSeen = this.settings.now();
    if (cursor !== undefined) client.floor = newestId(client.floor ?? cursor, cursor);
    this.clients.delete(client.token); // most recently polled: last to be evicted
    this.clients.set(client.token, client);
    // One request per session at a time: a newer one answers the older with what it has.
    if (client.held) this.answer(client, client.held.messages);
    if (cursor === undefined) return this.answerOrHold(client, poll, [], false);
    const cursorNow = this.core.lastId;
    const missed = this.core.catchUp(client, cursor);
    if (!(missed instanceof Promise)) return this.answerOrHold(client, poll, missed.messages, missed.gap);
    // A shared store is asked (the cursor is older than this process's
    // history). Answer at once with what it has, and the cursor taken before
    // asking: whatever is published meanwhile comes after it, so the next poll
    // finds it. Not held, so no live message can fall between the two.
    const { messages, gap } = await missed;
    const newest = messages.at(-1);
    this.respond(client, response, messages, gap, newest && newest.seq > seqOf(cursorNow) ? newest.id : cursorNow);
  }

  createClient(base: Client, poll: PollRequest): PollClient {
    const client = Object.assign(base, { held: null, lastSeen: this.settings.now(), address: poll.address, floor: poll.cursor });
    this.clients.set(client.token, client);
    this.perAddress.set(poll.address, (this.perAddress.get(poll.address) ?? 0) + 1);
    return client;
  }

  /** A new session's first poll: answered with the backlog (and gap flag), or held like any other. */
  begin(client: PollClient, { gap, backlog, ready }: Opening, poll: PollRequest): void {
    // Answered now, the cursor is the opening's: live messages that came while
    // the backlog was read are after it, so the next poll finds them.
    this.answerOrHold(client, poll, backlog, gap !== null, ready.lastId);
  }

  deliver(client: PollClient, message: HubMessage): void {
    const held = client.held;
    if (!held) return; // not lost: the next poll's cursor finds it in history
    held.messages.push(message);
    if (!held.flushing) {
      // Answer on the next turn, so a batch published together leaves together.
      held.flushing = true;
      setImmediate(() => {
        if (client.held === held) this.answer(client, held.messages);
      });
    }
  }

  /** Poll requests held open now (the `pushwire_polls_held` gauge). */
  get heldCount(): number {
    let count = 0;
    for (const client of this.clients.values()) if (client.held) count++;
    return count;
  }

  /** Close sessions whose client stopped polling. */
  sweep(): void {
    const oldest = this.settings.now() - this.settings.sessionTtlMs;
    for (const client of this.clients.values()) {
      if (!client.held && client.lastSeen < oldest) this.end(client);
    }
  }

  /** Answer every held request and end every session (shutdown). */
  close(): void {
    for (const client of this.clients.values()) this.end(client);
  }

  /** Answer at once when there is something to say (or no wait was asked for); otherwise hold the request. */
  private answerOrHold(
    client: PollClient,
    { response, timeoutMs }: PollRequest,
    messages: readonly HubMessage[],
    gap: boolean,
    cursorNow?: string,
  ): void {
    if (messages.length > 0 || gap || timeoutMs === 0) {
      this.respond(client, response, messages, gap, cursorNow);
      return;
    }
    const held: HeldRequest = {
      response,
      timer: setTimeout(() => this.answer(client, held.messages), timeoutMs),
      messages: [],
      flushing: false,
    };
    client.held = held;
    response.on('close', () => {
      if (client.held === held) this.release(client);
    });
  }

  /**
   * End a session: answer its held request, forget it, close it in the core
   * (expiry, eviction, shutdown, an operator's disconnect). Its next poll
   * opens a new session from its cursor.
   */
  end(client: PollClient): void {
    if (client.held) this.answer(client, client.held.messages);
    if (!this.clients.delete(client.token)) return;
    const left = this.perAddress.get(client.address)! - 1;
    if (left === 0) this.perAddress.delete(client.address);
    else this.perAddress.set(client.address, left);
    this.core.close(client);
  }

  /**
   * Poll sessions outlive their requests, so abandoned ones pile up until
   * they expire. Before opening one, make room under the limits by ending the
   * least recently polled idle sessions (those not waiting in a held
   * request) — expiry comes sooner under pressure. When every session is
   * busy: 429 for an address over its own limit, 503 for the server.
   */
  private makeRoom(address: string, channels: number): void {
    const { maxSessions, maxSubscriptions, maxSessionsPerAddress } = this.settings;
    if (maxSessionsPerAddress > 0 && (this.perAddress.get(address) ?? 0) >= maxSessionsPerAddress) {
      const idle = this.leastRecentIdle((client) => client.address === address);
      if (!idle) throw new HttpError(429, `at most ${maxSessionsPerAddress} poll sessions per address`, { 'Retry-After': '5' });
      this.evict(idle);
    }
    let subscriptions = 0;
    for (const client of this.clients.values()) subscriptions += client.session.channels.size;
    while (this.clients.size >= maxSessions || subscriptions + channels > maxSubscriptions) {
      const idle = this.leastRecentIdle(() => true);
      if (!idle) throw new HttpError(503, 'too many poll sessions; try again shortly', { 'Retry-After': '5' });
      subscriptions -= idle.session.channels.size;
      this.evict(idle);
    }
  }

  private leastRecentIdle(matches: (client: PollClient) => boolean): PollClient | undefined {
    for (const client of this.clients.values()) if (!client.held && matches(client)) return client;
    return undefined;
  }

  private evict(client: PollClient): void {
    this.evicted++;
    this.end(client);
  }

  private answer(client: PollClient, messages: HubMessage[]): void {
    const held = client.held!;
    this.release(client);
    this.respond(client, held.response, messages, false);
  }

  private release(client: PollClient): void {
    clearTimeout(client.held!.timer);
    client.held = null;
    client.lastSeen = this.settings.now();
  }

  /**
   * Send `messages` and the cursor to poll from next. The cursor is the
   * newest id overall: everything up to it that concerns this session is in
   * this answer (or was in an earlier one), unless the batch was cut.
   */
  private respond(
    client: PollClient,
    response: http.ServerResponse,
    messages: readonly HubMessage[],
    gap: boolean,
    cursorNow = this.core.lastId,
  ): void {
    if (response.destroyed) return;
    // Never older than where the client already was (a process behind on the bus could say so).
    let cursor = client.floor === undefined ? cursorNow : newestId(cursorNow, client.floor);
    // Cut the batch at maxBatch messages or maxAnswerBytes, whichever comes
    // first (one message always goes); the cursor then points at the last one sent.
    const envelopes: string[] = [];
    let bytes = 0;
    for (const message of messages) {
      const json = envelopeJson(message);
      if (envelopes.length === this.settings.maxBatch || (envelopes.length > 0 && bytes + json.length > this.settings.maxAnswerBytes)) {
        cursor = messages[envelopes.length - 1].id;
        break;
      }
      envelopes.push(json);
      bytes += json.length + 1;
    }
    messages = messages.slice(0, envelopes.length);
    const body = `{"messages":[${envelopes.join(',')}],"cursor":${JSON.stringify(cursor)},"session":${JSON.stringify(client.token)}${gap ? ',"gap":true' : ''}}`;
    response.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Length': Buffer.byteLength(body),
    });
    response.end(body);
    this.core.countDelivered(client, messages.length);
  }

  private parseTimeout(text: string | null): number {
    if (text === null) return this.settings.defaultTimeoutMs;
    const seconds = Number(text);
    const max = this.settings.maxTimeoutMs / 1000;
    if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > max) {
      throw new HttpError(400, `timeout must be a number of seconds from 0 to ${max}`);
    }
    return Math.round(seconds * 1000);
  }
}
