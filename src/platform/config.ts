/**
 * The one place that reads `process.env`. Every variable is optional for `npm start`; a value that
 * is present but wrong stops start-up with a message that names the variable and says how to fix it.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const optionalUrl = (protocols: string[], example: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || (URL.canParse(v) && protocols.includes(new URL(v).protocol)), {
      message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}, e.g. ${example}`,
    });

const booleanFlag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .optional()
  .transform((v) => (v === undefined ? undefined : v === 'true' || v === '1'));

const schema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production'], { message: 'must be development, test or production' }).default('development'),
  HOST: z.string().trim().min(1).default('0.0.0.0'),
  PORT: z.coerce.number({ message: 'must be a port number' }).int().min(0).max(65535, 'must be at most 65535').default(8080),
  DATABASE_URL: optionalUrl(['postgres:', 'postgresql:'], 'postgres://postgres@127.0.0.1:5432/remit'),
  DATABASE_POOL_MAX: z.coerce.number({ message: 'must be a whole number' }).int().min(1).max(200).default(10),
  DATA_DIR: z.string().trim().min(1).optional(),
  REDIS_URL: optionalUrl(['redis:', 'rediss:'], 'redis://127.0.0.1:6379'),
  ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters (e.g. `openssl rand -hex 24`)').optional(),
  PROCESSOR_URL: optionalUrl(['http:', 'https:'], 'http://127.0.0.1:4010'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).optional(),
  VALIDATE_RESPONSES: booleanFlag,
  BODY_LIMIT_BYTES: z.coerce.number({ message: 'must be a number of bytes' }).int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number({ message: 'must be a number of milliseconds' }).int().min(0).max(120_000).default(10_000),
  DEMO_ACCOUNT: booleanFlag,
});

export interface Config {
  readonly env: 'development' | 'test' | 'production';
  readonly host: string;
  readonly port: number;
  readonly database: { readonly url?: string; readonly poolMax: number; readonly dataDir?: string };
  readonly redisUrl?: string;
  /** The operator token for `/admin`. Generated (and printed) when `ADMIN_TOKEN` is unset. */
  readonly adminToken: string;
  readonly adminTokenGenerated: boolean;
  readonly processorUrl?: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Validate every response against the spec. On by default except in production. */
  readonly validateResponses: boolean;
  readonly bodyLimitBytes: number;
  readonly shutdownTimeoutMs: number;
  /** Create a demo account and print its key at start-up. On by default on the embedded database. */
  readonly demoAccount: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses an environment (default: `process.env`) into a typed config, or throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  }
  const v = parsed.data;
  if (v.DATABASE_URL && v.DATA_DIR) {
    throw new ConfigError(['DATA_DIR applies only to the embedded database: unset it or unset DATABASE_URL']);
  }
  return {
    env: v.NODE_ENV,
    host: v.HOST,
    port: v.PORT,
    database: { url: v.DATABASE_URL, poolMax: v.DATABASE_POOL_MAX, dataDir: v.DATA_DIR },
    redisUrl: v.REDIS_URL,
    adminToken: v.ADMIN_TOKEN ?? randomBytes(24).toString('hex'),
    adminTokenGenerated: v.ADMIN_TOKEN === undefined,
    processorUrl: v.PROCESSOR_URL,
    logLevel: v.LOG_LEVEL ?? (v.NODE_ENV === 'test' ? 'silent' : 'info'),
    validateResponses: v.VALIDATE_RESPONSES ?? v.NODE_ENV !== 'production',
    bodyLimitBytes: v.BODY_LIMIT_BYTES,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    demoAccount: v.DEMO_ACCOUNT ?? v.DATABASE_URL === undefined,
  };
}
