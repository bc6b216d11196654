/**
 * `remit` run inside the test's process (its `main` with captured streams), for tests that make
 * many calls and whose subject is what the commands are and print, not the process around them
 * (test/cli/process.test.ts runs the built command as a process).
 */
import { main } from '../../../cli/src/main.js';

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function sink(): { write(chunk: string): boolean; text: string; isTTY: false } {
  return {
    text: '',
    isTTY: false,
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

export async function remit(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Captured> {
  const stdout = sink();
  const stderr = sink();
  const controller = new AbortController();
  const code = await main(args, {
    stdout: stdout as unknown as NodeJS.WritableStream,
    stderr: stderr as unknown as NodeJS.WritableStream,
    env,
    signal: controller.signal,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
