/**
 * The request the read, rate-limit and validation-attack tables all load, `GET /v1/customers/{id}`
 * with the seeded account's key: one target shape, one probe and one way to run it, so that the
 * three tables measure the same request and their rows can be set side by side.
 */
import type { ChildProcess } from 'node:child_process';
import { runOn, type StartedServer } from './children.js';
import { CONNECTIONS, PROBE_TIMEOUT_MS } from './knobs.js';
import { CUSTOMER_FIELDS, type RunResult, type TargetId } from './targets.js';

export interface Target<Id extends string = TargetId> {
  readonly id: Id;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly specPaths: number | null;
  bodyBytes: number;
}

export function customerTarget<Id extends string>(id: Id, server: StartedServer): Target<Id> {
  return { id, url: `${server.origin}${server.path}`, headers: server.headers, specPaths: server.specPaths, bodyBytes: 0 };
}

/** An answer's text and what it parses to; an empty object when it is not JSON, for the caller to report. */
export async function readAnswer<B extends object>(res: Response): Promise<{ readonly text: string; readonly body: Partial<B> }> {
  const text = await res.text();
  try {
    return { text, body: JSON.parse(text) as Partial<B> };
  } catch {
    return { text, body: {} };
  }
}

/**
 * One request before any load: a target that answers anything but the customer would be measured
 * for nothing. Returns the answer's headers for the rate-limit table's own check.
 */
export async function probe(target: Target<string>): Promise<Headers> {
  const res = await fetch(target.url, { headers: target.headers, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  const { text, body } = await readAnswer<{ object: unknown; email: unknown }>(res);
  const type = res.headers.get('content-type') ?? '';
  if (res.status !== 200 || !type.startsWith('application/json') || body.object !== 'customer' || body.email !== CUSTOMER_FIELDS.email) {
    throw new Error(`${target.id}: GET ${target.url} answered ${res.status} ${type}: ${text.slice(0, 500)}`);
  }
  target.bodyBytes = Buffer.byteLength(text);
  return res.headers;
}

/** One autocannon run of the customer GET, failures included in the result. */
export function runGet(
  load: ChildProcess,
  target: Target<string>,
  durationS: number,
  { connections = CONNECTIONS, timeoutS, waits }: { connections?: number; timeoutS?: number; waits?: boolean } = {},
): Promise<RunResult> {
  return runOn(
    load,
    {
      type: 'run',
      url: target.url,
      method: 'GET',
      headers: target.headers,
      keys: { mode: 'none' },
      connections,
      durationS,
      ...(timeoutS !== undefined ? { timeoutS } : {}),
      ...(waits ? { waits } : {}),
    },
    `load on ${target.id}`,
  );
}
