import type { EventEmitter } from 'node:events';

/** Resolve with the arguments of the next `event`; reject after `timeoutMs`. */
export function next<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as T);
    };
    emitter.once(event, listener);
  });
}

/** Collect the next `count` emissions of `event`. */
export function collect<T extends unknown[] = unknown[]>(emitter: EventEmitter, event: string, count: number, timeoutMs = 5000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const got: T[] = [];
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out: ${got.length}/${count} ${event} events`));
    }, timeoutMs);
    const listener = (...args: unknown[]): void => {
      got.push(args as T);
      if (got.length === count) {
        clearTimeout(timer);
        emitter.off(event, listener);
        resolve(got);
      }
    };
    emitter.on(event, listener);
  });
}
