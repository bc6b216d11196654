/**
 * The benchmark's settings, read once, through the project's knob schema, before anything starts:
 * a mistyped value stops the run with a message naming the variable, rather than surfacing later as
 * a server that fails to start or a table measured with a setting nobody meant. Also the targets
 * BENCH_TARGETS selects, table by table, and the few fixed settings more than one table shares.
 */
import { z } from 'zod';
import { knob, readKnobs } from '../../scripts/harness/knobs.js';
import { configOrExit, LOG_LEVELS } from '../../src/platform/config.js';
import {
  ATTACK_TARGET_IDS,
  AUTH_TARGET_IDS,
  HOT_TARGET_IDS,
  LIMIT_TARGET_IDS,
  METRICS_RENDER_ID,
  METRICS_TARGET_IDS,
  TARGET_IDS,
  WRITE_TARGET_IDS,
  type SelectableId,
} from './targets.js';

/** A number with no upper bound: above zero, or from zero with `zero`; whole with `integer`. */
function unbounded(fallback: number, { integer = false, zero = false } = {}) {
  const message = `must be a ${zero ? 'non-negative' : 'positive'} ${integer ? 'whole ' : ''}number`;
  const number = z.coerce.number<string | undefined>({ message });
  const n = zero ? number.nonnegative(message) : number.positive(message);
  return knob.optional().pipe((integer ? n.int(message) : n).default(fallback));
}

// Any table's ids, in one list: a table with none of its ids selected is skipped.
const ALL_TARGET_IDS = [
  ...TARGET_IDS,
  ...HOT_TARGET_IDS,
  ...METRICS_TARGET_IDS,
  METRICS_RENDER_ID,
  ...WRITE_TARGET_IDS,
  ...LIMIT_TARGET_IDS,
  ...ATTACK_TARGET_IDS,
  ...AUTH_TARGET_IDS,
] as [SelectableId, ...SelectableId[]];

const SHAPE = {
  BENCH_DURATION_S: unbounded(5),
  BENCH_WARMUP_S: unbounded(2),
  BENCH_CONNECTIONS: unbounded(50, { integer: true }),
  BENCH_ROUNDS: unbounded(3, { integer: true }),
  BENCH_PAD_RESOURCES: unbounded(100, { integer: true }),
  // The write table runs fewer, shorter rounds than the read table so that the whole benchmark stays
  // within about five minutes on two cores; every write also grows the database the next one meets.
  BENCH_WRITE_CONNECTIONS: unbounded(20, { integer: true }),
  BENCH_WRITE_DURATION_S: unbounded(4),
  BENCH_WRITE_ROUNDS: unbounded(3, { integer: true }),
  // The attack table's victim is a client at a moderate load, not one that saturates the server alone.
  BENCH_ATTACK_VICTIM_CONNECTIONS: unbounded(4, { integer: true }),
  BENCH_ATTACKERS: unbounded(8, { integer: true }),
  // The attackers' pace, all connections together: by default the write quota of one key (200 per
  // 10 s), the rate a single key may send inside its quota. 0: as fast as answers come back (a flood,
  // which is what the quotas, set out of reach here, are for).
  BENCH_ATTACK_RATE: unbounded(20, { integer: true, zero: true }),
  // The metrics table compares two servers identical but for one thing, whose cost is a few per
  // cent at most: more rounds than the other tables, and a round's two runs side by side.
  BENCH_METRICS_ROUNDS: unbounded(8, { integer: true }),
  BENCH_METRICS_RENDERS: unbounded(200, { integer: true }),
  BENCH_TARGETS: knob.list(ALL_TARGET_IDS).refine((ids) => ids.length > 0, 'must name at least one target'),
  BENCH_LOG_LEVEL: knob.choice(LOG_LEVELS, 'silent'),
  // A directory: every server process writes a V8 CPU profile (<target>.cpuprofile) there when stopped.
  BENCH_CPU_PROF: knob.optional(),
  DATABASE_URL: knob.optional(),
  REDIS_URL: knob.text('redis://127.0.0.1:6379'),
};

const KNOBS = configOrExit(() => readKnobs(SHAPE));
const DEFAULTS = readKnobs(SHAPE, {});

export const {
  BENCH_DURATION_S: DURATION_S,
  BENCH_WARMUP_S: WARMUP_S,
  BENCH_CONNECTIONS: CONNECTIONS,
  BENCH_ROUNDS: ROUNDS,
  BENCH_PAD_RESOURCES: PAD_RESOURCES,
  BENCH_WRITE_CONNECTIONS: WRITE_CONNECTIONS,
  BENCH_WRITE_DURATION_S: WRITE_DURATION_S,
  BENCH_WRITE_ROUNDS: WRITE_ROUNDS,
  BENCH_ATTACK_VICTIM_CONNECTIONS: VICTIM_CONNECTIONS,
  BENCH_ATTACKERS: ATTACKERS,
  BENCH_ATTACK_RATE: ATTACK_RATE_PER_S,
  BENCH_METRICS_ROUNDS: METRICS_ROUNDS,
  BENCH_METRICS_RENDERS: METRICS_RENDERS,
  BENCH_LOG_LEVEL: LOG_LEVEL,
  BENCH_CPU_PROF: CPU_PROF_DIR,
  DATABASE_URL,
  REDIS_URL,
} = KNOBS;

/** `NAME=value` for each of `names` set to other than its default: what a command needs to repeat this run. */
export function knobsSet(names: readonly (keyof typeof SHAPE)[]): string[] {
  return names.filter((name) => KNOBS[name] !== DEFAULTS[name]).map((name) => `${name}=${String(KNOBS[name])}`);
}

/** The selected targets of each table, in the catalogue's order whatever order they were named in. */
export const SELECTED = {
  read: TARGET_IDS.filter((id) => KNOBS.BENCH_TARGETS.includes(id)),
  write: WRITE_TARGET_IDS.filter((id) => KNOBS.BENCH_TARGETS.includes(id)),
  limits: LIMIT_TARGET_IDS.filter((id) => KNOBS.BENCH_TARGETS.includes(id)),
  attack: ATTACK_TARGET_IDS.filter((id) => KNOBS.BENCH_TARGETS.includes(id)),
  hot: HOT_TARGET_IDS.filter((id) => KNOBS.BENCH_TARGETS.includes(id)),
  metrics: METRICS_TARGET_IDS.filter((id) => KNOBS.BENCH_TARGETS.includes(id)),
  metricsRender: KNOBS.BENCH_TARGETS.includes(METRICS_RENDER_ID),
  auth: AUTH_TARGET_IDS.filter((id) => KNOBS.BENCH_TARGETS.includes(id)),
};

// The production default of DATABASE_POOL_MAX, so the PostgreSQL rows show what a deployment gets.
export const DB_POOL_MAX = 10;
/** How long a probe, one request before any load, may take. */
export const PROBE_TIMEOUT_MS = 10_000;
