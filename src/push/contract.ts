// pushwire's wire contract: the JSON a push client and server exchange on
// every transport, and the close codes they agree on. The server and the
// browser client both import from here, so the two cannot drift apart. It
// imports nothing (the client is built for browsers from this file alone).

/** A client's correlation id, echoed in the reply. */
export type Ref = string | number;

/** How a delivered message looks on every transport (WS text frames, SSE `data:` in envelope mode, poll bodies). */
export interface MessageEnvelope {
  type: 'message';
  id: string;
  channel?: string;
  uid?: string;
  broadcast?: true;
  event?: string;
  data: unknown;
  /** Publish time, ms since the epoch. */
  time: number;
}

/** What a client may send, over a WebSocket text frame or `POST /send`. */
export type Command =
  | { type: 'subscribe'; channel: string; ref?: Ref }
  | { type: 'unsubscribe'; channel: string; ref?: Ref }
  | { type: 'publish'; channel: string; event?: string; data: unknown; ref?: Ref }
  | { type: 'send'; data: unknown; ref?: Ref };

/** The answer to a command that succeeded. */
export interface Ack {
  type: 'ack';
  ref?: Ref;
  channel?: string;
  id?: string;
  delivered?: number;
}

/** The answer to a command that was refused: `code` is an HTTP-style status. */
export interface ErrorReply {
  type: 'error';
  code: number;
  message: string;
  ref?: Ref;
}

/**
 * Sent once a session is connected and its backlog delivered: live messages
 * follow. `lastId` is the cursor to resume from (on SSE it is the event's `id:`).
 */
export interface ReadyNotice {
  type: 'ready';
  session: string;
  uid: string | null;
  channels: string[];
  lastId?: string;
  /** Reconnect delay hint, ms. */
  retry: number;
}

/** Messages after `since` were lost (evicted, or sent by an earlier server run). */
export interface GapNotice {
  type: 'gap';
  since: string | null;
}

/** The answer to `GET /poll`: what came after the cursor, the cursor to poll from next, and the session for `POST /send`. */
export interface PollReply {
  messages: MessageEnvelope[];
  cursor: string;
  session: string;
  /** History no longer covers the cursor the request asked from. */
  gap?: true;
}

/** Everything the server sends a WebSocket client, as text frames. */
export type ServerFrame = MessageEnvelope | Ack | ErrorReply | ReadyNotice | GapNotice;

// ---- close codes (RFC 6455 §7.4) ----

/** A client that cannot read as fast as messages come is closed with 1013, "try again later". */
export const SLOW_CONSUMER_CLOSE = 1013;

/** Too many invalid commands: 1008, policy violation. */
export const POLICY_CLOSE = 1008;

/**
 * A connect refused with HTTP `status` is upgraded and closed with 4000 +
 * status (4401, 4403, …): a browser cannot read the status of a failed
 * handshake but can read a close code. RFC 6455 §7.4.2: 4000-4999 are ours.
 */
export function refusalCloseCode(status: number): number {
  return 4000 + status;
}

/**
 * Close codes after which reconnecting cannot help: 1008 (policy) and the
 * refusals the same request would meet again. 4408 (timeout), 4429 (busy),
 * 45xx (server trouble), 1001 (going away) and 1013 (slow consumer) are worth
 * another try.
 */
export const FINAL_CLOSE_CODES: readonly number[] = [POLICY_CLOSE, 4400, 4401, 4403, 4404, 4405, 4413, 4422];

/** Whether a client should stop reconnecting after this close code (it is one of FINAL_CLOSE_CODES). */
export function isFinalCloseCode(code: number): boolean {
  return FINAL_CLOSE_CODES.includes(code);
}
