import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMask, encodeFrame, headerLength, Opcode } from '../../src/protocol/frame.js';
import { FrameParser } from '../../src/protocol/frame-parser.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { cutsArbitrary, splitAt } from '../helpers/chunking.js';
import { decodeFrames } from '../helpers/frames.js';

function naiveMask(data: Uint8Array, mask: Uint8Array, offset: number): Uint8Array {
  return data.map((byte, i) => byte ^ mask[(i + offset) % 4]);
}

const maskArbitrary = fc.uint8Array({ minLength: 4, maxLength: 4 });

/** Payload sizes around each length-form boundary (§5.2: 7-bit, 16-bit, 64-bit). */
const lengthArbitrary = fc.oneof(
  fc.integer({ min: 0, max: 125 }),
  fc.integer({ min: 126, max: 130 }),
  fc.integer({ min: 65530, max: 65535 }),
  fc.integer({ min: 65536, max: 65600 }),
);

function concatFrame(frame: Buffer | [Buffer, Buffer]): Buffer {
  return Array.isArray(frame) ? Buffer.concat(frame) : frame;
}

describe('masking (RFC 6455 §5.3)', () => {
  it('equals byte-wise XOR at any alignment and offset, and is an involution', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), maskArbitrary, fc.nat(7), fc.nat(3), (data, mask, shift, offset) => {
        // Place the data at an arbitrary byte offset to exercise the unaligned edges.
        const backing = new Uint8Array(data.length + shift);
        const view = backing.subarray(shift);
        view.set(data);
        applyMask(view, mask, offset);
        expect(Buffer.from(view)).toEqual(Buffer.from(naiveMask(data, mask, offset)));
        applyMask(view, mask, offset);
        expect(Buffer.from(view)).toEqual(Buffer.from(data));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('frame encoding (RFC 6455 §5.2)', () => {
  it('uses the minimal length form and round-trips through an independent decoder', () => {
    fc.assert(
      fc.property(lengthArbitrary, fc.boolean(), fc.constantFrom(0x1, 0x2, 0x0), fc.option(maskArbitrary, { nil: null }), (length, fin, opcode, mask) => {
        const payload = Buffer.alloc(length);
        for (let i = 0; i < length; i++) payload[i] = (i * 31) & 0xff;
        const frame = concatFrame(encodeFrame({ fin, opcode, payload, mask }));
        const expectedHeader = (length < 126 ? 2 : length < 65536 ? 4 : 10) + (mask ? 4 : 0);
        expect(frame.length).toBe(expectedHeader + length);
        expect(headerLength(length, mask !== null)).toBe(expectedHeader);
        const { frames, rest } = decodeFrames(frame);
        expect(rest.length).toBe(0);
        expect(frames).toHaveLength(1);
        expect(frames[0]).toMatchObject({ fin, opcode, rsv: 0 });
        expect(frames[0].payload.equals(payload)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('encodes strings as UTF-8 without changing the caller\'s buffers', () => {
    const text = 'héllo 🌍';
    const frame = concatFrame(encodeFrame({ fin: true, opcode: Opcode.Text, payload: text }));
    expect(decodeFrames(frame).frames[0].payload.toString()).toBe(text);
    const payload = Buffer.from('unchanged');
    encodeFrame({ fin: true, opcode: Opcode.Binary, payload, mask: Buffer.from([1, 2, 3, 4]) });
    expect(payload.toString()).toBe('unchanged');
  });
});

/** Deterministic bytes of a given length: cheap to generate, easy to compare. */
function patterned(length: number, seed: number): Buffer {
  const data = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) data[i] = (i * 131 + seed) & 0xff;
  return data;
}

function digest(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

function summary(recorded: Recorded): string[] {
  return recorded.frames.map((f) => `${f.fin}/${f.opcode}/${digest(f.payload)}`);
}

interface Recorded {
  frames: { fin: boolean; rsv: number; opcode: number; payload: Buffer }[];
}

function parseAll(pieces: Buffer[], expectMasked: boolean, allowedRsv = 0): Recorded {
  const recorded: Recorded = { frames: [] };
  let current: Buffer[] = [];
  let header = { fin: false, rsv: 0, opcode: 0 };
  const parser = new FrameParser(
    {
      onFrameStart(fin, rsv, opcode) {
        header = { fin, rsv, opcode };
        current = [];
      },
      onFramePayload(data) {
        current.push(Buffer.from(data));
      },
      onFrameEnd() {
        recorded.frames.push({ ...header, payload: Buffer.concat(current) });
      },
    },
    { expectMasked, allowedRsv },
  );
  for (const piece of pieces) parser.push(piece);
  return recorded;
}

describe('FrameParser', () => {
  const frameSpec = fc.record({
    fin: fc.boolean(),
    opcode: fc.constantFrom(0x0, 0x1, 0x2),
    payload: fc.tuple(lengthArbitrary, fc.nat(255)).map(([length, seed]) => patterned(length, seed)),
    mask: maskArbitrary,
  });

  it('decodes the same frames however the input is split', () => {
    fc.assert(
      fc.property(fc.array(frameSpec, { maxLength: 6 }), cutsArbitrary, (specs, cuts) => {
        const stream = Buffer.concat(specs.map((s) => concatFrame(encodeFrame({ ...s, payload: Buffer.from(s.payload) }))));
        const whole = parseAll([Buffer.from(stream)], true);
        const split = parseAll(splitAt(stream, cuts), true);
        expect(summary(split)).toEqual(summary(whole));
        expect(summary(whole)).toEqual(specs.map((s) => `${s.fin}/${s.opcode}/${digest(s.payload)}`));
      }),
      { numRuns: 200 },
    );
  });

  it('never throws anything but a ProtocolError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cutsArbitrary, fc.boolean(), (bytes, cuts, expectMasked) => {
        try {
          parseAll(splitAt(Buffer.from(bytes), cuts), expectMasked);
        } catch (error) {
          expect(error).toBeInstanceOf(ProtocolError);
          expect([1002, 1009]).toContain((error as ProtocolError).closeCode);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reports RSV bits only when an extension allows them', () => {
    const frame = Buffer.from([0xc1, 0x80, 0, 0, 0, 0]); // FIN+RSV1 text, masked, empty
    expect(() => parseAll([Buffer.from(frame)], true)).toThrow(ProtocolError);
    expect(parseAll([Buffer.from(frame)], true, 0x40).frames[0].rsv).toBe(0x40);
  });
});
