/**
 * The write table: what an idempotent `POST /v1/payments` costs, next to a plain insert through the
 * same app and a replay of an already-used key. A write table that only timed requests could hide a
 * double charge, so afterwards the keys sent, the rows in each target's database and the charges in
 * its simulator's ledger are counted and must agree: exactly one payment and one charge per key.
 */
import type { ChildProcess } from 'node:child_process';
import { askServer, runOn, startServer } from './children.js';
import { readAnswer } from './customer-read.js';
import { LOG_LEVEL, PROBE_TIMEOUT_MS, WARMUP_S, WRITE_CONNECTIONS, WRITE_DURATION_S, WRITE_ROUNDS } from './knobs.js';
import {
  autocannonLine,
  checkLines,
  count,
  failuresCheck,
  failureTotals,
  int,
  loadAverageLine,
  machine,
  medianRow,
  mediansOf,
  ratio,
  roundLines,
  roundsLine,
  storageLine,
  sum,
  type Check,
  type Table,
} from './report.js';
import { inRounds, RUN_ID, type Rounds } from './run.js';
import { CUSTOMER_FIELDS, PAYMENT_REQUEST, WRITE_BASELINE, WRITE_TARGETS, type Audit, type KeyMode, type RunResult, type WriteTargetId } from './targets.js';

// Resending the keys a run cut off waits out the server's Retry-After when the first attempt is still running.
const RESEND_GRACE_MS = 60_000;
let keyBatch = 0;

export interface WriteTarget {
  readonly id: WriteTargetId;
  readonly child: ChildProcess;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** `payment-replay`: the one key every request sends. */
  readonly fixedKey: string | undefined;
  /** The probe's requests, sent before any load: keys used, 201s, replays among them. */
  readonly probe: { keys: number; created: number; replayed: number };
  /** Every run, warm-up included, for the checks; the measured ones are in the results map too. */
  readonly runs: RunResult[];
}

export async function startWriteTarget(id: WriteTargetId, databaseUrl: string | undefined): Promise<WriteTarget> {
  const server = await startServer(id, databaseUrl);
  const spec = WRITE_TARGETS[id];
  return {
    id,
    child: server.child,
    url: `${server.origin}${spec.path}`,
    headers: { ...server.headers, 'content-type': 'application/json' },
    body: JSON.stringify(spec.path === '/v1/payments' ? PAYMENT_REQUEST : CUSTOMER_FIELDS),
    fixedKey: spec.keys === 'fixed' ? `bench-${RUN_ID}-replayed` : undefined,
    probe: { keys: 0, created: 0, replayed: 0 },
    runs: [],
  };
}

interface Answer {
  readonly status: number;
  readonly replayed: boolean;
  readonly body: { object?: unknown; status?: unknown; id?: unknown };
  readonly text: string;
}

async function post(target: WriteTarget, key: string | undefined): Promise<Answer> {
  const res = await fetch(target.url, {
    method: 'POST',
    headers: key === undefined ? target.headers : { ...target.headers, 'idempotency-key': key },
    body: target.body,
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
  const { text, body } = await readAnswer<Answer['body']>(res);
  return { status: res.status, replayed: res.headers.get('idempotent-replayed') === 'true', body, text };
}

/**
 * Before any load, each write target must do what it is measured doing: create a customer, create
 * a succeeded payment, or (the replay target) create one and replay it for the same key.
 */
export async function probeWrite(target: WriteTarget): Promise<void> {
  const fail = (what: string, answer: Answer): never => {
    throw new Error(`${target.id}: POST ${target.url} ${what}; it answered ${answer.status}: ${answer.text.slice(0, 500)}`);
  };
  const keys = WRITE_TARGETS[target.id].keys;
  if (keys === 'none') {
    const answer = await post(target, undefined);
    if (answer.status !== 201 || answer.body.object !== 'customer' || answer.replayed) fail('did not create a customer', answer);
    target.probe.created++;
    return;
  }
  const key = target.fixedKey ?? `bench-${RUN_ID}-probe`;
  target.probe.keys++;
  const first = await post(target, key);
  if (first.status !== 201 || first.body.object !== 'payment' || first.body.status !== 'succeeded' || first.replayed) {
    fail('did not create a succeeded payment', first);
  }
  target.probe.created++;
  if (keys === 'fixed') {
    const again = await post(target, key);
    if (again.status !== 201 || !again.replayed || again.body.id !== first.body.id) fail('did not replay the payment it had just created', again);
    target.probe.created++;
    target.probe.replayed++;
  }
}

/** One autocannon run of POSTs. Failures are counted and reported with the table, not thrown. */
async function runWrite(load: ChildProcess, target: WriteTarget, durationS: number): Promise<RunResult> {
  const mode = WRITE_TARGETS[target.id].keys;
  const keys: KeyMode =
    mode === 'unique' ? { mode, prefix: `bench-${RUN_ID}-${++keyBatch}` } : mode === 'fixed' ? { mode, key: target.fixedKey! } : { mode };
  const result = await runOn(
    load,
    { type: 'run', url: target.url, method: 'POST', headers: target.headers, body: target.body, keys, connections: WRITE_CONNECTIONS, durationS },
    `load on ${target.id}`,
    RESEND_GRACE_MS,
  );
  target.runs.push(result);
  return result;
}

/**
 * Counts from three places that must agree: the keys the load process sent (and what each got),
 * the rows in the target's database, and the charges in its simulator's ledger.
 */
function outcomeCheck(target: WriteTarget, audit: Audit): Check {
  const runs = target.runs;
  const requests = sum(runs, (r) => r.requests);
  const created = sum(runs, (r) => r.created);
  const replayed = sum(runs, (r) => r.replayed);
  switch (WRITE_TARGETS[target.id].keys) {
    case 'unique': {
      const keys = runs.flatMap((r) => (r.keys ? [r.keys] : []));
      const sent = target.probe.keys + sum(keys, (k) => k.sent);
      const answeredUnderLoad = sum(keys, (k) => k.answered201);
      const cutOff = sum(keys, (k) => k.cutOff);
      const resentReplayed = sum(keys, (k) => k.retriedReplayed);
      const resentNew = sum(keys, (k) => k.retriedNew);
      const resentFailed = keys.flatMap((k) => k.retriedFailed);
      const answeredOther = sum(keys, (k) => k.answeredOther);
      // Every key sent ends with one 201: under load, or on the resend of a cut-off request.
      const answered = target.probe.created + answeredUnderLoad + resentReplayed + resentNew;
      const perKey = [
        audit.payments,
        audit.paymentKeys,
        audit.paymentKeysFinishedWithPayment,
        audit.distinctPaymentsOfKeys,
        audit.paymentsChargedOnce,
        audit.chargeOperations,
        audit.charges,
      ];
      const ok =
        answered === sent &&
        answeredUnderLoad === created &&
        replayed === 0 &&
        answeredOther === 0 &&
        resentFailed.length === 0 &&
        audit.chargesWithoutPayment === 0 &&
        perKey.every((n) => n === sent);
      return {
        ok,
        line: `exactly once: ${count(sent, 'request')}, ${count(audit.payments, 'payment')}, ${count(audit.chargeOperations, 'charge')}`,
        detail: [
          `${sent} distinct keys sent = ${target.probe.keys} probe + ${answeredUnderLoad} answered 201 under load (autocannon counted ${created} 201s, ${replayed} of them replays)`,
          `+ ${cutOff} cut off when a run ended and resent with the same key (${resentReplayed} replayed the stored payment, ${resentNew} created it on the resend, ${resentFailed.length} failed${resentFailed.length > 0 ? `: ${resentFailed.slice(0, 5).join('; ')}` : ''})` +
            `${answeredOther > 0 ? `; ${answeredOther} answered with something other than 201 under load` : ''};`,
          `database: ${audit.payments} payments, ${audit.paymentKeys} idempotency keys, ${audit.paymentKeysFinishedWithPayment} of them finished with a 201 naming an existing payment (${audit.distinctPaymentsOfKeys} distinct);`,
          `simulator ledger: ${audit.chargeOperations} charge operations on ${audit.charges} charges, ${audit.paymentsChargedOnce} payments charged exactly once, ${audit.chargesWithoutPayment} charges for no payment`,
        ].join('\n  '),
      };
    }
    case 'fixed': {
      const ok =
        created === requests && replayed === requests && audit.payments === 1 && audit.chargeOperations === 1 && audit.paymentKeys === 1 && audit.paymentKeysFinishedWithPayment === 1;
      return {
        ok,
        line: `exactly once under replay: ${count(requests + target.probe.created, 'request')} with one key, ${count(audit.payments, 'payment')}, ${count(audit.chargeOperations, 'charge')}`,
        detail: `under load ${count(requests, 'response')}, ${created} of them 201 and ${replayed} marked Idempotent-Replayed: true; database: ${count(audit.paymentKeys, 'idempotency key')}`,
      };
    }
    case 'none': {
      // One customer was seeded at start-up. A request cut off when a run ended may still have
      // inserted its customer: more rows than 201s, never fewer, never more than were sent.
      const inserted = audit.customers - 1 - target.probe.created;
      const sent = sum(runs, (r) => r.sent);
      return {
        ok: inserted >= created && inserted <= sent && audit.payments === 0,
        line: `plain insert: ${created} requests answered 201, ${inserted} customers inserted`,
        detail:
          `the ${inserted - created} more were requests cut off when a run ended that the server still completed; without a key their client ` +
          `cannot tell, nor retry safely (${sent} requests sent in all)`,
      };
    }
  }
}

/** Measures the write targets, already probed, audits each, and returns the table with its checks. */
export async function writeTable(load: ChildProcess, targets: WriteTarget[]): Promise<Table> {
  const rounds = await inRounds(targets, WRITE_ROUNDS, (target, warmUp) => runWrite(load, target, warmUp ? WARMUP_S : WRITE_DURATION_S));
  const checks: Check[] = [];
  for (const target of targets) {
    const { audit } = await askServer(target.child, 'audit', `audit of ${target.id}`);
    checks.push(failuresCheck(target), outcomeCheck(target, audit));
  }
  return { text: writeReport(targets, rounds, checks), checks };
}

function writeReport(targets: WriteTarget[], rounds: Rounds<WriteTargetId>, checks: Check[]): string {
  const medians = mediansOf(targets, rounds.results);
  const baseline = medians.get(WRITE_BASELINE);
  const bodies = [...new Set(targets.map((t) => `${WRITE_TARGETS[t.id].path} ${Buffer.byteLength(t.body)} bytes`))];

  const lines = [
    '## Write benchmark: POST through the full app',
    '',
    autocannonLine('Load', WRITE_CONNECTIONS, WRITE_DURATION_S),
    roundsLine(WRITE_ROUNDS),
    `- Storage: ${storageLine()}; each target has a database of its own, which grows with every run`,
    '- Each target is the full app (createApp, spec as is): authentication with a key lookup, request and response validation, ' +
      'the processor simulator in the same process (no latency, no faults; one HTTP call per new payment)',
    `- Request bodies: ${bodies.join(', ')}; app log level: ${LOG_LEVEL}`,
    `- Machine: ${machine()}`,
    loadAverageLine(rounds.loadBefore, 'write run'),
    '',
    `| target | req/s (median) | p50 ms | p99 ms | non-2xx (all runs) | errors / timeouts | ratio vs \`${WRITE_BASELINE}\` (req/s) |`,
    '|---|--:|--:|--:|--:|--:|--:|',
    ...targets.map((t) => {
      const m = medians.get(t.id)!;
      const failures = failureTotals(t.runs);
      return medianRow(t.id, WRITE_TARGETS[t.id].label, m, int(failures.non2xx), `${int(failures.errors)} / ${int(failures.timeouts)}`, ratio(m.reqPerS, baseline?.reqPerS));
    }),
    '',
    ...roundLines(targets, rounds, WRITE_ROUNDS),
    '',
    ...checkLines("Checks, counted after the last run from the load process, each target's database and its simulator's ledger:", checks),
  ];
  return lines.join('\n');
}
