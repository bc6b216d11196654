/**
 * What every command runs with: the SDK client for the chosen profile, where output goes, and the
 * signal that Ctrl-C aborts. `main.ts` builds it from the global options, the environment and the
 * profile file; the commands (generated operations, `listen`, `trigger`, `doctor`) only use it.
 */
import type { Remit } from '@remit/sdk';

/** The two streams, and how to write on them: data on stdout, everything meant for a person on stderr. */
export interface Output {
  /** stdout is a terminal: tables, progress lines and colour are for it. */
  readonly interactive: boolean;
  /** ANSI colour is allowed: stdout and stderr are terminals, `NO_COLOR` is unset and `--no-color` was not given. */
  readonly color: boolean;
  /** `--json`: stdout carries exactly the API's JSON, one document per command (`--all`: one list of every item). */
  readonly json: boolean;
  /** The terminal's width in columns, when stdout is one. */
  readonly columns: number | undefined;
  /** Writes a line of data to stdout. */
  data(line: string): void;
  /** Writes a line for a person to stderr. */
  message(line: string): void;
  /** Replaces the progress line on stderr (a terminal only); `undefined` clears it. */
  progress(line: string | undefined): void;
  /** `text` in a style when colour is allowed, else `text` itself. */
  paint(style: Style, text: string): string;
}

export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'cyan';

/**
 * The credentials in use and where they came from (`--api-key`, `REMIT_API_KEY`, `profile "x"`).
 * The secrets are for the client only: nothing prints them.
 */
export type Credentials =
  | { readonly kind: 'apiKey'; readonly apiKey: string; readonly source: string }
  | { readonly kind: 'oauth'; readonly clientId: string; readonly clientSecret: string; readonly scope: readonly string[] | undefined; readonly source: string }
  | { readonly kind: 'none' };

export interface CliContext {
  /** The client for the profile's credentials and base URL; throws a UsageError when there are none. */
  client(): Remit;
  /** Where the API listens, without a trailing slash. */
  readonly baseURL: string;
  /** The profile in use (`default` unless `--profile` or `REMIT_PROFILE` names another). */
  readonly profile: string;
  readonly credentials: Credentials;
  /** The CLI's own directory under the user's config directory (mode 0700): profiles, `listen`'s secret and resume point. */
  readonly configDir: string;
  readonly out: Output;
  /** Aborted by Ctrl-C (SIGINT) or SIGTERM: long-running commands end cleanly on it. */
  readonly signal: AbortSignal;
  /** `--verbose`: the SDK's attempt lines go to stderr. */
  readonly verbose: boolean;
}
