/**
 * What a failed command prints and exits with: the API's problem (title, detail, code, field
 * errors, request id) on stderr, and with `--json` the problem itself on stdout; the exit code by
 * kind (exit-codes.ts).
 */
import { APIConnectionError, APIError, APIUserAbortError, RemitError } from '@remit/sdk';
import type { Output } from './context.js';
import { EXIT, UsageError, type ExitCode, type UnsettledError } from './exit-codes.js';

/** The exit code for what a command threw. */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof APIError) return error.status >= 500 || askedToRetry(error) ? EXIT.unavailable : EXIT.refused;
  if (error instanceof APIConnectionError) return EXIT.unavailable;
  // The SDK refusing its own options (a malformed credential, say) is a usage error: nothing was sent.
  if (error instanceof RemitError) return EXIT.usage;
  return EXIT.unavailable;
}

/** The two refusals that mean "later, as it is": over quota, and the same key still running. */
function askedToRetry(error: APIError): boolean {
  return error.status === 429 || (error.status === 409 && error.code === 'idempotency_in_flight');
}

/** Whether the failure leaves the request's outcome unknown: it may have been done. */
export function outcomeUnknown(error: unknown): boolean {
  return error instanceof APIUserAbortError || exitCodeOf(error) === EXIT.unavailable;
}

/** The line that lets a command whose outcome is unknown be sent again safely. */
export function printUnsettled(error: UnsettledError, out: Output): void {
  out.message(`  idempotency key: ${error.idempotencyKey} (the request may have been done: to retry it without doing it twice, run the command again with --idempotency-key ${error.idempotencyKey})`);
}

export function printError(error: unknown, out: Output): void {
  const red = (text: string) => out.paint('red', text);
  if (error instanceof APIError) {
    const problem = error.problem;
    const oauth = error.oauthError;
    const title = problem?.title ?? oauth?.error ?? error.message;
    out.message(`${red('error:')} ${error.status} ${title}${error.code && error.code !== title ? ` (${error.code})` : ''}`);
    const detail = problem?.detail ?? oauth?.error_description;
    if (detail) out.message(`  ${detail}`);
    for (const field of problem?.errors ?? []) out.message(`  ${field.path}: ${field.message}`);
    const retryAfter = error.headers.get('retry-after');
    if (retryAfter) out.message(`  retry after: ${retryAfter} s`);
    out.message(`  request id: ${error.requestId ?? '(none)'}`);
    if (out.json && (problem ?? oauth)) out.data(JSON.stringify(problem ?? oauth, null, 2));
    return;
  }
  if (error instanceof APIConnectionError) {
    out.message(`${red('error:')} ${error.message}`);
    return;
  }
  out.message(`${red('error:')} ${error instanceof Error ? error.message : String(error)}`);
}
