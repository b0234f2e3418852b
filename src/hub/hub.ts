// The dispatch core every transport feeds: sessions, channels, user
// identities, broadcast, bounded history with ordered ids, and resume. It knows
// nothing of wire formats or sockets; transports hand it a `deliver` function
// and turn the HubMessage they receive into their own framing.
//
// History is bounded three ways: messages per stream (historySize), age
// (historyAgeMs, enforced on publish, on replay and by `sweep()` on a timer so
// idle streams empty too), and bytes across all streams (maxRetainedBytes:
// the oldest message anywhere goes first). An emptied stream is forgotten.

/** A published message as the hub stores and delivers it. */
export interface HubMessage {
  /** Ordered id, `<epoch>-<seq>`: later messages have larger `seq` within one epoch. */
  id: string;
  seq: number;
  /** Exactly one target: a channel, a user id, or everyone. */
  channel?: string;
  uid?: string;
  broadcast?: true;
  event?: string;
  data: unknown;
  /** `data` as JSON text, serialized once when published; transports send this, never re-serialize. */
  json: string;
  /** When it was published, from the hub's clock (ms). */
  time: number;
}

/** Where a publish goes. */
export type Target = { channel: string } | { uid: string } | { broadcast: true };

export interface PublishInput {
  target: Target;
  event?: string;
  data: unknown;
  /** `data` already serialized (the push server does it to refuse what cannot be); else the hub serializes it. */
  json?: string;
}

/** How a session receives messages; supplied by its transport. */
export interface SessionSink {
  deliver(message: HubMessage): void;
}

export interface Session {
  readonly id: number;
  /** The authenticated user, if any. */
  readonly uid: string | undefined;
  /** 'ws', 'sse', 'poll', …: for metrics and the application hook. */
  readonly transport: string;
  readonly channels: ReadonlySet<string>;
}

/** What a resume found: the messages after `since`, and whether history no longer covers the gap. */
export interface Replay {
  messages: HubMessage[];
  /** True when messages after `since` were already evicted: the client should reload. */
  gap: boolean;
}

export interface HubOptions {
  /** Messages kept per stream (channel, user inbox, broadcast). Default 1000. */
  historySize?: number;
  /** Longest a message is kept, ms. Default 1 hour. */
  historyAgeMs?: number;
  /**
   * Bytes of history kept across every stream (each message counted as its
   * JSON text plus a fixed overhead); past it the oldest message anywhere is
   * evicted. Default 32 MiB.
   */
  maxRetainedBytes?: number;
  /** The clock, ms. Default Date.now. */
  now?: () => number;
  /** Prefix of every id; a new epoch (restart) makes older ids unresumable. Default the start time. */
  epoch?: string;
}

/** Bytes a stored message costs beside its JSON text: the message object, its entry, the stream slot. */
export const MESSAGE_OVERHEAD_BYTES = 200;

/** What history holds now. */
export interface HistoryStats {
  messages: number;
  /** Estimated bytes (JSON text + MESSAGE_OVERHEAD_BYTES per message). */
  bytes: number;
  /** Channels, user inboxes and the broadcast stream that hold messages. */
  streams: number;
}

/** One bounded history: a channel's, a user's inbox, or the broadcast stream. */
class Stream {
  readonly messages: HubMessage[] = [];
  /** Highest seq evicted from this stream: a resume from below it has a gap. */
  evictedSeq = 0;
  /** User inboxes: highest seq that reached at least one of the user's sessions. */
  deliveredSeq = 0;
  constructor(
    /** Where the stream is kept, so an emptied one can be forgotten; null for broadcast. */
    readonly home: Map<string, Stream> | null,
    readonly key: string,
  ) {}
}

/** A stored message in the hub-wide list, oldest first (publish order). */
interface Entry {
  message: HubMessage;
  stream: Stream;
  bytes: number;
  prev: Entry | null;
  next: Entry | null;
}

class SessionState implements Session {
  readonly channels = new Set<string>();
  constructor(
    readonly id: number,
    readonly uid: string | undefined,
    readonly transport: string,
    readonly sink: SessionSink,
  ) {}
}

/**
 * The transport-agnostic dispatch core: sessions subscribe to channels and
 * receive what is published to them, to their user id or to everyone; every
 * message gets an ordered id and is kept (bounded by `historySize` and
 * `historyAgeMs`) so a session can `replay` what it missed, or learn that
 * history no longer reaches back that far.
 *
 * @example
 * const hub = new Hub({ historySize: 1000 });
 * const session = hub.open({ deliver: (message) => console.log(message) }, { transport: 'test' });
 * hub.subscribe(session, 'news');
 * hub.publish({ target: { channel: 'news' }, data: 'hello' }); // { message, delivered: 1 }
 */
export class Hub {
  private readonly historySize: number;
  private readonly historyAgeMs: number;
  private readonly maxRetainedBytes: number;
  private readonly now: () => number;
  private epochValue: string;
  private seq = 0;
  private nextSessionId = 1;
  private readonly sessions = new Set<SessionState>();
  private readonly channelMembers = new Map<string, Set<SessionState>>();
  private readonly userSessions = new Map<string, Set<SessionState>>();
  private readonly channelStreams = new Map<string, Stream>();
  private readonly userStreams = new Map<string, Stream>();
  private readonly broadcastStream = new Stream(null, '');
  // Every stored message in publish order, to evict the oldest anywhere.
  private oldest: Entry | null = null;
  private newest: Entry | null = null;
  private readonly entries = new Map<HubMessage, Entry>();
  private retainedBytes = 0;
  /** Highest seq evicted from a stream that was then forgotten: resumes from below it report a gap. */
  private forgottenSeq = 0;

  constructor(options: HubOptions = {}) {
    this.historySize = options.historySize ?? 1000;
    this.historyAgeMs = options.historyAgeMs ?? 60 * 60 * 1000;
    this.maxRetainedBytes = options.maxRetainedBytes ?? 32 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.epochValue = options.epoch ?? String(this.now());
  }

  /** Register a session. Messages published to its uid or as broadcast reach it from now on. */
  open(sink: SessionSink, identity: { uid?: string; transport: string }): Session {
    const session = new SessionState(this.nextSessionId++, identity.uid, identity.transport, sink);
    this.sessions.add(session);
    if (session.uid !== undefined) addTo(this.userSessions, session.uid, session);
    return session;
  }

  /** Forget a session and its subscriptions. */
  close(session: Session): void {
    const state = session as SessionState;
    if (!this.sessions.delete(state)) return;
    for (const channel of state.channels) removeFrom(this.channelMembers, channel, state);
    if (state.uid !== undefined) removeFrom(this.userSessions, state.uid, state);
  }

  subscribe(session: Session, channel: string): void {
    const state = session as SessionState;
    if (!this.sessions.has(state)) return;
    state.channels.add(channel);
    addTo(this.channelMembers, channel, state);
  }

  unsubscribe(session: Session, channel: string): void {
    const state = session as SessionState;
    state.channels.delete(channel);
    removeFrom(this.channelMembers, channel, state);
  }

  /** Store and deliver a message; returns it with how many sessions it reached. */
  publish(input: PublishInput): { message: HubMessage; delivered: number } {
    const seq = this.seq + 1;
    const message: HubMessage = {
      id: `${this.epoch}-${seq}`,
      seq,
      data: input.data,
      json: input.json ?? serialize(input.data),
      time: this.now(),
    };
    if (input.event !== undefined) message.event = input.event;
    if ('channel' in input.target) message.channel = input.target.channel;
    else if ('uid' in input.target) message.uid = input.target.uid;
    else message.broadcast = true;
    return { message, delivered: this.ingest(message) };
  }

  /**
   * Store and deliver a message that already has its id — from a shared
   * broker, which numbers messages for every process. Messages must come in
   * id order (`seq` above every earlier one). Returns how many sessions it reached.
   */
  ingest(message: HubMessage): number {
    if (message.seq <= this.seq) throw new RangeError(`message ${message.id} is not after ${this.lastId}`);
    this.seq = message.seq;
    let stream: Stream;
    let recipients: Iterable<SessionState>;
    if (message.channel !== undefined) {
      stream = streamOf(this.channelStreams, message.channel);
      recipients = this.channelMembers.get(message.channel) ?? [];
    } else if (message.uid !== undefined) {
      stream = streamOf(this.userStreams, message.uid);
      recipients = this.userSessions.get(message.uid) ?? [];
    } else {
      stream = this.broadcastStream;
      recipients = this.sessions;
    }
    this.append(stream, message);
    let delivered = 0;
    for (const session of recipients) {
      session.sink.deliver(message);
      delivered++;
    }
    if (delivered > 0) stream.deliveredSeq = message.seq;
    return delivered;
  }

  /**
   * Continue the numbering of a shared broker: ids from now on are
   * `<epoch>-<seq + 1>` and later. Only before the first message; history
   * from before (none) is lost. @internal
   */
  adopt(epoch: string, seq: number): void {
    if (this.entries.size > 0) throw new Error('adopt() must come before any message');
    this.epochValue = epoch;
    this.seq = seq;
    this.forgottenSeq = seq; // whatever came before is not here: a resume from before is a gap here
  }

  /**
   * Skip ahead to `seq`: messages up to it were missed (a shared broker could
   * not supply them), so a resume from before it reports a gap. @internal
   */
  skipTo(seq: number): void {
    if (seq <= this.seq) return;
    this.seq = seq;
    this.forgottenSeq = Math.max(this.forgottenSeq, seq);
  }

  /**
   * The messages a session would have received after `since` (an id from this
   * hub), in order, each once: from its channels, its user inbox, and
   * broadcast. `since` from another epoch, or older than what history keeps,
   * reports a gap along with what history still has.
   */
  replay(session: Session, since: string): Replay {
    const state = session as SessionState;
    const streams: Stream[] = [this.broadcastStream];
    for (const channel of state.channels) {
      const stream = this.channelStreams.get(channel);
      if (stream) streams.push(stream);
    }
    if (state.uid !== undefined) {
      const inbox = this.userStreams.get(state.uid);
      if (inbox) streams.push(inbox);
    }
    const sinceSeq = this.parseSince(since);
    const after = sinceSeq ?? 0;
    this.sweep();
    // A stream forgotten once empty no longer says what it evicted: assume the worst.
    let gap = sinceSeq === null || this.forgottenSeq > after;
    const messages: HubMessage[] = [];
    for (const stream of streams) {
      if (stream.evictedSeq > after) gap = true;
      for (const message of stream.messages) if (message.seq > after) messages.push(message);
    }
    messages.sort((a, b) => a.seq - b.seq);
    this.markInboxRead(state);
    return { messages, gap };
  }

  /**
   * A fresh connect (no resume id): the messages sent to the session's user
   * that never reached any of that user's sessions — the unread inbox — in
   * order. `gap` is true when unread messages were already evicted.
   */
  unread(session: Session): Replay {
    const state = session as SessionState;
    const inbox = state.uid === undefined ? undefined : this.userStreams.get(state.uid);
    this.sweep();
    if (!inbox) return { messages: [], gap: false };
    const messages = inbox.messages.filter((message) => message.seq > inbox.deliveredSeq);
    const gap = inbox.evictedSeq > inbox.deliveredSeq;
    this.markInboxRead(state);
    return { messages, gap };
  }

  /** Prefix of every id this hub gives: a restart (or a shared broker's adopt) sets it. */
  get epoch(): string {
    return this.epochValue;
  }

  /** The id of the newest message, or `<epoch>-0` before the first. */
  get lastId(): string {
    return `${this.epoch}-${this.seq}`;
  }

  /** What history holds now (for metrics). */
  historyStats(): HistoryStats {
    return { messages: this.entries.size, bytes: this.retainedBytes, streams: this.channelStreams.size + this.userStreams.size + (this.broadcastStream.messages.length > 0 ? 1 : 0) };
  }

  /**
   * Evict what has outlived historyAgeMs, in every stream, idle ones too.
   * The push server calls this on a timer; publish and replay call it as well.
   */
  sweep(): void {
    const oldestKept = this.now() - this.historyAgeMs;
    while (this.oldest !== null && this.oldest.message.time < oldestKept) this.evict(this.oldest);
  }

  /** Sessions of this process subscribed to `channel`. */
  channelSessions(channel: string): number {
    return this.channelMembers.get(channel)?.size ?? 0;
  }

  /** Sessions of this process that belong to user `uid`. */
  userSessionCount(uid: string): number {
    return this.userSessions.get(uid)?.size ?? 0;
  }

  /** How many channels have subscribers and how many users have sessions here. */
  presenceCounts(): { channels: number; users: number } {
    return { channels: this.channelMembers.size, users: this.userSessions.size };
  }

  /** Every channel with subscribers and every user with sessions here, with their session counts. */
  presence(): { channels: Map<string, number>; users: Map<string, number> } {
    const sizes = (map: Map<string, Set<SessionState>>): Map<string, number> =>
      new Map([...map].map(([key, sessions]) => [key, sessions.size]));
    return { channels: sizes(this.channelMembers), users: sizes(this.userSessions) };
  }

  /** The `limit` channels with the most subscribers here, most first: one pass, no copy of the channel map. */
  busiestChannels(limit: number): [channel: string, sessions: number][] {
    const top: [string, number][] = [];
    for (const [channel, members] of this.channelMembers) {
      const size = members.size;
      if (top.length === limit && (limit === 0 || size <= top[limit - 1][1])) continue;
      let at = top.length;
      while (at > 0 && top[at - 1][1] < size) at--;
      top.splice(at, 0, [channel, size]);
      if (top.length > limit) top.pop();
    }
    return top;
  }

  /** Sessions open now, by transport. */
  sessionCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const session of this.sessions) counts.set(session.transport, (counts.get(session.transport) ?? 0) + 1);
    return counts;
  }

  private markInboxRead(state: SessionState): void {
    const inbox = state.uid === undefined ? undefined : this.userStreams.get(state.uid);
    if (inbox) inbox.deliveredSeq = Math.max(inbox.deliveredSeq, inbox.evictedSeq, inbox.messages.at(-1)?.seq ?? 0);
  }

  /** Seq of an id from this epoch; null for a foreign or malformed id. */
  private parseSince(since: string): number | null {
    const dash = since.lastIndexOf('-');
    if (dash === -1 || since.slice(0, dash) !== this.epoch) return null;
    const seq = Number(since.slice(dash + 1));
    return Number.isSafeInteger(seq) && seq >= 0 && seq <= this.seq ? seq : null;
  }

  private append(stream: Stream, message: HubMessage): void {
    if (this.historySize === 0) {
      stream.evictedSeq = message.seq;
      this.forgetIfEmpty(stream);
      return;
    }
    stream.messages.push(message);
    const entry: Entry = { message, stream, bytes: message.json.length + MESSAGE_OVERHEAD_BYTES, prev: this.newest, next: null };
    if (this.newest) this.newest.next = entry;
    else this.oldest = entry;
    this.newest = entry;
    this.entries.set(message, entry);
    this.retainedBytes += entry.bytes;
    while (stream.messages.length > this.historySize) this.evict(this.entries.get(stream.messages[0])!);
    while (this.retainedBytes > this.maxRetainedBytes && this.oldest !== null) this.evict(this.oldest);
    this.sweep();
  }

  /** Remove a message from its stream (always that stream's oldest) and from the hub-wide list. */
  private evict(entry: Entry): void {
    const { stream, message } = entry;
    stream.messages.shift();
    stream.evictedSeq = message.seq;
    if (entry.prev) entry.prev.next = entry.next;
    else this.oldest = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.newest = entry.prev;
    this.entries.delete(message);
    this.retainedBytes -= entry.bytes;
    this.forgetIfEmpty(stream);
  }

  /**
   * An empty channel stream is dropped (its eviction mark moves to the
   * hub-wide forgottenSeq). A user inbox stays while it holds the only record
   * that unread messages were lost, so the user's next connect reports a gap.
   */
  private forgetIfEmpty(stream: Stream): void {
    if (stream.messages.length > 0 || stream.home === null) return;
    if (stream.home === this.userStreams && stream.evictedSeq > stream.deliveredSeq) return;
    stream.home.delete(stream.key);
    this.forgottenSeq = Math.max(this.forgottenSeq, stream.evictedSeq);
  }
}

/** The seq of an id `<epoch>-<seq>` (NaN for anything else). */
export function seqOf(id: string): number {
  return Number(id.slice(id.lastIndexOf('-') + 1));
}

/** The newest of `reference` and those `ids` of its epoch (an id of another epoch says nothing about this one). */
export function newestId(reference: string, ...ids: (string | undefined)[]): string {
  const epoch = reference.slice(0, reference.lastIndexOf('-'));
  let newest = reference;
  for (const id of ids) {
    if (id !== undefined && id.slice(0, id.lastIndexOf('-')) === epoch && seqOf(id) > seqOf(newest)) newest = id;
  }
  return newest;
}

function streamOf(map: Map<string, Stream>, key: string): Stream {
  let stream = map.get(key);
  if (!stream) map.set(key, (stream = new Stream(map, key)));
  return stream;
}

/** JSON text of `data`; throws a TypeError for what JSON cannot hold (undefined, BigInt, cycles, nesting too deep). */
function serialize(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new TypeError(`message data cannot be serialized as JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw new TypeError('message data cannot be serialized as JSON: undefined');
  return json;
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
