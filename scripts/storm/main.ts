/**
 * `make storm` (`npm run -s storm`): a retry storm against the idempotency and rate-limit layers,
 * to show that clients retrying as hard as they can, into a small quota and a processor that fails
 * now and then, still move money at most once.
 *
 * What it starts, all on 127.0.0.1, and stops and removes at the end (on failure and Ctrl-C too):
 * - the processor simulator (`src/processor/simulator/main.ts`) in a process of its own, with
 *   seeded faults (errors, dropped connections, hangs) set through its control API;
 * - two API processes (`src/main.ts`) sharing one PostgreSQL schema of their own and one Redis,
 *   with a small write quota. Without PostgreSQL, one API process on embedded PGlite; without
 *   Redis, each process counts its quota in its own memory.
 *
 * Then STORM_CLIENTS clients each make STORM_PAYMENTS_PER_CLIENT payments, one Idempotency-Key per
 * payment reused on every retry, alternating between the API processes, retrying on 429, 409
 * `idempotency_in_flight`, 503 and connection errors. Most wait as Retry-After says; the impatient
 * ones retry at once. After the storm the faults are switched off and the API's background
 * completer is given time to finish what the clients gave up on; the API processes are stopped,
 * and the database and the processor's ledger are counted. Exit status 1 when a check fails, 2 when
 * a STORM_* setting is invalid. See docs/storm.md.
 */
import { create, toJson, type MessageInitShape } from '@bufbuild/protobuf';
import { FaultPoint, UpdateFaultsRequestSchema } from '../../generated/processor/processor_pb.js';
import { ConfigError } from '../../src/platform/config.js';
import { randomBase62 } from '../../src/platform/ids.js';
import { drain, readBooks, readLedger } from './books.js';
import { storm } from './clients.js';
import { controlUrl, mustSend, postJson } from './http.js';
import { loadKnobs, type Knobs } from './knobs.js';
import { int, report, runChecks } from './report.js';
import { checkInterrupted, progress, runAndExit } from './run.js';
import { ADMIN_TOKEN, chooseRedis, prepareStorage, startServices } from './setup.js';

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
  for (const note of notes) progress(`NOTE: ${note}`);
  checkInterrupted();

  const { simulator, apis, rateLimitBanner } = await startServices(knobs, storage, redisUrl);

  const r = knobs.faultRate / 3;
  const faults = (patch: MessageInitShape<typeof UpdateFaultsRequestSchema>) => postJson(toJson(UpdateFaultsRequestSchema, create(UpdateFaultsRequestSchema, patch)));
  const stormFaults = { errorRate: r, dropRate: r, timeoutRate: r, faultPoint: FaultPoint.RANDOM, seed: BigInt(knobs.seed), latencyMs: 20, latencyJitterMs: 80, hangMs: 5_000 };
  await mustSend('set processor faults', controlUrl(simulator.url, 'UpdateFaults'), faults(stormFaults), 200);

  const created = await mustSend(
    'create the storm account',
    `${apis[0]!.url}/admin/accounts`,
    { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `Retry storm ${runId}` }) },
    201,
  );
  const account = created.json<{ account: { id: string }; api_key: { secret: string } }>();
  if (!account?.account?.id || !account.api_key?.secret) throw new Error(`create the storm account: unexpected body ${created.text.slice(0, 500)}`);
  const secret = account.api_key.secret;

  progress(`storm: ${knobs.clients} clients × ${knobs.paymentsPerClient} payments, write quota ${knobs.writeQuota}, at most ${knobs.durationS} s`);
  const result = await storm(knobs, runId, apis, secret);
  const a = result.tallies.all;
  progress(`storm over in ${(result.elapsedMs / 1000).toFixed(1)} s: ${int(a.requests)} requests, ${int(a.succeeded)} of ${int(a.logical)} payments succeeded, ${int(a.unfinished)} unfinished`);

  await mustSend('switch the faults off', controlUrl(simulator.url, 'UpdateFaults'), faults({ errorRate: 0, dropRate: 0, timeoutRate: 0 }), 200);
  const drained = await drain(knobs, apis[0]!, secret);
  progress(`drain: ${drained.processingAtEnd} payments processing at the storm's end, ${drained.processingAfter} after ${(drained.elapsedMs / 1000).toFixed(1)} s`);

  // Stopped before counting: in-flight work finishes (graceful shutdown), and PGlite's data
  // directory can only be opened once its process has let go of it.
  const died = [simulator, ...apis].flatMap((c) => {
    const how = c.diedEarly();
    return how ? [`${c.name} ended (${how})`] : [];
  });
  await Promise.all(apis.map((api) => api.stop()));
  // Error-level log lines, less the ones that go with an expected 503 (the processor unavailable).
  const apiErrors = apis.flatMap((api) =>
    api
      .output()
      .split('\n')
      .filter((l) => /"level":(50|60)/.test(l) && !/"statusCode":503|"type":"ProcessorUnavailableError"/.test(l)),
  );
  const ledger = await readLedger(simulator);
  const books = await readBooks(storage, account.account.id);

  const checks = runChecks(result, books, ledger, died);
  console.log(report({ knobs, storage, apis, rateLimitBanner, notes }, result, drained, books, ledger, checks));

  const failed = checks.filter((c) => !c.ok);
  if (result.samples.length > 0) {
    console.error(`\nAnswers neither expected nor retried (first ${result.samples.length}):`);
    for (const s of result.samples) console.error(`- ${s.status} from ${s.instance}, Request-Id ${s.requestId ?? 'none'}: ${s.body}`);
  }
  if (apiErrors.length > 0) {
    console.error(`\nError lines the API processes logged (first ${Math.min(apiErrors.length, 20)} of ${apiErrors.length}):\n${apiErrors.slice(0, 20).join('\n')}`);
  }
  if (failed.length > 0) {
    const bar = '!'.repeat(100);
    console.error(`\n${bar}\nRETRY STORM CHECK FAILED (${failed.length}):\n${failed.map((c) => `- ${c.line}`).join('\n')}\n${bar}`);
    return 1;
  }
  return 0;
}

await runAndExit(main);
