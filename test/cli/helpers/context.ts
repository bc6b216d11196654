/**
 * A `CliContext` for the CLI's tests: a temporary config directory, an Output over in-memory
 * streams (what a command printed on stdout and on stderr, read back as text), an AbortController
 * standing in for Ctrl-C, and an SDK client for the credentials and base URL given.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Remit, type ClientOptions } from '@remit/sdk';
import type { CliContext, Credentials } from '../../../cli/src/context.js';
import { UsageError } from '../../../cli/src/exit-codes.js';
import { createOutput } from '../../../cli/src/output.js';

export interface TestContextOptions {
  readonly baseURL: string;
  /** An API key, OAuth client credentials, or none. */
  readonly credentials?: { readonly apiKey: string } | { readonly clientId: string; readonly clientSecret: string; readonly scope?: readonly string[] } | undefined;
  /** The config directory: reuse one to see what a previous run left there. */
  readonly configDir: string;
  readonly profile?: string;
  /** `--json`. */
  readonly json?: boolean;
  /** Extra client options (e.g. `maxRetries: 0` against an API that is down). */
  readonly clientOptions?: Partial<ClientOptions>;
}

export interface TestContext {
  readonly ctx: CliContext;
  /** Aborting it is the user's Ctrl-C. */
  readonly controller: AbortController;
  /** Everything written on stdout so far. */
  stdout(): string;
  /** Everything written on stderr so far. */
  stderr(): string;
  /** The lines written on stdout so far. */
  lines(): string[];
}

/** A context whose output is captured; colour is off (the streams are not terminals). */
export function testContext(options: TestContextOptions): TestContext {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = createOutput({
    stdout: { write: (chunk: string) => stdout.push(chunk) },
    stderr: { write: (chunk: string) => stderr.push(chunk) },
    json: options.json ?? false,
    noColor: false,
    env: {},
  });
  const controller = new AbortController();
  const credentials = credentialsOf(options.credentials);
  const ctx: CliContext = {
    client() {
      if (options.credentials === undefined) throw new UsageError('No credentials.');
      return new Remit({ ...options.credentials, baseURL: options.baseURL, onDeprecation: () => {}, ...options.clientOptions } as ClientOptions);
    },
    baseURL: options.baseURL,
    profile: options.profile ?? 'default',
    credentials,
    configDir: options.configDir,
    out,
    signal: controller.signal,
    verbose: false,
  };
  return {
    ctx,
    controller,
    stdout: () => stdout.join(''),
    stderr: () => stderr.join(''),
    lines: () => stdout.join('').split('\n').filter((line) => line !== ''),
  };
}

function credentialsOf(given: TestContextOptions['credentials']): Credentials {
  if (given === undefined) return { kind: 'none' };
  if ('apiKey' in given) return { kind: 'apiKey', apiKey: given.apiKey, source: 'REMIT_API_KEY' };
  return { kind: 'oauth', clientId: given.clientId, clientSecret: given.clientSecret, scope: given.scope, source: 'profile "test"' };
}

/** A new empty directory under the system's temporary one, and how to remove it. */
export async function temporaryDirectory(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'remit-cli-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Resolves once `condition` holds, checking every 20 ms; rejects naming `what` after `timeoutMs`. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
