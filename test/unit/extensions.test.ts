import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientHandshakeError } from '../../src/protocol/errors.js';
import { acceptDeflateResponse, deflateOffer, negotiateDeflate, parseExtensions } from '../../src/protocol/extensions.js';

describe('Sec-WebSocket-Extensions syntax (RFC 6455 §9.1)', () => {
  it('parses lists, parameters, and quoted values', () => {
    expect(parseExtensions('permessage-deflate; client_max_window_bits, permessage-deflate;server_max_window_bits="10" , x-foo')).toEqual([
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
      { name: 'x-foo', params: [] },
    ]);
  });
  for (const bad of ['', ',', 'a;', 'a;=1', 'a; b=', 'a; b="1', 'a; b="x y"', 'a b', 'a,,b', 'a; b=1 2']) {
    it(`refuses ${JSON.stringify(bad)}`, () => expect(parseExtensions(bad)).toBeNull());
  }
  it('never throws on arbitrary header strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.constantFrom('', 'permessage-deflate; ', 'permessage-deflate, '), (text, prefix) => {
        parseExtensions(prefix + text);
        negotiateDeflate(prefix + text);
        try {
          acceptDeflateResponse(prefix + text);
        } catch (error) {
          expect(error).toBeInstanceOf(ClientHandshakeError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('permessage-deflate negotiation (RFC 7692 §5, §7.1)', () => {
  it('accepts a plain offer with full windows and context takeover', () => {
    expect(negotiateDeflate('permessage-deflate')).toEqual({
      params: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
      response: 'permessage-deflate',
    });
  });
  it('answers what the browser offers', () => {
    const result = negotiateDeflate('permessage-deflate; client_max_window_bits');
    expect(result?.response).toBe('permessage-deflate');
    expect(result?.params.clientMaxWindowBits).toBe(15);
  });
  it('honours every requested parameter', () => {
    const result = negotiateDeflate(
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    );
    expect(result).toEqual({
      params: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 },
      response: 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    });
  });
  it('imposes its own limits where the offer lets it', () => {
    const result = negotiateDeflate('permessage-deflate; client_max_window_bits', {
      serverNoContextTakeover: true,
      clientMaxWindowBits: 10,
      serverMaxWindowBits: 11,
    });
    expect(result?.response).toBe('permessage-deflate; server_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10');
  });
  it('declines invalid, repeated or unknown parameters and takes the next offer', () => {
    for (const bad of [
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; server_max_window_bits=16',
      'permessage-deflate; server_max_window_bits=08',
      'permessage-deflate; client_max_window_bits=7',
      'permessage-deflate; server_no_context_takeover=1',
      'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      'permessage-deflate; mystery',
    ]) {
      expect(negotiateDeflate(bad), bad).toBeNull();
      expect(negotiateDeflate(`${bad}, permessage-deflate`)?.response, bad).toBe('permessage-deflate');
    }
  });
  it('accepts an 8-bit server window (then sends uncompressed: zlib cannot keep to 256 bytes)', () => {
    expect(negotiateDeflate('permessage-deflate; server_max_window_bits=8')).toEqual({
      params: { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 8, clientMaxWindowBits: 15 },
      response: 'permessage-deflate; server_max_window_bits=8',
    });
    expect(acceptDeflateResponse('permessage-deflate; client_max_window_bits=8', { clientMaxWindowBits: 8 }).clientMaxWindowBits).toBe(8);
  });

  it('ignores other extensions and malformed headers', () => {
    expect(negotiateDeflate('x-webkit-deflate-frame')).toBeNull();
    expect(negotiateDeflate('permessage-deflate;;')).toBeNull();
    expect(negotiateDeflate(undefined)).toBeNull();
  });

  it('client: its offer round-trips through the server and back', () => {
    fc.assert(
      fc.property(
        fc.record({
          serverNoContextTakeover: fc.boolean(),
          clientNoContextTakeover: fc.boolean(),
          serverMaxWindowBits: fc.option(fc.integer({ min: 9, max: 15 }), { nil: undefined }),
          clientMaxWindowBits: fc.option(fc.integer({ min: 9, max: 15 }), { nil: undefined }),
        }),
        (options) => {
          const result = negotiateDeflate(deflateOffer(options));
          expect(result).not.toBeNull();
          expect(acceptDeflateResponse(result!.response, options)).toEqual(result!.params);
        },
      ),
    );
  });

  it('client: fails on responses its offer does not allow', () => {
    for (const bad of [
      'permessage-deflate; client_max_window_bits',
      'permessage-deflate; client_max_window_bits=16',
      'permessage-deflate; server_max_window_bits=12; server_max_window_bits=12',
      'permessage-deflate; unknown',
      'permessage-deflate, permessage-deflate',
      'x-other',
    ]) {
      expect(() => acceptDeflateResponse(bad), bad).toThrow(ClientHandshakeError);
    }
    expect(() => acceptDeflateResponse('permessage-deflate; server_max_window_bits=12', { serverMaxWindowBits: 10 })).toThrow(ClientHandshakeError);
    expect(() => acceptDeflateResponse('permessage-deflate', { serverNoContextTakeover: true })).toThrow(ClientHandshakeError);
  });
});
