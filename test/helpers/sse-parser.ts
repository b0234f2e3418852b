// The WHATWG "Parsing an event stream" / "Interpreting an event stream"
// algorithm (HTML §9.2.5–§9.2.6), written from the spec for tests only.

export interface ParsedEvent {
  type: string;
  data: string;
  lastEventId: string;
}

/** Parse `text`; `lastEventId` carries the last event ID buffer over from earlier text. */
export function parseEventStream(
  text: string,
  initialLastEventId = '',
): { events: ParsedEvent[]; retry: number | null; lastEventId: string } {
  const events: ParsedEvent[] = [];
  let data = '';
  let eventType = '';
  let lastEventId = initialLastEventId;
  let retry: number | null = null;
  // Strip one leading BOM, then split into lines on CRLF, LF or CR.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const lines = body.split(/\r\n|\r|\n/);
  lines.pop(); // the part after the last line terminator is not a complete line
  for (const line of lines) {
    if (line === '') {
      // Dispatch the event.
      if (data === '') {
        eventType = '';
        continue;
      }
      if (data.endsWith('\n')) data = data.slice(0, -1);
      events.push({ type: eventType || 'message', data, lastEventId });
      data = '';
      eventType = '';
      continue;
    }
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    let field = line;
    let value = '';
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    if (field === 'event') eventType = value;
    else if (field === 'data') data += `${value}\n`;
    else if (field === 'id') {
      if (!value.includes('\0')) lastEventId = value;
    } else if (field === 'retry') {
      if (/^[0-9]+$/.test(value)) retry = Number(value);
    }
  }
  return { events, retry, lastEventId };
}
