// RFC 6455 §8.1 Handling Errors in UTF-8-Encoded Data, with UTF-8 as defined
// by RFC 3629 §4 (no overlong forms, no surrogates, nothing above U+10FFFF).
import { isUtf8 } from 'node:buffer';

/** Chunks shorter than this are walked byte by byte; longer ones use the native check. */
const NATIVE_CHECK_MIN = 64;

/**
 * Incremental, fail-fast UTF-8 validator.
 *
 * Feed the bytes of one text message in any number of pieces. `push` returns
 * `false` as soon as a byte arrives that no continuation could make valid
 * (so `ED A0`, the start of a surrogate, fails at `A0`, not later).
 * At the end of the message, `isComplete` tells whether the last character
 * was finished.
 */
export class Utf8Validator {
  /** Continuation bytes still expected for the current character. */
  private needed = 0;
  /** Allowed range of the next continuation byte (RFC 3629 §4 ABNF narrows the second byte). */
  private lower = 0x80;
  private upper = 0xbf;

  /** Forget any partial character: ready for the next message. */
  reset(): void {
    this.needed = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }

  /** True when no character is left unfinished. */
  isComplete(): boolean {
    return this.needed === 0;
  }

  /** Validate `bytes[start, end)`; false at the first byte that cannot be valid UTF-8. */
  push(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
    let i = start;
    // Finish a character left open by the previous piece.
    while (this.needed !== 0 && i < end) {
      if (!this.step(bytes[i++])) return false;
    }
    if (end - i >= NATIVE_CHECK_MIN) {
      // Hand the run of whole characters to the native validator, keep the
      // (at most 3 byte) unfinished tail for the byte-wise walk below.
      const wholeEnd = endOfWholeCharacters(bytes, i, end);
      if (!isUtf8(bytes.subarray(i, wholeEnd))) return false;
      i = wholeEnd;
    }
    while (i < end) {
      if (!this.step(bytes[i++])) return false;
    }
    return true;
  }

  private step(byte: number): boolean {
    if (this.needed === 0) {
      if (byte < 0x80) return true;
      if (byte >= 0xc2 && byte <= 0xdf) {
        this.needed = 1;
      } else if (byte >= 0xe0 && byte <= 0xef) {
        this.needed = 2;
        if (byte === 0xe0) this.lower = 0xa0; // no overlong 3-byte forms
        else if (byte === 0xed) this.upper = 0x9f; // no surrogates U+D800..DFFF
      } else if (byte >= 0xf0 && byte <= 0xf4) {
        this.needed = 3;
        if (byte === 0xf0) this.lower = 0x90; // no overlong 4-byte forms
        else if (byte === 0xf4) this.upper = 0x8f; // nothing above U+10FFFF
      } else {
        return false; // 80..C1 cannot start a character; F5..FF never appear
      }
      return true;
    }
    if (byte < this.lower || byte > this.upper) return false;
    this.needed--;
    this.lower = 0x80;
    this.upper = 0xbf;
    return true;
  }
}

/**
 * The index just past the last complete character in `bytes[start, end)`,
 * judged by the lead byte among the last three bytes.
 */
function endOfWholeCharacters(bytes: Uint8Array, start: number, end: number): number {
  for (let back = 1; back <= 3 && end - back >= start; back++) {
    const byte = bytes[end - back];
    if (byte < 0x80) return end;
    if (byte >= 0xc0) {
      const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
      return back < length ? end - back : end;
    }
  }
  return end;
}

/** Whole-buffer check, for payloads that arrive in one piece (close reasons). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}
