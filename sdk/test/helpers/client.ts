/**
 * Clients for the SDK's tests, with the runtime hooks replaced: waits between attempts are recorded
 * and skipped (or held until aborted), the clock is fixed, the jitter is chosen and warnings are
 * recorded instead of printed, so a retry test checks every delay exactly and never sleeps for real.
 */
import { Remit, type ClientOptions } from '../../src/index.js';
import { runtimeHooks, type RuntimeHooks } from '../../src/internal/runtime.js';

export const TEST_API_KEY = 'sk_test_0123456789';
/** The fixed "now" of the fake clock: 2030-01-01T00:00:00Z. */
export const FAKE_NOW_MS = Date.UTC(2030, 0, 1);

export interface FakeRuntime {
  readonly hooks: RuntimeHooks;
  /** Every wait the client asked for, in ms, in order. */
  readonly sleeps: number[];
  /** Every warning the client printed, in order. */
  readonly warnings: string[];
}

/**
 * `instant`: each wait is recorded and over at once. `hold`: each wait is recorded and lasts until
 * the call's signal aborts (for "abort during the wait" tests).
 */
export function fakeRuntime(options: { random?: number; mode?: 'instant' | 'hold' } = {}): FakeRuntime {
  const sleeps: number[] = [];
  const warnings: string[] = [];
  const hooks: RuntimeHooks = {
    sleep(ms, _signal) {
      sleeps.push(ms);
      if (options.mode !== 'hold') return Promise.resolve();
      // Deliberately ignores the signal: the client itself must stop waiting when it aborts.
      return new Promise<void>(() => undefined);
    },
    now: () => FAKE_NOW_MS,
    random: () => options.random ?? 0,
    warn: (message) => warnings.push(message),
  };
  return { hooks, sleeps, warnings };
}

/** A client on `baseURL` with the given runtime (fake by default). */
export function testClient(baseURL: string, options: Partial<ClientOptions> = {}, runtime: FakeRuntime = fakeRuntime()): Remit {
  const withHooks = { apiKey: TEST_API_KEY, baseURL, ...options, [runtimeHooks]: runtime.hooks };
  return new Remit(withHooks);
}

/** The rejection of `promise`, failing the test when it resolves instead. */
export async function rejectionOf(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
