// Annotated frame traces for reports: every frame of a stream as hex (as it
// went on the wire) with its decoded fields and what the model says of it,
// the rule broken marked, then what the server sent back.
import { predict, type ModelOptions } from './model.js';
import { cite, type RuleId } from './rules.js';
import type { Observation } from './runner.js';
import { describePayload } from './verdict.js';
import { encodeFrame, headerSize, minimalForm, opcodeName, type WireFrame } from './wire.js';

const HEX_BYTES = 24;

function hexOf(bytes: Uint8Array, max = HEX_BYTES): string {
  const shown = Buffer.from(bytes.subarray(0, max)).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return bytes.length > max ? `${shown} … (+${bytes.length - max} bytes)` : shown;
}

/** One line of decoded header fields. */
export function describeFrame(f: WireFrame): string {
  const form = f.declaredLength !== undefined ? 64 : (f.lengthForm ?? minimalForm(f.payload.length));
  const length = f.declaredLength ?? BigInt(f.payload.length);
  const fields = [
    `FIN=${f.fin ? 1 : 0}`,
    `RSV=${f.rsv.toString(2).padStart(3, '0')}`,
    `op=${opcodeName(f.opcode)}`,
    f.mask ? `MASK=${Buffer.from(f.mask).toString('hex')}` : 'MASK=none',
    `len=${length} (${form}-bit${form !== minimalForm(Number(length)) && f.declaredLength === undefined ? ', not minimal' : ''})`,
  ];
  const payload = f.payload.length > 0 ? ` payload ${describePayload(f.opcode, f.payload).replace(/^\S+ \d+ B ?/, '')}` : '';
  return fields.join(' ') + payload;
}

/**
 * The client's frames, annotated by the model: offset, hex, fields, and the
 * model's note (the rule that decides the outcome marked with ✗).
 */
export function clientTrace(
  frames: readonly WireFrame[],
  cuts: readonly number[],
  options: ModelOptions = {},
  mark?: { frame?: number; rule?: RuleId; reason?: string },
  maxFrames = 16,
): string[] {
  const prediction = predict(frames, options);
  const lines: string[] = [];
  const decisive = mark?.frame ?? (prediction.outcome.kind === 'failed' ? prediction.outcome.frame : -1);
  // Long streams (section 9 has 65 536 fragments): the first frames, those around the decisive one, the last.
  const shown = new Set<number>();
  if (frames.length <= maxFrames) frames.forEach((_, i) => shown.add(i));
  else {
    for (let i = 0; i < maxFrames / 2; i++) shown.add(i);
    for (let i = decisive - 2; i <= decisive + 2; i++) if (i >= 0) shown.add(i);
    for (let i = frames.length - 3; i < frames.length; i++) shown.add(i);
  }
  let at = 0;
  let skipped = 0;
  frames.forEach((f, i) => {
    const size = headerSize(f) + f.payload.length;
    if (!shown.has(i)) {
      skipped++;
      at += size;
      return;
    }
    if (skipped > 0) lines.push(`  … ${skipped} frame${skipped === 1 ? '' : 's'} like these`);
    skipped = 0;
    const bytes = encodeFrame(f);
    const inside = cuts.filter((c) => c > at && c < at + bytes.length).map((c) => c - at);
    const body = bytes.subarray(headerSize(f));
    lines.push(`  #${i + 1} @${at}  ${hexOf(bytes.subarray(0, headerSize(f)))}${body.length > 0 ? ` | ${hexOf(body)}` : ''}`);
    const sentinel = f.opcode === 0x9 && Buffer.from(f.payload).toString('latin1') === 'pushwire:sentinel';
    lines.push(`        ${describeFrame(f)}${sentinel ? " (the tool's last ping: its pong shows all before it was read)" : ''}`);
    if (inside.length > 8) lines.push(`        (written in ${inside.length + 1} pieces)`);
    else if (inside.length > 0) lines.push(`        (written in pieces: cut after byte${inside.length > 1 ? 's' : ''} ${inside.join(', ')} of this frame)`);
    for (const n of prediction.notes.filter((n) => n.frame === i)) lines.push(`        ${i === decisive ? '✗' : '→'} ${n.text}`);
    if (i === decisive) {
      if (mark?.reason) lines.push(`        ✗ observed: ${mark.reason}`);
      const rule = mark?.rule ?? prediction.notes.find((n) => n.frame === i)?.rule;
      if (rule) lines.push(`          ${cite(rule, 200)}`);
    }
    at += size;
  });
  if (skipped > 0) lines.push(`  … ${skipped} frame${skipped === 1 ? '' : 's'} like these`);
  if (decisive === -1 && mark?.reason) {
    lines.push(`  ✗ observed: ${mark.reason}`);
    if (mark.rule) lines.push(`    ${cite(mark.rule, 200)}`);
  }
  return lines;
}

/** What the server sent, one line per frame (the first `max`), then how TCP ended. */
export function serverTrace(obs: Observation, max = 12): string[] {
  if (!obs.handshake.ok) return [`  handshake: ${obs.handshake.error}`];
  const lines = obs.received.slice(0, max).map((f) => {
    const close = f.opcode === 8 && f.payload.length >= 2 ? ` code ${f.payload.readUInt16BE(0)}` : '';
    return `  ← ${f.at} ms ${f.fin ? 'FIN ' : ''}${f.masked ? 'MASKED ' : ''}${f.rsv ? `RSV=${f.rsv.toString(2)} ` : ''}${describePayload(f.opcode, f.payload)}${close}${f.afterFinish ? ' (after the tool\'s close)' : ''}`;
  });
  if (obs.received.length > max) lines.push(`  … ${obs.received.length - max} more frames`);
  const end =
    obs.timedOut === 'reaction'
      ? 'no reaction before the timeout'
      : obs.timedOut === 'close'
        ? 'TCP left open after the closing handshake'
        : obs.tcp === 'peer-fin'
          ? `the ${obs.peer} closed TCP`
          : obs.tcp === 'tool-fin'
            ? 'the tool (as the server) closed TCP first'
          : obs.tcp === 'reset'
            ? `the ${obs.peer} reset TCP`
            : 'the tool closed TCP';
  lines.push(`  · ${end} (${obs.durationMs} ms, tool's close: ${obs.toolClose})`);
  return lines;
}
