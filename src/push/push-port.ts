// The internal push port of Workerman-style systems: a TCP listener on
// 127.0.0.1 where a backend writes one JSON publish per line (the same object
// or batch array as POST /publish) and reads one answer line back:
// `ok <delivered>`, `ok scheduled <id>`, or `fail <reason>`.
import * as net from 'node:net';
import { HttpError } from './http-io.js';

/** What the server does with one parsed line; throws HttpError to fail it. */
export type LineHandler = (body: unknown) => string;

export function createPushPort(handle: LineHandler, maxLineBytes: number): net.Server {
  return net.createServer((socket) => {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline).replace(/\r$/, '');
        buffered = buffered.slice(newline + 1);
        if (line.trim() !== '') socket.write(`${answer(handle, line)}\n`);
      }
      if (Buffer.byteLength(buffered) > maxLineBytes) {
        socket.end(`fail line longer than ${maxLineBytes} bytes\n`);
        buffered = '';
        socket.pause();
      }
    });
  });
}

function answer(handle: LineHandler, line: string): string {
  let body: unknown;
  try {
    body = JSON.parse(line);
  } catch {
    return 'fail not JSON: one publish object (or batch array) per line';
  }
  try {
    return `ok ${handle(body)}`;
  } catch (error) {
    const reason = error instanceof HttpError ? error.message : 'internal error';
    return `fail ${reason.replace(/[\r\n]+/g, ' ')}`;
  }
}
