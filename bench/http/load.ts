/**
 * The load generator, in a process of its own so that it never competes with a server for one
 * event loop. It stays up for the whole benchmark (a warm load generator for every run) and runs
 * autocannon once per request from the orchestrator. The validation-attack table starts a second
 * one for its attackers, so that their load runs beside the victim's without sharing its event loop.
 */
import autocannon from 'autocannon';
import type { Answers, KeyAccounting, KeyMode, LoadMessage, LoadRequest, RunResult, Waits } from './targets.js';

// A cut-off request may still be running on the server when its key is resent: the server then
// answers 409 with Retry-After, and the key is resent after the delay, this many times at most.
const RESEND_ATTEMPTS = 30;
const RESEND_TIMEOUT_MS = 10_000;

function send(message: LoadMessage): void {
  process.send?.(message);
}

interface KeyContext {
  key?: string;
}

/** Header lookup that ignores case: autocannon hands over the names as the server spelled them. */
function header(headers: Record<string, unknown> | undefined, name: string): unknown {
  if (!headers) return undefined;
  const found = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return found === undefined ? undefined : headers[found];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends a cut-off key again until the server gives its answer: 'new', 'replayed', or what went wrong. */
async function resend(request: LoadRequest, key: string): Promise<'new' | 'replayed' | string> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(request.url, {
      method: request.method,
      headers: { ...request.headers, 'idempotency-key': key },
      body: request.body,
      signal: AbortSignal.timeout(RESEND_TIMEOUT_MS),
    });
    const text = await res.text();
    if (res.status === 201) return res.headers.get('idempotent-replayed') === 'true' ? 'replayed' : 'new';
    if (res.status === 409 && attempt < RESEND_ATTEMPTS) {
      await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000);
      continue;
    }
    return `${key}: ${res.status} ${text.slice(0, 300)}`;
  }
}

/** Nearest rank: the smallest value with at least `p` per cent of the values at or below it. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/**
 * Latency counting the requests a run ended on as well as the answered ones. With pipelining 1, each
 * connection sends its next request as soon as it has an answer, so when the run ends each has one
 * request waiting since its last answer (or since the start); that wait is counted as the request's
 * time, which it would have exceeded. Where answers take milliseconds this changes next to nothing;
 * where they take seconds it keeps the requests nobody answered from vanishing from the percentiles.
 */
function waitsOf(answeredMs: readonly number[], lastAnswerAt: ReadonlyMap<object, number>, connections: number, startedAt: number, endedAt: number): Waits {
  const waiting = [
    ...[...lastAnswerAt.values()].map((at) => endedAt - at),
    ...Array.from({ length: Math.max(0, connections - lastAnswerAt.size) }, () => endedAt - startedAt),
  ];
  const all = [...answeredMs, ...waiting].sort((a, b) => a - b);
  const tenth = (n: number) => Math.round(n * 10) / 10;
  return {
    p50Ms: tenth(percentile(all, 50)),
    p99Ms: tenth(percentile(all, 99)),
    answered: answeredMs.length,
    waiting: waiting.length,
    longestWaitMs: tenth(Math.max(0, ...waiting)),
  };
}

async function run(request: LoadRequest): Promise<RunResult> {
  const keys: KeyMode = request.keys;
  let sentKeys = 0;
  let answered201 = 0;
  let answeredOther = 0;
  let replayed = 0;
  // recordAnswers: answers by body size in bytes.
  const bytes = new Map<number, number>();
  // Keys on the wire and not yet answered; whatever is left when the run ends was cut off.
  const unanswered = new Set<string>();

  // Only POST runs describe their requests one by one; the GET rows stay on autocannon's plain
  // path, as they always were, so the read table measures what it measured before.
  const requests: autocannon.Request[] | undefined =
    request.method === 'GET'
      ? undefined
      : [
          {
            method: request.method,
            body: request.body,
            setupRequest: (req, context) => {
              const ctx = context as KeyContext;
              if (keys.mode === 'none') return req;
              // One counter for the whole process: unique across the run's connections.
              const key = keys.mode === 'unique' ? `${keys.prefix}-${++sentKeys}` : keys.key;
              ctx.key = key;
              if (keys.mode === 'unique') unanswered.add(key);
              return { ...req, headers: { ...req.headers, 'Idempotency-Key': key } };
            },
            onResponse: (status, body, context, headers) => {
              if (request.recordAnswers) {
                const size = Buffer.byteLength(body);
                bytes.set(size, (bytes.get(size) ?? 0) + 1);
              }
              if (header(headers as Record<string, unknown>, 'idempotent-replayed') === 'true') replayed++;
              if (keys.mode !== 'unique') return;
              const key = (context as KeyContext).key;
              if (key !== undefined) unanswered.delete(key);
              if (status === 201) answered201++;
              else answeredOther++;
            },
          },
        ];

  // waits: every answer's time as autocannon measures it, and when each connection last had one.
  const answeredMs: number[] = [];
  const lastAnswerAt = new Map<object, number>();
  let startedAt = 0;
  let endedAt = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    startedAt = performance.now();
    const instance = autocannon(
      {
        url: request.url,
        method: request.method,
        headers: request.headers,
        body: request.body,
        requests,
        connections: request.connections,
        duration: request.durationS,
        pipelining: 1,
        ...(request.timeoutS !== undefined ? { timeout: request.timeoutS } : {}),
        ...(request.ratePerS !== undefined ? { overallRate: request.ratePerS } : {}),
      },
      (err: unknown, res: autocannon.Result) => {
        endedAt = performance.now();
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve(res);
      },
    );
    if (request.waits) {
      instance.on('response', (client, _status, _bytes, responseTime) => {
        answeredMs.push(responseTime);
        lastAnswerAt.set(client, performance.now());
      });
    }
  });

  let accounting: KeyAccounting | undefined;
  if (keys.mode === 'unique') {
    const cutOff = [...unanswered];
    const outcomes = await Promise.all(cutOff.map((key) => resend(request, key).catch((err: unknown) => `${key}: ${String(err)}`)));
    accounting = {
      sent: sentKeys,
      answered201,
      answeredOther,
      cutOff: cutOff.length,
      retriedReplayed: outcomes.filter((o) => o === 'replayed').length,
      retriedNew: outcomes.filter((o) => o === 'new').length,
      retriedFailed: outcomes.filter((o) => o !== 'new' && o !== 'replayed'),
    };
  }

  return {
    requests: result.requests.total,
    durationS: result.duration,
    // Completed responses over the measured wall time, rather than the mean of per-second samples,
    // so a partial last second does not skew a short run.
    reqPerS: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    created: result.statusCodeStats?.['201']?.count ?? 0,
    statuses: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([status, stats]) => [status, stats.count ?? 0])),
    replayed,
    sent: result.requests.sent,
    ...(accounting ? { keys: accounting } : {}),
    ...(request.recordAnswers ? { answers: { bytes: Object.fromEntries(bytes) } satisfies Answers } : {}),
    ...(request.waits ? { waits: waitsOf(answeredMs, lastAnswerAt, request.connections, startedAt, endedAt) } : {}),
  };
}

process.on('message', (request: LoadRequest) => {
  run(request).then(
    (result) => send({ type: 'result', result }),
    (err: unknown) => send({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
  );
});
// Without the orchestrator nobody will stop this process: leave with it.
process.on('disconnect', () => process.exit());
