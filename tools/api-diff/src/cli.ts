/** Entry point of `npm run api:diff`; see cli-run.ts for the arguments and exit status. */
import { EXIT_ERROR, runCli } from './cli-run.js';

try {
  process.exitCode = runCli(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    cwd: process.cwd(),
  });
} catch (error) {
  // A bug, not a verdict: say so, and do not let CI read it as "no breaking changes".
  process.stderr.write(`api-diff: internal error: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = EXIT_ERROR;
}
