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
  /**
   * Try again later: the API failed (5xx), could not be reached (network, timeout), or asked to be
   * asked again (429, 409 `idempotency_in_flight`), after the SDK's retries. The request may have
   * been done; a command that takes an Idempotency-Key prints the key to send it again with.
   */
  unavailable: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake in the command line or the configuration, found before anything was sent. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A command that takes an Idempotency-Key failed without a definite answer (exit 3, or Ctrl-C):
 * the request may have been done. Carries the key the command made, so that running it again
 * with `--idempotency-key` is a retry the API deduplicates, not a second request.
 */
export class UnsettledError extends Error {
  override readonly name = 'UnsettledError';
  constructor(
    override readonly cause: unknown,
    readonly idempotencyKey: string,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
