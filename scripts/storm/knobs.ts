/**
 * The storm's settings: STORM_* variables, each with a default and a range, so that a run is
 * reproducible from its command line and a typo stops it before anything is started.
 */
import { knob, readKnobs } from '../harness/knobs.js';
import { LOG_LEVELS } from '../../src/platform/config.js';

/** The three runs of one storm, in the order they run and are reported. */
export const RUN_NAMES = ['before', 'limits-only', 'after'] as const;
export type RunName = (typeof RUN_NAMES)[number];

const SHAPE = {
  STORM_RUNS: knob.list(RUN_NAMES),
  STORM_CLIENTS: knob.int(1, 1_000, 50),
  STORM_PAYMENTS_PER_CLIENT: knob.int(1, 1_000, 6),
  STORM_DURATION_S: knob.number(1, 600, 60),
  STORM_ATTEMPT_TIMEOUT_MS: knob.int(100, 120_000, 1_000),
  STORM_MAX_ATTEMPTS: knob.int(1, 100_000, 100),
  STORM_GIVE_UP_S: knob.number(0.1, 600, 15),
  STORM_FAULT_RATE: knob.number(0, 1, 0.3),
  STORM_SEED: knob.int(-(2 ** 31), 2 ** 31 - 1, 42),
  STORM_WRITE_QUOTA: knob.quota('20/2s'),
  STORM_DRAIN_S: knob.number(0, 300, 15),
  STORM_DATABASE: knob.choice(['auto', 'embedded'], 'auto'),
  STORM_REDIS: knob.choice(['auto', 'off'], 'auto'),
  STORM_PROMETHEUS: knob.choice(['auto', 'off'], 'auto'),
  STORM_EVIDENCE: knob.choice(['docs', 'off'], 'docs'),
  STORM_LOG_LEVEL: knob.choice(LOG_LEVELS, 'error'),
};

/** Throws ConfigError naming every bad variable. */
export function loadKnobs(env: NodeJS.ProcessEnv = process.env) {
  const k = readKnobs(SHAPE, env);
  return {
    // In the order of RUN_NAMES, whatever order they were listed in.
    runs: RUN_NAMES.filter((r) => k.STORM_RUNS.includes(r)),
    clients: k.STORM_CLIENTS,
    paymentsPerClient: k.STORM_PAYMENTS_PER_CLIENT,
    durationS: k.STORM_DURATION_S,
    attemptTimeoutMs: k.STORM_ATTEMPT_TIMEOUT_MS,
    maxAttempts: k.STORM_MAX_ATTEMPTS,
    giveUpS: k.STORM_GIVE_UP_S,
    faultRate: k.STORM_FAULT_RATE,
    seed: k.STORM_SEED,
    writeQuota: k.STORM_WRITE_QUOTA,
    drainS: k.STORM_DRAIN_S,
    database: k.STORM_DATABASE,
    redis: k.STORM_REDIS,
    prometheus: k.STORM_PROMETHEUS,
    evidence: k.STORM_EVIDENCE,
    logLevel: k.STORM_LOG_LEVEL,
  } as const;
}

export type Knobs = ReturnType<typeof loadKnobs>;
