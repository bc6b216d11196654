/**
 * Fault injection for the processor simulator. Every decision comes from a seeded PRNG, so a
 * failing run can be replayed exactly by setting the same seed and sending the same requests.
 */
import { z } from 'zod';
import { faultPointValues, type components } from '../../../generated/processor.js';

type Schemas = components['schemas'];
export type FaultSettings = Schemas['FaultSettings'];
export type FaultPoint = Schemas['FaultPoint'];
/** One per counter in the ledger's `stats.faults`. */
export type FaultKind = keyof Schemas['SimulatorStats']['faults'];

/** What happens to one request: `before` means the operation is not applied, `after` that it is. */
export interface FaultDecision {
  readonly kind: FaultKind;
  readonly point: 'before' | 'after';
}

export const DEFAULT_FAULT_SETTINGS: Readonly<FaultSettings> = Object.freeze({
  latency_ms: 0,
  latency_jitter_ms: 0,
  error_rate: 0,
  timeout_rate: 0,
  drop_rate: 0,
  fault_point: 'random',
  hang_ms: 60_000,
  seed: 1,
});

// setTimeout treats anything above 2^31 - 1 as 1 ms, which would turn a long hang into none.
const MAX_TIMER_MS = 2_147_483_647;

const rate = z.number().min(0).max(1);
const millis = z.number().int().min(0).max(MAX_TIMER_MS);

/**
 * The same bounds as `FaultSettingsPatch` in spec/processor.yaml. Requests to `PUT /control/faults`
 * are validated against the contract before they get here; this check is for in-process callers
 * (`setFaults`), and the `satisfies` keeps its fields those of the contract.
 */
const patchSchema = z
  .strictObject({
    latency_ms: millis,
    latency_jitter_ms: millis,
    error_rate: rate,
    timeout_rate: rate,
    drop_rate: rate,
    fault_point: z.enum(faultPointValues),
    hang_ms: millis,
    seed: z.number().int(),
  } satisfies { [K in keyof FaultSettings]-?: z.ZodType<FaultSettings[K]> })
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
export function mergeFaultSettings(current: FaultSettings, patch: unknown): FaultSettings {
  const parsed = patchSchema.safeParse(patch);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message));
    throw new FaultSettingsError(problems.join('; '));
  }
  const next: FaultSettings = { ...current, ...parsed.data };
  // A small tolerance so that, say, 0.1 + 0.2 + 0.7 is not refused for floating-point noise.
  if (next.error_rate + next.drop_rate + next.timeout_rate > 1 + 1e-9) {
    throw new FaultSettingsError('error_rate + drop_rate + timeout_rate must be at most 1');
  }
  return next;
}

export class FaultInjector {
  #settings: FaultSettings;
  #roll: () => number;
  // Jitter has its own stream so that changing latency settings does not shift which requests fault.
  #jitter: () => number;
  #errors = 0;

  constructor(initial: Partial<FaultSettings> = {}) {
    this.#settings = mergeFaultSettings({ ...DEFAULT_FAULT_SETTINGS }, initial);
    this.#roll = mulberry32(this.#settings.seed);
    this.#jitter = mulberry32(this.#settings.seed ^ 0x9e3779b9);
  }

  get settings(): FaultSettings {
    return { ...this.#settings };
  }

  /** Applies a partial update; a `seed` in it restarts the PRNG so the sequence repeats from the top. */
  update(patch: unknown): FaultSettings {
    this.#settings = mergeFaultSettings(this.#settings, patch);
    if (typeof patch === 'object' && patch !== null && 'seed' in patch) this.#reseed();
    return this.settings;
  }

  reset(): void {
    this.#settings = { ...DEFAULT_FAULT_SETTINGS };
    this.#reseed();
  }

  /** Milliseconds to wait before handling a request. */
  latency(): number {
    const { latency_ms, latency_jitter_ms } = this.#settings;
    return latency_ms + (latency_jitter_ms > 0 ? Math.floor(this.#jitter() * (latency_jitter_ms + 1)) : 0);
  }

  /** One roll decides whether the request faults and how; a second picks the point when it is random. */
  decide(): FaultDecision | null {
    const { error_rate, drop_rate, timeout_rate, fault_point } = this.#settings;
    const r = this.#roll();
    let kind: FaultKind;
    if (r < error_rate) kind = 'error';
    else if (r < error_rate + drop_rate) kind = 'drop';
    else if (r < error_rate + drop_rate + timeout_rate) kind = 'timeout';
    else return null;
    const point = fault_point === 'random' ? (this.#roll() < 0.5 ? 'before' : 'after') : fault_point;
    return { kind, point };
  }

  /** Error faults alternate between 503 and 500, so a client meets both without extra rolls. */
  nextErrorStatus(): 500 | 503 {
    return this.#errors++ % 2 === 0 ? 503 : 500;
  }

  #reseed(): void {
    this.#roll = mulberry32(this.#settings.seed);
    this.#jitter = mulberry32(this.#settings.seed ^ 0x9e3779b9);
    this.#errors = 0;
  }
}
