import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Utf8Validator } from '../../src/protocol/utf8.js';
import { cutsArbitrary, splitAt } from '../helpers/chunking.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
function referenceValid(bytes: Uint8Array): boolean {
  try {
    decoder.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reference for fail-fast: could `prefix` still become valid UTF-8? Tries
 * completions of 0–3 continuation bytes at the boundary values of every range
 * RFC 3629 allows for them.
 */
const CONTINUATIONS = [0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf];
function extendable(prefix: Uint8Array): boolean {
  if (referenceValid(prefix)) return true;
  const tries: number[][] = [[]];
  for (let n = 1; n <= 3; n++) {
    for (const base of tries.filter((t) => t.length === n - 1)) {
      for (const c of CONTINUATIONS) {
        const candidate = [...base, c];
        if (referenceValid(Uint8Array.from([...prefix, ...candidate]))) return true;
        tries.push(candidate);
      }
    }
  }
  return false;
}

/** Bytes biased towards UTF-8's interesting corners. */
const utf8ishBytes = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0xbf }),
    fc.constantFrom(0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff),
    fc.integer({ min: 0, max: 0xff }),
  ),
  { maxLength: 40 },
).map((a) => Uint8Array.from(a));

function validate(pieces: Uint8Array[]): { ok: boolean; failedAt: number } {
  const validator = new Utf8Validator();
  let consumed = 0;
  for (const piece of pieces) {
    // Feed byte by byte to locate the failure exactly.
    for (let i = 0; i < piece.length; i++) {
      if (!validator.push(piece, i, i + 1)) return { ok: false, failedAt: consumed + i };
    }
    consumed += piece.length;
  }
  return { ok: validator.isComplete(), failedAt: -1 };
}

describe('Utf8Validator (RFC 6455 §8.1, RFC 3629)', () => {
  it('agrees with a strict decoder on any bytes, however they are split', () => {
    fc.assert(
      fc.property(utf8ishBytes, cutsArbitrary, (bytes, cuts) => {
        const validator = new Utf8Validator();
        const pieces = splitAt(Buffer.from(bytes), cuts);
        const ok = pieces.every((piece) => validator.push(piece)) && validator.isComplete();
        expect(ok).toBe(referenceValid(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees on long inputs that take the native path', () => {
    const longText = fc.tuple(fc.string({ unit: 'grapheme', minLength: 50, maxLength: 400 }), utf8ishBytes, cutsArbitrary);
    fc.assert(
      fc.property(longText, ([text, noise, cuts]) => {
        const bytes = Buffer.concat([Buffer.from(text), Buffer.from(noise), Buffer.from(text)]);
        const validator = new Utf8Validator();
        const ok = splitAt(bytes, cuts).every((piece) => validator.push(piece)) && validator.isComplete();
        expect(ok).toBe(referenceValid(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('fails fast: at the first byte after which no completion is valid', () => {
    fc.assert(
      fc.property(utf8ishBytes, (bytes) => {
        const { failedAt } = validate([bytes]);
        let expected = -1;
        for (let i = 1; i <= bytes.length; i++) {
          if (!extendable(bytes.subarray(0, i))) {
            expected = i - 1;
            break;
          }
        }
        expect(failedAt).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts every Unicode scalar value at the edges of each encoding length', () => {
    for (const cp of [0, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff]) {
      const v = new Utf8Validator();
      expect(v.push(Buffer.from(String.fromCodePoint(cp))) && v.isComplete()).toBe(true);
    }
  });

  it('rejects surrogates, overlongs and code points above U+10FFFF at the offending byte', () => {
    expect(validate([Uint8Array.from([0xed, 0xa0, 0x80])]).failedAt).toBe(1);
    expect(validate([Uint8Array.from([0xc0, 0x80])]).failedAt).toBe(0);
    expect(validate([Uint8Array.from([0xe0, 0x9f, 0xbf])]).failedAt).toBe(1);
    expect(validate([Uint8Array.from([0xf4, 0x90, 0x80, 0x80])]).failedAt).toBe(1);
    expect(validate([Uint8Array.from([0xf0, 0x8f, 0xbf, 0xbf])]).failedAt).toBe(1);
  });

  it('reports an unfinished character at the end', () => {
    const v = new Utf8Validator();
    expect(v.push(Uint8Array.from([0xe2, 0x82]))).toBe(true);
    expect(v.isComplete()).toBe(false);
    expect(v.push(Uint8Array.from([0xac]))).toBe(true);
    expect(v.isComplete()).toBe(true);
  });
});
