#!/usr/bin/env node
/**
 * The `api-diff` command (the package's bin; `npm run api:diff` in the repository); cli-start.ts
 * has the arguments and exit status. The comparison engine is loaded only when the run needs it, so
 * a run that ends early (the help, an unreadable input, two sides with the same bytes) skips most
 * of the loading.
 */
import { EXIT_ERROR, startCli } from './cli-start.js';

// A reader that stops early (`api-diff … | head`) closes the pipe: end quietly, with the verdict.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

try {
  const started = startCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  });
  process.exitCode = typeof started === 'number' ? started : started(await import('./cli-engine.js'));
} catch (error) {
  // A bug, not a verdict: say so, and do not let CI read it as "no breaking changes".
  process.stderr.write(`api-diff: internal error: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = EXIT_ERROR;
}
