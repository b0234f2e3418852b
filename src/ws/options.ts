/**
 * Check that numeric limits given as options are whole numbers ≥ 0, so a typo
 * (NaN, a negative, a string) fails at construction instead of silently
 * disabling a limit. Throws a RangeError naming the option.
 */
export function assertLimits(options: object, names: readonly string[]): void {
  for (const name of names) {
    const value = (options as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`option ${name} must be a whole number ≥ 0, got ${String(value)}`);
    }
  }
}

/** Limits every WebSocket endpoint accepts. */
export const SOCKET_LIMITS = ['maxPayload', 'maxFragments', 'closeTimeout', 'pingInterval', 'handshakeTimeout'] as const;
/** Limits only a server's own listener uses. */
export const SERVER_LIMITS = [...SOCKET_LIMITS, 'maxHeaderSize', 'maxHeaderCount', 'maxUrlLength'] as const;

/** Ranges of the permessage-deflate settings (zlib's limits; RFC 7692 §7.1.2 windows, 9–15 for zlib). */
const DEFLATE_RANGES: Record<string, [number, number]> = {
  serverMaxWindowBits: [9, 15],
  clientMaxWindowBits: [9, 15],
  memLevel: [1, 9],
  level: [-1, 9],
  threshold: [0, Number.MAX_SAFE_INTEGER],
};

/** Check `perMessageDeflate` settings; throws a RangeError naming the first bad one. */
export function assertDeflateSettings(settings: unknown): void {
  if (settings === undefined || typeof settings === 'boolean') return;
  if (typeof settings !== 'object' || settings === null) {
    throw new RangeError('option perMessageDeflate must be a boolean or an object');
  }
  for (const [name, [min, max]] of Object.entries(DEFLATE_RANGES)) {
    const value = (settings as Record<string, unknown>)[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new RangeError(`perMessageDeflate.${name} must be a whole number from ${min} to ${max}, got ${String(value)}`);
    }
  }
}
