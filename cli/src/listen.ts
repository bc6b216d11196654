/**
 * `remit listen`: the account's events delivered to a server on the developer's machine, as
 * Remit's webhooks would deliver them, without exposing that machine to the internet. It reads
 * `GET /v1/events` every interval, and POSTs each new event to `--forward-to` with exactly the
 * production body and headers, signed with a local secret (`--print-secret` shows it) that the
 * receiver verifies as it would verify Remit's.
 *
 * Only events written after the first start are forwarded; from then on the position is saved
 * after every event, so a restart forwards what was written while listen was stopped, once.
 */
import { APIConnectionError, APIError, type Event, type Remit } from '@remit/sdk';
import type { CliContext } from './context.js';
import { EXIT, UsageError, type ExitCode } from './exit-codes.js';
import { listenDirectory, signingSecret } from './listen-files.js';
import { Forwarder, webhookPayload, type ForwardOutcome } from './listen-forward.js';
import { LOOKBACK_SECONDS, Position, PositionStore } from './listen-position.js';
import { EVENT_TYPES } from './trigger.js';

/** What `remit listen` was asked for on the command line. */
export interface ListenOptions {
  /** `--forward-to`: the http(s) URL each event is POSTed to. Without it, events are only printed. */
  readonly forwardTo?: string;
  /** `--events`: the types to forward (`*`, `payment.*`, `refund.*` or exact types; entries may be comma-separated). All when absent. */
  readonly events?: readonly string[];
  /** `--print-secret`: print the local signing secret on stdout and stop. */
  readonly printSecret?: boolean;
  /** How often the API is asked for new events, in milliseconds. Default 1000. */
  readonly intervalMs?: number;
}

/** How often the API is asked for new events unless `--interval-ms` says otherwise. */
export const DEFAULT_INTERVAL_MS = 1_000;
/** The longest wait between two polls while the API cannot be read. */
export const MAX_BACKOFF_MS = 30_000;
/** Events per page: the API's maximum, so a busy account takes few requests. */
const PAGE_LIMIT = 100;

/**
 * Forwards the account's new events to `options.forwardTo` (or prints them) until `ctx.signal`
 * aborts, then saves the position and returns 0. Returns 2 when the API refuses the credentials;
 * throws a UsageError for a malformed option, before anything is sent.
 */
export async function listen(ctx: CliContext, options: ListenOptions): Promise<ExitCode> {
  const target = forwardTarget(options.forwardTo);
  const wanted = eventFilter(options.events);
  const intervalMs = pollInterval(options.intervalMs);
  const secret = await signingSecret(ctx.configDir, ctx.profile);
  if (options.printSecret) {
    ctx.out.data(secret);
    return EXIT.ok;
  }
  const client = ctx.client();
  const store = new PositionStore(await listenDirectory(ctx.configDir), ctx.profile, ctx.baseURL);
  const forwarder = target === undefined ? undefined : new Forwarder(target, secret);
  try {
    return await new Listener({ ctx, client, store, forwarder, wanted, intervalMs, secret }).run();
  } finally {
    forwarder?.close();
  }
}

/** `--forward-to` as a URL; a UsageError unless it is http(s). */
function forwardTarget(forwardTo: string | undefined): URL | undefined {
  if (forwardTo === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(forwardTo);
  } catch {
    throw new UsageError(`--forward-to must be an http(s) URL, e.g. http://localhost:3000/webhooks; "${forwardTo}" is not a URL.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--forward-to must be an http(s) URL, e.g. http://localhost:3000/webhooks; "${forwardTo}" is ${url.protocol.slice(0, -1)}.`);
  }
  return url;
}

/**
 * Which event types `--events` lets through: `*` (or nothing) for all, `payment.*` and `refund.*`
 * for a family, or exact types. An entry naming no known type is a UsageError, since a typo would
 * otherwise forward nothing, silently.
 */
export function eventFilter(events: readonly string[] | undefined): (type: string) => boolean {
  const entries = (events ?? []).flatMap((entry) => entry.split(',')).map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0 || entries.includes('*')) return () => true;
  const families = new Set(EVENT_TYPES.map((type) => `${type.slice(0, type.indexOf('.'))}.*`));
  for (const entry of entries) {
    if (!families.has(entry) && !(EVENT_TYPES as readonly string[]).includes(entry)) {
      throw new UsageError(`Unknown event type "${entry}" in --events: use *, ${[...families].join(', ')} or any of ${EVENT_TYPES.join(', ')}.`);
    }
  }
  const exact = new Set(entries.filter((entry) => !entry.endsWith('.*')));
  const prefixes = entries.filter((entry) => entry.endsWith('.*')).map((entry) => entry.slice(0, -1));
  return (type) => exact.has(type) || prefixes.some((prefix) => type.startsWith(prefix));
}

function pollInterval(intervalMs: number | undefined): number {
  if (intervalMs === undefined) return DEFAULT_INTERVAL_MS;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) throw new UsageError('The poll interval must be a whole number of milliseconds, 1 or more.');
  return intervalMs;
}

interface ListenerParts {
  readonly ctx: CliContext;
  readonly client: Remit;
  readonly store: PositionStore;
  readonly forwarder: Forwarder | undefined;
  readonly wanted: (type: string) => boolean;
  readonly intervalMs: number;
  readonly secret: string;
}

/** One run of `listen`: the poll loop, its position and what it prints. */
class Listener {
  readonly #parts: ListenerParts;
  readonly #signal: AbortSignal;

  constructor(parts: ListenerParts) {
    this.#parts = parts;
    this.#signal = parts.ctx.signal;
  }

  async run(): Promise<ExitCode> {
    const { ctx, store, intervalMs } = this.#parts;
    let position = await this.#savedPosition();
    if (position !== undefined) this.#announce(true);
    let failures = 0;
    let code: ExitCode = EXIT.ok;
    while (!this.#signal.aborted) {
      try {
        if (position === undefined) {
          position = await this.#baseline();
          await store.save(position);
          this.#announce(false);
        } else {
          await this.#poll(position);
        }
        if (failures > 0) ctx.out.message('Reading events again.');
        failures = 0;
      } catch (error) {
        if (this.#signal.aborted) break;
        const refusal = refusalOf(error);
        if (refusal !== undefined) {
          ctx.out.message(refusal);
          code = EXIT.refused;
          break;
        }
        if (!isTransient(error)) throw error;
        failures++;
        const waitMs = Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** failures);
        ctx.out.message(`Could not read events (${(error as Error).message.replace(/\.$/, '')}); trying again in ${formatWait(waitMs)}.`);
        await pause(waitMs, this.#signal);
        continue;
      }
      await pause(intervalMs, this.#signal);
    }
    if (position !== undefined) await store.save(position);
    return code;
  }

  /** The position saved by an earlier run; undefined (with a notice when the file was unreadable) otherwise. */
  async #savedPosition(): Promise<Position | undefined> {
    const saved = await this.#parts.store.load();
    if (saved !== 'unreadable') return saved;
    this.#parts.ctx.out.message(`${this.#parts.store.path} does not hold a position; starting from the newest event.`);
    return undefined;
  }

  #announce(resuming: boolean): void {
    const { ctx, forwarder, secret } = this.#parts;
    const where = forwarder === undefined ? 'Printing events as they are written' : `Forwarding events to ${forwarder.url.href}`;
    ctx.out.message(`Ready! ${where}. Your webhook signing secret is ${secret} (^C to quit)`);
    if (resuming) ctx.out.message('Resuming where the last run stopped: events written since then come first.');
  }

  /**
   * The first position, when none was saved: every event already written counts as seen, so only
   * what is written from now on is forwarded. Reads the newest event, then its lookback window.
   */
  async #baseline(): Promise<Position> {
    const { client } = this.#parts;
    const position = new Position();
    const first = await client.events.list({ limit: 1 }, { signal: this.#signal });
    const newest = first.data[0];
    if (newest === undefined) return position;
    const query = { limit: PAGE_LIMIT, created: { gte: Math.max(0, newest.created - LOOKBACK_SECONDS) } };
    for await (const event of client.events.list(query, { signal: this.#signal })) position.record(event.id, event.created);
    return position;
  }

  /** Reads the events not seen yet and handles them oldest first, saving the position after each one forwarded. */
  async #poll(position: Position): Promise<void> {
    const { store, wanted } = this.#parts;
    const fresh = await this.#unseen(position);
    for (const event of fresh) {
      // Ctrl-C stops between events: a forward in flight finishes (within its timeout) and is
      // recorded, so the next run neither sends it again nor skips it.
      if (this.#signal.aborted) return;
      const handled = wanted(event.type);
      if (handled) await this.#handle(event);
      position.record(event.id, event.created);
      if (handled) await store.save(position);
    }
    position.prune();
    if (fresh.length > 0) await store.save(position);
  }

  /** The events of the lookback window not handled yet, oldest first. */
  async #unseen(position: Position): Promise<Event[]> {
    const since = position.since();
    const query = since === undefined ? { limit: PAGE_LIMIT } : { limit: PAGE_LIMIT, created: { gte: since } };
    const fresh: Event[] = [];
    for await (const event of this.#parts.client.events.list(query, { signal: this.#signal })) {
      if (!position.has(event.id)) fresh.push(event);
    }
    // The list is newest first; reversed, then sorted stably by `created`, it is oldest first.
    return fresh.reverse().sort((a, b) => a.created - b.created);
  }

  /** Prints the event and forwards it when there is a target. */
  async #handle(event: Event): Promise<void> {
    const { ctx, forwarder } = this.#parts;
    const payload = webhookPayload(event);
    if (!ctx.out.json) ctx.out.data(`${ctx.out.paint('dim', '-->')} ${ctx.out.paint('bold', event.type)} [${event.id}]`);
    if (forwarder === undefined) {
      if (ctx.out.json) ctx.out.data(JSON.stringify({ event: payload, status: null }));
      return;
    }
    const outcome = await forwarder.forward(event.id, JSON.stringify(payload));
    if (ctx.out.json) ctx.out.data(JSON.stringify({ event: payload, status: outcome.status, ...(outcome.error === undefined ? {} : { error: outcome.error }) }));
    else ctx.out.data(this.#resultLine(event, outcome, forwarder.url));
  }

  #resultLine(event: Event, outcome: ForwardOutcome, url: URL): string {
    const { out } = this.#parts.ctx;
    const ok = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
    const status = out.paint(ok ? 'green' : 'red', `[${outcome.status ?? 'ERR'}]`);
    const reason = outcome.error === undefined ? '' : ` ${outcome.error}`;
    return `${out.paint('dim', '<--')} ${status} POST ${url.href} [${event.id}]${reason}`;
  }
}

/**
 * The line to end on when the API refuses the poll itself (401, 403, or another 4xx that asking
 * again will not change); undefined for any other failure.
 */
function refusalOf(error: unknown): string | undefined {
  if (!(error instanceof APIError) || error.status >= 500 || error.status === 429 || error.status === 408) return undefined;
  const problem = error.problem;
  const what = problem === undefined ? error.message : `${error.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`;
  const hint =
    error.status === 401
      ? ' The credentials are revoked or mistyped: `remit doctor` checks them.'
      : error.status === 403
        ? ' Listing events needs the read scope.'
        : '';
  return `The API refused to list events (${what}).${hint}`;
}

/** A failure the next poll may not have: no answer, a 5xx, or a quota still exhausted after the SDK's retries. */
function isTransient(error: unknown): boolean {
  return error instanceof APIConnectionError || (error instanceof APIError && (error.status >= 500 || error.status === 429 || error.status === 408));
}

/** A wait for a person: `40 ms`, `2 s`, `1.5 s`. */
function formatWait(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
