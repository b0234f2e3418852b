import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Connection, type ConnectionHandler } from '../../src/protocol/connection.js';
import { InvalidStateError, type ProtocolError } from '../../src/protocol/errors.js';
import { cutsArbitrary, splitAt } from '../helpers/chunking.js';
import { buildFrame, closePayload, decodeFrames } from '../helpers/frames.js';

type Event =
  | ['message', string, boolean]
  | ['ping' | 'pong', string]
  | ['close', number, string]
  | ['error', number];

/** A Connection whose events and output are recorded; the deterministic mask keeps runs reproducible. */
function harness(role: 'server' | 'client', maxPayload?: number, generateMask?: () => Uint8Array) {
  const events: Event[] = [];
  const output: Buffer[] = [];
  const handler: ConnectionHandler = {
    write: (data) => output.push(Buffer.from(data)),
    onMessage: (data, isBinary) => events.push(['message', data.toString(isBinary ? 'hex' : 'utf8'), isBinary]),
    onPing: (data) => events.push(['ping', data.toString('hex')]),
    onPong: (data) => events.push(['pong', data.toString('hex')]),
    onCloseReceived: (code, reason) => events.push(['close', code, reason]),
    onProtocolError: (error: ProtocolError) => events.push(['error', error.closeCode]),
  };
  let counter = 0;
  const connection = new Connection(handler, {
    role,
    maxPayload,
    generateMask: role === 'client' ? (generateMask ?? (() => Uint8Array.of(counter++, 0x5a, 0xa5, 0xff))) : undefined,
  });
  return {
    connection,
    events,
    output: () => decodeFrames(Buffer.concat(output)).frames,
    raw: () => Buffer.concat(output),
  };
}

/** A message and how the client splits it into frames, with pings between fragments. */
const messageArbitrary = fc.record({
  binary: fc.boolean(),
  text: fc.string({ unit: 'grapheme', maxLength: 60 }),
  bytes: fc.uint8Array({ maxLength: 60 }),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
  pingBetween: fc.boolean(),
});
type MessageSpec = typeof messageArbitrary extends fc.Arbitrary<infer T> ? T : never;

function clientFrames(spec: MessageSpec): Buffer[] {
  const payload = spec.binary ? Buffer.from(spec.bytes) : Buffer.from(spec.text);
  const pieces = payload.length === 0 ? [payload] : splitAt(payload, spec.cuts);
  const frames: Buffer[] = [];
  pieces.forEach((piece, i) => {
    frames.push(buildFrame(i === 0 ? (spec.binary ? 2 : 1) : 0, piece, { fin: i === pieces.length - 1 }));
    if (spec.pingBetween && i < pieces.length - 1) frames.push(buildFrame(0x9, 'p'));
  });
  return frames;
}

describe('Connection: message assembly (RFC 6455 §5.4, §5.5, §5.6)', () => {
  it('delivers every message once, in order, whatever the fragmentation and chunking', () => {
    fc.assert(
      fc.property(fc.array(messageArbitrary, { maxLength: 8 }), cutsArbitrary, (specs, cuts) => {
        const stream = Buffer.concat(specs.flatMap(clientFrames));
        const { connection, events, output } = harness('server');
        for (const piece of splitAt(stream, cuts)) connection.receive(piece);
        const messages = events.filter((e) => e[0] === 'message');
        expect(messages).toEqual(
          specs.map((s) => ['message', s.binary ? Buffer.from(s.bytes).toString('hex') : s.text, s.binary]),
        );
        const pings = specs.reduce((n, s) => n + (s.pingBetween ? Math.max(0, clientFramesCount(s) - 1) : 0), 0);
        expect(output().filter((f) => f.opcode === 0xa)).toHaveLength(pings);
        expect(connection.state).toBe('open');
      }),
      { numRuns: 300 },
    );
  });

  it('assembles messages of many fragments, any sizes (empty ones too), split anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        cutsArbitrary,
        (pieces, text, cuts) => {
          const ascii = pieces.map((piece) => Buffer.from(piece.map((byte) => 0x20 + (byte % 0x5f))));
          const parts = text ? ascii : pieces.map((piece) => Buffer.from(piece));
          const frames = parts.map((part, i) =>
            buildFrame(i === 0 ? (text ? 1 : 2) : 0, part, { fin: i === parts.length - 1 }),
          );
          const { connection, events } = harness('server');
          for (const piece of splitAt(Buffer.concat(frames), cuts)) connection.receive(piece);
          const whole = Buffer.concat(parts);
          expect(events).toEqual([['message', whole.toString(text ? 'utf8' : 'hex'), !text]]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fails with 1009 when a message arrives in more than maxFragments frames', () => {
    const events: number[] = [];
    const connection = new Connection(
      { write: () => {}, onMessage: () => events.push(0), onPing: () => {}, onPong: () => {}, onCloseReceived: () => {}, onProtocolError: (e) => events.push(e.closeCode) },
      { role: 'server', maxFragments: 3 },
    );
    const frames = [buildFrame(1, 'a', { fin: false }), buildFrame(0, 'b', { fin: false }), buildFrame(0, 'c', { fin: true })];
    connection.receive(Buffer.concat(frames));
    expect(events).toEqual([0]);
    connection.receive(Buffer.concat([...frames.slice(0, 2), buildFrame(0, 'c', { fin: false }), buildFrame(0, 'd')]));
    expect(events).toEqual([0, 1009]);
  });

  it('round-trips messages from a client Connection to a server Connection and back', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 })), { maxLength: 10 }), (messages) => {
        const client = harness('client');
        const server = harness('server');
        for (const m of messages) client.connection.send(m, typeof m !== 'string');
        const wire = Buffer.concat(client.output().map((f) => buildFrame(f.opcode, f.payload, { fin: f.fin })));
        server.connection.receive(wire);
        const expected = messages.map((m) =>
          typeof m === 'string' ? ['message', m, false] : ['message', Buffer.from(m).toString('hex'), true],
        );
        expect(server.events).toEqual(expected);
        // and back: the server's frames are unmasked, which the client requires
        for (const m of messages) server.connection.send(m, typeof m !== 'string');
        const serverBytes = Buffer.concat(server.output().map((f) => buildFrame(f.opcode, f.payload, { fin: f.fin, mask: null })));
        client.connection.receive(serverBytes);
        expect(client.events).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('client frames carry a mask, server frames none (§5.1)', () => {
    const server = harness('server');
    server.connection.send('x', false);
    expect(server.raw()[1] & 0x80).toBe(0);
    const client = harness('client', undefined, () => Uint8Array.of(1, 2, 3, 4));
    client.connection.send('x', false);
    expect(client.raw()[1] & 0x80).toBe(0x80);
    expect(client.raw().subarray(2, 6)).toEqual(Buffer.from([1, 2, 3, 4]));
  });
});

function clientFramesCount(spec: MessageSpec): number {
  const payload = spec.binary ? Buffer.from(spec.bytes) : Buffer.from(spec.text);
  return payload.length === 0 ? 1 : splitAt(payload, spec.cuts).length;
}

describe('Connection: any byte stream ends open, waiting, or closed with a code', () => {
  it('never throws; a failure writes exactly one close frame with its code, then nothing', () => {
    const frameish = fc.oneof(
      fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
      fc.record({
        opcode: fc.integer({ min: 0, max: 15 }),
        fin: fc.boolean(),
        rsv: fc.integer({ min: 0, max: 7 }),
        payload: fc.uint8Array({ maxLength: 130 }),
        masked: fc.boolean(),
      }).map((f) => buildFrame(f.opcode, Buffer.from(f.payload), { fin: f.fin, rsv: f.rsv, mask: f.masked ? Buffer.from([9, 8, 7, 6]) : null })),
    );
    fc.assert(
      fc.property(fc.array(frameish, { maxLength: 8 }), cutsArbitrary, (parts, cuts) => {
        const { connection, events, output } = harness('server', 1000);
        for (const piece of splitAt(Buffer.concat(parts), cuts)) connection.receive(piece);
        const errors = events.filter((e) => e[0] === 'error');
        const closes = output().filter((f) => f.opcode === 0x8);
        if (errors.length > 0) {
          expect(errors).toHaveLength(1);
          expect([1002, 1007, 1009]).toContain(errors[0][1]);
          expect(connection.state).toBe('closed');
          expect(closes).toHaveLength(1);
          expect(closes[0].payload.readUInt16BE(0)).toBe(errors[0][1]);
          expect(output().at(-1)!.opcode).toBe(0x8);
          expect(events.at(-1)![0]).toBe('error');
        } else if (events.some((e) => e[0] === 'close')) {
          expect(connection.state).toBe('closed');
          expect(closes).toHaveLength(1);
          expect(events.at(-1)![0]).toBe('close');
        } else {
          expect(connection.state).toBe('open');
          expect(closes).toHaveLength(0);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('Connection: each invalid construct maps to its close code', () => {
  const cases: [string, Buffer[], number][] = [
    ['unmasked frame from a client', [buildFrame(1, 'x', { mask: null })], 1002],
    ['RSV1 without extension', [buildFrame(1, 'x', { rsv: 4 })], 1002],
    ['RSV2 without extension', [buildFrame(1, 'x', { rsv: 2 })], 1002],
    ['RSV3 without extension', [buildFrame(1, 'x', { rsv: 1 })], 1002],
    ['reserved data opcode 3', [buildFrame(3, 'x')], 1002],
    ['reserved control opcode 0xB', [buildFrame(0xb, 'x')], 1002],
    ['ping of 126 bytes', [buildFrame(9, Buffer.alloc(126))], 1002],
    ['fragmented ping', [buildFrame(9, 'x', { fin: false })], 1002],
    ['fragmented close', [buildFrame(8, closePayload(1000), { fin: false })], 1002],
    ['continuation without start', [buildFrame(0, 'x')], 1002],
    ['new message inside a fragmented one', [buildFrame(1, 'a', { fin: false }), buildFrame(2, 'b')], 1002],
    ['close with 1-byte payload', [buildFrame(8, Buffer.from([3]))], 1002],
    ['close with code 1005', [buildFrame(8, closePayload(1005))], 1002],
    ['close with code 999', [buildFrame(8, closePayload(999))], 1002],
    ['close with code 2000', [buildFrame(8, closePayload(2000))], 1002],
    ['close with code 5000', [buildFrame(8, closePayload(5000))], 1002],
    ['close reason not UTF-8', [buildFrame(8, closePayload(1000, Buffer.from([0xff])))], 1007],
    ['text not UTF-8', [buildFrame(1, Buffer.from([0xc3, 0x28]))], 1007],
    ['text ends mid-character', [buildFrame(1, Buffer.from([0xe2, 0x82]))], 1007],
    ['invalid UTF-8 in an unfinished fragment', [buildFrame(1, Buffer.from([0xed, 0xa0]), { fin: false })], 1007],
    ['message over maxPayload', [buildFrame(2, Buffer.alloc(101))], 1009],
    ['fragments over maxPayload', [buildFrame(2, Buffer.alloc(60), { fin: false }), buildFrame(0, Buffer.alloc(60))], 1009],
  ];
  for (const [name, frames, code] of cases) {
    it(`${name} → ${code}`, () => {
      const { connection, events, output } = harness('server', 100);
      for (const frame of frames) connection.receive(frame);
      expect(events.filter((e) => e[0] === 'error')).toEqual([['error', code]]);
      expect(output().at(-1)!.payload.readUInt16BE(0)).toBe(code);
    });
  }

  it('a masked frame from the server fails the client with 1002', () => {
    const { connection, events } = harness('client');
    connection.receive(buildFrame(1, 'x'));
    expect(events).toEqual([['error', 1002]]);
  });
});

describe('Connection with permessage-deflate negotiated (RFC 7692 §6.1)', () => {
  function deflateHarness() {
    const events: unknown[] = [];
    const connection = new Connection(
      {
        write: () => {},
        onMessage: (data, isBinary, compressed) => events.push(['message', data.toString('hex'), isBinary, compressed]),
        onPing: () => {},
        onPong: () => {},
        onCloseReceived: () => {},
        onProtocolError: (error) => events.push(['error', error.closeCode]),
      },
      { role: 'server', perMessageDeflate: true },
    );
    return { connection, events };
  }

  it('hands compressed messages on unchecked, marked as compressed, even when fragmented', () => {
    const { connection, events } = deflateHarness();
    connection.receive(buildFrame(1, Buffer.from([0xff, 0xfe]), { rsv: 4, fin: false }));
    connection.receive(buildFrame(0, Buffer.from([0xfd])));
    connection.receive(buildFrame(1, 'plain'));
    expect(events).toEqual([
      ['message', 'fffefd', false, true],
      ['message', Buffer.from('plain').toString('hex'), false, false],
    ]);
  });

  for (const [name, frames] of [
    ['RSV1 on a continuation frame', [buildFrame(1, 'a', { fin: false }), buildFrame(0, 'b', { rsv: 4 })]],
    ['RSV1 on a ping', [buildFrame(9, 'p', { rsv: 4 })]],
    ['RSV1 on a close', [buildFrame(8, closePayload(1000), { rsv: 4 })]],
    ['RSV2 (no extension defines it)', [buildFrame(1, 'x', { rsv: 2 })]],
  ] as const) {
    it(`${name} → 1002`, () => {
      const { connection, events } = deflateHarness();
      for (const frame of frames) connection.receive(frame);
      expect(events).toEqual([['error', 1002]]);
    });
  }
});

describe('Connection: closing handshake (§5.5.1, §7)', () => {
  it('echoes the peer\'s code and reports it', () => {
    const { connection, events, output } = harness('server');
    connection.receive(buildFrame(8, closePayload(4001, 'bye')));
    expect(events).toEqual([['close', 4001, 'bye']]);
    expect(output()[0].payload.readUInt16BE(0)).toBe(4001);
    expect(connection.state).toBe('closed');
  });

  it('answers an empty close with an empty close and reports 1005', () => {
    const { connection, events, output } = harness('server');
    connection.receive(buildFrame(8));
    expect(events).toEqual([['close', 1005, '']]);
    expect(output()[0].payload.length).toBe(0);
  });

  it('sends nothing after its own close frame and does not reply twice', () => {
    const { connection, events, output } = harness('server');
    connection.close(1000, 'done');
    expect(connection.state).toBe('closing');
    expect(() => connection.send('late', false)).toThrow(InvalidStateError);
    expect(() => connection.ping()).toThrow(InvalidStateError);
    connection.receive(buildFrame(9, 'ping while closing'));
    connection.receive(buildFrame(1, 'still delivered'));
    connection.receive(buildFrame(8, closePayload(1000)));
    expect(connection.state).toBe('closed');
    expect(output().map((f) => f.opcode)).toEqual([0x8]);
    expect(events).toEqual([
      ['ping', Buffer.from('ping while closing').toString('hex')],
      ['message', 'still delivered', false],
      ['close', 1000, ''],
    ]);
  });

  it('refuses close codes that may not be sent and overlong reasons', () => {
    const { connection } = harness('server');
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 2000, 5000]) expect(() => connection.close(code)).toThrow(RangeError);
    expect(() => connection.close(1000, 'x'.repeat(124))).toThrow(RangeError);
    expect(connection.state).toBe('open');
  });
});

describe('RFC 6455 §5.7 examples, byte for byte', () => {
  const hex = (s: string) => Buffer.from(s.replace(/0x|\s/g, ''), 'hex');

  it('a masked "Hello" from a client, and the server\'s unmasked "Hello"', () => {
    const { connection, events } = harness('server');
    connection.receive(hex('0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58'));
    expect(events).toEqual([['message', 'Hello', false]]);
    const sender = harness('server');
    sender.connection.send('Hello', false);
    expect(sender.raw()).toEqual(hex('0x81 0x05 0x48 0x65 0x6c 0x6c 0x6f'));
  });

  it('a fragmented unmasked "Hel" + "lo" at a client', () => {
    const { connection, events } = harness('client');
    connection.receive(hex('0x01 0x03 0x48 0x65 0x6c'));
    connection.receive(hex('0x80 0x02 0x6c 0x6f'));
    expect(events).toEqual([['message', 'Hello', false]]);
  });

  it('an unmasked ping at a client is answered with the RFC\'s masked pong', () => {
    const client = harness('client', undefined, () => hex('37 fa 21 3d'));
    client.connection.receive(hex('0x89 0x05 0x48 0x65 0x6c 0x6c 0x6f'));
    expect(client.raw()).toEqual(hex('0x8a 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58'));
  });

  it('256-byte and 64 KiB binary messages use the 16- and 64-bit length forms', () => {
    const { connection, events } = harness('client');
    connection.receive(Buffer.concat([hex('0x82 0x7E 0x0100'), Buffer.alloc(256, 1)]));
    connection.receive(Buffer.concat([hex('0x82 0x7F 0x0000000000010000'), Buffer.alloc(65536, 2)]));
    expect(events.map((e) => (e[0] === 'message' ? e[1].length / 2 : -1))).toEqual([256, 65536]);
  });
});
