/**
 * What the command line knows of an operation: the rows of cli/src/generated/operations.ts, which
 * `make generate` derives from spec/openapi.yaml (scripts/generate-cli.ts says how).
 */

export type OptionKind = 'string' | 'integer' | 'number' | 'boolean' | 'list' | 'map';

export interface CliOption {
  /** The long option's name, without dashes. */
  readonly flag: string;
  /** Where its value goes in the query or the body: `['amount', 'value']`. */
  readonly target: readonly string[];
  readonly kind: OptionKind;
  /** For a list: the kind of its items. */
  readonly items?: 'string' | 'integer' | 'number';
  readonly enum?: readonly string[];
  readonly required: boolean;
  /** The literal `null` sets the field to null (PATCH: clears it). */
  readonly nullable: boolean;
  readonly description: string;
}

export interface CliOperation {
  readonly operationId: string;
  /** The words after `remit`: `['v2', 'payments', 'create']`. */
  readonly command: readonly string[];
  readonly summary: string;
  readonly description: string;
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** Path parameters, as positional arguments in path order. */
  readonly args: readonly { readonly name: string; readonly description: string }[];
  readonly query: readonly CliOption[];
  readonly body: readonly CliOption[];
  /** Whether the operation takes a body, and must have one. */
  readonly bodyRequired: boolean | null;
  readonly bodyEncoding: 'json' | 'form' | null;
  /** Takes an `Idempotency-Key` (the API deduplicates it): `--idempotency-key`. */
  readonly idempotencyKey: boolean;
  /** The credentials it takes: the profile's (API key or OAuth client), the operator's admin token, the scraper's metrics token, or none. */
  readonly auth: 'credentials' | 'admin' | 'metrics' | 'none';
  /** A cursor-paged list (`--all`, `--limit`), with the item fields its table shows. */
  readonly list: { readonly columns: readonly string[] } | null;
  /** What the success answer is: JSON, or text (HTML, Prometheus exposition). */
  readonly answers: 'json' | 'text';
  readonly deprecation?: { readonly since?: string; readonly sunset?: string; readonly successor?: readonly string[] };
}
