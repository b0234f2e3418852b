// Counters for GET /metrics, rendered in the Prometheus text exposition
// format (version 0.0.4): `# HELP`, `# TYPE`, then `name{label="v"} value`.
import type { HistoryStats } from '../hub/hub.js';

export const TRANSPORTS = ['ws', 'sse', 'poll'] as const;
export type Transport = (typeof TRANSPORTS)[number];

type PerTransport = Record<Transport, number>;

/** What is true right now, read from the server's parts when /metrics is scraped. */
export interface Gauges {
  /** Open sessions by transport. */
  sessions: Map<string, number>;
  /** Publishes waiting for their time, and their estimated bytes. */
  scheduled: number;
  scheduledBytes: number;
  /** Poll sessions ended early to make room for new ones (a counter kept by the poll transport). */
  pollSessionsEvicted: number;
  /** What history holds. */
  history: HistoryStats;
  /** Channels with subscribers, and users with sessions, in this process. */
  channels: number;
  users: number;
  /** Entries taken from Redis queues (published, or dead-lettered). */
  queue: { consumed: number; deadLetters: number };
  /** Long-poll requests held open, waiting for a message or their timeout. */
  heldPolls: number;
}
const zeroes = (): PerTransport => ({ ws: 0, sse: 0, poll: 0 });

export class Metrics {
  /** Messages accepted for publishing (API, push port, clients, schedule). */
  published = 0;
  /** Messages written to a session. */
  readonly delivered = zeroes();
  /** Commands received from clients. */
  readonly received = zeroes();
  /** Sessions dropped because they could not keep up. */
  readonly drops = zeroes();
  /** Connects that resumed from an id, and how many of those found a gap. */
  readonly resumes = zeroes();
  readonly gaps = zeroes();
  /** Error answers by HTTP status. */
  readonly httpErrors = new Map<number, number>();

  countError(status: number): void {
    this.httpErrors.set(status, (this.httpErrors.get(status) ?? 0) + 1);
  }

  /** The exposition text: these counters, and the gauges read at scrape time. */
  render({ sessions, scheduled, scheduledBytes, heldPolls, pollSessionsEvicted, history, channels, users, queue }: Gauges): string {
    const lines: string[] = [];
    const family = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]): void => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const byTransport = (values: PerTransport): [string, number][] =>
      TRANSPORTS.map((t) => [`{transport="${t}"}`, values[t]]);
    family('pushwire_connections', 'gauge', 'Open sessions by transport.', byTransport({
      ws: sessions.get('ws') ?? 0,
      sse: sessions.get('sse') ?? 0,
      poll: sessions.get('poll') ?? 0,
    }));
    family('pushwire_channels', 'gauge', 'Channels with at least one subscriber here.', [['', channels]]);
    family('pushwire_users_online', 'gauge', 'Users with at least one session here.', [['', users]]);
    family('pushwire_queue_consumed_total', 'counter', 'Entries of Redis queues published.', [['', queue.consumed]]);
    family('pushwire_queue_dead_letters_total', 'counter', 'Entries of Redis queues refused to the dead-letter key.', [['', queue.deadLetters]]);
    family('pushwire_messages_published_total', 'counter', 'Messages published.', [['', this.published]]);
    family('pushwire_messages_out_total', 'counter', 'Messages delivered to sessions.', byTransport(this.delivered));
    family('pushwire_messages_in_total', 'counter', 'Commands received from clients.', byTransport(this.received));
    family('pushwire_drops_total', 'counter', 'Sessions dropped as slow consumers.', byTransport(this.drops));
    family('pushwire_resumes_total', 'counter', 'Connects that resumed from a message id.', byTransport(this.resumes));
    family('pushwire_resume_gaps_total', 'counter', 'Resumes older than the history kept.', byTransport(this.gaps));
    family('pushwire_scheduled', 'gauge', 'Publishes waiting for their time.', [['', scheduled]]);
    family('pushwire_scheduled_bytes', 'gauge', 'Estimated bytes held by waiting publishes.', [['', scheduledBytes]]);
    family('pushwire_history_messages', 'gauge', 'Messages kept for resume.', [['', history.messages]]);
    family('pushwire_history_bytes', 'gauge', 'Estimated bytes of the messages kept for resume.', [['', history.bytes]]);
    family('pushwire_history_streams', 'gauge', 'Channels, user inboxes and broadcast holding history.', [['', history.streams]]);
    family('pushwire_poll_sessions_evicted_total', 'counter', 'Idle poll sessions ended early to make room.', [['', pollSessionsEvicted]]);
    family('pushwire_polls_held', 'gauge', 'Long-poll requests waiting for a message.', [['', heldPolls]]);
    family(
      'pushwire_http_errors_total',
      'counter',
      'Error answers by status.',
      [...this.httpErrors].sort(([a], [b]) => a - b).map(([status, n]) => [`{status="${status}"}`, n]),
    );
    return `${lines.join('\n')}\n`;
  }
}
