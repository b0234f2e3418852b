// The JSON wire contract, unit by unit: publish bodies, client commands, envelopes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HubMessage } from '../../src/hub/hub.js';
import { HttpError } from '../../src/push/http-io.js';
import { CommandError, envelopeJson, MAX_SCHEDULE_MS, parseCommand, parseCommandText, parsePublishBody, toEnvelope } from '../../src/push/wire.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const fields = fc.constantFrom('channel', 'uid', 'broadcast', 'event', 'data', 'delayMs', 'at', 'type', 'ref', 'x');
/** Objects made mostly of the fields the parsers know, with any JSON values. */
const looseObject = fc.dictionary(fields, fc.oneof(fc.jsonValue(), fc.string(), fc.constant(true)), { maxKeys: 5 });
const anyInput = fc.oneof(fc.jsonValue(), looseObject, fc.array(looseObject, { maxLength: 3 }));

/** The error `run` throws, which must be an `Expected`. */
function thrown<E extends Error>(run: () => unknown, Expected: new (...args: never[]) => E): E {
  try {
    run();
  } catch (error) {
    if (error instanceof Expected) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

const refusal = (run: () => unknown): HttpError => thrown(run, HttpError);
const commandRefusal = (run: () => unknown): CommandError => thrown(run, CommandError);

describe('publish bodies', () => {
  it('anything either parses or is refused with a 422 HttpError, never another exception', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        try {
          parsePublishBody(input, NOW, 10);
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expect(error).toMatchObject({ status: 422, code: 'PW_ERR_INVALID_INPUT' });
        }
      }),
    );
  });

  it('valid publishes keep their target, event and data; a delay becomes an absolute time', () => {
    const channel = fc.stringMatching(/^[A-Za-z0-9_.:@/=+~!-]{1,20}$/);
    const target = fc.oneof(
      channel.map((c) => ({ channel: c })),
      fc.string({ minLength: 1, maxLength: 20 }).filter((u) => !/[\r\n\0]/.test(u)).map((u) => ({ uid: u })),
      fc.constant({ broadcast: true as const }),
    );
    fc.assert(
      fc.property(target, fc.jsonValue(), fc.option(fc.integer({ min: 1, max: 10 ** 9 }), { nil: undefined }), (t, data, delayMs) => {
        const input = { ...t, data, ...(delayMs === undefined ? {} : { delayMs }) };
        const { requests, batch } = parsePublishBody(input, NOW, 10);
        expect(batch).toBe(false);
        expect(requests[0]).toEqual({ target: t, data, ...(delayMs === undefined ? {} : { at: NOW + delayMs }) });
      }),
    );
  });

  it('names the first problem', () => {
    expect(refusal(() => parsePublishBody({ data: 1 }, NOW, 10)).message).toMatch(/^missing target/);
    expect(refusal(() => parsePublishBody({ channel: 'a', uid: 'b', data: 1 }, NOW, 10)).message).toMatch(/exactly one target/);
    expect(refusal(() => parsePublishBody({ broadcast: false, data: 1 }, NOW, 10)).message).toBe('"broadcast" must be true');
    expect(refusal(() => parsePublishBody({ chanel: 'a', data: 1 }, NOW, 10)).message).toBe('unknown field "chanel" in a publish');
    expect(refusal(() => parsePublishBody({ channel: 'a', data: 1, event: 'two\nlines' }, NOW, 10)).message).toMatch(/^event must be/);
    expect(refusal(() => parsePublishBody({ channel: 'a', data: 1, delayMs: 5, at: '2030-01-02T00:00:00Z' }, NOW, 10)).message).toMatch(/not both/);
    expect(refusal(() => parsePublishBody({ channel: 'a', data: 1, at: '2040-01-01T00:00:01Z' }, NOW, 10)).message).toMatch(/more than 10 years/);
    expect(parsePublishBody({ channel: 'a', data: 1, at: '2039-12-30T00:00:00Z' }, NOW, 10).requests[0].at).toBe(NOW + MAX_SCHEDULE_MS);
    expect(refusal(() => parsePublishBody({ channel: 'a', data: 1, delayMs: NOW }, NOW, 10)).message).toMatch(/^"delayMs" must be/); // a timestamp, not a delay
    expect(refusal(() => parsePublishBody(Array(11).fill({ broadcast: true, data: 1 }), NOW, 10)).message).toMatch(/at most 10/);
    expect(parsePublishBody({ channel: 'a', data: null, at: '2029-12-31T23:59:59Z' }, NOW, 10).requests[0].at).toBeUndefined();
    expect(parsePublishBody({ channel: 'a', data: null, at: '2030-01-01T01:00:00+01:00' }, NOW, 10).requests[0].at).toBeUndefined();
    expect(parsePublishBody({ channel: 'a', data: 0, delayMs: 0 }, NOW, 10).requests[0].at).toBeUndefined();
  });
});

describe('client commands', () => {
  it('any text either parses or gives a CommandError: 400 not JSON or 422 invalid, never an HttpError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), anyInput.map((v) => JSON.stringify(v))), (text) => {
        const result = parseCommandText(text);
        if ('error' in result) {
          expect(result.error).toBeInstanceOf(CommandError);
          expect([
            { code: 'PW_ERR_NOT_JSON', status: 400 },
            { code: 'PW_ERR_INVALID_COMMAND', status: 422 },
          ]).toContainEqual({ code: result.error.code, status: result.error.status });
        } else expect(['subscribe', 'unsubscribe', 'publish', 'send']).toContain(result.command.type);
      }),
    );
  });

  it('accepts the four commands and refuses malformed ones', () => {
    expect(parseCommand({ type: 'subscribe', channel: 'a', ref: 1 })).toEqual({ type: 'subscribe', channel: 'a', ref: 1 });
    expect(parseCommand({ type: 'publish', channel: 'a', event: 'e', data: [1] })).toEqual({ type: 'publish', channel: 'a', event: 'e', data: [1] });
    expect(parseCommand({ type: 'send', data: null })).toEqual({ type: 'send', data: null });
    expect(parseCommandText('{"type":"unsubscribe","channel":"a"}')).toEqual({ command: { type: 'unsubscribe', channel: 'a' } });
    expect(parseCommandText('{"type":"send","ref":"r9"}')).toMatchObject({ error: { status: 422, code: 'PW_ERR_INVALID_COMMAND' }, ref: 'r9' });
    expect(commandRefusal(() => parseCommand({ type: 'subscribe', channel: '' })).message).toMatch(/^channel must be/);
    expect(commandRefusal(() => parseCommand({ type: 'send', data: 1, ref: { no: 1 } })).message).toMatch(/"ref"/);
    expect(commandRefusal(() => parseCommand({ type: 'send', data: 1, extra: 1 })).message).toBe('unknown field "extra" in a send command');
    expect(commandRefusal(() => parseCommand({ type: 'constructor' })).message).toMatch(/unknown command type/);
  });
});

describe('envelopes', () => {
  it('serialize in a fixed field order, once per message', () => {
    const message: HubMessage = { id: 'e-1', seq: 1, channel: 'c', event: 'ev', data: { a: '\n' }, json: '{"a":"\\n"}', time: 5 };
    expect(envelopeJson(message)).toBe('{"type":"message","channel":"c","id":"e-1","event":"ev","data":{"a":"\\n"},"time":5}');
    expect(toEnvelope({ id: 'e-2', seq: 2, uid: 'u', data: 1, json: '1', time: 6 })).toEqual({ type: 'message', uid: 'u', id: 'e-2', data: 1, time: 6 });
    expect(toEnvelope({ id: 'e-3', seq: 3, broadcast: true, data: 1, json: '1', time: 6 })).toMatchObject({ broadcast: true });
    const other: HubMessage = { ...message, data: 'changed', json: '"changed"' };
    expect(JSON.parse(envelopeJson(other)).data).toBe('changed');
  });
});
