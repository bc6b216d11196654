/**
 * The books after the storm: how many payments the API still has processing, what the database
 * holds for the storm's account, and what the processor charged. The checks compare them; the
 * clients' own view of the storm is not trusted for this.
 */
import { fromJson, type JsonValue } from '@bufbuild/protobuf';
import { GetLedgerResponseSchema, type Charge } from '../../generated/processor/processor_pb.js';
import type { ProjectProcess } from '../harness/process.js';
import type { RunStorage } from '../harness/storage.js';
import { controlUrl, mustSend, postJson } from './http.js';
import type { Knobs } from './knobs.js';
import { pause } from './run.js';

const DRAIN_POLL_MS = 500;

/** Whether any payment of the account is still `processing`, asked of the API (the database may be PGlite, which the API process holds). */
async function anyProcessing(api: ProjectProcess, secret: string): Promise<boolean> {
  const answer = await mustSend('list processing payments', `${api.url}/v2/payments?status=processing&limit=1`, { headers: { authorization: `Bearer ${secret}` } }, 200);
  return (answer.json<{ data?: unknown[] }>()?.data?.length ?? 0) > 0;
}

export interface Drain {
  /** Whether payments were left `processing` when the storm ended, and after the drain. */
  readonly processingAtEnd: boolean;
  readonly processingAfter: boolean;
  readonly elapsedMs: number;
}

/** Waits, bounded, for the completer to finish the payments left `processing` when the storm ended. */
export async function drain(knobs: Knobs, api: ProjectProcess, secret: string): Promise<Drain> {
  const began = Date.now();
  const processingAtEnd = await anyProcessing(api, secret);
  let processing = processingAtEnd;
  while (processing && Date.now() - began < knobs.drainS * 1000) {
    await pause(DRAIN_POLL_MS);
    processing = await anyProcessing(api, secret);
  }
  return { processingAtEnd, processingAfter: processing, elapsedMs: Date.now() - began };
}

interface PaymentRow {
  id: string;
  status: string;
  storm_key: string | null;
}

export interface Books {
  readonly payments: PaymentRow[];
  readonly unfinishedKeys: number;
  readonly keys: number;
}

export async function readBooks(storage: RunStorage, accountId: string): Promise<Books> {
  const db = storage.open();
  try {
    const payments: PaymentRow[] = await db('payments')
      .where('account_id', accountId)
      .select('id', 'status', db.raw("metadata->>'storm_key' as storm_key"));
    const keys: { recovery_point: string; n: number | string }[] = await db('idempotency_keys')
      .where('account_id', accountId)
      .select('recovery_point')
      .count({ n: '*' })
      .groupBy('recovery_point');
    const total = keys.reduce((s, k) => s + Number(k.n), 0);
    const unfinished = keys.filter((k) => k.recovery_point !== 'finished').reduce((s, k) => s + Number(k.n), 0);
    return { payments, keys: total, unfinishedKeys: unfinished };
  } finally {
    await db.destroy();
  }
}

export interface Ledger {
  charges: Charge[];
  stats: { requests: number; replays: number; faults: { error: number; timeout: number; drop: number } };
}

export async function readLedger(simulator: ProjectProcess): Promise<Ledger> {
  const json = (await mustSend('read the ledger', controlUrl(simulator.url, 'GetLedger'), postJson({}), 200)).json<JsonValue>();
  if (json === undefined) throw new Error('read the ledger: the body is not JSON');
  const { charges, stats } = fromJson(GetLedgerResponseSchema, json);
  // Protobuf's JSON leaves out counters that are still zero.
  const faults = stats?.faults;
  return {
    charges,
    stats: {
      requests: Number(stats?.requests ?? 0n),
      replays: Number(stats?.replays ?? 0n),
      faults: { error: Number(faults?.error ?? 0n), timeout: Number(faults?.timeout ?? 0n), drop: Number(faults?.drop ?? 0n) },
    },
  };
}

/** The ledger's charges for the storm's payment rows (by id), and the logical payments they charged. */
export function chargesOf(books: Books, ledger: Ledger) {
  const rows = new Map(books.payments.map((p) => [p.id, p]));
  const stormCharges = ledger.charges.filter((c) => rows.has(c.idempotencyKey));
  const chargedKeys = new Set(stormCharges.map((c) => rows.get(c.idempotencyKey)!.storm_key));
  return { rows, stormCharges, chargedKeys };
}
