// RFC 6455 §5.5.1 Close (payload layout) and §7.4 Status Codes.
import { ProtocolError } from './errors.js';
import { isValidUtf8 } from './utf8.js';

/** Close codes named in RFC 6455 §7.4.1 and the IANA registry (§11.7). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Reserved: never sent; reported when a close frame had no code (§7.1.5). */
  NoStatus: 1005,
  /** Reserved: never sent; reported when the connection closed without a close frame (§7.1.5). */
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
} as const;

/** A close reason is at most 123 bytes: 125 (§5.5) minus the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * May this code appear in a close frame on the wire? (§7.4.1, §7.4.2)
 * 1000–1003 and 1007–1014 are defined for use; 1004 is reserved, 1005, 1006
 * and 1015 MUST NOT be sent; 1016–2999 are unassigned protocol codes;
 * 3000–3999 are registered for libraries and frameworks; 4000–4999 are private.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}

/** What a close frame said. `code` is 1005 when it carried no payload (§7.1.5). */
export interface ClosePayload {
  code: number;
  reason: string;
}

/**
 * Decode a received close frame's payload (§5.5.1): empty, or a 2-byte
 * big-endian code followed by a UTF-8 reason.
 * Throws 1002 for a 1-byte payload or a code that may not be sent, 1007 for a
 * reason that is not UTF-8.
 */
export function decodeClosePayload(payload: Uint8Array): ClosePayload {
  if (payload.length === 0) return { code: CloseCode.NoStatus, reason: '' };
  if (payload.length === 1) throw new ProtocolError('PW_ERR_INVALID_CLOSE_PAYLOAD', 1002, 'close frame with a 1-byte payload');
  const code = (payload[0] << 8) | payload[1];
  if (!isValidCloseCode(code)) throw new ProtocolError('PW_ERR_INVALID_CLOSE_CODE', 1002, `invalid close code ${code}`);
  const reasonBytes = payload.subarray(2);
  if (!isValidUtf8(reasonBytes)) throw new ProtocolError('PW_ERR_INVALID_UTF8', 1007, 'close reason is not valid UTF-8');
  return { code, reason: Buffer.from(reasonBytes).toString('utf8') };
}

/**
 * Encode a close payload to send. `code` undefined sends an empty payload.
 * Throws a RangeError for a code that may not be sent or a reason over 123 bytes.
 */
export function encodeClosePayload(code?: number, reason = ''): Buffer {
  if (code === undefined) {
    if (reason !== '') throw new RangeError('a close reason needs a close code');
    return Buffer.alloc(0);
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new RangeError(`close code ${code} may not be sent (RFC 6455 §7.4)`);
  }
  const length = Buffer.byteLength(reason);
  if (length > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason is ${length} bytes; at most ${MAX_CLOSE_REASON_BYTES} fit`);
  }
  const payload = Buffer.allocUnsafe(2 + length);
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return payload;
}
