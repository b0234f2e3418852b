// `pushwire trace`: a transparent TCP proxy between a WebSocket client and
// server that prints every frame both ways, annotated — FIN, RSV, opcode,
// mask, length and its encoding, a payload preview, close codes by name,
// compressed messages inflated (RFC 7692) — for teaching and debugging.
// The bytes pass through unchanged; the tap only reads.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Inflater } from './deflate.js';
import { parseTarget } from './runner.js';
import { describePayload } from './verdict.js';
import { FrameDecoder, Op, opcodeName, type DecodedFrame } from './wire.js';

/** Close codes by name (RFC 6455 §7.4.1 and the IANA registry, §11.7). */
export const CLOSE_CODE_NAMES: Record<number, string> = {
  1000: 'Normal Closure',
  1001: 'Going Away',
  1002: 'Protocol Error',
  1003: 'Unsupported Data',
  1004: 'Reserved',
  1005: 'No Status Rcvd (must not be sent)',
  1006: 'Abnormal Closure (must not be sent)',
  1007: 'Invalid Frame Payload Data',
  1008: 'Policy Violation',
  1009: 'Message Too Big',
  1010: 'Mandatory Extension',
  1011: 'Internal Error',
  1012: 'Service Restart',
  1013: 'Try Again Later',
  1014: 'Bad Gateway',
  1015: 'TLS Handshake (must not be sent)',
};

/** Options of a trace proxy. */
export interface TraceOptions {
  /** Port to listen on (0: a free one). */
  listen: number;
  /** Address to listen on. Default 127.0.0.1. */
  host?: string;
  /** The WebSocket server to forward to: ws://host:port (wss:// too). */
  target: string;
  /** wss:// target: accept a certificate that does not verify. */
  insecure?: boolean;
  /** Where lines go. Default: stdout. */
  write?: (line: string) => void;
  /** Payload bytes shown per frame. Default 48. */
  preview?: number;
}

/** A running trace proxy. */
export interface TraceProxy {
  /** Where clients connect instead of the target. */
  url: string;
  close(): Promise<void>;
}

/** One annotated line for a frame (the arrow says which way it went). */
export function describeWireFrame(f: DecodedFrame, arrow: string, preview = 48, inflated?: Buffer): string {
  const length = f.payload.length;
  const form = f.lengthForm === 7 ? '' : f.lengthForm === 16 ? ' (16-bit length)' : ' (64-bit length)';
  const minimal = (length < 126 ? 7 : length < 65536 ? 16 : 64) === f.lengthForm ? '' : ' NOT MINIMAL';
  const flags = [f.fin ? 'FIN' : 'fin=0', f.rsv ? `RSV=${f.rsv.toString(2).padStart(3, '0')}` : '', f.masked ? `MASK=${Buffer.from(f.mask!).toString('hex')}` : 'unmasked']
    .filter(Boolean)
    .join(' ');
  let body = '';
  if (f.opcode === Op.Close) {
    if (length >= 2) {
      const code = f.payload.readUInt16BE(0);
      const reason = f.payload.subarray(2);
      body = ` code ${code} (${CLOSE_CODE_NAMES[code] ?? (code >= 3000 && code <= 4999 ? 'application' : 'not a valid code')})${reason.length > 0 ? ` reason ${JSON.stringify(reason.toString('utf8'))}` : ''}`;
    } else body = length === 1 ? ' (a 1-byte body: invalid)' : ' (no code)';
  } else if (inflated) body = ` compressed → ${describePayload(f.opcode, inflated, preview).replace(/^\S+ /, '')}`;
  else if (length > 0) body = ` ${describePayload(f.opcode, f.payload, preview).replace(/^\S+ \d+ B ?/, '')}`;
  return `${arrow} ${opcodeName(f.opcode)} ${flags} len=${length}${form}${minimal}${body}`;
}

/** One direction of one connection: HTTP head first, then frames. */
class Tap {
  private head: Buffer | null = Buffer.alloc(0);
  private readonly decoder = new FrameDecoder();
  private inflater: Inflater | null = null;
  /** Fragments of a compressed message, inflated when it ends. */
  private compressed: Buffer[] | null = null;
  broken = false;

  constructor(
    private readonly arrow: string,
    private readonly line: (text: string) => void,
    private readonly preview: number,
    private readonly onHead: (head: string) => void,
  ) {}

  /** permessage-deflate was agreed: RSV1 messages are inflated for the preview. */
  inflate(): void {
    this.inflater = new Inflater();
  }

  push(chunk: Buffer): void {
    if (this.broken) return;
    if (this.head) {
      this.head = Buffer.concat([this.head, chunk]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (this.head.length > 64 * 1024) this.stop('no end of the HTTP head within 64 KiB');
        return;
      }
      const rest = this.head.subarray(end + 4);
      this.onHead(this.head.subarray(0, end).toString('latin1'));
      this.head = null;
      if (rest.length > 0) this.frames(rest);
      return;
    }
    this.frames(chunk);
  }

  private frames(chunk: Buffer): void {
    let frames: DecodedFrame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (error) {
      return this.stop(`unreadable: ${(error as Error).message}`);
    }
    for (const f of frames) {
      let inflated: Buffer | undefined;
      if (this.inflater && f.opcode <= Op.Binary) {
        if (f.opcode !== Op.Continuation) this.compressed = (f.rsv & 4) !== 0 ? [] : null;
        if (this.compressed) {
          this.compressed.push(f.payload);
          if (f.fin) {
            try {
              inflated = this.inflater.inflate(Buffer.concat(this.compressed));
            } catch (error) {
              this.line(`${this.arrow} (a compressed message that does not inflate: ${(error as Error).message})`);
            }
            this.compressed = null;
          }
        }
      }
      this.line(describeWireFrame(f, this.arrow, this.preview, inflated));
    }
  }

  /** Stop decoding (the bytes still pass). */
  stop(why: string): void {
    this.broken = true;
    this.line(`${this.arrow} ${why}; no more frames decoded this way`);
  }
}

/**
 * Start a trace proxy: clients connect to it as they would to `target`;
 * every frame both ways is printed, one line each, `→` client to server,
 * `←` server to client, numbered by connection.
 *
 * @example
 * const proxy = await startTrace({ listen: 9002, target: 'ws://127.0.0.1:9001/' });
 * // point the client at ws://127.0.0.1:9002/ instead
 */
export async function startTrace(options: TraceOptions): Promise<TraceProxy> {
  const target = parseTarget(options.target, options.insecure);
  const write = options.write ?? ((text: string) => void process.stdout.write(`${text}\n`));
  const preview = options.preview ?? 48;
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server = net.createServer((client) => {
    const n = ++count;
    const line = (text: string): void => write(`#${n} ${text}`);
    const upstream = target.secure
      ? tls.connect({ host: target.host, port: target.port, servername: net.isIP(target.host) ? undefined : target.host, rejectUnauthorized: !target.insecure })
      : net.connect({ host: target.host, port: target.port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    line(`client ${client.remoteAddress}:${client.remotePort} connected; forwarding to ${options.target}`);
    const up = new Tap('→', line, preview, (head) => {
      const [requestLine, ...fields] = head.split('\r\n');
      line(`→ ${requestLine}`);
      for (const f of fields) if (/^(sec-websocket-[a-z]+|upgrade|connection|origin):/i.test(f)) line(`→   ${f}`);
    });
    const down = new Tap('←', line, preview, (head) => {
      const [statusLine, ...fields] = head.split('\r\n');
      line(`← ${statusLine}`);
      for (const f of fields) if (/^(sec-websocket-[a-z]+|upgrade|connection):/i.test(f)) line(`←   ${f}`);
      if (!/^HTTP\/1\.1 101\b/.test(statusLine)) {
        up.stop('not upgraded');
        down.stop('not upgraded');
      } else if (fields.some((f) => /^sec-websocket-extensions:.*permessage-deflate/i.test(f))) {
        up.inflate();
        down.inflate();
      }
    });
    client.on('data', (chunk: Buffer) => up.push(chunk));
    upstream.on('data', (chunk: Buffer) => down.push(chunk));
    client.pipe(upstream);
    upstream.pipe(client);
    const ended = (who: string) => (): void => line(`${who} closed TCP`);
    client.once('end', ended('client'));
    upstream.once('end', ended('server'));
    const failed = (who: string, other: net.Socket) => (error: Error): void => {
      line(`${who}: ${error.message}`);
      other.destroy();
    };
    client.on('error', failed('client', upstream));
    upstream.on('error', failed('server', client));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as net.AddressInfo;
  return {
    url: `ws://${address.includes(':') ? `[${address}]` : address}:${port}${target.path}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
