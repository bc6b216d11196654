/**
 * The storm's clients, of two kinds, making the same payments with the same attempt timeout:
 *
 * - `naive`: the client people write first. A fresh Idempotency-Key on every attempt (a key is
 *   required, so it is made where the request is made), the next attempt at once after anything
 *   but a 201 or a plain refusal, Retry-After and RateLimit ignored, no Remit-Retry-Count.
 * - `sdk`: `@remit/sdk` as an integrator uses it. One key per call, made by the SDK and sent on
 *   every retry; waits as Retry-After and RateLimit say, else exponential backoff, with jitter;
 *   Remit-Retry-Count on every retry.
 *
 * Every attempt, whoever makes it, is recorded with its outcome and its time, for the report and
 * the plots. Attempts alternate between the API processes, as behind a load balancer.
 */
import { randomUUID } from 'node:crypto';
import { Remit } from '@remit/sdk';
import type { ProjectProcess } from '../harness/process.js';
import { send } from './http.js';
import type { Knobs } from './knobs.js';
import { checkInterrupted, Interrupted, interruption } from './run.js';

export type ClientKind = 'naive' | 'sdk';

/** An HTTP status, or what came instead of an answer. */
export type AttemptOutcome = number | 'timeout' | 'connection';

/** One HTTP attempt, its times in ms from the storm's start. */
export interface AttemptRecord {
  readonly startMs: number;
  readonly endMs: number;
  readonly outcome: AttemptOutcome;
  readonly instance: number;
  readonly retryAfter: boolean;
  /** Both `RateLimit` and `RateLimit-Policy`. */
  readonly rateLimitHeaders: boolean;
  /** `Idempotent-Replayed: true`: the answer of an earlier attempt with the same key. */
  readonly replayed: boolean;
}

/** One payment a client set out to make, however many attempts it took. */
export interface Logical {
  /** `storm-<run>-<client>-<n>`: the payment's `metadata.storm_key`, whatever Idempotency-Keys were sent. */
  readonly key: string;
  attempts: number;
  outcome: 'succeeded' | 'unfinished' | 'refused' | 'not_started';
  /** Every payment id a 201 named for this logical payment. */
  readonly paymentIds: Set<string>;
}

export interface StormSample {
  readonly status: number;
  readonly instance: string;
  readonly requestId: string | null;
  readonly body: string;
}

export interface StormResult {
  readonly kind: ClientKind;
  readonly attempts: AttemptRecord[];
  readonly logicals: Logical[];
  /** The first few answers that were neither a success, a retry nor a plain refusal. */
  readonly samples: StormSample[];
  readonly elapsedMs: number;
}

/** What any client retries: a quota refusal, a key in flight, a 5xx, or no answer. */
const retryable = (o: AttemptOutcome) => typeof o !== 'number' || o === 408 || o === 409 || o === 429 || o >= 500;

export async function storm(kind: ClientKind, knobs: Knobs, runId: string, apis: ProjectProcess[], secret: string, began: number): Promise<StormResult> {
  const attempts: AttemptRecord[] = [];
  const logicals: Logical[] = [];
  const samples: StormSample[] = [];
  const stormDeadline = began + knobs.durationS * 1000;
  const since = () => Date.now() - began;

  /** The instance for a client's next attempt: each client starts at its own and alternates. */
  const instances = (index: number) => {
    let sent = 0;
    return () => (index + sent++) % apis.length;
  };

  const bodyOf = (index: number, n: number, logical: Logical) => {
    // Never an amount ending in 402: the simulator declines those.
    let value = 1_000 + ((index * knobs.paymentsPerClient + n) % 9_000);
    if (value % 1_000 === 402) value += 1;
    return { amount: { value, currency: 'EUR' as const }, description: 'Retry storm payment', metadata: { storm_run: runId, storm_key: logical.key } };
  };

  function record(startMs: number, outcome: AttemptOutcome, instance: number, headers?: Headers): void {
    attempts.push({
      startMs,
      endMs: since(),
      outcome,
      instance,
      retryAfter: headers?.has('retry-after') ?? false,
      rateLimitHeaders: (headers?.has('ratelimit') && headers.has('ratelimit-policy')) ?? false,
      replayed: headers?.get('idempotent-replayed') === 'true',
    });
  }

  function sample(status: number, instance: number, requestId: string | null, body: string): void {
    if (samples.length < 10) samples.push({ status, instance: apis[instance]!.url, requestId, body: body.slice(0, 600) });
  }

  const newLogical = (index: number, n: number): Logical => {
    const logical: Logical = { key: `storm-${runId}-${index}-${n}`, attempts: 0, outcome: 'unfinished', paymentIds: new Set() };
    logicals.push(logical);
    if (Date.now() >= stormDeadline) logical.outcome = 'not_started';
    return logical;
  };

  async function naiveClient(index: number): Promise<void> {
    const next = instances(index);
    for (let n = 0; n < knobs.paymentsPerClient; n++) {
      const logical = newLogical(index, n);
      if (logical.outcome === 'not_started') continue;
      const body = JSON.stringify(bodyOf(index, n, logical));
      const giveUpAt = Math.min(Date.now() + knobs.giveUpS * 1000, stormDeadline);
      while (logical.attempts < knobs.maxAttempts && Date.now() < giveUpAt) {
        logical.attempts++;
        const instance = next();
        const startMs = since();
        let outcome: AttemptOutcome;
        try {
          const answer = await send(`${apis[instance]!.url}/v2/payments`, {
            method: 'POST',
            headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
            body,
            timeoutMs: knobs.attemptTimeoutMs,
          });
          outcome = answer.status;
          record(startMs, outcome, instance, answer.headers);
          if (answer.status === 201) {
            const id = answer.json<{ id?: unknown }>()?.id;
            if (typeof id === 'string') logical.paymentIds.add(id);
            logical.outcome = 'succeeded';
            break;
          }
          if (!retryable(outcome) || (outcome >= 500 && outcome !== 503)) sample(outcome, instance, answer.headers.get('request-id'), answer.text);
        } catch (err) {
          checkInterrupted();
          outcome = isTimeout(err) ? 'timeout' : 'connection';
          record(startMs, outcome, instance);
        }
        if (!retryable(outcome)) {
          logical.outcome = 'refused';
          break;
        }
        // At once: no wait, whatever Retry-After says.
        checkInterrupted();
      }
    }
  }

  async function sdkClient(index: number): Promise<void> {
    const next = instances(index);
    let current: Logical | undefined;
    // The SDK sends through this fetch: each attempt goes to the next API process and is recorded.
    const fetchVia = async (url: string, init: RequestInit): Promise<Response> => {
      const instance = next();
      const target = new URL(url);
      const base = new URL(apis[instance]!.url);
      target.host = base.host;
      if (current) current.attempts++;
      const startMs = since();
      try {
        const res = await fetch(target, init);
        record(startMs, res.status, instance, res.headers);
        if (res.status !== 201 && (!retryable(res.status) || (res.status >= 500 && res.status !== 503))) {
          sample(res.status, instance, res.headers.get('request-id'), await res.clone().text());
        }
        return res;
      } catch (err) {
        if (!interruption.aborted) record(startMs, isTimeout(err) || init.signal?.aborted ? 'timeout' : 'connection', instance);
        throw err;
      }
    };
    const client = new Remit({
      apiKey: secret,
      baseURL: apis[0]!.url,
      maxRetries: knobs.maxAttempts - 1,
      timeout: knobs.attemptTimeoutMs,
      fetch: fetchVia,
    });
    for (let n = 0; n < knobs.paymentsPerClient; n++) {
      const logical = newLogical(index, n);
      if (logical.outcome === 'not_started') continue;
      current = logical;
      const giveUpInMs = Math.max(1, Math.min(Date.now() + knobs.giveUpS * 1000, stormDeadline) - Date.now());
      try {
        const payment = await client.v2.payments.create(bodyOf(index, n, logical), { signal: AbortSignal.any([interruption, AbortSignal.timeout(giveUpInMs)]) });
        logical.paymentIds.add(payment.id);
        logical.outcome = 'succeeded';
      } catch (err) {
        checkInterrupted();
        const status = (err as { status?: unknown }).status;
        // The SDK gave up (retries spent, or the give-up time passed), or the API said no for good.
        logical.outcome = typeof status === 'number' && !retryable(status) ? 'refused' : 'unfinished';
      }
      current = undefined;
    }
  }

  const client = kind === 'naive' ? naiveClient : sdkClient;
  try {
    await Promise.all(Array.from({ length: knobs.clients }, (_, i) => client(i)));
  } catch (err) {
    if (interruption.aborted) throw new Interrupted();
    throw err;
  }
  return { kind, attempts, logicals, samples, elapsedMs: since() };
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError' || (err.cause instanceof Error && err.cause.name === 'TimeoutError'));
}
