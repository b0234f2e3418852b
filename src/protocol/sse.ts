// Server-Sent Events wire format (WHATWG HTML §9.2.5 "Parsing an event
// stream", §9.2.6 "Interpreting an event stream"): encoding only. No I/O.

/** One event to put on a `text/event-stream`. */
export interface SseEvent {
  /** Sets the client's last event ID (sent back as `Last-Event-ID` on reconnect). */
  id?: string;
  /** Event type; the client dispatches `message` when absent. */
  event?: string;
  /** The payload. Line breaks become separate `data:` lines and come back as "\n". */
  data: string;
  /** Reconnection time hint in ms. */
  retry?: number;
}

/** Any of CRLF, LF, CR: the stream's line terminators (§9.2.5). */
const LINE_BREAK = /\r\n|\r|\n/;

/**
 * Serialize one event, ending with the blank line that dispatches it.
 * Throws a TypeError for an id or event type containing a line break (they
 * would split the field) or an id containing NUL (the client ignores such ids).
 */
export function encodeSseEvent(event: SseEvent): string {
  let text = '';
  if (event.id !== undefined) {
    if (LINE_BREAK.test(event.id) || event.id.includes('\0')) throw new TypeError('an SSE id must not contain line breaks or NUL');
    text += `id: ${event.id}\n`;
  }
  if (event.event !== undefined) {
    if (LINE_BREAK.test(event.event)) throw new TypeError('an SSE event type must not contain line breaks');
    text += `event: ${event.event}\n`;
  }
  if (event.retry !== undefined) text += encodeSseRetry(event.retry);
  // "If the line starts with ... data" — one field per line; the client joins them with "\n".
  for (const line of event.data.split(LINE_BREAK)) text += `data: ${line}\n`;
  return `${text}\n`;
}

/** A `retry:` field on its own: sets the client's reconnection delay. */
export function encodeSseRetry(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError('retry must be a whole number of milliseconds ≥ 0');
  return `retry: ${ms}\n`;
}

/** A comment line (starts with ":"): ignored by clients, keeps proxies from timing out. */
export function encodeSseComment(text = ''): string {
  return text
    .split(LINE_BREAK)
    .map((line) => `:${line ? ` ${line}` : ''}\n`)
    .join('');
}
