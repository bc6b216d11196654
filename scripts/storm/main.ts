/**
 * `make storm` (`npm run -s storm`): one retry storm, run three times against the idempotency and
 * rate-limit layers, to show what each guardrail changes:
 *
 * 1. `before`: naive clients (a fresh Idempotency-Key on every attempt, retries at once,
 *    Retry-After ignored) with rate limits off;
 * 2. `limits-only`: the same clients against the write quota;
 * 3. `after`: clients on `@remit/sdk` (one key per payment, Retry-After and RateLimit honoured,
 *    backoff with jitter) against the quota.
 *
 * Each run starts afresh, all on 127.0.0.1, and stops and removes what it started (on failure and
 * Ctrl-C too): the processor simulator with the same seeded faults; two API processes sharing one
 * PostgreSQL schema of the command's own and one Redis (without PostgreSQL, one process on
 * embedded PGlite; without Redis, each counts its quota in memory); and, when `prometheus` is on
 * PATH, a Prometheus of its own evaluating the repository's alert rules. After the storm the
 * faults are switched off, the completer is given time to finish what was left, the processes are
 * stopped, and the database and the processor's ledger are counted.
 *
 * The report is printed; with STORM_EVIDENCE=docs (the default) it also replaces the measured
 * section of docs/storm.md and writes one timeline plot per run to docs/evidence/. Exit status 1
 * when a required check fails (any run: a process died, a 5xx other than 503, a 429 without its
 * headers; `after`: a duplicate charge, or payment rows ≠ logical payments charged), 2 when a
 * STORM_* setting is invalid.
 */
import { writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { create, toJson, type MessageInitShape } from '@bufbuild/protobuf';
import { FaultPoint, UpdateFaultsRequestSchema } from '../../generated/processor/processor_pb.js';
import { ConfigError } from '../../src/platform/config.js';
import { randomBase62 } from '../../src/platform/ids.js';
import { ROOT } from '../harness/process.js';
import type { RunStorage } from '../harness/storage.js';
import { alertsUnavailable, startAlertServer, watchAlerts } from './alerts.js';
import { drain, readBooks, readLedger } from './books.js';
import { storm } from './clients.js';
import { controlUrl, mustSend, postJson } from './http.js';
import { loadKnobs, type Knobs, type RunName } from './knobs.js';
import { plotTimeline } from './plot.js';
import { figures, int, report, runChecks, RUNS, type RunOutcome } from './report.js';
import { checkInterrupted, progress, runAndExit } from './run.js';
import { ADMIN_TOKEN, chooseRedis, METRICS_TOKEN, prepareStorage, startServices } from './setup.js';
import { sampleProcessor, timelineOf } from './timeline.js';

const STORM_DOC = 'docs/storm.md';
const BEGIN_MARK = '<!-- make storm: the measured section begins -->';
const END_MARK = '<!-- make storm: the measured section ends -->';
export const plotFile = (run: RunName) => `docs/evidence/storm-${run}.svg`;

async function runOnce(name: RunName, knobs: Knobs, runId: string, storage: RunStorage, redisUrl: string | undefined, watchTheAlerts: boolean): Promise<RunOutcome> {
  const def = RUNS[name];
  progress(`run "${def.title}": ${def.summary}`);
  const { simulator, apis, rateLimitBanner } = await startServices(knobs, storage, redisUrl, def.limits);
  const prometheus = watchTheAlerts ? await startAlertServer(apis.map((a) => new URL(a.url).host), METRICS_TOKEN) : undefined;

  const r = knobs.faultRate / 3;
  const faults = (patch: MessageInitShape<typeof UpdateFaultsRequestSchema>) => postJson(toJson(UpdateFaultsRequestSchema, create(UpdateFaultsRequestSchema, patch)));
  const stormFaults = { errorRate: r, dropRate: r, timeoutRate: r, faultPoint: FaultPoint.RANDOM, seed: BigInt(knobs.seed), latencyMs: 20, latencyJitterMs: 80, hangMs: 5_000 };
  await mustSend('set processor faults', controlUrl(simulator.url, 'UpdateFaults'), faults(stormFaults), 200);

  const created = await mustSend(
    'create the storm account',
    `${apis[0]!.url}/admin/accounts`,
    { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `Retry storm ${runId} ${name}` }) },
    201,
  );
  const account = created.json<{ account: { id: string }; api_key: { secret: string } }>();
  if (!account?.account?.id || !account.api_key?.secret) throw new Error(`create the storm account: unexpected body ${created.text.slice(0, 500)}`);
  const secret = account.api_key.secret;

  const began = Date.now();
  const alertWatch = prometheus ? watchAlerts(prometheus, began) : undefined;
  const processorSamples = sampleProcessor(simulator, began);
  const result = await storm(def.clients, knobs, `${runId}-${name}`, apis, secret, began);
  const stormEndMs = Date.now() - began;
  progress(`storm over in ${(result.elapsedMs / 1000).toFixed(1)} s: ${int(result.attempts.length)} requests`);

  await mustSend('switch the faults off', controlUrl(simulator.url, 'UpdateFaults'), faults({ errorRate: 0, dropRate: 0, timeoutRate: 0 }), 200);
  const drained = await drain(knobs, apis[0]!, secret);
  progress(`drain: ${drained.processingAtEnd ? 'payments were left processing' : 'nothing left processing'}; ${drained.processingAfter ? 'some still are' : 'none is'} after ${(drained.elapsedMs / 1000).toFixed(1)} s`);
  const alerts = await alertWatch?.stop();
  const samples = await processorSamples.stop();

  // Stopped before counting: in-flight work finishes (graceful shutdown), and PGlite's data
  // directory can only be opened once its process has let go of it.
  const died = [simulator, ...apis].flatMap((c) => {
    const how = c.diedEarly();
    return how ? [`${c.name} ended (${how})`] : [];
  });
  await Promise.all(apis.map((api) => api.stop()));
  await prometheus?.stop();
  // Error-level log lines, less the ones that go with an expected 503 (the processor unavailable).
  const apiErrors = apis.flatMap((api) =>
    api
      .output()
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l) && !/"statusCode":503|"type":"ProcessorUnavailableError"/.test(l)),
  );
  const ledger = await readLedger(simulator);
  await simulator.stop();
  const books = await readBooks(storage, account.account.id);
  const timeline = timelineOf(result.attempts, samples, ledger, books, began, stormEndMs);

  const outcome = { name, result, drained, books, ledger, died, alerts, timeline, rateLimitBanner, instances: apis.length };
  const checks = runChecks(outcome);
  if (result.samples.length > 0) {
    console.error(`\n${def.title}: answers neither expected nor retried (first ${result.samples.length}):`);
    for (const s of result.samples) console.error(`- ${s.status} from ${s.instance}, Request-Id ${s.requestId ?? 'none'}: ${s.body}`);
  }
  if (apiErrors.length > 0) {
    console.error(`\n${def.title}: error lines the API processes logged (first ${Math.min(apiErrors.length, 20)} of ${apiErrors.length}):\n${apiErrors.slice(0, 20).join('\n')}`);
  }
  const f = figures({ ...outcome, checks });
  progress(`run "${def.title}": ${int(f.requests)} requests, ${int(f.charges)} charges for ${int(f.chargedLogical)} logical payments, ${int(f.duplicates)} duplicate charges`);
  return { ...outcome, checks };
}

/** The command as it was given: `make storm`, with the settings that differ from the defaults. */
function commandLine(): string {
  const settings = Object.entries(process.env)
    .filter(([k, v]) => (k.startsWith('STORM_') || k === 'DATABASE_URL' || k === 'REDIS_URL') && v?.trim())
    .map(([k, v]) => `${k}=${/^[\w./:@,-]+$/.test(v!) ? v : JSON.stringify(v)}`)
    .sort();
  return [...settings, 'make storm'].join(' ');
}

/** Writes one plot per run and replaces the measured section of docs/storm.md with the report, the plots below its table. */
async function writeEvidence(knobs: Knobs, runs: RunOutcome[], reportWith: (afterTable: string[]) => string): Promise<void> {
  const seconds = Math.max(...runs.map((r) => r.timeline.seconds.length));
  const figuresBlock: string[] = [];
  for (const run of runs) {
    const def = RUNS[run.name];
    const f = figures(run);
    const svg = await plotTimeline(
      `${def.title}: ${int(f.duplicates)} duplicate charge${f.duplicates === 1 ? '' : 's'}`,
      [
        `${def.summary}.`,
        `${int(f.requests)} requests, ${f.perLogical?.toFixed(1) ?? 'n/a'} per logical payment; ${int(f.succeeded)} of ${int(f.attempted)} payments reached their client; ` +
          `${int(f.charges)} charges for ${int(f.chargedLogical)} logical payments.`,
      ],
      run.timeline,
      seconds,
    );
    await writeFile(path.join(ROOT, plotFile(run.name)), svg);
    figuresBlock.push(`![${def.title}: answers per second by status, processor calls per second, charges against logical payments charged](${path.relative('docs', plotFile(run.name))})`, '');
  }
  const docPath = path.join(ROOT, STORM_DOC);
  const doc = await readFile(docPath, 'utf8');
  const start = doc.indexOf(BEGIN_MARK);
  const end = doc.indexOf(END_MARK);
  if (start < 0 || end < start) throw new Error(`${STORM_DOC} has no measured section (${BEGIN_MARK} … ${END_MARK}) to replace`);
  const section = [BEGIN_MARK, '', reportWith(figuresBlock), END_MARK].join('\n');
  await writeFile(docPath, doc.slice(0, start) + section + doc.slice(end + END_MARK.length));
  progress(`wrote ${STORM_DOC} (the measured section) and ${runs.map((r) => plotFile(r.name)).join(', ')}${knobs.runs.length < 3 ? ' (only the runs STORM_RUNS named)' : ''}`);
}

async function main(): Promise<number> {
  let knobs: Knobs;
  try {
    knobs = loadKnobs();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }

  const notes: string[] = [];
  const runId = randomBase62(8);
  const storage = await prepareStorage(knobs, notes);
  const redisUrl = await chooseRedis(knobs, notes);
  const alertsWhyNot = alertsUnavailable(knobs.prometheus);
  if (alertsWhyNot) notes.push(`the alerts are not watched: ${alertsWhyNot}.`);
  for (const note of notes) progress(`NOTE: ${note}`);
  checkInterrupted();

  const runs: RunOutcome[] = [];
  for (const name of knobs.runs) runs.push(await runOnce(name, knobs, runId, storage, redisUrl, alertsWhyNot === undefined));

  const ctx = { knobs, command: commandLine(), storageLabel: storage.label, notes, alertsWhyNot, date: new Date().toISOString().slice(0, 10) };
  console.log(report(ctx, runs));
  if (knobs.evidence === 'docs') await writeEvidence(knobs, runs, (plots) => report(ctx, runs, plots));

  const failed = runs.flatMap((r) => r.checks.filter((c) => c.required && !c.ok).map((c) => `${RUNS[r.name].title}: ${c.line}`));
  if (failed.length > 0) {
    const bar = '!'.repeat(100);
    console.error(`\n${bar}\nRETRY STORM CHECK FAILED (${failed.length}):\n${failed.map((c) => `- ${c}`).join('\n')}\n${bar}`);
    return 1;
  }
  return 0;
}

await runAndExit(main);
