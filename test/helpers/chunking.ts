import fc from 'fast-check';

/** Cut `data` at the given fractional points: every split of the same bytes must parse alike. */
export function splitAt(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * (data.length + 1))))]
    .filter((p) => p > 0 && p < data.length)
    .sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const point of points) {
    pieces.push(Buffer.from(data.subarray(at, point)));
    at = point;
  }
  pieces.push(Buffer.from(data.subarray(at)));
  return pieces;
}

/** Arbitrary cut points, as fractions of the input length. */
export const cutsArbitrary = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 20 });
