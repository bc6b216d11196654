/**
 * The load generator, in a process of its own so that it never competes with a server for one
 * event loop. It stays up for the whole benchmark (a warm load generator for every run) and runs
 * autocannon once per request from `http.bench.ts`.
 */
import autocannon from 'autocannon';
import type { LoadMessage, LoadRequest, RunResult } from './targets.js';

function send(message: LoadMessage): void {
  process.send?.(message);
}

async function run(request: LoadRequest): Promise<RunResult> {
  const result = await autocannon({
    url: request.url,
    headers: request.headers,
    connections: request.connections,
    duration: request.durationS,
    pipelining: 1,
  });
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
