// GET /sse: Server-Sent Events (WHATWG HTML §9.2). One response per client,
// held open; every message is an event whose `id:` is the message id, so the
// browser's automatic reconnect sends `Last-Event-ID` and resumes exactly.
import type * as http from 'node:http';
import type { HubMessage } from '../hub/hub.js';
import { encodeSseComment, encodeSseEvent, encodeSseRetry } from '../protocol/sse.js';
import type { Client, Opening, PushCore, SessionTransport } from './core.js';
import { sendError } from './http-io.js';
import { TurnCork } from './turn-cork.js';
import { envelopeJson } from './wire.js';

/** The stream a session is written to, and in which format. */
interface SseStream {
  response: http.ServerResponse;
  /** `?envelope=1`: data is the whole JSON envelope and every event is a `message`. */
  envelope: boolean;
}

type SseClient = Client & SseStream;

export interface SseTransportSettings {
  /** A stream with more than this many bytes waiting to be written is dropped (the client resumes). */
  maxBufferedBytes: number;
}

const HEARTBEAT = encodeSseComment();

export class SseTransport implements SessionTransport<SseClient, SseStream> {
  readonly name = 'sse';
  private readonly streams = new Set<SseClient>();
  // A fan-out encodes each message once per format.
  private encodedFor: HubMessage | null = null;
  private encodedPlain = '';
  private encodedEnvelope = '';
  private readonly cork = new TurnCork();

  constructor(
    private readonly core: PushCore,
    private readonly settings: SseTransportSettings,
  ) {}

  async handle(request: http.IncomingMessage, response: http.ServerResponse, url: URL): Promise<void> {
    const query = url.searchParams;
    // §9.2.4: a reconnecting EventSource sends the last id it saw as Last-Event-ID;
    // ?lastEventId= (or ?since=) lets the first connect resume too.
    const since = headerValue(request.headers['last-event-id']) ?? query.get('lastEventId') ?? query.get('since');
    let admission;
    try {
      admission = await this.core.admit(query, request.headers, since);
    } catch (error) {
      sendError(response, this.core.refusal(error, null));
      return;
    }
    if (response.destroyed) return;
    try {
      await this.core.connect(admission, this, { response, envelope: query.get('envelope') === '1' });
    } catch (error) {
      sendError(response, this.core.refusal(error, null)); // sendJson cuts a stream whose head is out
    }
  }

  createClient(base: Client, stream: SseStream): SseClient {
    const client = Object.assign(base, stream);
    this.streams.add(client);
    stream.response.on('close', () => {
      this.streams.delete(client);
      this.core.close(client);
    });
    return client;
  }

  /** The response head, `retry:`, a `gap` event, the backlog, and a `ready` event, in one write. */
  begin(client: SseClient, { gap, backlog, ready }: Opening): void {
    const { response } = client;
    response.socket?.setNoDelay(true);
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      // Proxies must pass events through as they come, not cache or buffer them.
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    let head = `${encodeSseRetry(ready.retry)}\n`;
    if (gap) head += encodeSseEvent({ event: 'gap', data: JSON.stringify({ since: gap.since }) });
    for (const message of backlog) head += this.encode(client, message);
    // The ready event carries the cursor as its id: a client that reconnects
    // before any message arrives resumes from here, not from nothing.
    const { session, uid, channels, retry } = ready;
    head += encodeSseEvent({ id: ready.lastId, event: 'ready', data: JSON.stringify({ session, uid, channels, retry }) });
    response.write(head);
    this.core.countDelivered(client, backlog.length);
  }

  /** A comment on every stream, so proxies and the client see the connection alive. */
  heartbeat(): void {
    for (const client of this.streams) if (!client.response.writableEnded) client.response.write(HEARTBEAT);
  }

  /** End every stream (shutdown); clients reconnect elsewhere and resume. */
  close(): void {
    for (const client of this.streams) client.response.end();
  }

  /** An operator's disconnect: the stream ends (SSE has no close code); the browser reconnects and resumes. */
  end(client: SseClient): void {
    client.response.end();
  }

  deliver(client: SseClient, message: HubMessage): void {
    const { response } = client;
    if (response.writableEnded || response.destroyed) return; // ending: the client resumes elsewhere
    if (response.writableLength > this.settings.maxBufferedBytes) {
      // Dropped, not throttled: it reconnects with Last-Event-ID and misses nothing.
      this.core.countDropped(client);
      response.destroy();
      return;
    }
    this.cork.hold(response);
    response.write(this.encode(client, message));
    this.core.countDelivered(client);
  }

  private encode(client: SseClient, message: HubMessage): string {
    if (message !== this.encodedFor) {
      this.encodedFor = message;
      this.encodedPlain = '';
      this.encodedEnvelope = '';
    }
    if (client.envelope) {
      return (this.encodedEnvelope ||= encodeSseEvent({ id: message.id, data: envelopeJson(message) }));
    }
    return (this.encodedPlain ||= encodeSseEvent({
      id: message.id,
      event: message.event,
      data: message.json,
    }));
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
