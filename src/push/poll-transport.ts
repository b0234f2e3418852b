// GET /poll: long-polling. Each request carries the cursor of the last
// answer; the server answers at once when history holds messages after it,
// otherwise holds the request until one arrives or the timeout passes. The
// session (identity, channels, the token for POST /send) outlives a single
// request and expires when its client stops polling.
import type * as http from 'node:http';
import type { HubMessage } from '../hub/hub.js';
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
  /** The clock, ms. */
  now: () => number;
}

/** One poll request: where to answer, and how long it may be held. */
interface PollRequest {
  response: http.ServerResponse;
  timeoutMs: number;
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
}

export class PollTransport implements SessionTransport<PollClient, PollRequest> {
  readonly name = 'poll';
  private readonly clients = new Map<string, PollClient>();

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
      poll = { response, timeoutMs: this.parseTimeout(query.get('timeout')) };
      if (cursor === '') throw new HttpError(400, 'cursor must not be empty; leave it out on the first poll');
      client = this.clients.get(query.get('session') ?? '');
      if (!client) {
        // No live session (first poll, or it expired): the core opens one and answers this poll through begin().
        const admission = await this.core.admit(query, request.headers, cursor ?? null);
        if (response.destroyed) return;
        this.core.connect(admission, this, poll);
        return;
      }
    } catch (error) {
      sendError(response, this.core.refusal(error, null));
      return;
    }
    client.lastSeen = this.settings.now();
    // One request per session at a time: a newer one answers the older with what it has.
    if (client.held) this.answer(client, client.held.messages);
    const missed = cursor === undefined ? { messages: [], gap: false } : this.core.catchUp(client, cursor);
    this.answerOrHold(client, poll, missed.messages, missed.gap);
  }

  createClient(base: Client): PollClient {
    const client = Object.assign(base, { held: null, lastSeen: this.settings.now() });
    this.clients.set(client.token, client);
    return client;
  }

  /** A new session's first poll: answered with the backlog (and gap flag), or held like any other. */
  begin(client: PollClient, { gap, backlog }: Opening, poll: PollRequest): void {
    this.answerOrHold(client, poll, backlog, gap !== null);
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
  private answerOrHold(client: PollClient, { response, timeoutMs }: PollRequest, messages: readonly HubMessage[], gap: boolean): void {
    if (messages.length > 0 || gap || timeoutMs === 0) {
      this.respond(client, response, messages, gap);
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

  private end(client: PollClient): void {
    if (client.held) this.answer(client, client.held.messages);
    this.clients.delete(client.token);
    this.core.close(client);
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
  private respond(client: PollClient, response: http.ServerResponse, messages: readonly HubMessage[], gap: boolean): void {
    if (response.destroyed) return;
    let cursor = this.core.lastId;
    if (messages.length > this.settings.maxBatch) {
      messages = messages.slice(0, this.settings.maxBatch);
      cursor = messages.at(-1)!.id;
    }
    const body = `{"messages":[${messages.map(envelopeJson).join(',')}],"cursor":${JSON.stringify(cursor)},"session":${JSON.stringify(client.token)}${gap ? ',"gap":true' : ''}}`;
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
