/**
 * `remit`: the program. Global options and settings, the generated operation commands, the
 * profile commands, `listen`, `trigger` and `doctor`, and the one place a command's outcome
 * becomes an exit code (cli/src/exit-codes.ts) and an error becomes lines on stderr.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { ClientOptions, Remit } from '@remit/sdk';
import { readConfig, resolveSettings, configDirOf, writeConfig, checkProfileName, PROFILE_SETTINGS, SECRET_SETTINGS, type GivenSettings, type Profile, configFileOf } from './config.js';
import type { Output } from './context.js';
import type { OperationContext } from './operations.js';
import { EXIT, UnsettledError, UsageError } from './exit-codes.js';
import { createOutput } from './output.js';

export const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The streams and environment a run uses: the process's own, or a test's. */
export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted to stop a long-running command (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/**
 * The client of an operation that is sent without the profile's credentials (`authenticate:
 * false`: no credentials, or an operator's token in its own header). The SDK asks for a
 * credential when a client is made; this one is never sent.
 */
const UNSENT_CREDENTIAL = 'unsent';

interface GlobalOptions extends GivenSettings {
  maxRetries?: number;
  json?: boolean;
  color?: boolean;
  verbose?: boolean;
}

function clientOptions(ctx: { baseURL: string; verbose: boolean; out: Output; maxRetries?: number | undefined }): Partial<ClientOptions> {
  return {
    baseURL: ctx.baseURL,
    ...(ctx.maxRetries !== undefined ? { maxRetries: ctx.maxRetries } : {}),
    // The commands print their own deprecation notice, naming the command to use instead.
    onDeprecation: () => {},
    ...(ctx.verbose ? { logger: { debug: (line: string) => ctx.out.message(ctx.out.paint('dim', line)) } } : {}),
  };
}

/** The program's options that take a value: the word after one is not a command. */
const VALUE_OPTIONS = new Set(['--api-key', '--client-id', '--client-secret', '--scope', '--base-url', '--profile', '-p', '--admin-token', '--metrics-token', '--max-retries']);

/** The command line's positional words before the first option an operation may own: `remit --json v2 payments list --all` → v2, payments, list. */
export function positionalWords(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (VALUE_OPTIONS.has(arg)) i += 1;
      continue;
    }
    words.push(arg);
  }
  return words;
}

/**
 * Reads a secret given as `-` from stdin (its first line), so it stays out of the shell's history
 * and the process list. On a terminal it asks for it first; Ctrl-C ends the wait.
 */
async function secretFromStdin(name: string, out: Output, signal: AbortSignal): Promise<string> {
  if (process.stdin.isTTY) out.message(`Paste the ${name} and press Enter (Ctrl-D to end):`);
  const chunks: Buffer[] = [];
  const read = (async () => {
    for await (const chunk of process.stdin) {
      chunks.push(chunk as Buffer);
      if (Buffer.concat(chunks).includes(10)) break;
    }
  })();
  const aborted = new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new UsageError('Interrupted: nothing was saved.')), { once: true }));
  // A Ctrl-C after the secret was read rejects nothing anyone waits for.
  aborted.catch(() => undefined);
  await Promise.race([read, aborted]);
  const value = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]!.trim();
  if (value === '') throw new UsageError(`Nothing was read from stdin for the ${name} given as \`-\`.`);
  return value;
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let code: number = EXIT.ok;
  let output: Output | undefined;
  const fallbackOutput = () => createOutput({ stdout: io.stdout, stderr: io.stderr, json: argv.includes('--json'), noColor: argv.includes('--no-color'), env: io.env });
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  if (io.signal) io.signal.addEventListener('abort', onSignal, { once: true });
  else {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  const program = new Command('remit')
    .description('The Remit payments API from a terminal: every operation as a command, webhooks forwarded to a local server, test events on demand.')
    .version(VERSION, '-v, --version', 'Print the version')
    .addOption(new Option('--api-key <key>', 'API key (sk_…); default REMIT_API_KEY, else the profile\'s'))
    .addOption(new Option('--client-id <id>', 'OAuth client id (cli_…), with --client-secret; default REMIT_CLIENT_ID'))
    .addOption(new Option('--client-secret <secret>', 'OAuth client secret (cs_…); default REMIT_CLIENT_SECRET'))
    .addOption(new Option('--scope <scopes>', 'Narrow OAuth access tokens to these scopes (space- or comma-separated); default REMIT_SCOPE'))
    .addOption(new Option('--base-url <url>', 'Where the API listens; default REMIT_BASE_URL, else the profile\'s, else http://127.0.0.1:8080'))
    .addOption(new Option('-p, --profile <name>', 'The profile to use; default REMIT_PROFILE, else "default"'))
    .addOption(new Option('--admin-token <token>', 'The operator\'s admin token, for `accounts` and `oauth rotate-signing-key`; default REMIT_ADMIN_TOKEN'))
    .addOption(new Option('--metrics-token <token>', 'The scraper\'s token, for `operations metrics` and `console-feed`; default REMIT_METRICS_TOKEN'))
    .option('--json', 'Print exactly the API\'s JSON on stdout')
    .option('--no-color', 'No ANSI colour (also when NO_COLOR is set or stdout is not a terminal)')
    .addOption(new Option('--max-retries <n>', 'Retries after a failed attempt that a retry can fix (5xx, 429, network); default 2').argParser((raw) => {
      if (!/^\d{1,2}$/.test(raw)) throw new InvalidArgumentError('A whole number, 0 to 99, is expected.');
      return Number(raw);
    }))
    .option('--verbose', 'Print each HTTP attempt on stderr: method, path, status, duration, retries, request id')
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  program.addHelpText('after', `
Exit codes: 0 done · 1 usage or configuration · 2 the API refused the request (4xx) · 3 the API failed (5xx) or could not be reached.
Profiles: ${configFileOf(configDirOf(io.env))} (remit config --help).`);

  const settingsOf = async (command: Command, out: Output) => {
    const given = command.optsWithGlobals<GlobalOptions>();
    const configDir = configDirOf(io.env);
    const config = await readConfig(configDir, (line) => out.message(out.paint('yellow', line)));
    return { given, configDir, config, settings: resolveSettings(given, io.env, config) };
  };

  const contextOf = async (command: Command): Promise<OperationContext> => {
    const given = command.optsWithGlobals<GlobalOptions>();
    const out = createOutput({ stdout: io.stdout, stderr: io.stderr, json: given.json === true, noColor: given.color === false, env: io.env });
    output = out;
    const { configDir, settings } = await settingsOf(command, out);
    const verbose = given.verbose === true;
    let client: Remit | undefined;
    const base = { baseURL: settings.baseURL, verbose, out, maxRetries: given.maxRetries };
    // Loaded here rather than at start-up: `remit --help`, `--version` and the profile commands never need it.
    const { Remit } = await import('@remit/sdk');
    return {
      baseURL: settings.baseURL,
      profile: settings.profile,
      credentials: settings.credentials,
      configDir,
      out,
      signal: controller.signal,
      verbose,
      adminToken: settings.adminToken,
      metricsToken: settings.metricsToken,
      anonymousClient: () => new Remit({ apiKey: UNSENT_CREDENTIAL, ...clientOptions(base) }),
      client() {
        if (client) return client;
        const c = settings.credentials;
        if (c.kind === 'none') {
          throw new UsageError('No credentials: pass --api-key, set REMIT_API_KEY (or REMIT_CLIENT_ID and REMIT_CLIENT_SECRET), or save them in a profile with `remit config set --api-key -`.');
        }
        const grant = c.kind === 'apiKey' ? { apiKey: c.apiKey } : { clientId: c.clientId, clientSecret: c.clientSecret, ...(c.scope ? { scope: c.scope as ('read' | 'write')[] } : {}) };
        client = new Remit({ ...grant, ...clientOptions(base) } as ClientOptions);
        return client;
      },
    };
  };

  const words = positionalWords(argv);
  // `remit --version` needs no operation: the table is not even loaded for it.
  const { registerOperations } = words.length === 0 && argv.some((a) => a === '-v' || a === '--version') ? { registerOperations: undefined } : await import('./operations.js');
  registerOperations?.(
    program,
    { context: contextOf },
    (result) => (code = result),
    words,
  );

  program
    .command('listen')
    .description('Forward the account\'s events to a local URL as webhooks, signed with a local secret, in exactly the format Remit delivers')
    .option('-f, --forward-to <url>', 'Where to POST each event, e.g. http://localhost:3000/webhooks')
    .option('-e, --events <types>', 'Only these event types, comma-separated (default: all)', (raw: string, previous: string[] | undefined) => [...(previous ?? []), ...raw.split(',').filter(Boolean)])
    .option('--print-secret', 'Print the local signing secret (whsec_…) and exit')
    .addOption(new Option('--interval-ms <ms>', 'How often to ask for new events').default(1000).argParser((raw) => {
      const ms = Number(raw);
      if (!Number.isInteger(ms) || ms < 100 || ms > 60_000) throw new InvalidArgumentError('A whole number of milliseconds, 100 to 60000, is expected.');
      return ms;
    }))
    .action(async (options: { forwardTo?: string; events?: string[]; printSecret?: boolean; intervalMs: number }, command: Command) => {
      const ctx = await contextOf(command);
      const { listen } = await import('./listen.js');
      code = await listen(ctx, { forwardTo: options.forwardTo, events: options.events, printSecret: options.printSecret === true, intervalMs: options.intervalMs });
    });

  program
    .command('trigger')
    .description('Make the API calls that produce an event, e.g. `remit trigger payment.succeeded`')
    .argument('<event>', 'The event type')
    .option('-o, --override <resource:path=value>', 'Change a field of a request, e.g. payment:amount.value=1402 (repeatable)', (raw: string, previous: string[] | undefined) => [...(previous ?? []), raw])
    .action(async (event: string, options: { override?: string[] }, command: Command) => {
      const ctx = await contextOf(command);
      const { trigger } = await import('./trigger.js');
      code = await trigger(ctx, event, { overrides: options.override ?? [] });
    });

  program
    .command('doctor')
    .description('Check the base URL, the clock, the credentials and their scopes; one line per problem')
    .action(async (_options: unknown, command: Command) => {
      const { doctor } = await import('./doctor.js');
      code = await doctor(await contextOf(command));
    });

  /** What the profile commands that write start from: the profiles file as it is, and the profile named. */
  const profileFile = async (command: Command) => {
    const out = createOutput({ stdout: io.stdout, stderr: io.stderr, json: false, noColor: true, env: io.env });
    output = out;
    const given = command.optsWithGlobals<GlobalOptions>();
    const configDir = configDirOf(io.env);
    const file = await readConfig(configDir, (line) => out.message(line));
    const name = checkProfileName(given.profile ?? io.env.REMIT_PROFILE ?? 'default');
    return { out, given, configDir, file, name };
  };

  const config = program.command('config').description(`Named profiles: base URL and credentials, kept in ${configFileOf(configDirOf(io.env))} (mode 0600)`);
  config
    .command('set')
    .description('Save the given settings (--base-url, --api-key or --client-id/--client-secret/--scope, --admin-token, --metrics-token) in the profile; a secret given as `-` is read from stdin')
    .action(async (_options: unknown, command: Command) => {
      const { out, given, configDir, file, name } = await profileFile(command);
      const values: Partial<Profile> = {
        base_url: given.baseUrl,
        api_key: given.apiKey,
        client_id: given.clientId,
        client_secret: given.clientSecret,
        scope: given.scope,
        admin_token: given.adminToken,
        metrics_token: given.metricsToken,
      };
      const entries = Object.entries(values).filter((entry): entry is [keyof Profile, string] => entry[1] !== undefined);
      if (entries.length === 0) throw new UsageError('Name a setting to save, e.g. `remit config set --base-url https://api.example.com --api-key -`.');
      const profile: Profile = { ...file.profiles[name] };
      for (const [key, value] of entries) profile[key] = value === '-' && SECRET_SETTINGS.has(key) ? await secretFromStdin(key.replace('_', ' '), out, controller.signal) : value;
      // Credentials are one set: saving an API key drops client credentials, and the reverse.
      if (values.api_key !== undefined) for (const k of ['client_id', 'client_secret', 'scope'] as const) if (values[k] === undefined) delete profile[k];
      if (values.client_id !== undefined || values.client_secret !== undefined) delete profile.api_key;
      resolveSettings({}, {}, { profiles: { [name]: profile } });
      const written = await writeConfig(configDir, { profiles: { ...file.profiles, [name]: profile } });
      out.message(`Saved ${entries.map(([k]) => k).join(', ')} in profile "${name}" (${written}).`);
    });
  config
    .command('show')
    .description('Show the profile\'s settings (secrets as "set", never their value) and where each setting in use comes from')
    .action(async (_options: unknown, command: Command) => {
      const given = command.optsWithGlobals<GlobalOptions>();
      const out = createOutput({ stdout: io.stdout, stderr: io.stderr, json: given.json === true, noColor: given.color === false, env: io.env });
      output = out;
      const { config: file, settings, configDir } = await settingsOf(command, out);
      const stored = file.profiles[settings.profile] ?? {};
      const shown = Object.fromEntries(PROFILE_SETTINGS.filter((k) => stored[k] !== undefined).map((k) => [k, SECRET_SETTINGS.has(k) ? 'set' : stored[k]!]));
      const credentials = settings.credentials.kind === 'none' ? 'none' : `${settings.credentials.kind === 'apiKey' ? 'API key' : `OAuth client ${settings.credentials.clientId}`} from ${settings.credentials.source}`;
      const view = { profile: settings.profile, file: configFileOf(configDir), base_url: settings.baseURL, credentials, stored: shown };
      if (out.json) out.data(JSON.stringify(view, null, 2));
      else for (const [k, v] of Object.entries(view)) out.data(`${out.paint('dim', k.padEnd(11))}  ${typeof v === 'string' ? v : Object.entries(v).map(([a, b]) => `${a}=${b}`).join(' ') || '-'}`);
    });
  config
    .command('list')
    .description('List the profiles')
    .action(async (_options: unknown, command: Command) => {
      const out = createOutput({ stdout: io.stdout, stderr: io.stderr, json: command.optsWithGlobals<GlobalOptions>().json === true, noColor: true, env: io.env });
      output = out;
      const file = await readConfig(configDirOf(io.env), (line) => out.message(line));
      const names = Object.keys(file.profiles).sort();
      if (out.json) out.data(JSON.stringify(names));
      else for (const name of names) out.data(name);
    });
  config
    .command('remove')
    .description('Remove the profile (--profile, else "default")')
    .action(async (_options: unknown, command: Command) => {
      const { out, configDir, file, name } = await profileFile(command);
      if (!file.profiles[name]) throw new UsageError(`There is no profile "${name}".`);
      const { [name]: _removed, ...rest } = file.profiles;
      await writeConfig(configDir, { profiles: rest });
      out.message(`Removed profile "${name}".`);
    });

  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const out = output ?? fallbackOutput();
    if (error instanceof UsageError) {
      out.message(`${out.paint('red', 'error:')} ${error.message}`);
      return EXIT.usage;
    }
    const unsettled = error instanceof UnsettledError ? error : undefined;
    const failure = unsettled ? unsettled.cause : error;
    const { exitCodeOf, printError, printUnsettled } = await import('./failure.js');
    const { APIUserAbortError } = await import('@remit/sdk');
    if (failure instanceof APIUserAbortError) out.message('Interrupted.');
    else printError(failure, out);
    if (unsettled) printUnsettled(unsettled, out);
    return failure instanceof APIUserAbortError ? 130 : exitCodeOf(failure);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
