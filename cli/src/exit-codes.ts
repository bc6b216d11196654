/**
 * The exit codes, stable and documented (cli/README.md): a script can tell a mistake in the command
 * line from a refusal by the API from an outage, without parsing any output. What a thrown error
 * maps to is `exitCodeOf` in failure.ts, which loads the SDK: this file does not, so that a command
 * that never fails never loads it for this.
 */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** The command line or the configuration is wrong; nothing was sent. */
  usage: 1,
  /** The API refused the request (4xx): sending it again as it is will not help. */
  refused: 2,
  /** The API failed (5xx) or could not be reached (network, timeout), after the SDK's retries. */
  unavailable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake in the command line or the configuration, found before anything was sent. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
