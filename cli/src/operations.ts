/**
 * One command per operation of the spec, from the generated table: options parsed by their
 * schema's type, a request sent through the SDK (`remit.request`: its retries, Idempotency-Keys,
 * access tokens and typed errors), and the answer printed as a table, key/value lines or, with
 * `--json`, the API's JSON.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Remit } from '@remit/sdk';
import type { CliContext } from './context.js';
import { UnsettledError, UsageError } from './exit-codes.js';
import { groups as groupHelp, operations } from './generated/operations.js';
import type { CliOperation, CliOption } from './operation.js';
import { renderObject, renderTable } from './render.js';

/** The options every command takes from the program (`--json`, `--api-key`, …): an operation's own option of the same name gets a prefix. */
export const GLOBAL_FLAGS: ReadonlySet<string> = new Set([
  'api-key', 'client-id', 'client-secret', 'scope', 'base-url', 'profile', 'admin-token', 'metrics-token', 'json', 'color', 'no-color', 'verbose',
  'help', 'version', 'data', 'idempotency-key', 'all',
]);

/** What an operation's command runs with: the context every command has, and what operations without the profile's credentials need. */
export interface OperationContext extends CliContext {
  /** A client on the same base URL and settings, for operations sent with `authenticate: false`. */
  anonymousClient(): Remit;
  /** The operator's admin token, for the admin operations. */
  readonly adminToken: string | undefined;
  /** The scraper's token, for `/metrics` and the console's feed. */
  readonly metricsToken: string | undefined;
}

/** How a command gets its context, from main.ts. */
export interface OperationDeps {
  context(command: Command): Promise<OperationContext>;
}

/** The command line's name of an option: `--amount-value`, or `--body-scope` where `--scope` is the program's. */
export function flagOf(option: CliOption, where: 'query' | 'body'): string {
  return GLOBAL_FLAGS.has(option.flag) ? `${where}-${option.flag}` : option.flag;
}

export function commandLine(op: CliOperation): string {
  return `remit ${op.command.join(' ')}`;
}

function typeHint(option: CliOption): string {
  if (option.kind === 'map') return '<key=value>';
  if (option.kind === 'list') return `<${option.items ?? 'value'}[,…]>`;
  if (option.kind === 'boolean') return '[true|false]';
  return `<${option.kind === 'string' ? 'value' : option.kind}>`;
}

function scalar(option: CliOption, kind: 'string' | 'integer' | 'number' | 'boolean', raw: string): unknown {
  if (option.nullable && raw === 'null') return null;
  if (option.enum && !option.enum.includes(raw)) throw new InvalidArgumentError(`Allowed: ${option.enum.join(', ')}.`);
  switch (kind) {
    case 'integer':
      if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new InvalidArgumentError('An integer is expected.');
      return Number(raw);
    case 'number':
      if (raw.trim() === '' || !Number.isFinite(Number(raw))) throw new InvalidArgumentError('A number is expected.');
      return Number(raw);
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new InvalidArgumentError('true or false is expected.');
      return raw === 'true';
    default:
      return raw;
  }
}

function optionFor(option: CliOption, where: 'query' | 'body'): Option {
  const notes = [option.required ? 'required' : '', option.nullable ? '`null` clears it' : '', option.kind === 'list' ? 'repeatable, or comma-separated' : '', option.kind === 'map' ? 'repeatable' : '']
    .filter(Boolean)
    .join('; ');
  const description = [option.description, notes ? `(${notes})` : ''].filter(Boolean).join(' ');
  const made = new Option(`--${flagOf(option, where)} ${typeHint(option)}`, description);
  if (option.enum && option.kind !== 'list') made.choices(option.nullable ? [...option.enum, 'null'] : option.enum);
  switch (option.kind) {
    case 'list':
      return made.argParser((raw: string, previous: unknown[] | undefined) => [
        ...(previous ?? []),
        ...raw.split(',').filter((v) => v !== '').map((v) => scalar({ ...option, nullable: false }, option.items ?? 'string', v)),
      ]);
    case 'map':
      return made.argParser((raw: string, previous: Record<string, string> | undefined) => {
        const eq = raw.indexOf('=');
        if (eq <= 0) throw new InvalidArgumentError('key=value is expected.');
        return { ...previous, [raw.slice(0, eq)]: raw.slice(eq + 1) };
      });
    default: {
      const kind = option.kind;
      return made.argParser((raw: string) => scalar(option, kind, raw));
    }
  }
}

function setAt(target: Record<string, unknown>, pathParts: readonly string[], value: unknown): void {
  let node = target;
  for (const key of pathParts.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[pathParts[pathParts.length - 1]!] = value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `--data`: inline JSON, `@file.json`, or `-` for stdin; it must be a JSON object. */
async function dataOf(raw: string): Promise<Record<string, unknown>> {
  let text = raw;
  if (raw === '-') text = await readStdin();
  else if (raw.startsWith('@')) {
    try {
      text = await readFile(raw.slice(1), 'utf8');
    } catch (error) {
      throw new UsageError(`--data ${raw}: ${(error as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--data is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError('--data must be a JSON object: the whole request body.');
  return parsed as Record<string, unknown>;
}

/** The values of the options given, placed at their targets over `base`; `undefined` when there is neither. */
function collect(options: readonly CliOption[], values: Record<string, unknown>, attribute: (option: CliOption) => string, base?: Record<string, unknown>): Record<string, unknown> | undefined {
  let result = base && { ...base };
  for (const option of options) {
    const value = values[attribute(option)];
    if (value === undefined) continue;
    result ??= {};
    setAt(result, option.target, value);
  }
  return result;
}

function deprecationLine(op: CliOperation): string {
  const d = op.deprecation!;
  const since = d.since ? ` since ${d.since}` : '';
  const sunset = d.sunset ? ` and stops answering on ${d.sunset}` : '';
  const instead = d.successor ? `; use \`remit ${d.successor.join(' ')}\`` : '';
  return `\`${commandLine(op)}\` is deprecated${since}${sunset}${instead}.`;
}

interface ListEnvelope {
  object: 'list';
  data: Record<string, unknown>[];
  has_more: boolean;
  next_cursor: string | null;
}

function isList(value: unknown): value is ListEnvelope {
  return value !== null && typeof value === 'object' && (value as { object?: unknown }).object === 'list' && Array.isArray((value as { data?: unknown }).data);
}

async function run(op: CliOperation, positionals: string[], values: Record<string, unknown>, attribute: (option: CliOption) => string, ctx: OperationContext): Promise<number> {
  const { out } = ctx;
  if (op.deprecation) out.message(out.paint('yellow', `warning: ${deprecationLine(op)}`));
  const pathParams = Object.fromEntries(op.args.map((arg, i) => [arg.name, positionals[i]!]));
  const query = collect(op.query, values, attribute);

  let body: Record<string, unknown> | undefined;
  if (op.bodyEncoding) {
    const data = typeof values.data === 'string' ? await dataOf(values.data) : undefined;
    body = collect(op.body, values, attribute, data);
    if (!data) {
      const missing = op.body.filter((o) => o.required && values[attribute(o)] === undefined).map((o) => `--${flagOf(o, 'body')}`);
      if (missing.length > 0 && (op.bodyRequired || body !== undefined)) throw new UsageError(`${commandLine(op)} needs ${missing.join(', ')} (or the whole body with --data).`);
    }
    if (op.bodyEncoding === 'form' && body) body = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, String(v)]));
  }

  const headers: Record<string, string> = {};
  let client: Remit;
  if (op.auth === 'credentials') client = ctx.client();
  else {
    client = ctx.anonymousClient();
    const token = op.auth === 'admin' ? ctx.adminToken : op.auth === 'metrics' ? ctx.metricsToken : undefined;
    if (op.auth === 'admin' && token === undefined) throw new UsageError(`${commandLine(op)} takes the operator's admin token: --admin-token, REMIT_ADMIN_TOKEN or the profile's admin_token.`);
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  }
  // Made here rather than by the SDK, so that a failure that leaves the outcome unknown can name it.
  const givenKey = typeof values.idempotencyKey === 'string' ? values.idempotencyKey : undefined;
  const idempotencyKey = givenKey ?? (op.idempotencyKey ? randomUUID() : undefined);
  const send = (extraQuery?: Record<string, unknown>) =>
    client.request(
      { method: op.method, path: op.path, idempotent: op.idempotencyKey, authenticate: op.auth === 'credentials' },
      {
        path: pathParams,
        ...(query || extraQuery ? { query: { ...query, ...extraQuery } } : {}),
        ...(body !== undefined ? { body, bodyEncoding: op.bodyEncoding ?? 'json' } : {}),
        options: { headers, signal: ctx.signal, ...(idempotencyKey ? { idempotencyKey } : {}) },
      },
    );

  let result: unknown;
  try {
    result = await send();
  } catch (error) {
    if (idempotencyKey !== undefined && givenKey === undefined && (await import('./failure.js')).outcomeUnknown(error)) throw new UnsettledError(error, idempotencyKey);
    throw error;
  }
  if (op.list && values.all === true && isList(result)) {
    const all = [...result.data];
    let page: ListEnvelope = result;
    while (page.has_more && page.next_cursor) {
      out.progress(`${all.length} fetched…`);
      const next: unknown = await send({ cursor: page.next_cursor });
      if (!isList(next)) break;
      all.push(...next.data);
      page = next;
    }
    out.progress(undefined);
    result = { ...result, data: all, has_more: false, next_cursor: null };
  }
  print(op, result, ctx);
  return 0;
}

function print(op: CliOperation, result: unknown, ctx: CliContext): void {
  const { out } = ctx;
  if (typeof result === 'string') {
    out.data(result.endsWith('\n') ? result.slice(0, -1) : result);
    return;
  }
  if (result === undefined) {
    out.message('Done (no content).');
    return;
  }
  if (out.json) {
    out.data(JSON.stringify(result, null, 2));
    return;
  }
  if (op.list && isList(result)) {
    if (result.data.length > 0) for (const line of renderTable(out, result.data, op.list.columns, out.columns)) out.data(line);
    const noun = result.data.length === 1 ? 'item' : 'items';
    const more = result.has_more && result.next_cursor ? ` · more: --cursor ${result.next_cursor}, or --all` : '';
    out.message(out.paint('dim', `${result.data.length} ${noun}${more}`));
    return;
  }
  for (const line of renderObject(out, result)) out.data(line);
}

/**
 * Adds the operations' commands to the program, under their group commands. Only what `words`
 * (the command line's positional words) can reach is built in full: the groups the first word
 * names, and the options of the operation the words name; every other group is a name and a
 * description. Building all 58 operations' options would cost each start-up more than the
 * command it runs.
 */
export function registerOperations(program: Command, deps: OperationDeps, onResult: (code: number) => void, words: readonly string[]): void {
  const groups = new Map<string, Command>();
  const groupOf = (path: readonly string[]): Command => {
    if (path.length === 0) return program;
    const key = path.join(' ');
    let group = groups.get(key);
    if (!group) {
      group = groupOf(path.slice(0, -1)).command(path[path.length - 1]!).description(groupHelp[key] ?? key);
      groups.set(key, group);
    }
    return group;
  };
  for (const op of operations) {
    const reached = op.command.slice(0, -1).every((w, i) => i >= words.length || words[i] === w);
    if (!reached || words.length === 0) {
      groupOf(op.command.slice(0, 1));
      continue;
    }
    const parent = groupOf(op.command.slice(0, -1));
    const command = parent.command(op.command[op.command.length - 1]!);
    command.summary(op.deprecation ? `[deprecated] ${op.summary}` : op.summary);
    if (op.command.every((w, i) => words[i] === w)) defineOperation(command, op, deps, onResult);
  }
}

function defineOperation(command: Command, op: CliOperation, deps: OperationDeps, onResult: (code: number) => void): void {
  command.description([op.deprecation ? `Deprecated: ${deprecationLine(op)}` : '', op.summary, op.description].filter(Boolean).join('\n\n'));
  for (const arg of op.args) command.argument(`<${arg.name}>`, arg.description);
  const attributes = new Map<CliOption, string>();
  for (const [where, list] of [['query', op.query], ['body', op.body]] as const) {
    for (const option of list) {
      const made = optionFor(option, where);
      attributes.set(option, made.attributeName());
      command.addOption(made);
    }
  }
  if (op.bodyEncoding) command.option('--data <json|@file|->', 'The whole request body as JSON (inline, @file.json, or - for stdin); options change its fields');
  if (op.idempotencyKey) command.option('--idempotency-key <key>', 'The Idempotency-Key to send (default: a new one per command, the same on every retry)');
  if (op.list) command.option('--all', 'Every page, not only the first');
  command.addHelpText('after', `\n${op.method} ${op.path} (${op.operationId})${op.auth === 'admin' ? "\nTakes the operator's admin token." : ''}`);
  command.action(async (...received: unknown[]) => {
    const cmd = received[received.length - 1] as Command;
    const positionals = received.slice(0, op.args.length) as string[];
    const ctx = await deps.context(cmd);
    onResult(await run(op, positionals, cmd.opts(), (option) => attributes.get(option)!, ctx));
  });
}
