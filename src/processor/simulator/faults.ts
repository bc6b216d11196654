/**
 * Fault injection for the processor simulator. Every decision comes from a seeded PRNG, so a
 * failing run can be replayed exactly by setting the same seed and sending the same requests.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { z } from 'zod';
import { FaultPoint, FaultSettingsSchema, ReportDrift, type FaultCounts, type FaultSettings } from '../../../generated/processor/processor_pb.js';

export type { FaultSettings } from '../../../generated/processor/processor_pb.js';
/** Settings to merge into the current ones: any of the fields of `FaultSettings`. */
export type FaultSettingsPatch = Partial<Omit<MessageInitShape<typeof FaultSettingsSchema>, '$typeName'>>;
/** One per counter in the ledger's `stats.faults`. */
export type FaultKind = keyof Omit<FaultCounts, '$typeName' | '$unknown'>;

/** What happens to one call: `before` means the operation is not applied, `after` that it is. */
export interface FaultDecision {
  readonly kind: FaultKind;
  readonly point: 'before' | 'after';
}

export const DEFAULT_FAULT_SETTINGS: Readonly<FaultSettings> = Object.freeze(
  create(FaultSettingsSchema, {
    latencyMs: 0,
    latencyJitterMs: 0,
    errorRate: 0,
    timeoutRate: 0,
    dropRate: 0,
    faultPoint: FaultPoint.RANDOM,
    hangMs: 60_000,
    seed: 1n,
    reportThrottleEvery: 0,
    reportRetryAfterS: 1,
    reportDrift: ReportDrift.NONE,
  }),
);

// setTimeout treats anything above 2^31 - 1 as 1 ms, which would turn a long hang into none.
const MAX_TIMER_MS = 2_147_483_647;

const rate = z.number().min(0).max(1);
const millis = z.number().int().min(0).max(MAX_TIMER_MS);
const INT32_MAX = 2_147_483_647;
const RETRY_AFTER_MAX_S = 3_600;

/**
 * The bounds spec/processor.proto states for `FaultSettings`, which Protobuf's types cannot say
 * (a rate between 0 and 1, no negative milliseconds, a fault point that is not UNSPECIFIED). Every
 * update goes through it, from `UpdateFaults` and from in-process callers (`setFaults`) alike.
 */
const patchSchema = z
  .strictObject({
    latencyMs: millis,
    latencyJitterMs: millis,
    errorRate: rate,
    timeoutRate: rate,
    dropRate: rate,
    faultPoint: z.enum(FaultPoint).refine((p) => p !== FaultPoint.UNSPECIFIED, 'must be BEFORE, AFTER or RANDOM'),
    hangMs: millis,
    seed: z.union([z.bigint(), z.number().int()]).transform((v) => BigInt(v)),
    reportThrottleEvery: z.number().int().min(0).max(INT32_MAX),
    reportRetryAfterS: z.number().int().min(0).max(RETRY_AFTER_MAX_S),
    reportDrift: z.enum(ReportDrift),
  })
  .partial();

export class FaultSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultSettingsError';
  }
}

/** mulberry32: a tiny 32-bit PRNG, plenty for spreading faults and reproducible from one integer. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Merges a patch into the current settings, or throws FaultSettingsError naming what is wrong. */
export function mergeFaultSettings(current: FaultSettings, patch: FaultSettingsPatch): FaultSettings {
  // Fields left unset are absent, not undefined, so that `strictObject` sees only what was given.
  const given = Object.fromEntries(Object.entries(patch).filter(([k, v]) => v !== undefined && k !== '$typeName'));
  const parsed = patchSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new FaultSettingsError(problems.join('; '));
  }
  const next: FaultSettings = create(FaultSettingsSchema, { ...current, ...parsed.data });
  // A small tolerance so that, say, 0.1 + 0.2 + 0.7 is not refused for floating-point noise.
  if (next.errorRate + next.dropRate + next.timeoutRate > 1 + 1e-9) {
    throw new FaultSettingsError('errorRate + dropRate + timeoutRate must be at most 1');
  }
  return next;
}

export class FaultInjector {
  #settings: FaultSettings;
  #roll: () => number;
  // Jitter has its own stream so that changing latency settings does not shift which requests fault.
  #jitter: () => number;
  #errors = 0;
  // Report calls since the throttle setting or the seed was last given, or the last reset.
  #reportCalls = 0;

  constructor(initial: FaultSettingsPatch = {}) {
    this.#settings = mergeFaultSettings(create(FaultSettingsSchema, DEFAULT_FAULT_SETTINGS), initial);
    const seed = Number(BigInt.asIntN(32, this.#settings.seed));
    this.#roll = mulberry32(seed);
    this.#jitter = mulberry32(seed ^ 0x9e3779b9);
  }

  get settings(): FaultSettings {
    return create(FaultSettingsSchema, this.#settings);
  }

  /** Applies a partial update; a `seed` in it restarts the PRNG so the sequence repeats from the top. */
  update(patch: FaultSettingsPatch): FaultSettings {
    this.#settings = mergeFaultSettings(this.#settings, patch);
    if (patch.seed !== undefined) this.#reseed();
    if (patch.reportThrottleEvery !== undefined) this.#reportCalls = 0;
    return this.settings;
  }

  reset(): void {
    this.#settings = create(FaultSettingsSchema, DEFAULT_FAULT_SETTINGS);
    this.#reseed();
  }

  /** Milliseconds to wait before handling a request. */
  latency(): number {
    const { latencyMs, latencyJitterMs } = this.#settings;
    return latencyMs + (latencyJitterMs > 0 ? Math.floor(this.#jitter() * (latencyJitterMs + 1)) : 0);
  }

  /** One roll decides whether the request faults and how; a second picks the point when it is random. */
  decide(): FaultDecision | null {
    const { errorRate, dropRate, timeoutRate, faultPoint } = this.#settings;
    const r = this.#roll();
    let kind: FaultKind;
    if (r < errorRate) kind = 'error';
    else if (r < errorRate + dropRate) kind = 'drop';
    else if (r < errorRate + dropRate + timeoutRate) kind = 'timeout';
    else return null;
    const point = faultPoint === FaultPoint.BEFORE ? 'before' : faultPoint === FaultPoint.AFTER ? 'after' : this.#roll() < 0.5 ? 'before' : 'after';
    return { kind, point };
  }

  /**
   * Counts one report call and says whether the throttle refuses it: every `reportThrottleEvery`th
   * call is refused, the refused ones counted too, so the call after a refusal goes through.
   */
  reportThrottled(): boolean {
    this.#reportCalls += 1;
    const every = this.#settings.reportThrottleEvery;
    return every > 0 && this.#reportCalls % every === 0;
  }

  /** Error faults alternate between UNAVAILABLE and INTERNAL, so a client meets both without extra rolls. */
  nextError(): 'unavailable' | 'internal' {
    return this.#errors++ % 2 === 0 ? 'unavailable' : 'internal';
  }

  #reseed(): void {
    const seed = Number(BigInt.asIntN(32, this.#settings.seed));
    this.#roll = mulberry32(seed);
    this.#jitter = mulberry32(seed ^ 0x9e3779b9);
    this.#errors = 0;
    this.#reportCalls = 0;
  }
}
