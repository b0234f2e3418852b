// The conformance tool's I/O: one raw TCP (or TLS) connection per case.
// Against a server it dials and performs the client's opening handshake
// (RFC 6455 §4.1) by hand; against a client, the connection comes from
// client-mode.ts. Either way it writes the case's bytes in the chunks the
// case asks for, records every frame the peer sends and how TCP ends,
// answers the peer's close frame (§5.5.1), ends a connection left open with
// a close of its own, and — playing the server — closes TCP first (§7.1.1).
// Judging is not its job (verdict.ts).
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { checkDeflateResponse, type Negotiated } from './deflate.js';
import { closeBody, encodeFrame, FrameDecoder, Op, type DecodedFrame, type WireFrame } from './wire.js';

/** Where the server under test listens (a `ws://` or `wss://` URL). */
export interface Target {
  host: string;
  port: number;
  /** Path and query sent in the request line. */
  path: string;
  secure: boolean;
  /** For wss://: accept a self-signed certificate. */
  insecure?: boolean;
}

/** Parse `ws://host:port/path` (or wss://). Throws a readable Error otherwise. */
export function parseTarget(url: string, insecure = false): Target {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a URL: ${url}`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new Error(`expected a ws:// or wss:// URL, got ${url}`);
  const secure = parsed.protocol === 'wss:';
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port),
    path: `${parsed.pathname || '/'}${parsed.search}`,
    secure,
    insecure,
  };
}

/** How the case's bytes are written. */
export interface Scenario {
  frames: WireFrame[];
  /**
   * Write boundaries: `frames` (default) one write per frame, `whole` one
   * write, `octets` one byte per write, or explicit end offsets into the
   * concatenated bytes.
   */
  chunks?: 'frames' | 'whole' | 'octets' | number[];
  /**
   * End offsets after which the runner pauses, waiting up to `pauseMs` for
   * the server to close (how fail-fast is observed, Autobahn 6.4).
   */
  pauses?: number[];
  /** Payload of a final ping the case appended: its pong means "all read". */
  sentinel?: Buffer;
  /** Extensions to offer in the handshake (`Sec-WebSocket-Extensions`). */
  offer?: string;
  /**
   * Pick the frames once the handshake has said what was agreed (a
   * compressed case sends other bytes with and without context takeover);
   * null: nothing to send (the offer was declined). Default: `frames`.
   */
  choose?(negotiated: Negotiated | null): WireFrame[] | null;
  /**
   * How many messages the server should echo (the model's answer), so the
   * tool waits for them after the sentinel's pong: a server may answer a
   * ping before it has finished echoing (say, while it compresses).
   */
  expectMessages?(frames: readonly WireFrame[], negotiated: Negotiated | null): number;
}

/** Timeouts and the source of masking keys and handshake nonces. */
export interface RunOptions {
  /** Longest the server may stay silent while the tool waits for its reaction to the case (ms). */
  timeoutMs: number;
  /** Longest wait for TCP to close after the closing handshake (ms). */
  closeTimeoutMs: number;
  /** Wait at each pause of the scenario (ms). */
  pauseMs: number;
  /** Fresh random bytes (seeded by the suite, so runs replay). */
  randomBytes(n: number): Uint8Array;
}

/** A frame the server sent, with when it came. */
export interface ReceivedFrame extends DecodedFrame {
  /** ms since the connection opened. */
  at: number;
  /** Sent after the tool's own closing close frame (the finish). */
  afterFinish: boolean;
}

/** Everything seen on one connection. */
export interface Observation {
  /** The implementation under test: a server the tool dialled, or a client that dialled the tool. */
  peer: 'server' | 'client';
  handshake: { ok: true; extensions: string | null; deflate: Negotiated | null } | { ok: false; error: string };
  /** The frames written (`scenario.frames`, or what `choose` picked). */
  frames: WireFrame[];
  /** `choose` returned null: the server declined what the case needs. */
  declined?: boolean;
  received: ReceivedFrame[];
  /**
   * Bytes of the case written before the peer closed or sent its close
   * frame (all of them, normally; fewer shows it failed fast).
   */
  bytesWritten: number;
  bytesTotal: number;
  /** The sentinel's pong arrived: the peer read everything. */
  sentinelAnswered: boolean;
  /** Which close frame the tool sent: the case's, a reply to the peer's, or its own to end an open connection. */
  toolClose: 'none' | 'case' | 'reply' | 'finish';
  /**
   * How TCP ended: the peer closed it (FIN), reset it, the tool closed it
   * as a server must after the closing handshake (client mode), or the
   * tool gave up and cut it.
   */
  tcp: 'peer-fin' | 'reset' | 'tool-fin' | 'tool-timeout';
  /** The phase that timed out, if any. */
  timedOut?: 'reaction' | 'close';
  /** The peer sent bytes that are not a frame the decoder could read. */
  garbage?: string;
  durationMs: number;
  /** One line per event, for traces. */
  log: string[];
}

/** A connection through its opening handshake, paused, any bytes after the head put back. */
export type Opened =
  | { ok: true; socket: net.Socket; extensions: string | null; deflate: Negotiated | null }
  | { ok: false; error: string };

/** Who is under test, and how the tool gets a connection to it. */
export interface Connector {
  /** `server`: the tool dials a server under test; `client`: a client under test dials the tool. */
  peer: 'server' | 'client';
  /** One connection through the opening handshake (offering `offer`, when the tool is the client). */
  open(offer: string | undefined, options: RunOptions): Promise<Opened>;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEAD = 16 * 1024;

/** The Sec-WebSocket-Accept for a key (§4.2.2 step 5.4). */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/**
 * Read an HTTP head off `socket` (up to CRLF CRLF); leave the socket paused
 * with whatever followed the head put back.
 */
export function readHead(socket: net.Socket, timeoutMs: number, what: string): Promise<{ text: string } | { error: string }> {
  return new Promise((resolve) => {
    let head: Buffer = Buffer.alloc(0);
    const done = (result: { text: string } | { error: string }): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > MAX_HEAD) done({ error: `no end of the ${what} head within ${MAX_HEAD} bytes` });
        return;
      }
      socket.pause();
      if (end + 4 < head.length) socket.unshift(head.subarray(end + 4));
      done({ text: head.subarray(0, end).toString('latin1') });
    };
    const onClose = (): void => done({ error: `the connection closed before the ${what} head ended` });
    const timer = setTimeout(() => done({ error: `no ${what} head within ${timeoutMs} ms` }), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** The tool as a client (§4.1): it dials `target`, the server under test. */
export function dialer(target: Target): Connector {
  return {
    peer: 'server',
    async open(offer, options) {
      let socket: net.Socket;
      try {
        socket = await connectTcp(target, options.timeoutMs);
      } catch (error) {
        return { ok: false, error: `cannot connect: ${(error as Error).message}` };
      }
      socket.on('error', () => {});
      socket.setNoDelay(true);
      const key = Buffer.from(options.randomBytes(16)).toString('base64');
      const hostHeader = target.host.includes(':') ? `[${target.host}]` : target.host;
      socket.write(
        `GET ${target.path} HTTP/1.1\r\nHost: ${hostHeader}:${target.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (offer ? `Sec-WebSocket-Extensions: ${offer}\r\n` : '') +
          '\r\n',
      );
      const head = await readHead(socket, options.timeoutMs, 'response');
      const checked = 'error' in head ? { ok: false as const, error: head.error } : checkResponse(head.text, key, offer);
      if (!checked.ok) {
        socket.destroy();
        return checked;
      }
      return { ok: true, socket, extensions: checked.extensions, deflate: checked.deflate };
    },
  };
}

/** Resolve after `ms`, or when `wake` is called, whichever is first. */
function sleepOrWake(ms: number): { promise: Promise<void>; wake: () => void } {
  let wake!: () => void;
  const promise = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  return { promise, wake };
}

/** Split `total` bytes at the scenario's boundaries: the end offset of each write. */
export function writeEnds(scenario: Scenario, frameBytes: Buffer[]): number[] {
  const total = frameBytes.reduce((sum, b) => sum + b.length, 0);
  const plan = scenario.chunks ?? 'frames';
  let ends: number[];
  if (plan === 'whole') ends = [total];
  else if (plan === 'octets') ends = Array.from({ length: total }, (_, i) => i + 1);
  else if (plan === 'frames') {
    ends = [];
    let at = 0;
    for (const bytes of frameBytes) ends.push((at += bytes.length));
  } else ends = [...plan.filter((end) => end > 0 && end < total), total];
  for (const pause of scenario.pauses ?? []) if (pause > 0 && pause < total) ends.push(pause);
  return [...new Set(ends)].sort((a, b) => a - b).filter((end) => end > 0);
}

/**
 * Run one scenario over a connection from `connector` and report what the
 * peer did. Never rejects: connection errors become part of the observation.
 */
export async function runScenario(connector: Connector, scenario: Scenario, options: RunOptions): Promise<Observation> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const log: string[] = [];
  const peer = connector.peer;
  const obs: Observation = {
    peer,
    handshake: { ok: false, error: 'not attempted' },
    frames: scenario.frames,
    received: [],
    bytesWritten: 0,
    bytesTotal: 0,
    sentinelAnswered: false,
    toolClose: 'none',
    tcp: 'tool-timeout',
    durationMs: 0,
    log,
  };

  // --- §4 opening handshake ---
  const opened = await connector.open(scenario.offer, options);
  if (!opened.ok) {
    obs.handshake = { ok: false, error: opened.error };
    obs.durationMs = elapsed();
    return obs;
  }
  obs.handshake = { ok: true, extensions: opened.extensions, deflate: opened.deflate };
  log.push(`${elapsed()} ms · opening handshake done`);
  const socket = opened.socket;
  // §5.1: a client masks every frame, a server none. The tool plays whichever role the peer does not.
  const toolIsServer = peer === 'client';
  const ourMask = (): Uint8Array | null => (toolIsServer ? null : options.randomBytes(4));

  let closed = false;
  let sawEnd = false;
  let reset = false;
  let toolEnded = false;
  let peerClosed = false;
  let wakeUp: (() => void) | null = null;
  const wake = (): void => {
    const w = wakeUp;
    wakeUp = null;
    w?.();
  };
  /** When the peer last sent something: a wait with `idle` set runs until it has been silent that long. */
  let lastHeard = performance.now();
  /** Wait until `done()` holds or `ms` pass (counted from the peer's last frame when `idle`); true when it holds. */
  const waitFor = async (done: () => boolean, ms: number, idle = false): Promise<boolean> => {
    const deadline = performance.now() + ms;
    while (!done()) {
      const left = (idle ? Math.max(deadline, lastHeard + ms) : deadline) - performance.now();
      if (left <= 0) return false;
      const sleeper = sleepOrWake(left);
      wakeUp = sleeper.wake;
      await sleeper.promise;
    }
    return true;
  };
  /** §5.5.1, §7.1.1: once both close frames have passed, a server closes TCP at once. */
  const serverEndsTcp = (): void => {
    if (!toolIsServer || toolEnded || obs.toolClose === 'none' || !peerClosed) return;
    toolEnded = true;
    socket.end();
    log.push(`${elapsed()} ms → TCP FIN (the tool, as the server, closes first)`);
    wake();
  };

  socket.on('end', () => {
    sawEnd = true;
    log.push(`${elapsed()} ms ← TCP FIN from the ${peer}`);
    wake();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'ECONNRESET' || error.code === 'EPIPE') reset = true;
    log.push(`${elapsed()} ms · socket error ${error.code ?? error.message}`);
  });
  socket.on('close', () => {
    closed = true;
    wake();
  });

  const decoder = new FrameDecoder();
  let finishSent = false;
  let messagesHeard = 0;
  socket.on('data', (chunk: Buffer) => {
    let frames: DecodedFrame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      obs.garbage = (error as Error).message;
      log.push(`${elapsed()} ms ← unreadable: ${obs.garbage}`);
      socket.destroy();
      return;
    }
    if (frames.length > 0) lastHeard = performance.now();
    for (const f of frames) {
      obs.received.push({ ...f, at: elapsed(), afterFinish: finishSent });
      if (f.fin && f.opcode <= Op.Binary) messagesHeard++;
      if (f.opcode === Op.Pong && scenario.sentinel && f.payload.equals(scenario.sentinel)) obs.sentinelAnswered = true;
      if (f.opcode === Op.Close && !peerClosed) {
        peerClosed = true;
        if (obs.toolClose === 'none') {
          // §5.5.1: an endpoint that receives a close frame answers with one (echoing the code).
          const code = f.payload.length >= 2 ? f.payload.readUInt16BE(0) : undefined;
          const echo = code === undefined ? undefined : code === 1005 || code === 1006 || code === 1015 || code < 1000 || code > 4999 ? 1000 : code;
          socket.write(encodeFrame({ fin: true, rsv: 0, opcode: Op.Close, mask: ourMask(), payload: closeBody(echo) }));
          obs.toolClose = 'reply';
          log.push(`${elapsed()} ms → close reply${echo === undefined ? '' : ` ${echo}`}`);
        }
        serverEndsTcp();
      }
    }
    wake();
  });
  socket.resume();

  // --- the case's bytes, in its chunks, with its pauses ---
  if (scenario.choose) {
    const chosen = scenario.choose(obs.handshake.deflate);
    if (chosen === null) {
      obs.declined = true;
      obs.frames = [];
    } else obs.frames = chosen;
  }
  const frameBytes = obs.frames.map(encodeFrame);
  const bytes = frameBytes.length === 1 ? frameBytes[0] : Buffer.concat(frameBytes);
  obs.bytesTotal = bytes.length;
  const ends = obs.declined ? [] : writeEnds({ ...scenario, frames: obs.frames }, frameBytes);
  const pauses = new Set(scenario.pauses ?? []);
  const closeFrameEnd = closeEnd(frameBytes, obs.frames);
  let from = 0;
  for (const end of ends) {
    if (closed || obs.toolClose === 'reply') break;
    const chunk = bytes.subarray(from, end);
    await new Promise<void>((resolve) => {
      const flushed = socket.write(chunk, () => resolve());
      if (!flushed) socket.once('drain', resolve);
    });
    obs.bytesWritten = end;
    if (closeFrameEnd !== -1 && end >= closeFrameEnd && obs.toolClose === 'none') {
      obs.toolClose = 'case';
      serverEndsTcp();
    }
    log.push(`${elapsed()} ms → bytes ${from}–${end - 1} (${end - from})`);
    from = end;
    if (pauses.has(end)) await waitFor(() => closed || obs.toolClose === 'reply', options.pauseMs);
  }

  // --- the peer's reaction: it closes, or answers the sentinel (and has echoed what it should) ---
  const expected = scenario.expectMessages?.(obs.frames, obs.handshake.deflate) ?? 0;
  const answered = (): boolean => scenario.sentinel !== undefined && obs.sentinelAnswered && messagesHeard >= expected;
  let reacted = await waitFor(
    () => closed || toolEnded || obs.toolClose === 'reply' || obs.declined === true || answered() || (obs.toolClose === 'case' && peerClosed),
    options.timeoutMs,
    true, // a peer still echoing a large stream is not stuck
  );
  // It answered the sentinel but some echoes never came: alive, not stuck (the verdict names what is missing).
  if (!reacted && obs.sentinelAnswered) reacted = true;
  if (!reacted) {
    obs.timedOut = 'reaction';
    log.push(`${elapsed()} ms · no reaction within ${options.timeoutMs} ms`);
  }
  if (!closed && reacted && obs.toolClose === 'none') {
    // Still open after everything was read: end it (§7.1.2).
    socket.write(encodeFrame({ fin: true, rsv: 0, opcode: Op.Close, mask: ourMask(), payload: closeBody(1000) }));
    finishSent = true;
    obs.toolClose = 'finish';
    log.push(`${elapsed()} ms → close 1000 (the tool ends the connection)`);
    serverEndsTcp();
  }
  // A server under test closes TCP itself; with a client under test, the tool does, once both close frames passed.
  if (!closed && !(await waitFor(() => closed || toolEnded, reacted ? options.closeTimeoutMs : 0))) {
    if (reacted) {
      obs.timedOut = 'close';
      log.push(`${elapsed()} ms · TCP still open ${options.closeTimeoutMs} ms after the closing handshake`);
    }
  }
  // Give a client under test its moment to see the FIN and close its side, then let go.
  if (toolEnded && !closed) await waitFor(() => closed || sawEnd, options.closeTimeoutMs);
  socket.destroy();
  await waitFor(() => closed, 1000);
  obs.tcp = obs.timedOut ? 'tool-timeout' : toolEnded ? 'tool-fin' : sawEnd ? 'peer-fin' : reset ? 'reset' : 'peer-fin';
  obs.durationMs = elapsed();
  return obs;
}

/** End offset of the first close frame of the case, or -1. */
function closeEnd(frameBytes: Buffer[], frames: WireFrame[]): number {
  let at = 0;
  for (let i = 0; i < frames.length; i++) {
    at += frameBytes[i].length;
    if (frames[i].opcode === Op.Close) return at;
  }
  return -1;
}

function connectTcp(target: Target, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.secure
      ? tls.connect({ host: target.host, port: target.port, servername: net.isIP(target.host) ? undefined : target.host, rejectUnauthorized: !target.insecure })
      : net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(target.secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** §4.1 steps the client checks in the server's response (and §9.1 for extensions). */
export function checkResponse(
  head: string,
  key: string,
  offer: string | undefined,
): { ok: true; extensions: string | null; deflate: Negotiated | null } | { ok: false; error: string } {
  const [statusLine, ...lines] = head.split('\r\n');
  if (!/^HTTP\/1\.1 101\b/.test(statusLine)) return { ok: false, error: `expected 101, got "${statusLine}"` };
  const fields = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    fields.set(name, fields.has(name) ? `${fields.get(name)}, ${value}` : value);
  }
  if ((fields.get('upgrade') ?? '').toLowerCase() !== 'websocket') return { ok: false, error: 'no "Upgrade: websocket" in the 101 response' };
  if (!(fields.get('connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade')) {
    return { ok: false, error: 'no "Connection: Upgrade" in the 101 response' };
  }
  const accept = acceptFor(key);
  if (fields.get('sec-websocket-accept') !== accept) {
    return { ok: false, error: `Sec-WebSocket-Accept is "${fields.get('sec-websocket-accept') ?? ''}", expected "${accept}"` };
  }
  const extensions = fields.get('sec-websocket-extensions') ?? null;
  if (extensions !== null && !offer) {
    return { ok: false, error: `the server accepted extensions no one offered: "${extensions}" (§9.1)` };
  }
  if (!offer) return { ok: true, extensions, deflate: null };
  const deflate = checkDeflateResponse(offer, extensions);
  if (!deflate.ok) return { ok: false, error: `permessage-deflate: ${deflate.error}` };
  return { ok: true, extensions, deflate: deflate.negotiated };
}
