/**
 * Sleeps a background worker can be woken from: a loop waits out its polling interval (or a
 * processor's Retry-After) here, and `wakeAll` ends every wait at once — when work arrives, or
 * when the process stops and the worker must let go of what it holds.
 */
export class Naps {
  readonly #waking = new Set<() => void>();

  /** Resolves after `ms`, or sooner when woken. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waking.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waking.add(done);
    });
  }

  /** Ends every sleep in progress. */
  wakeAll(): void {
    for (const wake of [...this.#waking]) wake();
  }
}
