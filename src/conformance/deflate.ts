// permessage-deflate (RFC 7692) for the conformance tool: the offers it
// makes (Autobahn 12/13), the checks of the server's answer (§7.1), and
// compressing and decompressing messages (§7.2). Written apart from
// src/ws/deflate.ts, which is one of the implementations judged. zlib is
// pure computation here: the sync functions, no streams, no I/O.
//
// Context takeover (§7.1.1) without a zlib stream: the sender's context is
// the last 32 KiB of what it sent, so compressing the next message with that
// as a preset dictionary gives exactly the bytes a continuing compressor may
// send, and inflating with the receiver's window as the dictionary reads them.
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { frame, Op, type WireFrame } from './wire.js';

/** The tail a sync flush leaves, removed by the sender and put back by the receiver (§7.2.1, §7.2.2). */
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** A deflate window: the most a message may reach back (windowBits 15). */
const WINDOW = 32 * 1024;

/**
 * The offers of Autobahn 13.1–13.7, with window 9 where Autobahn asks for 8
 * (zlib cannot write a raw deflate stream with an 8-bit window; many servers
 * answer 8 and compress with 9, which a client inflating with 8 cannot read).
 */
export const DEFLATE_OFFERS: readonly string[] = [
  'permessage-deflate',
  'permessage-deflate; client_no_context_takeover',
  'permessage-deflate; server_max_window_bits=9',
  'permessage-deflate; server_max_window_bits=15',
  'permessage-deflate; server_no_context_takeover; server_max_window_bits=9',
  'permessage-deflate; server_no_context_takeover; server_max_window_bits=15',
  'permessage-deflate; server_no_context_takeover; server_max_window_bits=9, permessage-deflate; server_no_context_takeover, permessage-deflate',
];

/** The parameters agreed in the handshake (§7.1). */
export interface Negotiated {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

/** One element of a Sec-WebSocket-Extensions list. */
interface Element {
  name: string;
  params: [string, string | null][];
}

/** Split a Sec-WebSocket-Extensions value into elements (RFC 6455 §9.1); null when malformed. */
export function parseExtensionList(value: string): Element[] | null {
  const out: Element[] = [];
  for (const part of value.split(',')) {
    const [name, ...params] = part.split(';').map((s) => s.trim());
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return null;
    const element: Element = { name: name.toLowerCase(), params: [] };
    for (const param of params) {
      const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*(?:=\s*(?:"([^"]*)"|([!#$%&'*+.^_`|~0-9A-Za-z-]+)))?$/.exec(param);
      if (!m) return null;
      element.params.push([m[1].toLowerCase(), m[2] ?? m[3] ?? null]);
    }
    out.push(element);
  }
  return out;
}

/**
 * Check the server's Sec-WebSocket-Extensions against the offer (RFC 7692
 * §7.1): one permessage-deflate element, answering one of the offers, no
 * unknown or repeated parameters, windows 8–15, server_max_window_bits no
 * larger than offered, client_max_window_bits only if offered, and
 * server_no_context_takeover present when it was asked for.
 */
export function checkDeflateResponse(offer: string, answer: string | null): { ok: true; negotiated: Negotiated | null } | { ok: false; error: string } {
  if (answer === null) return { ok: true, negotiated: null }; // declined: allowed
  const offers = parseExtensionList(offer) ?? [];
  const elements = parseExtensionList(answer);
  if (!elements) return { ok: false, error: `malformed Sec-WebSocket-Extensions "${answer}"` };
  if (elements.length !== 1 || elements[0].name !== 'permessage-deflate') {
    return { ok: false, error: `expected one permessage-deflate element, got "${answer}" (RFC 7692 §7.1; RFC 6455 §9.1: nothing not offered)` };
  }
  const negotiated: Negotiated = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const seen = new Set<string>();
  for (const [name, value] of elements[0].params) {
    if (seen.has(name)) return { ok: false, error: `${name} appears twice (RFC 7692 §7.1)` };
    seen.add(name);
    if (name === 'server_no_context_takeover' || name === 'client_no_context_takeover') {
      if (value !== null) return { ok: false, error: `${name} takes no value (RFC 7692 §7.1.1)` };
      if (name === 'server_no_context_takeover') negotiated.serverNoContextTakeover = true;
      else negotiated.clientNoContextTakeover = true;
    } else if (name === 'server_max_window_bits' || name === 'client_max_window_bits') {
      if (value === null || !/^(8|9|1[0-5])$/.test(value)) return { ok: false, error: `${name}=${value ?? ''} is not 8–15 (RFC 7692 §7.1.2)` };
      if (name === 'server_max_window_bits') negotiated.serverMaxWindowBits = Number(value);
      else negotiated.clientMaxWindowBits = Number(value);
    } else return { ok: false, error: `unknown parameter ${name} (RFC 7692 §7.1)` };
  }
  // The answer must fit one of the offers.
  const fits = offers.some((o) => {
    if (o.name !== 'permessage-deflate') return false;
    const p = new Map(o.params);
    if (p.has('server_no_context_takeover') && !negotiated.serverNoContextTakeover) return false; // §7.1.1.1
    if (p.has('server_max_window_bits') && (!seen.has('server_max_window_bits') || negotiated.serverMaxWindowBits > Number(p.get('server_max_window_bits')))) return false; // §7.1.2.1
    if (seen.has('client_max_window_bits') && !p.has('client_max_window_bits')) return false; // §7.1.2.2
    return true;
  });
  if (!fits) return { ok: false, error: `"${answer}" answers none of the offers "${offer}" (RFC 7692 §7.1.1.1, §7.1.2)` };
  return { ok: true, negotiated };
}

/** The last 32 KiB of `history` (a deflate window). */
function windowOf(history: Buffer[]): Buffer {
  const all = Buffer.concat(history);
  return all.length > WINDOW ? all.subarray(all.length - WINDOW) : all;
}

/**
 * Compress messages as one sender would (§7.2.1): each with a sync flush and
 * the 4-byte tail removed; with context takeover, each may reach back into
 * the ones before.
 */
export function compressMessages(payloads: readonly Uint8Array[], contextTakeover: boolean): Buffer[] {
  const history: Buffer[] = [];
  return payloads.map((payload) => {
    const options: Parameters<typeof deflateRawSync>[1] = { finishFlush: constants.Z_SYNC_FLUSH, windowBits: 15 };
    if (contextTakeover && history.length > 0) options.dictionary = windowOf(history);
    const out = deflateRawSync(payload, options);
    if (contextTakeover) {
      history.push(Buffer.from(payload));
      if (history.length > 64) history.splice(0, history.length, windowOf(history));
    }
    return out.subarray(out.length - 4).equals(TAIL) ? out.subarray(0, out.length - 4) : out;
  });
}

/**
 * Inflate the server's compressed messages in order (§7.2.2), its context
 * carried across them (harmless when it took none). Throws on bad data or
 * past `maxOutput` bytes.
 */
export class Inflater {
  private history: Buffer[] = [];

  constructor(private readonly maxOutput = 256 * 1024 * 1024) {}

  inflate(compressed: Uint8Array): Buffer {
    const options: Parameters<typeof inflateRawSync>[1] = { finishFlush: constants.Z_SYNC_FLUSH, windowBits: 15, maxOutputLength: this.maxOutput };
    if (this.history.length > 0) options.dictionary = windowOf(this.history);
    const out = inflateRawSync(Buffer.concat([compressed, TAIL]), options);
    this.history.push(out);
    if (this.history.length > 64) this.history = [windowOf(this.history)];
    return out;
  }
}

/** A message to send compressed. */
export interface PlainMessage {
  opcode: typeof Op.Text | typeof Op.Binary;
  payload: Uint8Array;
}

/**
 * The frames of `messages` compressed (RFC 7692 §6: RSV1 on each message's
 * first frame), each message's compressed bytes cut into frames of
 * `fragment` bytes when given; `between` is put after each message.
 */
export function compressedFrames(
  messages: readonly PlainMessage[],
  contextTakeover: boolean,
  fragment?: number,
  between: (i: number) => WireFrame[] = () => [],
): WireFrame[] {
  const compressed = compressMessages(messages.map((m) => m.payload), contextTakeover);
  const frames: WireFrame[] = [];
  messages.forEach((m, i) => {
    const bytes = compressed[i];
    const size = fragment && fragment > 0 ? fragment : Math.max(1, bytes.length);
    for (let at = 0; at < bytes.length || at === 0; at += size) {
      const first = at === 0;
      const end = Math.min(bytes.length, at + size);
      frames.push({ ...frame(first ? m.opcode : Op.Continuation, bytes.subarray(at, end), { fin: end >= bytes.length, rsv: first ? 4 : 0 }), inflated: first ? m.payload : undefined });
      if (bytes.length === 0) break;
    }
    frames.push(...between(i));
  });
  return frames;
}

/** Does the offer itself promise no client context takeover (RFC 7692 §7.1.1.2)? */
export function offersClientNoContextTakeover(offer: string): boolean {
  return /client_no_context_takeover/i.test(offer);
}
