// A raw TCP WebSocket client for conformance tests: performs the opening
// handshake by hand, sends arbitrary bytes, and records every frame the server
// sends plus when the server closed TCP.
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { decodeFrames, type RawFrame } from './frames.js';

export class RawClient {
  readonly frames: RawFrame[] = [];
  responseHead = '';
  closed = false;
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {}

  /** Connect and complete the opening handshake (or stop after the response head). */
  static async connect(port: number, extraHeaders = '', path = '/'): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    const client = new RawClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => {});
    const key = randomBytes(16).toString('base64');
    socket.on('data', (chunk) => client.onData(chunk));
    socket.on('close', () => {
      client.closed = true;
      client.notify();
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
    );
    await client.until(() => client.responseHead !== '' || client.closed);
    const expected = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    if (!client.responseHead.startsWith('HTTP/1.1 101') || !client.responseHead.includes(expected)) {
      throw new Error(`handshake failed: ${client.responseHead}`);
    }
    return client;
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (this.responseHead === '') {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      this.responseHead = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 4);
    }
    const { frames, rest } = decodeFrames(this.buffer);
    this.frames.push(...frames);
    this.buffer = rest;
    this.notify();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolve once `condition` holds; reject after `timeoutMs`. */
  until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (condition()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      const timer = setTimeout(() => reject(new Error('timed out waiting')), timeoutMs);
      check();
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Wait for the server to close TCP; return the close frame it sent, if any. */
  async closedWith(timeoutMs = 5000): Promise<{ code: number | null; frames: RawFrame[] }> {
    await this.until(() => this.closed, timeoutMs);
    const close = this.frames.find((frame) => frame.opcode === 0x8);
    const code = close && close.payload.length >= 2 ? close.payload.readUInt16BE(0) : null;
    return { code, frames: this.frames };
  }

  destroy(): void {
    this.socket.destroy();
  }
}
