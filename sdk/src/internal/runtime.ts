/**
 * The clock, the waits, the random source and the warning output the client uses, replaceable for tests through a
 * symbol-keyed client option that is not part of the public API (the package exports only its
 * entry point). With the defaults, a retry really waits.
 */

export interface RuntimeHooks {
  /** Resolves after `ms`; may settle early when `signal` aborts (the caller also races the signal). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Milliseconds since the epoch, for HTTP-date `Retry-After` values. */
  now(): number;
  /** A number in [0, 1), for backoff jitter. */
  random(): number;
  /** Prints a warning for the user (the default deprecation warning). */
  warn(message: string): void;
}

export const runtimeHooks: unique symbol = Symbol('remit.runtimeHooks');

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export const defaultRuntimeHooks: RuntimeHooks = {
  sleep,
  now: () => Date.now(),
  random: () => Math.random(),
  warn: (message) => console.warn(message),
};
