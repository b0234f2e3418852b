import type { WebSocket } from './websocket.js';
import type { UpgradeRequest } from './protocol/handshake.js';

/**
 * The handler-object shape known from Ratchet and Workerman: one object sees
 * every connection's life. Every method is optional. An exception thrown by
 * `onOpen`, `onMessage` or `onClose` is passed to `onError` instead of
 * escaping into the socket's event loop.
 */
export interface WebSocketHandler {
  onOpen?(socket: WebSocket, request?: UpgradeRequest): void;
  onMessage?(socket: WebSocket, data: Buffer, isBinary: boolean): void;
  onClose?(socket: WebSocket, code: number, reason: string): void;
  /** Protocol errors of the peer, and exceptions thrown by the other handler methods. */
  onError?(socket: WebSocket, error: Error): void;
}
