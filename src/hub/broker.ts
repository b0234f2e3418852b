// Where published messages get their ids, are kept for resume, and reach
// every process that holds sessions. The Hub is the in-memory broker of one
// process (the default: nothing to install); RedisBroker shares ids,
// history and fan-out between processes and machines.
import type { HubMessage, PublishInput, Replay, Session } from './hub.js';

/** What the push server needs of a broker. Either answer may come at once or after a round trip. */
export interface Broker {
  /**
   * Give the message its id, keep it for resume, and deliver it to every
   * session that should have it, in id order, on every process. Resolves with
   * the message and how many sessions of this process it reached.
   */
  publish(input: PublishInput & { json: string }): { message: HubMessage; delivered: number } | Promise<{ message: HubMessage; delivered: number }>;
  /** What `session` would have received after `since`, oldest first; `gap` when history no longer reaches back. */
  replay(session: Session, since: string): Replay | Promise<Replay>;
  /** A fresh connect's backlog: what was sent to the session's user and reached none of its sessions. */
  unread(session: Session): Replay | Promise<Replay>;
  /** The id of the newest message this process has delivered. */
  readonly lastId: string;
}
