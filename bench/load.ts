/**
 * The load generator, in a process of its own so that it never competes with a server for one
 * event loop. It stays up for the whole benchmark (a warm load generator for every run) and runs
 * autocannon once per request from `http.bench.ts`.
 */
import autocannon from 'autocannon';
import type { KeyAccounting, KeyMode, LoadMessage, LoadRequest, RunResult } from './targets.js';

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

async function run(request: LoadRequest): Promise<RunResult> {
  const keys: KeyMode = request.keys;
  let sentKeys = 0;
  let answered201 = 0;
  let answeredOther = 0;
  let replayed = 0;
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
            onResponse: (status, _body, context, headers) => {
              if (header(headers as Record<string, unknown>, 'idempotent-replayed') === 'true') replayed++;
              if (keys.mode !== 'unique') return;
              const key = (context as KeyContext).key;
              if (key !== undefined) unanswered.delete(key);
              if (status === 201) answered201++;
              else answeredOther++;
            },
          },
        ];

  const result = await autocannon({
    url: request.url,
    method: request.method,
    headers: request.headers,
    body: request.body,
    requests,
    connections: request.connections,
    duration: request.durationS,
    pipelining: 1,
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
