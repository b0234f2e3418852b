// Content negotiation and validators of GET /client.js, without a server:
// Accept-Encoding (RFC 9110 §12.5.3) and If-None-Match (§13.1.2).
import { describe, expect, it } from 'vitest';
import { ifNoneMatchHits, negotiateCoding } from '../../src/push/client-asset.js';

describe('negotiateCoding', () => {
  it.each<[string | undefined, string, string]>([
    [undefined, 'identity', 'no header: what every client reads'],
    ['', 'identity', 'empty header: identity only'],
    ['gzip, deflate, br, zstd', 'br', "Chrome over https: br is the smallest"],
    ['gzip, deflate', 'gzip', 'Chrome over http'],
    ['GZIP', 'gzip', 'codings are case-insensitive'],
    ['x-gzip', 'gzip', 'x-gzip is an alias'],
    ['br;q=0.5, gzip', 'gzip', 'the higher weight wins'],
    ['br;q=0, gzip;q=0.1', 'gzip', 'q=0 is "not acceptable"'],
    ['gzip;q=0', 'identity', 'identity is acceptable unless excluded'],
    ['gzip;q=0.5', 'gzip', 'identity not weighed: the last resort'],
    ['identity;q=0.5, gzip;q=0.4', 'identity', 'identity weighed like any coding'],
    ['*', 'br', '* accepts every coding'],
    ['*;q=0.5, gzip', 'gzip', 'a named coding beats *'],
    ['identity;q=0, *;q=0', 'identity', 'nothing acceptable: identity all the same'],
    ['br;q=1.5, gzip', 'gzip', 'a malformed weight leaves the entry out'],
    ['deflate, compress', 'identity', 'only codings we do not have'],
    ['gzip ; q=0.8 , br ; q=0.9', 'br', 'whitespace around separators'],
  ])('%j → %s (%s)', (header, coding) => {
    expect(negotiateCoding(header)).toBe(coding);
  });
});

describe('ifNoneMatchHits', () => {
  const etag = '"abc-gzip"';
  it.each([
    [undefined, false],
    ['"abc-gzip"', true],
    ['W/"abc-gzip"', true], // weak comparison: W/ is ignored
    ['"x", "abc-gzip"', true],
    ['"x","abc-gzip"', true],
    ['"abc"', false], // another representation of the same source
    ['*', true],
    [' * ', true],
    ['"a,b", "abc-gzip"', true], // a comma inside a tag does not split it
    ['abc-gzip', false], // not an entity tag: unquoted
  ])('%j → %s', (header, hit) => {
    expect(ifNoneMatchHits(header, etag)).toBe(hit);
  });
});
