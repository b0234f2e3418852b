// A small seeded random source (sfc32, seeded through splitmix32): the same
// seed gives the same masks, nonces and generated streams on every machine,
// so any run can be replayed from its seed. Not for secrets.

/** Mix a 32-bit value (splitmix32's finaliser). */
function mix(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A 32-bit hash of a seed and a label, for independent streams per case. */
export function deriveSeed(seed: number, label: string): number {
  let h = mix(seed >>> 0) ^ mix(Math.floor(seed / 2 ** 32));
  for (let i = 0; i < label.length; i++) h = mix(h ^ label.charCodeAt(i));
  return h >>> 0;
}

/** Deterministic pseudo-random numbers. */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = mix(seed);
    this.b = mix(this.a);
    this.c = mix(this.b);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A uniform 32-bit unsigned integer (sfc32). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor((this.next() / 2 ** 32) * (max - min + 1));
  }

  /** true with probability `p`. */
  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** A length biased toward the interesting ones: small, and the 125/126 and 65535/65536 edges. */
  length(max: number): number {
    const edges = [0, 1, 2, 125, 126, 127, 65535, 65536].filter((n) => n <= max);
    if (this.chance(0.25)) return this.pick(edges);
    return this.chance(0.8) ? this.int(0, Math.min(max, 40)) : this.int(0, max);
  }
}
