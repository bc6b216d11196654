/**
 * The run itself: progress lines on stderr, Ctrl-C, and the list of things to undo. Whatever the
 * storm starts or creates is registered here as it goes, so that a failure or an interruption at
 * any point still leaves nothing behind, undone in the reverse order of its making.
 */
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

const FORCED_EXIT_AFTER_SIGNAL_MS = 20_000;

const startedAt = Date.now();
export function progress(line: string): void {
  process.stderr.write(`[${String(Math.round((Date.now() - startedAt) / 1000)).padStart(3)} s] ${line}\n`);
}

/** Aborted by Ctrl-C (or SIGTERM): every wait and request of the run listens to it. */
const interrupt = new AbortController();
// Every request and wait of every client listens to it at once.
setMaxListeners(0, interrupt.signal);
export const interruption = interrupt.signal;

export class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

export function checkInterrupted(): void {
  if (interrupt.signal.aborted) throw new Interrupted();
}

export async function pause(ms: number): Promise<void> {
  try {
    await sleep(ms, undefined, { signal: interrupt.signal });
  } catch {
    throw new Interrupted();
  }
}

/** Undone in reverse order by `cleanUp`, whatever happens. */
const cleanups: { what: string; run: () => Promise<void> }[] = [];

export function onCleanup(what: string, run: () => Promise<void>): void {
  cleanups.push({ what, run });
}

async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop()!;
    try {
      await step.run();
    } catch (err) {
      console.error(`cleanup: could not ${step.what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/**
 * Runs `main` with Ctrl-C and SIGTERM turned into an interruption, then undoes everything it
 * registered and exits with its status (130 when interrupted, 1 when it threw).
 */
export async function runAndExit(main: () => Promise<number>): Promise<never> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupt.signal.aborted) return;
      progress(`${signal}: stopping and cleaning up`);
      interrupt.abort();
      setTimeout(() => {
        console.error('cleanup took too long; killing what is left');
        process.exit(130);
      }, FORCED_EXIT_AFTER_SIGNAL_MS).unref();
    });
  }

  let code = 1;
  try {
    code = await main();
  } catch (err) {
    if (err instanceof Interrupted || interrupt.signal.aborted) code = 130;
    else console.error('retry storm failed:', err instanceof Error ? err.message : err);
  } finally {
    const started = cleanups.length > 0;
    await cleanUp();
    if (started) progress(`${code === 130 ? 'interrupted' : 'done'}; everything it started is stopped and removed`);
  }
  process.exit(code);
}
