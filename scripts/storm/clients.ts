/**
 * The storm's clients: each makes its payments in turn, one Idempotency-Key per payment reused on
 * every retry, and retries the way real clients do, most waiting as Retry-After says and some
 * retrying at once, so that what the API does under both kinds of pressure can be told apart.
 */
import type { ProjectProcess } from '../harness/process.js';
import { send, type Answer } from './http.js';
import type { Knobs } from './knobs.js';
import { checkInterrupted, pause } from './run.js';

/** The most a patient client adds to Retry-After, so that waiting clients do not return in step. */
export const RETRY_AFTER_JITTER_MS = 250;

/** Seconds (or an HTTP date) to milliseconds; undefined when absent or unreadable. */
function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

type ClientKind = 'patient' | 'impatient';

/** What one group of clients (or all of them) sent and got. */
export class Tally {
  requests = 0;
  created = 0;
  createdReplayed = 0;
  inFlight409 = 0;
  rateLimited = 0;
  unavailable = 0;
  otherAnswers = 0;
  unexpected5xx = 0;
  connectionErrors = 0;
  timeouts = 0;
  retryAfterOn429 = 0;
  rateLimitHeadersOn429 = 0;
  retryAfterOn503 = 0;
  latenciesMs: number[] = [];
  createdLatenciesMs: number[] = [];
  logical = 0;
  succeeded = 0;
  unfinished = 0;
  refused = 0;
  notStarted = 0;
}

export interface Logical {
  readonly key: string;
  readonly kind: ClientKind;
  attempts: number;
  outcome: 'succeeded' | 'unfinished' | 'refused' | 'not_started';
  /** Every payment id a 201 named for this key: one, or none. */
  readonly paymentIds: Set<string>;
}

export interface StormSample {
  readonly status: number;
  readonly instance: string;
  readonly requestId: string | null;
  readonly body: string;
}

export interface StormResult {
  readonly tallies: Record<ClientKind | 'all', Tally>;
  readonly logicals: Logical[];
  readonly perInstance: number[];
  /** The first few answers that were neither expected nor retried, for the report. */
  readonly samples: StormSample[];
  readonly elapsedMs: number;
}

type AttemptOutcome = { kind: 'created'; paymentId: string } | { kind: 'retry'; waitMs: number | undefined } | { kind: 'final' };

export async function storm(knobs: Knobs, runId: string, apis: ProjectProcess[], secret: string): Promise<StormResult> {
  const tallies: Record<ClientKind | 'all', Tally> = { patient: new Tally(), impatient: new Tally(), all: new Tally() };
  const logicals: Logical[] = [];
  const perInstance = apis.map(() => 0);
  const samples: StormSample[] = [];
  const began = Date.now();
  const stormDeadline = began + knobs.durationS * 1000;

  const count = (kind: ClientKind, apply: (t: Tally) => void) => {
    apply(tallies[kind]);
    apply(tallies.all);
  };

  async function attempt(kind: ClientKind, instance: number, logical: Logical, body: string): Promise<AttemptOutcome> {
    const api = apis[instance]!;
    perInstance[instance]! += 1;
    count(kind, (t) => t.requests++);
    const t0 = performance.now();
    let answer: Answer;
    try {
      answer = await send(`${api.url}/v1/payments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': logical.key },
        body,
        timeoutMs: kind === 'impatient' ? knobs.impatientTimeoutMs : knobs.requestTimeoutMs,
      });
    } catch (err) {
      checkInterrupted();
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || (err.cause instanceof Error && err.cause.name === 'TimeoutError'));
      count(kind, (t) => (timedOut ? t.timeouts++ : t.connectionErrors++));
      return { kind: 'retry', waitMs: undefined };
    }
    const latency = performance.now() - t0;
    count(kind, (t) => t.latenciesMs.push(latency));
    const { status, headers } = answer;
    const retryAfter = retryAfterMs(headers.get('retry-after'));

    if (status === 201) {
      const payment = answer.json<{ id?: unknown }>();
      const replayed = headers.get('idempotent-replayed') === 'true';
      count(kind, (t) => {
        t.created++;
        if (replayed) t.createdReplayed++;
        t.createdLatenciesMs.push(latency);
      });
      if (typeof payment?.id === 'string') return { kind: 'created', paymentId: payment.id };
      count(kind, (t) => t.otherAnswers++);
      return { kind: 'final' };
    }
    if (status === 429) {
      count(kind, (t) => {
        t.rateLimited++;
        if (retryAfter !== undefined) t.retryAfterOn429++;
        if (headers.get('ratelimit') && headers.get('ratelimit-policy')) t.rateLimitHeadersOn429++;
      });
      return { kind: 'retry', waitMs: retryAfter };
    }
    if (status === 409 && answer.json<{ code?: unknown }>()?.code === 'idempotency_in_flight') {
      count(kind, (t) => t.inFlight409++);
      return { kind: 'retry', waitMs: retryAfter };
    }
    if (status === 503) {
      count(kind, (t) => {
        t.unavailable++;
        if (retryAfter !== undefined) t.retryAfterOn503++;
      });
      return { kind: 'retry', waitMs: retryAfter };
    }
    count(kind, (t) => (status >= 500 ? t.unexpected5xx++ : t.otherAnswers++));
    if (samples.length < 10) samples.push({ status, instance: api.url, requestId: headers.get('request-id'), body: answer.text.slice(0, 600) });
    return { kind: 'final' };
  }

  async function client(index: number, kind: ClientKind): Promise<void> {
    let sent = 0;
    for (let n = 0; n < knobs.paymentsPerClient; n++) {
      const logical: Logical = { key: `storm-${runId}-${index}-${n}`, kind, attempts: 0, outcome: 'unfinished', paymentIds: new Set() };
      logicals.push(logical);
      if (Date.now() >= stormDeadline) {
        logical.outcome = 'not_started';
        continue;
      }
      // Never an amount ending in 402: the simulator declines those.
      let amount = 1_000 + ((index * knobs.paymentsPerClient + n) % 9_000);
      if (amount % 1_000 === 402) amount += 1;
      const body = JSON.stringify({
        amount,
        currency: 'EUR',
        description: 'Retry storm payment',
        metadata: { storm_run: runId, storm_key: logical.key },
      });
      const giveUpAt = Math.min(Date.now() + knobs.giveUpS * 1000, stormDeadline);
      for (;;) {
        if (logical.attempts >= knobs.maxAttempts || Date.now() >= giveUpAt) break;
        logical.attempts++;
        const outcome = await attempt(kind, (index + sent++) % apis.length, logical, body);
        if (outcome.kind === 'created') {
          logical.paymentIds.add(outcome.paymentId);
          logical.outcome = 'succeeded';
          break;
        }
        if (outcome.kind === 'final') {
          logical.outcome = 'refused';
          break;
        }
        const waitMs =
          kind === 'impatient'
            ? 0
            : outcome.waitMs !== undefined
              ? outcome.waitMs + Math.random() * RETRY_AFTER_JITTER_MS
              : // No Retry-After (a connection error): a short backoff with full jitter.
                Math.random() * Math.min(2_000, 100 * 2 ** Math.min(logical.attempts, 5));
        if (Date.now() + waitMs >= giveUpAt) break;
        if (waitMs > 0) await pause(waitMs);
        else checkInterrupted();
      }
    }
  }

  // Impatient clients spread evenly among the patient ones.
  const kindOf = (i: number): ClientKind => (Math.floor((i + 1) * knobs.impatientShare) > Math.floor(i * knobs.impatientShare) ? 'impatient' : 'patient');
  await Promise.all(Array.from({ length: knobs.clients }, (_, i) => client(i, kindOf(i))));

  for (const logical of logicals) {
    count(logical.kind, (t) => {
      t.logical++;
      if (logical.outcome === 'succeeded') t.succeeded++;
      else if (logical.outcome === 'unfinished') t.unfinished++;
      else if (logical.outcome === 'refused') t.refused++;
      else t.notStarted++;
    });
  }
  return { tallies, logicals, perInstance, samples, elapsedMs: Date.now() - began };
}
