// Autobahn-style conformance cases against `pushwire echo`, driven over raw
// TCP with hand-built frames. Case numbers follow the Autobahn TestSuite's
// sections (1 framing, 2 pings, 3 reserved bits, 4 opcodes, 5 fragmentation,
// 6 UTF-8, 7 closing, 9 limits) so failures are easy to map to the RFC.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocketServer } from '../../src/ws/server.js';
import { parseArgs, startEcho } from '../../src/cli.js';
import { buildFrame, closePayload, type RawFrame } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';

const TEXT = 0x1;
const BINARY = 0x2;
const CONT = 0x0;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

let server: WebSocketServer;
let port: number;

beforeAll(async () => {
  server = await startEcho(parseArgs(['echo', '--port', '0', '--max-payload', String(16 * 1024 * 1024)]));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function dataFrames(frames: RawFrame[]): RawFrame[] {
  return frames.filter((frame) => frame.opcode !== CLOSE);
}

/** Send `bytes`, then a clean close; expect exactly `expected` back before the close echo. */
async function exchange(bytes: Buffer[], expected: { opcode: number; payload: Buffer | string }[]): Promise<void> {
  const client = await RawClient.connect(port);
  for (const chunk of bytes) client.send(chunk);
  await client.until(() => dataFrames(client.frames).length >= expected.length);
  client.send(buildFrame(CLOSE, closePayload(1000)));
  const { code, frames } = await client.closedWith();
  expect(code).toBe(1000);
  // Payloads compared as base64 strings: deep equality on large Buffers is slow.
  const got = dataFrames(frames).map((frame) => ({ opcode: frame.opcode, payload: frame.payload.toString('base64') }));
  expect(got).toEqual(expected.map((e) => ({ opcode: e.opcode, payload: Buffer.from(e.payload).toString('base64') })));
}

/** Send `bytes`; expect the server to fail the connection with `code` and then close TCP. */
async function expectFailure(bytes: Buffer[], code: number, echoedFirst = 0): Promise<RawFrame[]> {
  const client = await RawClient.connect(port);
  for (const chunk of bytes) client.send(chunk);
  const result = await client.closedWith();
  expect(result.code).toBe(code);
  expect(dataFrames(result.frames).filter((f) => f.opcode !== PONG)).toHaveLength(echoedFirst);
  return result.frames;
}

describe('1 framing: echo of text and binary at every length form', () => {
  for (const length of [0, 1, 125, 126, 127, 128, 65535, 65536, 65537]) {
    it(`text of ${length} bytes`, async () => {
      const text = 'x'.repeat(length);
      await exchange([buildFrame(TEXT, text)], [{ opcode: TEXT, payload: text }]);
    });
    it(`binary of ${length} bytes`, async () => {
      const data = Buffer.alloc(length, 0xfe);
      await exchange([buildFrame(BINARY, data)], [{ opcode: BINARY, payload: data }]);
    });
  }
  it('a text frame chopped into 1-byte writes', async () => {
    const frame = buildFrame(TEXT, 'Hello, chopped world');
    const client = await RawClient.connect(port);
    for (const byte of frame) {
      client.send(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await client.until(() => client.frames.length === 1);
    expect(client.frames[0].payload.toString()).toBe('Hello, chopped world');
    client.destroy();
  });
  it('non-minimal length encodings are accepted', async () => {
    await exchange([buildFrame(TEXT, 'short', { lengthForm: 64 })], [{ opcode: TEXT, payload: 'short' }]);
  });
});

describe('2 pings and pongs', () => {
  it('2.1 ping without payload → pong without payload', async () => {
    await exchange([buildFrame(PING)], [{ opcode: PONG, payload: '' }]);
  });
  it('2.3 ping with binary payload → identical pong', async () => {
    const data = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
    await exchange([buildFrame(PING, data)], [{ opcode: PONG, payload: data }]);
  });
  it('2.4 ping with 125-byte payload', async () => {
    const data = Buffer.alloc(125, 0xfe);
    await exchange([buildFrame(PING, data)], [{ opcode: PONG, payload: data }]);
  });
  it('2.5 ping with 126-byte payload → 1002', async () => {
    await expectFailure([buildFrame(PING, Buffer.alloc(126, 0xfe))], 1002);
  });
  it('2.6 ping with 125 bytes sent one byte at a time', async () => {
    const data = Buffer.alloc(125, 0x41);
    const frame = buildFrame(PING, data);
    await exchange([...frame].map((byte) => Buffer.from([byte])), [{ opcode: PONG, payload: data }]);
  });
  it('2.7 unsolicited pong is ignored', async () => {
    await exchange([buildFrame(PONG), buildFrame(TEXT, 'after')], [{ opcode: TEXT, payload: 'after' }]);
  });
  it('2.8 unsolicited pong with payload is ignored', async () => {
    await exchange([buildFrame(PONG, 'unsolicited'), buildFrame(TEXT, 'after')], [{ opcode: TEXT, payload: 'after' }]);
  });
  it('2.10 ten pings → ten pongs in order', async () => {
    const pings = Array.from({ length: 10 }, (_, i) => buildFrame(PING, `payload-${i}`));
    await exchange(pings, pings.map((_, i) => ({ opcode: PONG, payload: `payload-${i}` })));
  });
});

describe('3 reserved bits without an extension → 1002', () => {
  for (let rsv = 1; rsv <= 7; rsv++) {
    it(`RSV=${rsv} on a text frame, after a valid message`, async () => {
      await expectFailure([buildFrame(TEXT, 'ok'), buildFrame(TEXT, 'bad', { rsv }), buildFrame(PING)], 1002, 1);
    });
  }
  it('RSV on a ping', async () => {
    await expectFailure([buildFrame(PING, 'x', { rsv: 4 })], 1002);
  });
  it('RSV on a close', async () => {
    await expectFailure([buildFrame(CLOSE, closePayload(1000), { rsv: 2 })], 1002);
  });
});

describe('4 reserved opcodes → 1002', () => {
  for (const opcode of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    it(`opcode 0x${opcode.toString(16)}, after a valid message`, async () => {
      await expectFailure([buildFrame(TEXT, 'ok'), buildFrame(opcode, 'payload'), buildFrame(PING)], 1002, 1);
    });
  }
});

describe('5 fragmentation', () => {
  it('5.1 fragmented ping → 1002', async () => {
    await expectFailure([buildFrame(PING, 'frag', { fin: false }), buildFrame(CONT, 'ment')], 1002);
  });
  it('5.2 fragmented pong → 1002', async () => {
    await expectFailure([buildFrame(PONG, 'frag', { fin: false }), buildFrame(CONT, 'ment')], 1002);
  });
  it('5.3 text in two fragments', async () => {
    await exchange(
      [buildFrame(TEXT, 'frag', { fin: false }), buildFrame(CONT, 'ment')],
      [{ opcode: TEXT, payload: 'fragment' }],
    );
  });
  it('5.6 a ping between the fragments is answered first', async () => {
    await exchange(
      [buildFrame(TEXT, 'frag', { fin: false }), buildFrame(PING, 'ping'), buildFrame(CONT, 'ment')],
      [
        { opcode: PONG, payload: 'ping' },
        { opcode: TEXT, payload: 'fragment' },
      ],
    );
  });
  it('5.15 many fragments with empty ones among them', async () => {
    await exchange(
      [
        buildFrame(BINARY, '', { fin: false }),
        buildFrame(CONT, 'a', { fin: false }),
        buildFrame(CONT, '', { fin: false }),
        buildFrame(CONT, 'b'),
      ],
      [{ opcode: BINARY, payload: 'ab' }],
    );
  });
  it('5.9 continuation without a message → 1002', async () => {
    await expectFailure([buildFrame(CONT, 'orphan')], 1002);
  });
  it('5.10 continuation with FIN clear and no message → 1002', async () => {
    await expectFailure([buildFrame(CONT, 'orphan', { fin: false }), buildFrame(TEXT, 'x')], 1002);
  });
  it('5.18 a new text frame inside a fragmented message → 1002', async () => {
    await expectFailure([buildFrame(TEXT, 'a', { fin: false }), buildFrame(TEXT, 'b', { fin: false })], 1002);
  });
  it('a new binary frame inside a fragmented text message → 1002', async () => {
    await expectFailure([buildFrame(TEXT, 'a', { fin: false }), buildFrame(BINARY, 'b')], 1002);
  });
  it('a close between fragments ends the connection cleanly', async () => {
    const client = await RawClient.connect(port);
    client.send(buildFrame(TEXT, 'a', { fin: false }));
    client.send(buildFrame(CLOSE, closePayload(1000)));
    const { code, frames } = await client.closedWith();
    expect(code).toBe(1000);
    expect(dataFrames(frames)).toHaveLength(0);
  });
});

describe('6 UTF-8', () => {
  const valid = [
    'κόσμε',
    'Hello-µ@ßöäüàá-UTF-8!!',
    '\u{10FFFF}\u{10000}\uFFFF\uE000\uD7FF\u0080\u07FF\u0800',
    '𝄞 music 🎵',
  ];
  for (const text of valid) {
    it(`valid ${JSON.stringify(text)} in one frame and byte-wise fragments`, async () => {
      const bytes = Buffer.from(text);
      const fragments = [...bytes].map((byte, i) =>
        buildFrame(i === 0 ? TEXT : CONT, Buffer.from([byte]), { fin: i === bytes.length - 1 }),
      );
      await exchange([buildFrame(TEXT, bytes), ...fragments], [
        { opcode: TEXT, payload: bytes },
        { opcode: TEXT, payload: bytes },
      ]);
    });
  }
  const invalid: [string, number[]][] = [
    ['lone continuation', [0x80]],
    ['overlong slash', [0xc0, 0xaf]],
    ['overlong 3-byte', [0xe0, 0x80, 0xaf]],
    ['overlong 4-byte', [0xf0, 0x80, 0x80, 0xaf]],
    ['surrogate U+D800', [0xed, 0xa0, 0x80]],
    ['surrogate U+DFFF', [0xed, 0xbf, 0xbf]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['F5 lead', [0xf5, 0x80, 0x80, 0x80]],
    ['FE byte', [0xfe]],
    ['FF byte', [0xff]],
    ['truncated 2-byte at end', [0x41, 0xc2]],
    ['truncated 3-byte at end', [0x41, 0xe2, 0x82]],
    ['truncated 4-byte at end', [0xf0, 0x9f, 0x98]],
    ['lead followed by ASCII', [0xc2, 0x41]],
  ];
  for (const [name, bytes] of invalid) {
    it(`invalid (${name}) → 1007`, async () => {
      await expectFailure([buildFrame(TEXT, Buffer.concat([Buffer.from('κόσμε'), Buffer.from(bytes)]))], 1007);
    });
  }
  it('6.4.1 fail fast: an invalid fragment fails before the message ends', async () => {
    // The second fragment holds a code point above U+10FFFF; FIN never comes.
    await expectFailure(
      [buildFrame(TEXT, Buffer.from('κόσμε'), { fin: false }), buildFrame(CONT, Buffer.from([0xf4, 0x90, 0x80, 0x80]), { fin: false })],
      1007,
    );
  });
  it('6.4.3 fail fast: invalid bytes inside a frame whose payload never completes', async () => {
    const frame = buildFrame(TEXT, Buffer.concat([Buffer.from('κόσμε'), Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.alloc(100, 0x41)]));
    // Send the header and the payload up to just past the invalid bytes only.
    const headerLength = 2 + 4;
    await expectFailure([frame.subarray(0, headerLength + Buffer.byteLength('κόσμε') + 2)], 1007);
  });
  it('text split inside a character across fragments is valid', async () => {
    const bytes = Buffer.from('€'); // e2 82 ac
    await exchange(
      [buildFrame(TEXT, bytes.subarray(0, 1), { fin: false }), buildFrame(CONT, bytes.subarray(1))],
      [{ opcode: TEXT, payload: bytes }],
    );
  });
});

describe('7 closing handshake', () => {
  it('7.1.1 echoes 1000 and the server closes TCP', async () => {
    const client = await RawClient.connect(port);
    client.send(buildFrame(CLOSE, closePayload(1000)));
    const { code } = await client.closedWith();
    expect(code).toBe(1000);
  });
  it('7.1.3 nothing after the close frame is processed', async () => {
    const client = await RawClient.connect(port);
    client.send(Buffer.concat([buildFrame(CLOSE, closePayload(1000)), buildFrame(TEXT, 'late'), buildFrame(PING)]));
    const { frames } = await client.closedWith();
    expect(frames.map((f) => f.opcode)).toEqual([CLOSE]);
  });
  it('7.3.1 empty close payload → empty close reply', async () => {
    const client = await RawClient.connect(port);
    client.send(buildFrame(CLOSE));
    const { frames } = await client.closedWith();
    expect(frames).toHaveLength(1);
    expect(frames[0].payload.length).toBe(0);
  });
  it('7.3.2 close payload of 1 byte → 1002', async () => {
    await expectFailure([buildFrame(CLOSE, Buffer.from([0x03]))], 1002);
  });
  it('7.3.5 close reason of 123 bytes', async () => {
    const client = await RawClient.connect(port);
    client.send(buildFrame(CLOSE, closePayload(1000, 'r'.repeat(123))));
    expect((await client.closedWith()).code).toBe(1000);
  });
  it('7.3.6 close payload of 126 bytes → 1002', async () => {
    await expectFailure([buildFrame(CLOSE, closePayload(1000, 'r'.repeat(124)))], 1002);
  });
  it('7.5.1 close reason that is not UTF-8 → 1007', async () => {
    await expectFailure([buildFrame(CLOSE, closePayload(1000, Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64])))], 1007);
  });
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    it(`7.7 valid code ${code} is echoed`, async () => {
      const client = await RawClient.connect(port);
      client.send(buildFrame(CLOSE, closePayload(code)));
      expect((await client.closedWith()).code).toBe(code);
    });
  }
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    it(`7.9 invalid code ${code} → 1002`, async () => {
      await expectFailure([buildFrame(CLOSE, closePayload(code))], 1002);
    });
  }
});

describe('9 limits and large messages', () => {
  it('9.1 a 4 MiB text message', async () => {
    const text = 'abcdefghij'.repeat(419431);
    const client = await RawClient.connect(port);
    client.send(buildFrame(TEXT, text));
    await client.until(() => client.frames.length === 1, 20000);
    expect(client.frames[0].payload.equals(Buffer.from(text))).toBe(true);
    client.destroy();
  });
  it('9.2 a 1 MiB binary message in 64-byte frames, written in 1000-byte chunks', async () => {
    const data = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = i * 7;
    const frames: Buffer[] = [];
    for (let at = 0; at < data.length; at += 64) {
      frames.push(buildFrame(at === 0 ? BINARY : CONT, data.subarray(at, at + 64), { fin: at + 64 >= data.length }));
    }
    const stream = Buffer.concat(frames);
    const client = await RawClient.connect(port);
    for (let at = 0; at < stream.length; at += 1000) client.send(stream.subarray(at, at + 1000));
    await client.until(() => client.frames.length === 1, 20000);
    expect(client.frames[0].payload.equals(data)).toBe(true);
    client.destroy();
  });
  it('a message announced above maxPayload fails with 1009 before its payload arrives', async () => {
    const header = Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x10, 0, 0, 0, 1, 2, 3, 4]); // 256 MiB, masked
    await expectFailure([header], 1009);
  });
  it('fragments summing above maxPayload fail with 1009', async () => {
    const piece = Buffer.alloc(9 * 1024 * 1024);
    const header = (opcode: number, fin: boolean): Buffer => buildFrame(opcode, piece, { fin }).subarray(0, 14);
    const client = await RawClient.connect(port);
    client.send(buildFrame(BINARY, piece, { fin: false }));
    client.send(header(CONT, false)); // 9 MiB + 9 MiB announced: over the 16 MiB limit
    const { code } = await client.closedWith();
    expect(code).toBe(1009);
  });
  it('a 64-bit length with the top bit set → 1002', async () => {
    await expectFailure([Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4])], 1002);
  });
});

describe('masking', () => {
  it('an unmasked client frame → 1002', async () => {
    await expectFailure([buildFrame(TEXT, 'plain', { mask: null })], 1002);
  });
  it('an all-zero mask is still a mask', async () => {
    await exchange([buildFrame(TEXT, 'zero', { mask: Buffer.alloc(4) })], [{ opcode: TEXT, payload: 'zero' }]);
  });
});

describe('fuzzing the live server', () => {
  it('any byte stream after the handshake ends open or in a close with a protocol code; the server keeps serving', async () => {
    const frameish = fc.oneof(
      fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
      fc
        .record({
          opcode: fc.integer({ min: 0, max: 15 }),
          fin: fc.boolean(),
          rsv: fc.constantFrom(0, 0, 0, 4),
          payload: fc.uint8Array({ maxLength: 140 }),
          masked: fc.constantFrom(true, true, true, false),
        })
        .map((f) => buildFrame(f.opcode, Buffer.from(f.payload), { fin: f.fin, rsv: f.rsv, mask: f.masked ? Buffer.from([1, 2, 3, 4]) : null })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(frameish, { minLength: 1, maxLength: 6 }), async (parts) => {
        const client = await RawClient.connect(port);
        client.send(Buffer.concat(parts));
        // Give the server time to answer; then it has either closed or is still open.
        await client.until(() => client.closed, 300).catch(() => {});
        const close = client.frames.find((frame) => frame.opcode === CLOSE);
        if (client.closed && close && close.payload.length >= 2) {
          const code = close.payload.readUInt16BE(0);
          // an echo of a valid code the fuzzer sent, or the server's own protocol error code
          expect((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)).toBe(true);
        }
        client.destroy();
      }),
      { numRuns: 60 },
    );
    await exchange([buildFrame(TEXT, 'still serving')], [{ opcode: TEXT, payload: 'still serving' }]);
  });
});
