// GET /sse: Server-Sent Events (WHATWG HTML §9.2). One response per client,
// held open; every message is an event whose `id:` is the message id, so the
// browser's automatic reconnect sends `Last-Event-ID` and resumes exactly.
import type * as http from 'node:http';
import type { HubMessage } from '../hub/hub.js';
import { encodeSseComment, encodeSseEvent, encodeSseRetry } from '../protocol/sse.js';
import type { Client, PushCore } from './core.js';
import { sendError } from './http-io.js';
import { TurnCork } from './turn-cork.js';
import { envelopeJson } from './wire.js';

interface SseClient extends Client {
  response: http.ServerResponse;
  /** `?envelope=1`: data is the whole JSON envelope and every event is a `message`. */
  envelope: boolean;
}

const HEARTBEAT = encodeSseComment();

export class SseTransport {
  private readonly streams = new Set<SseClient>();
  // A fan-out encodes each message once per format.
  private encodedFor: HubMessage | null = null;
  private encodedPlain = '';
  private encodedEnvelope = '';
  private readonly cork = new TurnCork();

  constructor(private readonly core: PushCore) {}

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
    const client = this.core.open(admission, 'sse', { deliver: (message) => this.deliver(client, message) }) as SseClient;
    client.response = response;
    client.envelope = query.get('envelope') === '1';
    this.streams.add(client);
    response.on('close', () => {
      this.streams.delete(client);
      this.core.close(client);
    });
    request.socket.setNoDelay(true);
    response.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      // Proxies must pass events through as they come, not cache or buffer them.
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    let head = `${encodeSseRetry(this.core.settings.retryMs)}\n`;
    const backlog = this.core.backlog(client, admission.since);
    if (backlog.gap) head += encodeSseEvent({ event: 'gap', data: JSON.stringify({ since: admission.since ?? null }) });
    for (const message of backlog.messages) head += this.encode(client, message);
    // The ready event carries the cursor as its id: a client that reconnects
    // before any message arrives resumes from here, not from nothing.
    head += encodeSseEvent({
      id: this.core.hub.lastId,
      event: 'ready',
      data: JSON.stringify({
        session: client.token,
        uid: client.identity.uid ?? null,
        channels: [...client.session.channels],
        retry: this.core.settings.retryMs,
      }),
    });
    response.write(head);
    for (let i = 0; i < backlog.messages.length; i++) this.core.delivered(client);
  }

  /** A comment on every stream, so proxies and the client see the connection alive. */
  heartbeat(): void {
    for (const client of this.streams) if (!client.response.writableEnded) client.response.write(HEARTBEAT);
  }

  /** End every stream (shutdown); clients reconnect elsewhere and resume. */
  close(): void {
    for (const client of this.streams) client.response.end();
  }

  private deliver(client: SseClient, message: HubMessage): void {
    const { response } = client;
    if (response.writableEnded || response.destroyed) return; // ending: the client resumes elsewhere
    if (response.writableLength > this.core.settings.maxBufferedBytes) {
      // Dropped, not throttled: it reconnects with Last-Event-ID and misses nothing.
      this.core.metrics.drops.sse++;
      response.destroy();
      return;
    }
    this.cork.hold(response);
    response.write(this.encode(client, message));
    this.core.delivered(client);
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
      data: JSON.stringify(message.data) ?? 'null',
    }));
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
