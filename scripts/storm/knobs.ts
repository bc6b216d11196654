/**
 * The storm's settings: STORM_* variables, each with a default and a range, so that a run is
 * reproducible from its command line and a typo stops it before anything is started.
 */
import { knob, readKnobs } from '../harness/knobs.js';
import { LOG_LEVELS } from '../../src/platform/config.js';

const SHAPE = {
  STORM_CLIENTS: knob.int(1, 1_000, 50),
  STORM_PAYMENTS_PER_CLIENT: knob.int(1, 1_000, 3),
  STORM_DURATION_S: knob.number(1, 600, 30),
  STORM_IMPATIENT_SHARE: knob.number(0, 1, 0.2),
  STORM_MAX_ATTEMPTS: knob.int(1, 100_000, 100),
  STORM_GIVE_UP_S: knob.number(0.1, 600, 15),
  STORM_REQUEST_TIMEOUT_MS: knob.int(100, 120_000, 10_000),
  STORM_IMPATIENT_TIMEOUT_MS: knob.int(10, 120_000, 250),
  STORM_FAULT_RATE: knob.number(0, 1, 0.1),
  STORM_SEED: knob.int(-(2 ** 31), 2 ** 31 - 1, 42),
  STORM_WRITE_QUOTA: knob.quota('20/2s'),
  STORM_DRAIN_S: knob.number(0, 300, 15),
  STORM_DATABASE: knob.choice(['auto', 'embedded'], 'auto'),
  STORM_REDIS: knob.choice(['auto', 'off'], 'auto'),
  STORM_LOG_LEVEL: knob.choice(LOG_LEVELS, 'error'),
};

/** Throws ConfigError naming every bad variable. */
export function loadKnobs(env: NodeJS.ProcessEnv = process.env) {
  const k = readKnobs(SHAPE, env);
  return {
    clients: k.STORM_CLIENTS,
    paymentsPerClient: k.STORM_PAYMENTS_PER_CLIENT,
    durationS: k.STORM_DURATION_S,
    impatientShare: k.STORM_IMPATIENT_SHARE,
    maxAttempts: k.STORM_MAX_ATTEMPTS,
    giveUpS: k.STORM_GIVE_UP_S,
    requestTimeoutMs: k.STORM_REQUEST_TIMEOUT_MS,
    impatientTimeoutMs: k.STORM_IMPATIENT_TIMEOUT_MS,
    faultRate: k.STORM_FAULT_RATE,
    seed: k.STORM_SEED,
    writeQuota: k.STORM_WRITE_QUOTA,
    drainS: k.STORM_DRAIN_S,
    database: k.STORM_DATABASE,
    redis: k.STORM_REDIS,
    logLevel: k.STORM_LOG_LEVEL,
  } as const;
}

export type Knobs = ReturnType<typeof loadKnobs>;
