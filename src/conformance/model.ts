// An executable model of RFC 6455 §5–§8 from the server's side: given the
// frames a client sends, it predicts what a conforming echo server does —
// which messages it echoes, which pings it answers, and how the connection
// ends (still open, closed by the client's close, or failed with 1002, 1007
// or 1009 at a named frame, citing the rule). Pure: no sockets, no clock.
//
// Where the RFC leaves a choice, `ModelOptions` names it, and the verdict
// runs the model once per choice (fail-fast UTF-8 or at the message's end;
// non-minimal lengths accepted or refused).
import { type RuleId } from './rules.js';
import { Utf8Scanner, isUtf8 } from './utf8.js';
import { isControl, isKnownOpcode, minimalForm, Op, opcodeName, type WireFrame } from './wire.js';

/** The choices RFC 6455 leaves to a server, and what the tool was told about it. */
export interface ModelOptions {
  /**
   * The server's largest message in bytes, if known: a message announced
   * beyond it fails with 1009 (§10.4, §7.4.1). Unknown: no message is too big.
   */
  maxMessage?: number;
  /**
   * true (strict, Autobahn's OK): invalid UTF-8 fails the connection at the
   * frame that carries it. false: only when the message is complete
   * (Autobahn's NON-STRICT for 6.4.x).
   */
  utf8FailFast?: boolean;
  /**
   * Refuse a length not encoded in the minimal form (§5.2 puts that MUST on
   * the sender; a receiver may still insist). Default false.
   */
  refuseNonMinimal?: boolean;
  /**
   * permessage-deflate was agreed (RFC 7692): RSV1 marks a compressed
   * message on its first frame, whose `inflated` content is what comes back.
   */
  deflate?: boolean;
  /**
   * Inflating runs beside reading (asynchronously): when a compressed
   * message turns out too big or not UTF-8, pings that follow it may
   * already have been answered. Default false (frames act in order).
   */
  lateInflate?: boolean;
  /**
   * The implementation under test: a `server` (default; the frames come
   * from a client and must be masked) or a `client` (the frames come from
   * a server and must not be, §5.1).
   */
  peer?: 'server' | 'client';
  /**
   * Take close codes above 4999 — which RFC 6455 leaves undefined rather
   * than forbids — as valid, and echo them. Default false (fail with 1002).
   */
  undefinedCodesValid?: boolean;
}

/** Something the server must send back, in order among its kind. */
export type Reply =
  | { kind: 'message'; opcode: typeof Op.Text | typeof Op.Binary; payload: Buffer; firstFrame: number; lastFrame: number }
  | { kind: 'pong'; payload: Buffer; frame: number };

/** How the connection ends once the server has read every frame it will read. */
export type Outcome =
  /** Every frame processed; the connection stays open (a message may be in progress). */
  | { kind: 'open' }
  /** The client's close at `frame` was valid: the server replies with a close frame and closes TCP (§5.5.1). */
  | { kind: 'closed'; frame: number; code: number | null }
  /** The server must fail the connection at `frame` with `code` (§7.1.7), citing `rule`. */
  | {
      kind: 'failed';
      frame: number;
      code: 1002 | 1007 | 1009;
      rule: RuleId;
      /** Index in the frame's payload of the first invalid byte (UTF-8 rules). */
      byte?: number;
      /** §5.1: for an unmasked frame the close frame is optional (MAY). */
      closeFrameOptional: boolean;
      /** Another code a server may defensibly send instead (NON-STRICT), with why. */
      lenient?: { code: number; because: string };
    }
  /** The stream ends inside `frame` (its length field announces more than was sent): the server waits. */
  | { kind: 'waiting'; frame: number };

/** What the model made of one frame, for traces. */
export interface FrameNote {
  frame: number;
  text: string;
  rule?: RuleId;
}

/** The model's prediction for a frame stream. */
export interface Prediction {
  replies: Reply[];
  outcome: Outcome;
  notes: FrameNote[];
}

/** May a close frame carry this code? (§7.4.1, §7.4.2 and the IANA registry, §11.7) */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** The payload length a frame's header announces. */
function announced(f: WireFrame): bigint {
  return f.declaredLength ?? BigInt(f.payload.length);
}

interface Message {
  opcode: typeof Op.Text | typeof Op.Binary;
  /** RFC 7692: the message before compression, when it came compressed. */
  compressed: Uint8Array | null | undefined;
  firstFrame: number;
  pieces: Uint8Array[];
  length: number;
  utf8: Utf8Scanner | null;
  /** Lenient mode: where the text first went invalid, reported when the message ends. */
  invalidAt?: { frame: number; byte: number };
}

/**
 * Predict what a conforming echo server does with `frames` (RFC 6455 §5–§8).
 *
 * @example
 * predict([frame(Op.Text, 'hi'), frame(Op.Text, 'x', { rsv: 4 })]).outcome
 * // { kind: 'failed', frame: 1, code: 1002, rule: 'rsv-bits', closeFrameOptional: false }
 */
export function predict(frames: readonly WireFrame[], options: ModelOptions = {}): Prediction {
  const failFast = options.utf8FailFast ?? true;
  const replies: Reply[] = [];
  const notes: FrameNote[] = [];
  let message: Message | null = null;
  let messages = 0;
  const note = (frame: number, text: string, rule?: RuleId): void => void notes.push({ frame, text, rule });
  // §7.4.1 names 1007 for "non-UTF-8 data within a text message"; 1002, the generic
  // protocol error, is a defensible second best (what Chromium sends).
  const utf8Lenient = { code: 1002, because: 'closed with 1002 (protocol error) rather than 1007 (§7.4.1: "non-UTF-8 [RFC3629] data within a text message")' };
  const fail = (
    frame: number,
    code: 1002 | 1007 | 1009,
    rule: RuleId,
    why: string,
    extra: { byte?: number; closeFrameOptional?: boolean; lenient?: { code: number; because: string } } = {},
  ): Prediction => {
    note(frame, `${why} → fail with ${code}`, rule);
    for (let i = frame + 1; i < frames.length; i++) note(i, 'not read: the connection has failed', 'fail-stop-processing');
    return {
      replies,
      notes,
      outcome: { kind: 'failed', frame, code, rule, byte: extra.byte, closeFrameOptional: extra.closeFrameOptional ?? false, lenient: extra.lenient },
    };
  };

  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    const name = opcodeName(f.opcode);
    const length = announced(f);
    // §5.2, in the order a reader meets the header's fields.
    const headerBroken: [RuleId, string][] = [];
    // RFC 7692 §6: with permessage-deflate, RSV1 may mark the first frame of a data message, nothing else.
    const firstOfMessage = f.opcode === Op.Text || f.opcode === Op.Binary;
    const allowed = options.deflate && firstOfMessage ? 4 : 0;
    if ((f.rsv & ~allowed) !== 0) {
      if (options.deflate && f.rsv === 4) headerBroken.push(['compressed-bit', `RSV1 ("compressed") on a ${name} frame`]);
      else headerBroken.push(['rsv-bits', `RSV bits ${f.rsv.toString(2).padStart(3, '0')} without an extension that defines them`]);
    }
    if (!isKnownOpcode(f.opcode)) headerBroken.push(['unknown-opcode', `reserved opcode 0x${f.opcode.toString(16)}`]);
    if (options.peer === 'client') {
      if (f.mask) headerBroken.push(['server-frame-masked', 'a masked server frame']);
    } else if (!f.mask) headerBroken.push(['client-mask', 'an unmasked client frame']);
    if (length >= 1n << 63n) headerBroken.push(['length-msb', 'a 64-bit length with its most significant bit set']);
    if (headerBroken.length > 0) {
      const [rule, why] = headerBroken[0];
      return fail(i, 1002, rule, why, {
        closeFrameOptional: headerBroken.some(([r]) => r === 'client-mask' || r === 'server-frame-masked'),
        // A length no buffer can hold is also "too big to process" (§7.4.1).
        lenient: rule === 'length-msb' ? { code: 1009, because: 'answered a 64-bit length with its top bit set with 1009 (too big) rather than 1002 (§5.2: the bit MUST be 0)' } : undefined,
      });
    }
    const form = f.declaredLength !== undefined ? 64 : (f.lengthForm ?? minimalForm(f.payload.length));
    if (options.refuseNonMinimal && form !== minimalForm(Number(length))) {
      return fail(i, 1002, 'minimal-length', `length ${length} in the ${form}-bit form`);
    }
    if (isControl(f.opcode)) {
      // §5.5: control frames are short and never fragmented.
      if (length > 125n) return fail(i, 1002, 'control-length', `${name} frame of ${length} bytes`);
      if (!f.fin) return fail(i, 1002, 'control-fragmented', `${name} frame with FIN clear`);
    } else if (f.opcode === Op.Continuation) {
      if (!message) return fail(i, 1002, 'continuation-without-start', 'continuation frame with no message in progress');
    } else if (message) {
      return fail(i, 1002, 'interleaved-message', `new ${name} frame while message ${messages + 1} is unfinished`);
    }
    const compressed: boolean = firstOfMessage ? f.rsv === 4 : (message as Message | null)?.compressed !== undefined;
    // §10.4: a limit the tool was told about is checked on the announced length
    // (for a compressed message, on what it inflates to, at its end).
    if (!isControl(f.opcode) && options.maxMessage !== undefined && !compressed) {
      const total = BigInt(message?.length ?? 0) + length;
      if (total > BigInt(options.maxMessage)) {
        return fail(i, 1009, 'message-too-big', `message of at least ${total} bytes, over the ${options.maxMessage}-byte limit`);
      }
    }
    if (length !== BigInt(f.payload.length)) {
      note(i, `${name} frame announcing ${length} bytes, of which ${f.payload.length} are sent: the server waits for the rest`);
      return { replies, notes, outcome: { kind: 'waiting', frame: i } };
    }

    if (f.opcode === Op.Close) {
      // §5.5.1 and §7.4: an empty body, or a valid code and a UTF-8 reason.
      const body = f.payload;
      if (body.length === 1) return fail(i, 1002, 'close-body-code', 'close frame with a 1-byte body');
      if (body.length >= 2) {
        const code = (body[0] << 8) | body[1];
        if (!isValidCloseCode(code) && !(options.undefinedCodesValid && code >= 5000)) return fail(i, 1002, 'close-code-valid', `close code ${code}`);
        const reason = body.subarray(2);
        const scanner = new Utf8Scanner();
        const bad = scanner.push(reason);
        if (bad !== -1 || scanner.incomplete) {
          return fail(i, 1007, 'close-reason-utf8', 'close reason that is not UTF-8', { byte: 2 + (bad === -1 ? reason.length : bad), lenient: utf8Lenient });
        }
        note(i, `close ${code} → the server replies with a close frame (typically ${code}) and closes TCP`, 'close-reply');
      } else note(i, 'close without a body → the server replies with a close frame and closes TCP', 'close-reply');
      for (let j = i + 1; j < frames.length; j++) note(j, 'ignored: after the close frame', 'close-reply');
      const code = body.length >= 2 ? (body[0] << 8) | body[1] : null;
      return { replies, notes, outcome: { kind: 'closed', frame: i, code } };
    }
    if (f.opcode === Op.Ping) {
      replies.push({ kind: 'pong', payload: Buffer.from(f.payload), frame: i });
      note(i, `ping (${f.payload.length} bytes) → pong with the same payload`, 'ping-pong');
      continue;
    }
    if (f.opcode === Op.Pong) {
      note(i, 'pong: nothing to answer', 'pong-unsolicited');
      continue;
    }

    // Data frames (§5.4, §5.6).
    if (f.opcode !== Op.Continuation) {
      const opcode = f.opcode as typeof Op.Text | typeof Op.Binary;
      message = {
        opcode,
        firstFrame: i,
        pieces: [],
        length: 0,
        utf8: opcode === Op.Text && !compressed ? new Utf8Scanner() : null,
        compressed: compressed ? (f.inflated ?? null) : undefined,
      };
    }
    const m = message!;
    m.pieces.push(f.payload);
    m.length += f.payload.length;
    if (m.utf8 && m.invalidAt === undefined) {
      const bad = m.utf8.push(f.payload);
      if (bad !== -1) {
        if (failFast) return fail(i, 1007, 'text-utf8', `text that stops being UTF-8 at byte ${bad} of this frame`, { byte: bad, lenient: utf8Lenient });
        m.invalidAt = { frame: i, byte: bad };
      }
    }
    const which = `message ${messages + 1}`;
    if (!f.fin) {
      note(i, `${name} frame of ${f.payload.length} bytes, FIN clear: ${f.opcode === Op.Continuation ? 'continues' : 'starts'} ${which}`);
      continue;
    }
    if (m.compressed !== undefined) {
      // RFC 7692 §7.2.2: the message is what its payload inflates to; checked when it ends.
      const late = (code: 1007 | 1009, rule: RuleId, why: string): Prediction => {
        if (!options.lateInflate) return fail(i, code, rule, why);
        // The failure is found while later frames are read: their pings are answered, nothing else.
        for (let j = i + 1; j < frames.length && frames[j].opcode !== Op.Close; j++) {
          const g = frames[j];
          if (g.opcode === Op.Ping && g.fin && g.rsv === 0 && g.mask && g.payload.length <= 125) {
            replies.push({ kind: 'pong', payload: Buffer.from(g.payload), frame: j });
            note(j, 'ping answered while the message before it is still being inflated');
          }
        }
        return fail(i, code, rule, `${why} (found while inflating, after later pings were answered)`);
      };
      if (m.compressed === null) return late(1007, 'deflate-data', `${which} does not inflate`);
      const content = m.compressed;
      if (options.maxMessage !== undefined && content.length > options.maxMessage) {
        return late(1009, 'message-too-big', `${which} inflates to ${content.length} bytes, over the ${options.maxMessage}-byte limit`);
      }
      if (m.opcode === Op.Text && !isUtf8(content)) return late(1007, 'text-utf8', `${which} inflates to text that is not UTF-8`);
      replies.push({ kind: 'message', opcode: m.opcode, payload: Buffer.from(content), firstFrame: m.firstFrame, lastFrame: i });
      messages++;
      note(i, `${m.firstFrame === i ? name : 'final continuation'} frame ends ${which} (compressed, ${m.length} bytes) → echo ${opcodeName(m.opcode)} of ${content.length} bytes`, 'echo');
      message = null;
      continue;
    }
    if (m.utf8 && (m.invalidAt !== undefined || m.utf8.incomplete)) {
      const why = m.invalidAt
        ? `${which} is not UTF-8 (from byte ${m.invalidAt.byte} of frame ${m.invalidAt.frame}), noticed at its end`
        : `${which} ends inside a UTF-8 sequence`;
      return fail(i, 1007, 'text-utf8', why, { byte: m.invalidAt?.byte ?? f.payload.length, lenient: utf8Lenient });
    }
    const payload = m.pieces.length === 1 ? Buffer.from(m.pieces[0]) : Buffer.concat(m.pieces);
    replies.push({ kind: 'message', opcode: m.opcode, payload, firstFrame: m.firstFrame, lastFrame: i });
    messages++;
    note(i, `${m.firstFrame === i ? name : 'final continuation'} frame ends ${which} → echo ${opcodeName(m.opcode)} of ${payload.length} bytes`, 'echo');
    message = null;
  }
  return { replies, notes, outcome: { kind: 'open' } };
}

/** The variants of the model a verdict weighs, best first, with the verdict a match earns. */
export interface ModelVariant {
  options: ModelOptions;
  /** OK for the strict reading; NON-STRICT for a permitted laxity. */
  verdict: 'OK' | 'NON-STRICT';
  /** Why a match with this variant is not OK. */
  because?: string;
}

/** Strict first, then the permitted laxities the stream could reveal. */
export function variants(frames: readonly WireFrame[], base: ModelOptions = {}): ModelVariant[] {
  const { maxMessage, deflate, peer } = base;
  const out: ModelVariant[] = [{ options: { maxMessage, deflate, peer }, verdict: 'OK' }];
  const hasText = frames.some((f) => f.opcode === Op.Text);
  const nonMinimal = frames.some((f) => (f.lengthForm ?? minimalForm(f.payload.length)) !== minimalForm(f.payload.length));
  if (hasText) {
    out.push({
      options: { maxMessage, deflate, peer, utf8FailFast: false },
      verdict: 'NON-STRICT',
      because: 'invalid UTF-8 was noticed only when the message ended, not as soon as it arrived (§8.1; Autobahn 6.4 "fail fast")',
    });
  }
  if (deflate && frames.some((f) => f.rsv === 4)) {
    out.push({
      options: { maxMessage, deflate, peer, lateInflate: true },
      verdict: 'NON-STRICT',
      because: 'a compressed message that must fail the connection was found out only after pings sent after it were answered (inflating beside reading; §7.1.7: no processing after the point of failure)',
    });
  }
  if (frames.some((f) => f.opcode === Op.Close && f.payload.length >= 2 && ((f.payload[0] << 8) | f.payload[1]) >= 5000)) {
    out.push({
      options: { maxMessage, deflate, peer, undefinedCodesValid: true },
      verdict: 'NON-STRICT',
      because: 'a close code above 4999 (not defined by RFC 6455, §7.4.2) was echoed rather than refused',
    });
  }
  if (nonMinimal) {
    out.push({
      options: { maxMessage, deflate, peer, refuseNonMinimal: true },
      verdict: 'NON-STRICT',
      because: 'a non-minimal length encoding was refused (§5.2 puts that MUST on the sender)',
    });
  }
  return out;
}

/** Whether `payload` would be valid as text (used by generators and reports). */
export function isText(payload: Uint8Array): boolean {
  return isUtf8(payload);
}
