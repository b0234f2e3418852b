// The conformance model's UTF-8 check: RFC 6455 §8.1 with UTF-8 as RFC 3629
// §4 defines it. Written apart from src/protocol/utf8.ts on purpose — the
// tool judges other servers, pushwire's among them, and must not share the
// code it checks. It reports *where* a byte stream stops being UTF-8, which
// is what "fail fast" (Autobahn 6.4) is measured against.

/**
 * Incremental UTF-8 checker. `push` returns the index (within the pushed
 * bytes) of the first byte that no continuation could make valid, or -1;
 * `incomplete` tells whether a character is left unfinished.
 */
export class Utf8Scanner {
  /** Continuation bytes still due for the current character. */
  private due = 0;
  /** Range allowed for the next continuation byte (RFC 3629 §4 narrows the second byte). */
  private low = 0x80;
  private high = 0xbf;
  private broken = false;

  /** Index of the first impossible byte in `bytes`, or -1 when all of them may still be UTF-8. */
  push(bytes: Uint8Array): number {
    if (this.broken) return 0;
    for (let i = 0; i < bytes.length; i++) {
      if (!this.step(bytes[i])) {
        this.broken = true;
        return i;
      }
    }
    return -1;
  }

  /** A character was started and not finished (invalid if the message ends here). */
  get incomplete(): boolean {
    return this.due !== 0;
  }

  private step(byte: number): boolean {
    if (this.due > 0) {
      if (byte < this.low || byte > this.high) return false;
      this.due--;
      this.low = 0x80;
      this.high = 0xbf;
      return true;
    }
    if (byte <= 0x7f) return true;
    // RFC 3629 §4: UTF8-2 = %xC2-DF UTF8-tail; UTF8-3 and UTF8-4 narrow their second byte.
    if (byte >= 0xc2 && byte <= 0xdf) this.due = 1;
    else if (byte === 0xe0) [this.due, this.low] = [2, 0xa0]; // no overlong 3-byte forms
    else if (byte === 0xed) [this.due, this.high] = [2, 0x9f]; // no surrogates U+D800–DFFF
    else if ((byte >= 0xe1 && byte <= 0xec) || byte === 0xee || byte === 0xef) this.due = 2;
    else if (byte === 0xf0) [this.due, this.low] = [3, 0x90]; // no overlong 4-byte forms
    else if (byte >= 0xf1 && byte <= 0xf3) this.due = 3;
    else if (byte === 0xf4) [this.due, this.high] = [3, 0x8f]; // nothing above U+10FFFF
    else return false; // 80–C1 as a lead byte, F5–FF
    return true;
  }
}

/** Whether `bytes` is a complete, valid UTF-8 string. */
export function isUtf8(bytes: Uint8Array): boolean {
  const scanner = new Utf8Scanner();
  return scanner.push(bytes) === -1 && !scanner.incomplete;
}
