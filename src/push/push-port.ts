// The internal push port of Workerman-style systems: a TCP listener on
// 127.0.0.1 where a backend writes one JSON publish per line (the same object
// or batch array as POST /publish) and reads one answer line back:
// `ok <delivered>`, `ok scheduled <id>`, or `fail <reason>`.
//
// Loopback is not a wall: a web page can make the browser send an HTTP
// request to any local port, and any local user can connect. So the port
// refuses anything that looks like HTTP, can require a shared key, and bounds
// what a connection may make it hold (line length, unread answers, idle
// time, connections).
import * as net from 'node:net';
import { HttpError } from './http-io.js';

/** What the server does with one parsed line; rejects with HttpError to fail it. */
export type LineHandler = (body: unknown) => Promise<string>;

export interface PushPortSettings {
  /** Longest line, bytes; a longer one ends the connection. */
  maxLineBytes: number;
  /** When set, a connection's first line must be `AUTH <key>`. */
  key: string | undefined;
  /** A connection that sends nothing for this long is closed, ms. */
  idleTimeoutMs: number;
  /** Connections open at once; more are refused. */
  maxConnections: number;
}

/** Answers written but not yet read by the backend before the port stops reading its lines. */
const MAX_UNREAD_ANSWERS = 64 * 1024;
/** Lines taken but not yet answered (each may wait for the broker) before the port stops reading. */
const MAX_PENDING_LINES = 1000;

/**
 * An HTTP request line (RFC 9112 §3: method SP request-target SP version),
 * or an HTTP/0.9 one without a version: the sign of a browser or curl
 * talking to the wrong port.
 */
const HTTP_REQUEST_LINE = /^[A-Za-z]+ \S+( HTTP\/\d(\.\d)?)?$/;

export function createPushPort(handle: LineHandler, settings: PushPortSettings): net.Server {
  const server = net.createServer((socket) => serveConnection(socket, handle, settings));
  server.maxConnections = settings.maxConnections;
  return server;
}

function serveConnection(socket: net.Socket, handle: LineHandler, settings: PushPortSettings): void {
  let buffered = '';
  // Answers go out in the order of their lines, though each may wait for the broker.
  let answered: Promise<void> = Promise.resolve();
  let pending = 0;
  let authorized = settings.key === undefined;
  let firstLine = true;
  socket.setEncoding('utf8');
  socket.setTimeout(settings.idleTimeoutMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  // A backend that writes lines and never reads the answers would make them
  // pile up: reading stops while answers wait unread or unanswered.
  const heldBack = (): boolean => pending >= MAX_PENDING_LINES || socket.writableLength > MAX_UNREAD_ANSWERS;
  const resumeIfRoom = (): void => {
    if (socket.isPaused() && !heldBack()) socket.resume();
  };
  socket.on('drain', resumeIfRoom);

  const refuse = (reason: string): void => {
    buffered = '';
    socket.removeAllListeners('data');
    socket.end(`fail ${reason}\n`);
  };

  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline).replace(/\r$/, '');
      buffered = buffered.slice(newline + 1);
      if (line.trim() === '') continue;
      if (firstLine && HTTP_REQUEST_LINE.test(line) && !/^AUTH /.test(line)) {
        return refuse('this is the push port, not HTTP: POST to /publish on the HTTP port instead');
      }
      firstLine = false;
      if (!authorized) {
        if (line !== `AUTH ${settings.key}`) return refuse('send AUTH <push key> as the first line');
        authorized = true;
        socket.write('ok auth\n');
        continue;
      }
      // Each line is published after the one before it has been, not just answered in order.
      pending++;
      answered = answered.then(async () => {
        const text = await answer(handle, line);
        if (socket.writable) socket.write(`${text}\n`);
        pending--;
        resumeIfRoom();
      });
    }
    if (Buffer.byteLength(buffered) > settings.maxLineBytes) {
      return refuse(`line longer than ${settings.maxLineBytes} bytes`);
    }
    if (heldBack()) socket.pause();
  });
}

async function answer(handle: LineHandler, line: string): Promise<string> {
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch {
    return 'fail not JSON: one publish object (or batch array) per line';
  }
  try {
    return `ok ${await handle(body)}`;
  } catch (error) {
    const reason = error instanceof HttpError ? error.message : 'internal error';
    return `fail ${reason.replace(/[\r\n]+/g, ' ')}`;
  }
}
