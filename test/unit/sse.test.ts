import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSseComment, encodeSseEvent, encodeSseRetry } from '../../src/protocol/sse.js';
import { parseEventStream } from '../helpers/sse-parser.js';

describe('SSE encoding (WHATWG HTML §9.2.5–§9.2.6)', () => {
  it('writes id, event, retry and data fields, ending with a blank line', () => {
    expect(encodeSseEvent({ id: '7-3', event: 'tick', data: '{"a":1}', retry: 2000 })).toBe(
      'id: 7-3\nevent: tick\nretry: 2000\ndata: {"a":1}\n\n',
    );
  });

  it('splits multi-line data so a client reads it back with \\n line breaks', () => {
    const text = encodeSseEvent({ data: 'one\r\ntwo\rthree\nfour' });
    expect(text).toBe('data: one\ndata: two\ndata: three\ndata: four\n\n');
    expect(parseEventStream(text).events).toEqual([{ type: 'message', data: 'one\ntwo\nthree\nfour', lastEventId: '' }]);
  });

  it('round-trips any event through the spec\'s parsing algorithm', () => {
    const field = fc.string({ maxLength: 20 }).filter((s) => !/[\r\n\0]/.test(s));
    fc.assert(
      fc.property(
        fc.array(fc.record({ id: fc.option(field, { nil: undefined }), event: fc.option(field.filter((s) => s !== ''), { nil: undefined }), data: fc.string({ maxLength: 60 }) }), { maxLength: 6 }),
        (events) => {
          const stream = encodeSseRetry(3000) + encodeSseComment('heartbeat') + events.map(encodeSseEvent).join('');
          const parsed = parseEventStream(stream);
          expect(parsed.retry).toBe(3000);
          let lastId = '';
          expect(parsed.events).toEqual(
            events.map((e) => {
              if (e.id !== undefined) lastId = e.id;
              return { type: e.event ?? 'message', data: e.data.replace(/\r\n|\r/g, '\n'), lastEventId: lastId };
            }),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('JSON data survives exactly', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const data = JSON.stringify(value);
        expect(JSON.parse(parseEventStream(encodeSseEvent({ data })).events[0].data)).toEqual(JSON.parse(data));
      }),
    );
  });

  it('comments are ignored by clients, on every line', () => {
    expect(encodeSseComment()).toBe(':\n');
    expect(encodeSseComment('a\nb')).toBe(': a\n: b\n');
    expect(parseEventStream(encodeSseComment('x\ny\rz') + encodeSseEvent({ data: 'd' })).events).toHaveLength(1);
  });

  it('refuses ids and event types that would break the framing', () => {
    expect(() => encodeSseEvent({ id: 'a\nb', data: '' })).toThrow(TypeError);
    expect(() => encodeSseEvent({ id: 'a\0b', data: '' })).toThrow(TypeError);
    expect(() => encodeSseEvent({ event: 'a\rb', data: '' })).toThrow(TypeError);
    expect(() => encodeSseRetry(-1)).toThrow(RangeError);
  });
});
