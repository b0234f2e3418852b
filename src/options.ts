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
export const SOCKET_LIMITS = ['maxPayload', 'closeTimeout', 'pingInterval', 'handshakeTimeout'] as const;
/** Limits only a server's own listener uses. */
export const SERVER_LIMITS = [...SOCKET_LIMITS, 'maxHeaderSize', 'maxHeaderCount'] as const;
