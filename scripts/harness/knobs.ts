/**
 * The settings of a tool (benchmark, storm, test knob), read from the environment the way
 * src/platform/config.ts reads the API's: one zod schema, every problem reported at once, each
 * message naming the variable and saying what would be accepted.
 *
 *   const knobs = readKnobs({ STORM_CLIENTS: knob.int(1, 1_000, 50), STORM_DATABASE: knob.choice(['auto', 'embedded'], 'auto') });
 */
import { z } from 'zod';
import { ConfigError, QUOTA_PATTERN } from '../../src/platform/config.js';

const present = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

export const knob = {
  /** A whole number in [min, max]. */
  int: (min: number, max: number, fallback: number) =>
    z.preprocess(present, z.coerce.number({ message: `must be a whole number from ${min} to ${max}` }).int(`must be a whole number from ${min} to ${max}`).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`).default(fallback)),
  /** A number in [min, max]. */
  number: (min: number, max: number, fallback: number) =>
    z.preprocess(present, z.coerce.number({ message: `must be a number from ${min} to ${max}` }).min(min, `must be at least ${min}`).max(max, `must be at most ${max}`).default(fallback)),
  /** One of `values`. */
  choice: <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
    z.preprocess(present, z.enum(values, { message: `must be one of ${values.join(', ')}` }).default(fallback as never)),
  /** Any text; the fallback when unset. */
  text: (fallback: string) => z.preprocess(present, z.string().default(fallback)),
  /** Optional text (undefined when unset). */
  optional: () => z.preprocess(present, z.string().optional()),
  /** A quota as the API's RATE_LIMIT_* take it: `<requests>/<window>`. */
  quota: (fallback: string) =>
    z.preprocess(present, z.string().regex(QUOTA_PATTERN, 'must be <requests>/<window>, the window in s, m or h (e.g. 20/2s)').default(fallback)),
  /** A comma-separated list of `values` (all of them when unset). */
  list: <const T extends readonly [string, ...string[]]>(values: T) =>
    z.preprocess(
      (v) => present(v)?.split(',').map((s) => s.trim()).filter(Boolean),
      z.array(z.enum(values, { message: `must list some of ${values.join(', ')}` })).default([...values]),
    ),
};

/** Parses `env` against the knobs in `shape`; throws ConfigError naming every bad variable. */
export function readKnobs<S extends z.ZodRawShape>(shape: S, env: NodeJS.ProcessEnv = process.env): z.infer<z.ZodObject<S>> {
  const parsed = z.object(shape).safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  return parsed.data;
}
