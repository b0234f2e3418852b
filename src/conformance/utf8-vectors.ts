// The UTF-8 test vectors of Autobahn's cases 6.5–6.23, after Markus Kuhn's
// "UTF-8 decoder capability and stress test": valid and invalid sequences
// sent as one text frame each. Whether each is valid is not written here —
// the model decides (RFC 3629 §4 via utf8.ts).

/** One Autobahn subsection of UTF-8 vectors. */
export interface Utf8Group {
  /** Autobahn's subsection number: the vectors are 6.<section>.1, 6.<section>.2 … */
  section: number;
  title: string;
  vectors: Buffer[];
}

const h = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex');
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** The groups 6.5 to 6.23, in Autobahn's order. */
export function utf8Groups(): Utf8Group[] {
  const kosme = h('cebae1bdb9cf83cebcceb5');
  const missingLast = ['c0', 'e080', 'f08080', 'f8808080', 'fc80808080', 'df', 'efbf', 'f7bfbf', 'fbbfbfbf', 'fdbfbfbfbf'].map(h);
  const nonCharacters: Buffer[] = [h('efbfbe'), h('efbfbf')];
  for (const z1 of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const z2 of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (z1 === 0xf0 && z2 === 0x8f) continue; // overlong
      if (z1 === 0xf4 && z2 !== 0x8f) continue; // above U+10FFFF
      for (const z3 of [0xbe, 0xbf]) nonCharacters.push(Buffer.from([z1, z2, 0xbf, z3]));
    }
  }
  return [
    { section: 5, title: 'valid UTF-8', vectors: [kosme, Buffer.from('hello$world'), h('68656c6c6fc2a2776f726c64'), h('68656c6c6fe282ac776f726c64'), h('68656c6c6ff0a4ada2776f726c64')] },
    { section: 6, title: 'prefix of κόσμε', vectors: range(1, kosme.length + 1).map((n) => kosme.subarray(0, n)) },
    { section: 7, title: 'first sequence of its length', vectors: ['00', 'c280', 'e0a080', 'f0908080'].map(h) },
    { section: 8, title: 'first 5/6-byte sequence (not UTF-8)', vectors: ['f888808080', 'fc8480808080'].map(h) },
    { section: 9, title: 'last sequence of its length', vectors: ['7f', 'dfbf', 'efbfbf', 'f48fbfbf'].map(h) },
    { section: 10, title: 'last 4/5/6-byte sequence (not UTF-8)', vectors: ['f7bfbfbf', 'fbbfbfbfbf', 'fdbfbfbfbfbf'].map(h) },
    { section: 11, title: 'boundary', vectors: ['ed9fbf', 'ee8080', 'efbfbd', 'f48fbfbf', 'f4908080'].map(h) },
    {
      section: 12,
      title: 'unexpected continuation bytes',
      vectors: [...['80', 'bf', '80bf', '80bf80', '80bf80bf', '80bf80bf80', '80bf80bf80bf'].map(h), Buffer.from(range(0x80, 0xbf))],
    },
    {
      section: 13,
      title: 'lonely start bytes',
      vectors: [
        [0xc0, 0xdf],
        [0xe0, 0xef],
        [0xf0, 0xf7],
        [0xf8, 0xfb],
        [0xfc, 0xfd],
      ].map(([from, to]) => Buffer.from(range(from, to).flatMap((b) => [b, 0x20]))),
    },
    { section: 14, title: 'last continuation byte missing', vectors: missingLast },
    { section: 15, title: 'incomplete sequences concatenated', vectors: [Buffer.concat(missingLast)] },
    { section: 16, title: 'impossible bytes', vectors: ['fe', 'ff', 'fefeffff'].map(h) },
    { section: 17, title: 'overlong ASCII', vectors: ['c0af', 'e080af', 'f08080af', 'f8808080af', 'fc80808080af'].map(h) },
    { section: 18, title: 'maximum overlong', vectors: ['c1bf', 'e09fbf', 'f08fbfbf', 'f887bfbfbf', 'fc83bfbfbfbf'].map(h) },
    { section: 19, title: 'overlong NUL', vectors: ['c080', 'e08080', 'f0808080', 'f880808080', 'fc8080808080'].map(h) },
    { section: 20, title: 'single UTF-16 surrogate', vectors: ['eda080', 'edadbf', 'edae80', 'edafbf', 'edb080', 'edbe80', 'edbfbf'].map(h) },
    {
      section: 21,
      title: 'paired UTF-16 surrogates',
      vectors: ['eda080edb080', 'eda080edbfbf', 'edadbfedb080', 'edadbfedbfbf', 'edae80edb080', 'edae80edbfbf', 'edafbfedb080', 'edafbfedbfbf'].map(h),
    },
    { section: 22, title: 'non-character (valid UTF-8)', vectors: nonCharacters },
    { section: 23, title: 'Unicode specials', vectors: ['efbfb9', 'efbfba', 'efbfbb', 'efbfbc', 'efbfbd', 'efbfbe', 'efbfbf'].map(h) },
  ];
}
