// Verdicts: the model's prediction (model.ts) against what the server did
// (runner.ts's Observation), in Autobahn's terms — OK, NON-STRICT,
// INFORMATIONAL, FAILED — for the behaviour (messages, pongs, failing or not)
// and for the close behaviour (close code, close frame, TCP), each reason
// citing the RFC 6455 sentence involved. Pure: no I/O.
import { isValidCloseCode, predict, variants, type Outcome, type Prediction } from './model.js';
import { Inflater } from './deflate.js';
import { cite, type RuleId } from './rules.js';
import type { Observation, ReceivedFrame } from './runner.js';
import { isUtf8 } from './utf8.js';
import { isControl, isKnownOpcode, Op, opcodeName, type WireFrame } from './wire.js';

/** Autobahn's verdicts, worst last. */
export type Verdict = 'OK' | 'INFORMATIONAL' | 'NON-STRICT' | 'FAILED';

const RANK: Record<Verdict, number> = { OK: 0, INFORMATIONAL: 1, 'NON-STRICT': 2, FAILED: 3 };

/** The worse of two verdicts. */
export function worst(a: Verdict, b: Verdict): Verdict {
  return RANK[a] >= RANK[b] ? a : b;
}

/** How the connection was closed, Autobahn's second column. */
export type CloseVerdict = 'OK' | 'INFORMATIONAL' | 'NON-STRICT' | 'WRONG CODE' | 'UNCLEAN' | 'FAILED';

/** The judgement of one run. */
export interface Judgement {
  /** The overall verdict: the worse of behaviour and close behaviour. */
  verdict: Verdict;
  behavior: Verdict;
  closeBehavior: CloseVerdict;
  /** One line: why (for OK, what happened). */
  reason: string;
  /** The rule this verdict turns on (broken, for FAILED). */
  rule?: RuleId;
  /** What a conforming server does, in one line. */
  expected: string;
  /** What this server did, in one line. */
  actual: string;
  /** Further lines: mismatches, permitted choices noticed. */
  notes: string[];
  /** A short stable key of the failure's kind (shrinking keeps it fixed). */
  key: string;
  /** Index of the client frame the verdict turns on, when there is one (marked in traces). */
  frame?: number;
}

/** What a case adds to the model when judging. */
export interface JudgeOptions {
  /** The server's declared message limit (model option). */
  maxMessage?: number;
  /** The case records what happened without a pass/fail (Autobahn INFORMATIONAL). */
  informational?: boolean;
  /** A fail-fast server closes before the tool has written past this byte offset (Autobahn 6.4). */
  failFastBy?: number;
  /** Timeouts, for messages. */
  timeoutMs?: number;
  closeTimeoutMs?: number;
}

/** What the server sent, reassembled. */
interface Heard {
  messages: { opcode: number; payload: Buffer }[];
  pongs: Buffer[];
  /** The first close frame: its code (null when empty) and position among the frames. */
  close: { code: number | null; reason: Buffer; index: number; afterFinish: boolean } | null;
  /** Rules the server's own frames break (§5.1 masking, §5.2, §5.5, §8.1). */
  broken: { rule: RuleId; text: string }[];
  /** Messages and pongs that came after its close frame. */
  afterClose: number;
}

/**
 * Reassemble the server's frames and check them as a client would (§5.1,
 * §5.2, §5.4, §5.5, §7.4); with permessage-deflate agreed, inflate its
 * compressed messages (RFC 7692 §6, §7.2.2).
 */
export function hear(received: readonly ReceivedFrame[], deflate = false, peer: 'server' | 'client' = 'server'): Heard {
  const heard: Heard = { messages: [], pongs: [], close: null, broken: [], afterClose: 0 };
  const inflater = deflate ? new Inflater() : null;
  const breaks = (rule: RuleId, text: string): void => {
    if (heard.broken.length < 5) heard.broken.push({ rule, text });
  };
  let current: { opcode: number; pieces: Buffer[]; compressed: boolean } | null = null;
  received.forEach((f, index) => {
    const name = opcodeName(f.opcode);
    // §5.1: a server masks nothing, a client everything.
    if (peer === 'server' && f.masked) breaks('server-mask', `the server masked a ${name} frame`);
    if (peer === 'client' && !f.masked) breaks('client-frame-unmasked', `the client sent an unmasked ${name} frame`);
    const allowed = deflate && (f.opcode === Op.Text || f.opcode === Op.Binary) ? 4 : 0;
    if ((f.rsv & ~allowed) !== 0) {
      if (deflate && f.rsv === 4) breaks('compressed-bit', `the ${peer} set RSV1 on a ${name} frame`);
      else breaks('rsv-bits', `the ${peer} set RSV bits ${f.rsv.toString(2).padStart(3, '0')} on a ${name} frame`);
    }
    if (!isKnownOpcode(f.opcode)) return breaks('unknown-opcode', `the ${peer} sent ${name}`);
    if (heard.close && f.opcode !== Op.Close) {
      heard.afterClose++;
      if (!isControl(f.opcode)) breaks('no-data-after-close', `the ${peer} sent a ${name} frame after its close frame`);
      return;
    }
    if (isControl(f.opcode)) {
      if (f.payload.length > 125) breaks('control-length', `the ${peer} sent a ${name} frame of ${f.payload.length} bytes`);
      if (!f.fin) breaks('control-fragmented', `the ${peer} fragmented a ${name} frame`);
      if (f.opcode === Op.Pong) heard.pongs.push(f.payload);
      if (f.opcode === Op.Close && !heard.close) {
        const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : null;
        if (f.payload.length === 1) breaks('close-body-code', `the ${peer} sent a close frame with a 1-byte body`);
        // 0–999, 1004–1006, 1015 and unassigned protocol codes must not be sent (§7.4); above 4999 is undefined, not forbidden.
        if (code !== null && code < 5000 && !isValidCloseCode(code)) breaks('close-code-valid', `the ${peer} sent close code ${code}`);
        heard.close = { code, reason: f.payload.subarray(2), index, afterFinish: f.afterFinish };
      }
      return;
    }
    if (f.opcode === Op.Continuation) {
      if (!current) return breaks('continuation-without-start', `the ${peer} sent a continuation frame with no message in progress`);
    } else {
      if (current) breaks('interleaved-message', `the ${peer} started a ${name} message inside another`);
      current = { opcode: f.opcode, pieces: [], compressed: inflater !== null && (f.rsv & 4) !== 0 };
    }
    current!.pieces.push(f.payload);
    if (f.fin) {
      let payload = current!.pieces.length === 1 ? current!.pieces[0] : Buffer.concat(current!.pieces);
      if (current!.compressed) {
        try {
          payload = inflater!.inflate(payload);
        } catch (error) {
          breaks('deflate-data', `the ${peer} sent a compressed message that does not inflate (${(error as Error).message})`);
          current = null;
          return;
        }
      }
      if (current!.opcode === Op.Text && !isUtf8(payload)) breaks('text-utf8', `the ${peer} sent a text message that is not UTF-8`);
      heard.messages.push({ opcode: current!.opcode, payload });
      current = null;
    }
  });
  return heard;
}

/** `text 5 B "Hello"` / `binary 3 B 00 ff 10` */
export function describePayload(opcode: number, payload: Uint8Array, max = 24): string {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const shown = bytes.subarray(0, max);
  const more = bytes.length > max ? '…' : '';
  const printable = isUtf8(bytes) && !/[\u0000-\u001f]/.test(bytes.toString('utf8'));
  const body = printable ? JSON.stringify(shown.toString('utf8').replace(/\uFFFD$/, '')) + more : shown.toString('hex').replace(/(..)/g, '$1 ').trim() + more;
  return `${opcodeName(opcode)} ${bytes.length} B${bytes.length > 0 ? ` ${body}` : ''}`;
}

/** One line for an outcome the model predicts. */
export function describeOutcome(outcome: Outcome): string {
  switch (outcome.kind) {
    case 'open':
      return 'stay open';
    case 'closed':
      return `answer the close${outcome.code === null ? '' : ` ${outcome.code}`} with a close frame and close TCP`;
    case 'failed':
      return `fail the connection with ${outcome.code}${outcome.closeFrameOptional ? ' (or just close TCP)' : ''} at frame ${outcome.frame + 1} (§${ruleSection(outcome.rule)})`;
    case 'waiting':
      return `wait for the rest of frame ${outcome.frame + 1}`;
  }
}

function ruleSection(id: RuleId): string {
  return cite(id).split(':')[0].replace('RFC 6455 §', '');
}

/** One line for a prediction: the replies then the outcome. */
export function describePrediction(p: Prediction): string {
  const messages = p.replies.filter((r) => r.kind === 'message').length;
  const pongs = p.replies.length - messages;
  const parts: string[] = [];
  if (messages > 0) parts.push(`echo ${messages} message${messages === 1 ? '' : 's'}`);
  if (pongs > 0) parts.push(`${pongs} pong${pongs === 1 ? '' : 's'}`);
  parts.push(describeOutcome(p.outcome));
  return parts.join(', ');
}

/** One line for what the server did. */
export function describeObservation(obs: Observation, heard: Heard = hear(obs.received)): string {
  if (!obs.handshake.ok) return `handshake failed: ${obs.handshake.error}`;
  const parts: string[] = [];
  const m = heard.messages.length;
  if (m > 0) parts.push(`echoed ${m} message${m === 1 ? '' : 's'}`);
  if (heard.pongs.length > 0) parts.push(`${heard.pongs.length} pong${heard.pongs.length === 1 ? '' : 's'}`);
  if (heard.close) {
    const code = heard.close.code === null ? 'an empty close frame' : `close ${heard.close.code}`;
    parts.push(heard.close.afterFinish ? `answered the tool's close with ${code}` : `sent ${code}`);
  } else if (obs.toolClose === 'finish') parts.push('no close frame in answer to the tool\'s close');
  else if (obs.timedOut === 'reaction') parts.push('stayed silent');
  else parts.push('no close frame');
  parts.push(
    obs.timedOut === 'close'
      ? 'kept TCP open'
      : obs.tcp === 'peer-fin'
        ? 'closed TCP'
        : obs.tcp === 'reset'
          ? 'reset TCP'
          : obs.tcp === 'tool-fin'
            ? 'TCP closed by the tool (the server)'
            : 'was cut by the tool',
  );
  if (obs.garbage) parts.push(`sent unreadable bytes (${obs.garbage})`);
  return parts.join(', ');
}

interface Comparison {
  behavior: string[];
  /** A laxity that makes an otherwise matching run NON-STRICT. */
  lax?: string;
  /** The client frame the first mismatch is about. */
  frame?: number;
  close: { verdict: CloseVerdict; why?: string; rule?: RuleId };
  key: string;
  notes: string[];
}

/** Compare one prediction with what was heard. */
function compare(p: Prediction, obs: Observation, heard: Heard, options: JudgeOptions): Comparison {
  const behavior: string[] = [];
  const notes: string[] = [];
  let key = '';
  let frame: number | undefined;
  let lax: string | undefined;
  const o = p.outcome;
  const decisive = o.kind === 'failed' || o.kind === 'closed' ? o.frame : undefined;
  const mismatch = (k: string, text: string, at: number | undefined = decisive): void => {
    if (key === '') [key, frame] = [k, at];
    behavior.push(text);
  };
  // Messages, in order (§5.4: a fragmented message equals the concatenation).
  const expected = p.replies.filter((r) => r.kind === 'message');
  // A client's application sees messages after its protocol layer has read them (the
  // WebSocket API queues a task per message): when the connection then fails, echoes of
  // the last messages before the failure may never be sent. Not a protocol matter.
  // And a peer that fails the connection by resetting TCP (no close frame: already UNCLEAN)
  // may lose what it had just written: replies before the failure are then not required either.
  const resetOnFailure = o.kind === 'failed' && obs.tcp === 'reset' && !heard.close;
  // (Likewise when the server closes: a client answers the close frame before its application echoes.)
  const echoesMayStop = (obs.peer === 'client' && (o.kind === 'failed' || o.kind === 'closed')) || resetOnFailure;
  for (let i = 0; i < Math.max(expected.length, heard.messages.length); i++) {
    const want = expected[i];
    const got = heard.messages[i];
    if (!got && echoesMayStop) {
      notes.push(`${expected.length - i} message${expected.length - i === 1 ? '' : 's'} read before the ${o.kind === 'failed' ? 'failure' : 'close'} not echoed (the application had not seen them yet)`);
      break;
    }
    if (!got) {
      mismatch('missing-echo', `message ${i + 1} (${describePayload(want.opcode, want.payload)}) was not echoed`, want.lastFrame);
      break;
    }
    if (!want) {
      mismatch('extra-message', `the ${obs.peer} sent a message no one asked for: ${describePayload(got.opcode, got.payload)}`);
      break;
    }
    if (got.opcode !== want.opcode || !got.payload.equals(want.payload)) {
      mismatch('wrong-echo', `message ${i + 1} came back as ${describePayload(got.opcode, got.payload)}, expected ${describePayload(want.opcode, want.payload)}`, want.lastFrame);
      break;
    }
  }
  // Pongs (§5.5.2, §5.5.3): in order; skipping some is allowed if a later one answers (the MAY of §5.5.3).
  const pingReplies = p.replies.filter((r) => r.kind === 'pong');
  const pings = pingReplies.map((r) => r.payload);
  let at = 0;
  for (const pong of heard.pongs) {
    while (at < pings.length && !pings[at].equals(pong)) at++;
    if (at === pings.length) {
      mismatch('extra-pong', `a pong (${describePayload(Op.Pong, pong)}) that answers no ping read before it`);
      break;
    }
    at++;
  }
  if (pings.length > 0 && !key) {
    const last = pings[pings.length - 1];
    if (resetOnFailure && !heard.pongs.some((pong) => pong.equals(last))) {
      notes.push('pongs lost to the reset that failed the connection');
    } else if (o.kind === 'failed' && !heard.pongs.some((pong) => pong.equals(last))) {
      // §5.5.2 owes them a pong, but §7.1.7 also stops all processing at the failure: lax, not failed.
      lax = `no pong for ping${pings.length === 1 ? '' : 's'} read before the failure (§5.5.2: "MUST send a Pong frame in response")`;
    } else if (!heard.pongs.some((pong) => pong.equals(last))) {
      mismatch('missing-pong', `no pong for ping ${pings.length} (${describePayload(Op.Ping, last)})`, pingReplies[pingReplies.length - 1].frame);
    } else if (heard.pongs.length < pings.length) notes.push(`${pings.length - heard.pongs.length} of ${pings.length} pings got no pong of their own (§5.5.3 MAY answer only the latest)`);
  }
  // How it ends.
  const serverClose = heard.close && !heard.close.afterFinish ? heard.close : null;
  let close: Comparison['close'] = { verdict: 'OK' };
  if (obs.timedOut === 'reaction' && o.kind !== 'waiting') {
    mismatch('no-reaction', `no reaction within ${options.timeoutMs ?? '?'} ms: expected to ${describeOutcome(o)}`);
    close = { verdict: 'FAILED', why: `the ${obs.peer} neither answered nor closed`, rule: o.kind === 'failed' ? o.rule : 'ping-pong' };
  } else if (o.kind === 'open') {
    if (serverClose) {
      mismatch(`closed-early:${serverClose.code}`, `the ${obs.peer} sent close ${serverClose.code ?? '(empty)'} though nothing called for it`);
      close = { verdict: 'FAILED', why: 'closed a connection that should have stayed open' };
    } else if (obs.toolClose !== 'finish') {
      mismatch('dropped', `the ${obs.peer} closed TCP though nothing called for it`);
      close = { verdict: 'FAILED', why: 'dropped a connection that should have stayed open' };
    } else close = closeReply(obs, heard, 1000);
  } else if (o.kind === 'closed') {
    close = closeReply(obs, heard, o.code);
  } else if (o.kind === 'failed') {
    // The server's failure may cross the tool's own close (§7.1.5 NOTE: both may send one at once).
    const crossed = obs.toolClose === 'finish' && heard.close?.afterFinish === true && heard.close.code === o.code;
    if (crossed) close = obs.timedOut === 'close' ? { verdict: 'FAILED', why: 'did not close TCP after failing the connection', rule: 'close-tcp' } : { verdict: 'OK' };
    else if (obs.toolClose === 'finish') {
      mismatch(`not-failed:${o.code}`, `the ${obs.peer} went on after frame ${o.frame + 1}, which should have failed the connection with ${o.code}`);
      close = { verdict: 'FAILED', why: `expected ${o.code}`, rule: o.rule };
    } else if (serverClose) {
      if (serverClose.code === o.code) close = { verdict: 'OK' };
      else if (o.lenient && serverClose.code === o.lenient.code) close = { verdict: 'NON-STRICT', why: o.lenient.because, rule: o.rule };
      else {
        close = { verdict: 'WRONG CODE', why: `closed with ${serverClose.code ?? 'an empty close frame'}, expected ${o.code}`, rule: o.rule };
        if (!key) key = `wrong-code:${o.code}:${serverClose.code}`;
      }
      if (obs.timedOut === 'close') close = { verdict: 'FAILED', why: 'did not close TCP after failing the connection', rule: 'close-tcp' };
    } else if (obs.timedOut === 'close' || obs.tcp === 'tool-timeout') {
      close = { verdict: 'FAILED', why: 'did not close TCP after failing the connection', rule: 'fail-stop-processing' };
    } else if (o.closeFrameOptional) close = { verdict: 'OK' };
    else close = { verdict: 'UNCLEAN', why: `closed TCP without a close frame (expected ${o.code})`, rule: 'fail-close-frame' };
  } else if (o.kind === 'waiting') {
    if (serverClose || obs.tcp !== 'tool-timeout') {
      mismatch('closed-waiting', `the ${obs.peer} closed while a frame was still arriving`);
      close = { verdict: 'FAILED' };
    }
  }
  // A server that goes on past a frame that should fail the connection shows it in many ways
  // (an echo, a pong, no close); shrinking keeps the rule, not the symptom.
  if (o.kind === 'failed' && /^(extra-message|extra-pong|not-failed)/.test(key)) key = `not-failed:${o.rule}`;
  return { behavior, close, key, notes, lax, frame: frame ?? (close.verdict === 'OK' ? undefined : decisive) };
}

/** The close behaviour of an orderly closing handshake (§5.5.1, §7.1.1). */
function closeReply(obs: Observation, heard: Heard, code: number | null): Comparison['close'] {
  if (!heard.close) {
    return { verdict: 'UNCLEAN', why: 'closed TCP without answering the close frame', rule: 'close-reply' };
  }
  const got = heard.close.code;
  if (got !== code && got !== 1000 && !(code === null && got === null)) {
    return { verdict: 'WRONG CODE', why: `answered close ${code ?? '(empty)'} with ${got ?? 'an empty close frame'}`, rule: 'close-reply' };
  }
  if (obs.timedOut === 'close') return { verdict: 'FAILED', why: 'did not close TCP after the closing handshake', rule: 'close-tcp' };
  return { verdict: 'OK' };
}

/** Sizes past which a refusal with 1008/1009 is taken for an implementation limit. */
const LARGE_MESSAGE = 1 << 20;
const MANY_FRAGMENTS = 1000;

/** A description of the large message a server refused with 1008/1009, or null. */
function hitLimit(frames: readonly WireFrame[], heard: Heard): string | null {
  const code = heard.close && !heard.close.afterFinish ? heard.close.code : null;
  if (code !== 1008 && code !== 1009) return null;
  let length = 0;
  let count = 0;
  let biggest = { length: 0, count: 0 };
  for (const f of frames) {
    if (isControl(f.opcode)) continue;
    if (f.opcode !== Op.Continuation) [length, count] = [0, 0];
    length += f.payload.length;
    count++;
    if (length > biggest.length || count > biggest.count) biggest = { length: Math.max(length, biggest.length), count: Math.max(count, biggest.count) };
  }
  if (biggest.length < LARGE_MESSAGE && biggest.count < MANY_FRAGMENTS) return null;
  return `closed with ${code} on a message of ${biggest.length} bytes${biggest.count > 1 ? ` in ${biggest.count} fragments` : ''}`;
}

const CLOSE_RANK: Record<CloseVerdict, Verdict> = {
  OK: 'OK',
  INFORMATIONAL: 'INFORMATIONAL',
  'NON-STRICT': 'NON-STRICT',
  UNCLEAN: 'NON-STRICT',
  'WRONG CODE': 'FAILED',
  FAILED: 'FAILED',
};

/**
 * Judge one run: the model's variants, best first, against the observation.
 * The first variant the server matches gives the behaviour verdict; none
 * matching is FAILED, explained against the strict reading.
 */
export function judge(frames: readonly WireFrame[], obs: Observation, options: JudgeOptions = {}): Judgement {
  const deflate = obs.handshake.ok && obs.handshake.deflate !== null;
  const model = { maxMessage: options.maxMessage, deflate, peer: obs.peer };
  const strict = predict(frames, model);
  const expected = describePrediction(strict);
  if (!obs.handshake.ok) {
    const rule: RuleId = /extensions/.test(obs.handshake.error) ? 'extension-not-offered' : 'handshake';
    return {
      verdict: 'FAILED',
      behavior: 'FAILED',
      closeBehavior: 'FAILED',
      reason: `opening handshake: ${obs.handshake.error}`,
      rule,
      expected,
      actual: describeObservation(obs),
      notes: [cite(rule)],
      key: 'handshake',
    };
  }
  if (obs.declined) {
    return {
      verdict: 'INFORMATIONAL',
      behavior: 'INFORMATIONAL',
      closeBehavior: 'INFORMATIONAL',
      reason: 'the server declined the permessage-deflate offer (allowed: RFC 7692 §5)',
      rule: 'deflate-negotiation',
      expected,
      actual: 'declined the offer',
      notes: [],
      key: '',
    };
  }
  const heard = hear(obs.received, deflate, obs.peer);
  const actual = describeObservation(obs, heard);
  if (heard.broken.length > 0 || obs.garbage) {
    const first = heard.broken[0] ?? { rule: 'length-msb' as RuleId, text: `the ${obs.peer} sent bytes that are not a frame the tool can read: ${obs.garbage}` };
    return {
      verdict: 'FAILED',
      behavior: 'FAILED',
      closeBehavior: 'OK',
      reason: first.text,
      rule: first.rule,
      expected,
      actual,
      notes: [...heard.broken.map((b) => b.text), cite(first.rule)],
      key: `server-frame:${first.rule}`,
      frame: strict.outcome.kind === 'failed' || strict.outcome.kind === 'closed' ? strict.outcome.frame : undefined,
    };
  }
  let chosen: { behavior: Verdict; comparison: Comparison; prediction: Prediction; because?: string } | null = null;
  let strictComparison: Comparison | null = null;
  for (const variant of variants(frames, model)) {
    const prediction = variant.options === undefined ? strict : predict(frames, variant.options);
    const comparison = compare(prediction, obs, heard, options);
    strictComparison ??= comparison;
    if (comparison.behavior.length === 0 && CLOSE_RANK[comparison.close.verdict] !== 'FAILED') {
      chosen = { behavior: variant.verdict, comparison, prediction, because: variant.because };
      break;
    }
  }
  const outcome = strict.outcome;
  const ruleOfCase = outcome.kind === 'failed' ? outcome.rule : outcome.kind === 'closed' ? 'close-reply' : 'echo';

  if (options.informational) {
    // Autobahn's INFORMATIONAL: recorded, not judged — unless the server broke a hard rule (checked above) or hung.
    const hung = obs.timedOut !== undefined && outcome.kind !== 'waiting';
    return {
      verdict: hung ? 'FAILED' : 'INFORMATIONAL',
      behavior: hung ? 'FAILED' : 'INFORMATIONAL',
      closeBehavior: hung ? 'FAILED' : 'INFORMATIONAL',
      reason: hung ? `the ${obs.peer} hung: ${actual}` : actual,
      rule: ruleOfCase,
      expected,
      actual,
      notes: chosen ? [] : (strictComparison?.behavior ?? []),
      key: hung ? 'timeout' : '',
    };
  }

  if (!chosen && options.maxMessage === undefined) {
    // §10.4: a server MAY limit message sizes and fragment counts. With no
    // declared limit, a large message refused with 1008/1009 is recorded, not failed.
    const limit = hitLimit(frames, heard);
    if (limit) {
      return {
        verdict: 'INFORMATIONAL',
        behavior: 'INFORMATIONAL',
        closeBehavior: 'INFORMATIONAL',
        reason: `${limit} — an implementation limit (§10.4); declare it with --max-message to have it judged`,
        rule: 'message-too-big',
        expected,
        actual,
        notes: strictComparison?.behavior ?? [],
        key: '',
      };
    }
  }
  if (!chosen) {
    const c = strictComparison!;
    const closeFailed = c.behavior.length === 0;
    const rule = closeFailed ? (c.close.rule ?? ruleOfCase) : ruleOfCase;
    const first = closeFailed ? `${c.close.verdict}: ${c.close.why ?? ''}` : c.behavior[0];
    return {
      verdict: 'FAILED',
      behavior: closeFailed ? 'OK' : 'FAILED',
      closeBehavior: c.close.verdict,
      reason: first,
      rule,
      expected,
      actual,
      notes: [...c.behavior.slice(1), ...(closeFailed ? [] : c.close.why ? [`close: ${c.close.verdict}: ${c.close.why}`] : []), cite(rule)],
      key: c.key || `close:${c.close.verdict}`,
      frame: c.frame,
    };
  }

  let behavior = chosen.behavior;
  const notes = [...chosen.comparison.notes];
  let reason = chosen.because ?? '';
  if (chosen.comparison.lax) {
    behavior = 'NON-STRICT';
    reason = reason === '' ? chosen.comparison.lax : `${reason}; ${chosen.comparison.lax}`;
  }
  if (behavior === 'OK' && options.failFastBy !== undefined && outcome.kind === 'failed' && obs.bytesWritten > options.failFastBy) {
    behavior = 'NON-STRICT';
    reason = `failed only after ${obs.bytesWritten} of ${obs.bytesTotal} bytes, not as soon as the invalid byte arrived (offset ${options.failFastBy}; Autobahn 6.4 "fail fast")`;
  }
  const close = chosen.comparison.close;
  if (close.why) notes.push(`close: ${close.verdict}: ${close.why}`);
  const verdict = worst(behavior, CLOSE_RANK[close.verdict]);
  if (reason === '') reason = verdict === 'OK' ? actual : close.verdict === 'NON-STRICT' ? (close.why ?? '') : `${close.verdict}: ${close.why ?? ''}`;
  const rule = behavior !== 'OK' ? (chosen.prediction.outcome.kind === 'failed' ? chosen.prediction.outcome.rule : ruleOfCase) : close.rule ?? ruleOfCase;
  if (verdict !== 'OK') notes.push(cite(rule));
  // Traces mark where a strict server would have acted (for NON-STRICT, that is where this one did not).
  const frame = outcome.kind === 'failed' ? outcome.frame : chosen.comparison.frame;
  return { verdict, behavior, closeBehavior: close.verdict, reason, rule, expected, actual, notes, key: verdict === 'OK' ? '' : `lax:${rule}`, frame };
}
