/**
 * The command line, as a function of its arguments so tests and scripts run it in-process:
 *
 *   api-diff <base> <revision> [--format text|json|markdown] [--fail-on breaking|warning]
 *            [--min-sunset-notice-days N]
 *
 * Exit status: 0 when nothing reaches the fail level, 1 when something does, 2 when the command
 * cannot give a verdict (bad arguments, an input unreadable, not parseable, not OpenAPI 3, or with
 * a `$ref` that cannot be followed or bundled). The work is cli-start.ts's, with the comparison
 * engine loaded up front.
 */
import * as engine from './cli-engine.js';
import { startCli, type CliIo } from './cli-start.js';

export { EXIT_ERROR, EXIT_FAIL, EXIT_PASS, USAGE, type CliIo } from './cli-start.js';

export function runCli(argv: readonly string[], io: CliIo): number {
  const started = startCli(argv, io);
  return typeof started === 'number' ? started : started(engine);
}
