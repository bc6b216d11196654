/**
 * What the gRPC benchmark's orchestrator (bench/grpc.bench.ts) and its adapter load process
 * (load.ts) say to each other over the IPC channel, and the charge requests both sides agree on.
 */
import { randomBase62 } from '../../src/platform/ids.js';
import type { ProcessorChargeInput } from '../../src/processor/client.js';

/** How the adapter reaches the processor in a row: the Connect protocol's JSON on HTTP/1.1, or gRPC over `channels` HTTP/2 connections. */
export interface Transport {
  readonly protocol: 'http' | 'grpc';
  /** gRPC only: HTTP/2 connections, round robin. */
  readonly channels: number;
}

export type MessageSize = 'small' | 'large';

/** The simulator's bound on one metadata value (spec/processor.proto, CreateChargeRequest.metadata). */
const METADATA_VALUE_MAX = 500;

/**
 * The charge request of a row. `small` is what Remit's createPayment sends (the payment id as key
 * and reference, amount, currency, capture). `large` adds `largeBytes` characters of metadata, cut
 * into values of the longest length the contract allows; the processor stores it with the charge
 * and answers with it. The characters are random letters and digits: both protocols gzip answers
 * of 1 KiB and more (Connect's default), and a repeated character would shrink the answer to
 * nothing, which real metadata does not.
 */
export function chargeInput(size: MessageSize, largeBytes: number, reference: string): ProcessorChargeInput {
  const base = { amount: 2_500, currency: 'EUR', capture: true, reference };
  if (size === 'small') return base;
  const metadata: Record<string, string> = {};
  for (let i = 0, left = largeBytes; left > 0; i++, left -= METADATA_VALUE_MAX) {
    metadata[`bench_${String(i).padStart(2, '0')}`] = randomBase62(Math.min(METADATA_VALUE_MAX, left));
  }
  return { ...base, metadata };
}

/** Keys as long as a payment id (`pay_` and 22 characters): the run's prefix and a counter. */
export function chargeKey(prefix: string, n: number): string {
  return `pay_${prefix}${String(n).padStart(22 - prefix.length, '0')}`;
}

interface RunBase {
  readonly type: 'run';
  readonly url: string;
  readonly transport: Transport;
  readonly concurrency: number;
  readonly size: MessageSize;
  readonly largeBytes: number;
  /** Unique per run: every call of the benchmark carries a key of its own. */
  readonly keyPrefix: string;
}

/** A throughput run: `warmUpS` of calls on a fresh client (connections opened, code warm), then `durationS` measured. */
export interface TimedRun extends RunBase {
  readonly mode: 'timed';
  readonly warmUpS: number;
  readonly durationS: number;
  /** The simulator's pid, whose CPU time /proc gives over the measured window; null where there is no /proc. */
  readonly serverPid: number | null;
  /** Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`). */
  readonly clockTicks: number;
}

/**
 * A bytes run, through the counting proxy: `warmUpCalls`, then a `mark` message and a wait for
 * `go`, so the orchestrator reads the proxy's counters with no call in flight; then `calls`.
 */
export interface CountedRun extends RunBase {
  readonly mode: 'counted';
  readonly warmUpCalls: number;
  readonly calls: number;
}

export type LoadRequest = TimedRun | CountedRun;

export interface LoadResult {
  /** Calls answered in the measured window (timed) or in the measured batch (counted). */
  readonly calls: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** User and system CPU of the load process over the measured window, all its threads. */
  readonly clientCpuMs: number;
  /** The same of the simulator process, from /proc; null where unknown. */
  readonly serverCpuMs: number | null;
  /** Calls that did not end in a charge (a refusal or an error), warm-up included. */
  readonly failures: number;
  readonly firstFailure: string | null;
}

export type LoadMessage = { readonly type: 'ready' } | { readonly type: 'mark' } | { readonly type: 'result'; readonly result: LoadResult } | { readonly type: 'error'; readonly message: string };

export type LoadControl = LoadRequest | { readonly type: 'go' };
