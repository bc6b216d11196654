/** Waiting that a stopped run cuts short, and a pool that keeps a burst's calls in flight. */

/** The run's signal fired: what was waiting or in flight gives up. */
export class AbortedError extends Error {}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError('stopped'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('stopped'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `run(0)` … `run(count - 1)`, at most `concurrency` at once, results in index order. The first
 * error stops new calls from starting and is thrown once those in flight have ended.
 */
export async function pool<T>(count: number, concurrency: number, run: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < count && !failure) {
      const index = next++;
      try {
        results[index] = await run(index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, concurrency) }, worker));
  if (failure) throw failure.error;
  return results;
}
