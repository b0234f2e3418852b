// pushwire's JSON wire contract, shared by every transport and the publish
// API: what a client may send (commands), what a backend may publish, and the
// envelope every delivered message travels in. Pure functions: no I/O.
// Publishes are refused with HttpError (they arrive over HTTP or from code),
// commands with CommandError (the client is told the status, on any transport).
import type { HubMessage, Target } from '../hub/hub.js';
import type { Command, MessageEnvelope, Ref } from './contract.js';
import { HttpError } from './http-io.js';

export type { Command, MessageEnvelope, Ref } from './contract.js';

/** Longest channel name, user id, event name or command ref. */
export const MAX_NAME_LENGTH = 200;
const CHANNEL_NAME = /^[A-Za-z0-9_.:@/=+~!-]{1,200}$/;

export function toEnvelope(message: HubMessage): MessageEnvelope {
  const target =
    message.channel !== undefined
      ? { channel: message.channel }
      : message.uid !== undefined
        ? { uid: message.uid }
        : { broadcast: true as const };
  const event = message.event === undefined ? {} : { event: message.event };
  return { type: 'message', ...target, id: message.id, ...event, data: message.data, time: message.time };
}

// A fan-out hands the same message to every recipient, and long-poll answers
// repeat the recent ones, so the JSON of the last few hundred messages is kept.
const recentEnvelopes = new Map<HubMessage, string>();
const RECENT_ENVELOPES = 256;

/**
 * The envelope as JSON text, built once per (recent) message around the data
 * JSON stored at publish time: the data is never serialized again, so no
 * replay can fail on data that was accepted (or differ from what was sent).
 * Field order matches toEnvelope.
 */
export function envelopeJson(message: HubMessage): string {
  let json = recentEnvelopes.get(message);
  if (json === undefined) {
    const target =
      message.channel !== undefined
        ? `"channel":${JSON.stringify(message.channel)}`
        : message.uid !== undefined
          ? `"uid":${JSON.stringify(message.uid)}`
          : '"broadcast":true';
    const event = message.event === undefined ? '' : `,"event":${JSON.stringify(message.event)}`;
    json = `{"type":"message",${target},"id":${JSON.stringify(message.id)}${event},"data":${message.json},"time":${message.time}}`;
    recentEnvelopes.set(message, json);
    if (recentEnvelopes.size > RECENT_ENVELOPES) recentEnvelopes.delete(recentEnvelopes.keys().next().value!);
  }
  return json;
}

// ---- refusals ----

/** Why a client's command was refused. */
export type CommandErrorCode =
  | 'PW_ERR_NOT_JSON' // 400 a WebSocket text frame that is not JSON
  | 'PW_ERR_BINARY_COMMAND' // 400 a binary WebSocket frame
  | 'PW_ERR_INVALID_COMMAND' // 422 unknown type; unknown, missing or malformed field (channel, event, ref)
  | 'PW_ERR_TOO_MANY_CHANNELS' // 422 a subscribe past maxChannels
  | 'PW_ERR_SUBSCRIBE_FORBIDDEN' // 403 `authorize` said no
  | 'PW_ERR_PUBLISH_FORBIDDEN' // 403 `clientPublish` said no
  | 'PW_ERR_TOO_MANY_PENDING'; // 429 more commands waiting for an answer than a client may have

/**
 * A client's command (a WebSocket frame or `POST /send`) was refused. The
 * client is told `status`: as `{"type":"error","code":<status>,…}` on a
 * WebSocket, as the HTTP status on `/send`. `code` says why, for the server.
 */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    /** Stable reason to branch on. */
    readonly code: CommandErrorCode,
    /** HTTP-style status the client is told: 400, 403, 422, 429. */
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** How a validator refuses: the shared name checks serve publishes, connects and commands alike. */
type Refuse = (message: string) => Error;
const invalidInput: Refuse = (message) => new HttpError(422, message);
const invalidCommand: Refuse = (message) => new CommandError('PW_ERR_INVALID_COMMAND', 422, message);

/**
 * The data as JSON text, once, at publish time: what every transport will
 * send, and what history and schedules count. Data parsed from a request
 * can still fail here (nesting too deep for the serializer's stack); data
 * from code can also be undefined, a BigInt or a cycle. Each is a 422, so
 * no later replay or fan-out can meet it.
 */
export function serializeData(data: unknown, where = ''): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    if (error instanceof RangeError) throw new HttpError(422, `${where}"data" cannot be serialized: nested too deeply`);
  }
  if (json === undefined) throw new HttpError(422, `${where}"data" must be a JSON value (no undefined, BigInt, functions or cycles)`);
  return json;
}

// ---- names ----

/** `value` if it is a channel name (1–200 of A–Z a–z 0–9 _ . : @ / = + ~ ! -); otherwise throws `refuse`'s error, by default HttpError 422. */
export function checkChannel(value: unknown, field = 'channel', refuse: Refuse = invalidInput): string {
  if (typeof value !== 'string' || !CHANNEL_NAME.test(value)) {
    throw refuse(`${field} must be 1-${MAX_NAME_LENGTH} characters from A-Z a-z 0-9 _ . : @ / = + ~ ! -`);
  }
  return value;
}

/**
 * Characters no name may hold: C0 controls and DEL (a CR or LF would end an
 * SSE field, a NUL an SSE id — WHATWG HTML §9.2.6), and U+2028/U+2029, which
 * JavaScript source and some JSON consumers treat as line breaks.
 */
export const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

function checkName(value: unknown, field: string, refuse: Refuse): string {
  if (typeof value !== 'string' || value === '' || value.length > MAX_NAME_LENGTH || CONTROL.test(value)) {
    throw refuse(`${field} must be a string of 1-${MAX_NAME_LENGTH} characters without control characters or line separators`);
  }
  return value;
}

function checkFields(object: Record<string, unknown>, allowed: readonly string[], what: string, refuse: Refuse): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw refuse(`unknown field ${JSON.stringify(key)} in ${what}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- publish API ----

/** One validated publish: where, what, and when (`at`, ms; absent = now). */
export interface PublishRequest {
  target: Target;
  event?: string;
  data: unknown;
  at?: number;
}

const PUBLISH_FIELDS = ['channel', 'uid', 'broadcast', 'event', 'data', 'delayMs', 'at'] as const;
/**
 * Furthest ahead a publish may be scheduled (`delayMs` or `at`): 10 years
 * (3650 days). Far enough for any real schedule, near enough to refuse a
 * timestamp passed as `delayMs`.
 */
export const MAX_SCHEDULE_MS = 3650 * 24 * 60 * 60 * 1000;

/**
 * Validate a publish body: one object, or an array of them (a batch, all or
 * nothing). Throws HttpError 422 naming the first problem (and its item).
 */
export function parsePublishBody(
  body: unknown,
  nowMs: number,
  maxBatch: number,
): { requests: PublishRequest[]; batch: boolean } {
  if (!Array.isArray(body)) return { requests: [parsePublish(body, nowMs)], batch: false };
  if (body.length === 0) throw new HttpError(422, 'a batch must hold at least one item');
  if (body.length > maxBatch) throw new HttpError(422, `a batch holds at most ${maxBatch} items`);
  const requests = body.map((item, index) => {
    try {
      return parsePublish(item, nowMs);
    } catch (error) {
      throw new HttpError(422, `item ${index}: ${(error as Error).message}`);
    }
  });
  return { requests, batch: true };
}

/** Validate one publish object (see parsePublishBody). */
export function parsePublish(value: unknown, nowMs: number): PublishRequest {
  if (!isObject(value)) throw new HttpError(422, 'a publish is a JSON object (or an array of them)');
  checkFields(value, PUBLISH_FIELDS, 'a publish', invalidInput);
  const targets = [value.channel !== undefined, value.uid !== undefined, value.broadcast !== undefined];
  const count = targets.filter(Boolean).length;
  if (count === 0) throw new HttpError(422, 'missing target: give one of "channel", "uid" or "broadcast": true');
  if (count > 1) throw new HttpError(422, 'give exactly one target: "channel", "uid" or "broadcast"');
  let target: Target;
  if (value.channel !== undefined) target = { channel: checkChannel(value.channel) };
  else if (value.uid !== undefined) target = { uid: checkName(value.uid, 'uid', invalidInput) };
  else if (value.broadcast === true) target = { broadcast: true };
  else throw new HttpError(422, '"broadcast" must be true');
  if (!('data' in value)) throw new HttpError(422, 'missing "data" (any JSON value, null included)');
  const request: PublishRequest = { target, data: value.data };
  if (value.event !== undefined) request.event = checkName(value.event, 'event', invalidInput);
  if (value.delayMs !== undefined && value.at !== undefined) throw new HttpError(422, 'give "delayMs" or "at", not both');
  if (value.delayMs !== undefined) {
    const delay = value.delayMs;
    if (typeof delay !== 'number' || !Number.isInteger(delay) || delay < 0 || delay > MAX_SCHEDULE_MS) {
      throw new HttpError(422, `"delayMs" must be a whole number of milliseconds from 0 to ${MAX_SCHEDULE_MS} (10 years)`);
    }
    if (delay > 0) request.at = nowMs + delay;
  } else if (value.at !== undefined) {
    const at = typeof value.at === 'string' && /^\d{4}-\d\d-\d\dT/.test(value.at) ? Date.parse(value.at) : NaN;
    if (Number.isNaN(at)) throw new HttpError(422, '"at" must be an ISO 8601 date-time, e.g. "2030-01-01T09:00:00Z"');
    if (at - nowMs > MAX_SCHEDULE_MS) throw new HttpError(422, '"at" is more than 10 years (3650 days) away');
    if (at > nowMs) request.at = at; // a moment already past publishes now
  }
  return request;
}

// ---- client commands ----

const COMMAND_FIELDS: Record<Command['type'], readonly string[]> = {
  subscribe: ['type', 'channel', 'ref'],
  unsubscribe: ['type', 'channel', 'ref'],
  publish: ['type', 'channel', 'event', 'data', 'ref'],
  send: ['type', 'data', 'ref'],
};

/** Pull the ref out of anything, so even a refused command's error can be correlated. */
export function refOf(value: unknown): Ref | undefined {
  if (!isObject(value)) return undefined;
  const { ref } = value;
  if (typeof ref === 'number' && Number.isFinite(ref)) return ref;
  if (typeof ref === 'string' && ref.length <= MAX_NAME_LENGTH) return ref;
  return undefined;
}

/** Validate a parsed command; throws CommandError 422 (`PW_ERR_INVALID_COMMAND`) naming the problem. */
export function parseCommand(value: unknown): Command {
  if (!isObject(value)) throw invalidCommand('a command is a JSON object with a "type"');
  const type = value.type;
  if (typeof type !== 'string' || !Object.hasOwn(COMMAND_FIELDS, type)) {
    throw invalidCommand('unknown command type; use "subscribe", "unsubscribe", "publish" or "send"');
  }
  checkFields(value, COMMAND_FIELDS[type as Command['type']], `a ${type} command`, invalidCommand);
  if (value.ref !== undefined && refOf(value) === undefined) {
    throw invalidCommand(`"ref" must be a number or a string of at most ${MAX_NAME_LENGTH} characters`);
  }
  const ref = refOf(value);
  const withRef = <T extends object>(command: T): T => (ref === undefined ? command : { ...command, ref });
  switch (type) {
    case 'subscribe':
    case 'unsubscribe':
      return withRef({ type, channel: checkChannel(value.channel, 'channel', invalidCommand) });
    case 'publish': {
      if (!('data' in value)) throw invalidCommand('missing "data" (any JSON value, null included)');
      const command: Command = { type, channel: checkChannel(value.channel, 'channel', invalidCommand), data: value.data };
      if (value.event !== undefined) command.event = checkName(value.event, 'event', invalidCommand);
      return withRef(command);
    }
    default:
      if (!('data' in value)) throw invalidCommand('missing "data" (any JSON value, null included)');
      return withRef({ type: 'send', data: value.data });
  }
}

/** Parse a command from text (a WebSocket frame); 400 (`PW_ERR_NOT_JSON`) for text that is not JSON. */
export function parseCommandText(text: string): { command: Command } | { error: CommandError; ref?: Ref } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: new CommandError('PW_ERR_NOT_JSON', 400, 'not JSON: a command is a JSON object with a "type"') };
  }
  try {
    return { command: parseCommand(value) };
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    return { error, ref: refOf(value) };
  }
}
