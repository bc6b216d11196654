/**
 * The configuration schema (src/platform/config.ts), read from environments passed as objects: the
 * API starts with no variables at all (embedded database, generated admin token, demo account,
 * loopback); production listens on every interface, logs JSON, validates no responses unless told
 * and creates no demo account, and refuses to start on development defaults, naming each missing
 * variable; every bad value is reported, all at once, with a message naming the variable and what
 * it accepts; quotas are read as <requests>/<window>; and an idempotency lease shorter than twice
 * the longest processor call is refused.
 */
import { expect } from 'chai';
import { ConfigError, loadConfig, loadSimulatorConfig, worstProcessorCallMs } from '../../src/platform/config.js';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** What production must be given: a database, a processor, an admin token, the scraper's token and the webhook secrets' key. */
const WEBHOOK_KEY_HEX = 'ab'.repeat(32);
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://remit@db:5432/remit',
  PROCESSOR_URL: 'https://processor.example.com',
  ADMIN_TOKEN: 'a'.repeat(32),
  METRICS_TOKEN: 'm'.repeat(32),
  WEBHOOK_SECRETS_KEY: WEBHOOK_KEY_HEX,
};

describe('configuration', () => {
  it('starts with no variables at all: embedded database, generated admin token, demo account', () => {
    const config = loadConfig({});
    expect(config.port).to.equal(8080);
    expect(config.database.url).to.equal(undefined);
    expect(config.adminTokenGenerated).to.equal(true);
    expect(config.adminToken).to.match(/^[0-9a-f]{48}$/);
    expect(config.demoAccount).to.equal(true);
    expect(config.validateResponses).to.equal(true);
  });

  it('listens on loopback by default, and on every interface by default in production', () => {
    expect(loadConfig({}).host).to.equal('127.0.0.1');
    expect(loadConfig(PRODUCTION).host).to.equal('0.0.0.0');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).to.equal('0.0.0.0');
    expect(loadConfig({ ...PRODUCTION, HOST: '10.0.0.5' }).host).to.equal('10.0.0.5');
  });

  it('logs readable lines to a terminal outside production, JSON otherwise, unless LOG_FORMAT says', () => {
    expect(loadConfig({}, true).logFormat).to.equal('pretty');
    expect(loadConfig({}, false).logFormat).to.equal('json');
    expect(loadConfig(PRODUCTION, true).logFormat).to.equal('json');
    expect(loadConfig({ LOG_FORMAT: 'json' }, true).logFormat).to.equal('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }, false).logFormat).to.equal('pretty');
  });

  it('refuses to start production on development defaults, naming each missing variable', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).to.have.length(5);
    expect(problems[0]).to.match(/^DATABASE_URL is required in production/);
    expect(problems[1]).to.match(/^PROCESSOR_URL is required in production/);
    expect(problems[2]).to.match(/^ADMIN_TOKEN is required in production/);
    expect(problems[3]).to.match(/^METRICS_TOKEN is required in production/);
    expect(problems[4]).to.match(/^WEBHOOK_SECRETS_KEY is required in production/);
    // Metrics turned off need no token; a token too short to be a secret is refused.
    expect(loadConfig({ ...PRODUCTION, METRICS_TOKEN: undefined, METRICS_ENABLED: 'false' }).metrics).to.deep.equal({ enabled: false, token: undefined });
    expect(problemsOf({ ...PRODUCTION, METRICS_TOKEN: 'short' })).to.deep.equal(['METRICS_TOKEN must be at least 24 characters (e.g. `openssl rand -hex 24`)']);
    expect(loadConfig(PRODUCTION).metrics).to.deep.equal({ enabled: true, token: 'm'.repeat(32) });
    expect(loadConfig({}).metrics).to.deep.equal({ enabled: true, token: undefined });
    expect(problemsOf({ ...PRODUCTION, DEMO_ACCOUNT: 'true' })).to.deep.equal(['DEMO_ACCOUNT cannot be true in production (it prints a live API key)']);
    const config = loadConfig(PRODUCTION);
    expect(config.demoAccount).to.equal(false);
    expect(config.adminTokenGenerated).to.equal(false);
  });

  it('turns response validation off by default in production, and lets it be turned on', () => {
    expect(loadConfig(PRODUCTION).validateResponses).to.equal(false);
    expect(loadConfig({ ...PRODUCTION, VALIDATE_RESPONSES: 'true' }).validateResponses).to.equal(true);
  });

  it('does not create a demo account on PostgreSQL unless asked', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).demoAccount).to.equal(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', DEMO_ACCOUNT: 'true' }).demoAccount).to.equal(true);
  });

  for (const [name, value, fragment] of [
    ['PORT', 'eighty', 'PORT must be a port number'],
    ['PORT', '70000', 'PORT must be at most 65535'],
    ['BODY_LIMIT_BYTES', '1024', 'BODY_LIMIT_BYTES must be at least 65536: the spec promises'],
    ['DATABASE_URL', 'mysql://x', 'DATABASE_URL must be a URL starting with postgres:// or postgresql://'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL must be a URL starting with redis://'],
    ['PROCESSOR_URL', 'ftp://x', 'PROCESSOR_URL must be a URL starting with http://'],
    ['ADMIN_TOKEN', 'short', 'ADMIN_TOKEN must be at least 24 characters'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
    ['VALIDATE_RESPONSES', 'yes', 'VALIDATE_RESPONSES must be true or false'],
    ['LOG_FORMAT', 'xml', 'LOG_FORMAT must be json or pretty'],
    ['NODE_ENV', 'staging', 'NODE_ENV must be development, test or production'],
    ['PROCESSOR_PROTOCOL', 'http2', 'PROCESSOR_PROTOCOL must be http or grpc'],
    ['PROCESSOR_GRPC_CHANNELS', '0', 'PROCESSOR_GRPC_CHANNELS must be at least 1'],
    ['PROCESSOR_GRPC_CHANNELS', '65', 'PROCESSOR_GRPC_CHANNELS must be at most 64'],
    ['PROCESSOR_GRPC_KEEPALIVE_MS', '1000', 'PROCESSOR_GRPC_KEEPALIVE_MS must be at least 10000'],
    ['PROCESSOR_TIMEOUT_MS', 'soon', 'PROCESSOR_TIMEOUT_MS must be a number of milliseconds'],
    ['PROCESSOR_MAX_RETRIES', '1.5', 'PROCESSOR_MAX_RETRIES'],
    ['PROCESSOR_BREAKER_THRESHOLD', '0', 'PROCESSOR_BREAKER_THRESHOLD'],
    ['PROCESSOR_BREAKER_HALF_OPEN_MS', 'x', 'PROCESSOR_BREAKER_HALF_OPEN_MS must be a number of milliseconds'],
    ['IDEMPOTENCY_LEASE_MS', '-1', 'IDEMPOTENCY_LEASE_MS'],
    ['IDEMPOTENCY_RETENTION_HOURS', '12', 'IDEMPOTENCY_RETENTION_HOURS must be at least 24'],
    ['IDEMPOTENCY_JOB_INTERVAL_MS', 'often', 'IDEMPOTENCY_JOB_INTERVAL_MS must be a number of milliseconds'],
    ['RATE_LIMIT_WRITE', 'lots', 'RATE_LIMIT_WRITE must be <requests>/<window>, the window in s, m or h (e.g. 100/10s)'],
    ['RATE_LIMIT_READ', '0/1s', 'RATE_LIMIT_READ must be <requests>/<window>'],
    ['RATE_LIMIT_ADMIN', '10/0s', 'RATE_LIMIT_ADMIN must be <requests>/<window>'],
    ['RATE_LIMIT_OPS', '10/25h', 'RATE_LIMIT_OPS window must be at most 24h'],
    ['RATE_LIMIT_AUTH_FAILURES', '10 per minute', 'RATE_LIMIT_AUTH_FAILURES must be <requests>/<window>'],
    ['RATE_LIMIT_INSTANCES', '0', 'RATE_LIMIT_INSTANCES'],
    ['RATE_LIMITS_ENABLED', 'maybe', 'RATE_LIMITS_ENABLED must be true or false'],
    ['REDIS_TIMEOUT_MS', 'fast', 'REDIS_TIMEOUT_MS must be a number of milliseconds'],
    ['REDIS_KEY_PREFIX', 'has space', 'REDIS_KEY_PREFIX must be 1-64 characters'],
    ['TRUST_PROXY', 'true', 'TRUST_PROXY must be a number of proxy hops, or comma-separated proxy addresses/subnets'],
    ['TRUST_PROXY', 'everyone', 'TRUST_PROXY must be a number of proxy hops'],
    ['WEBHOOK_SECRETS_KEY', 'abc', 'WEBHOOK_SECRETS_KEY must be 32 random bytes as 64 hex digits or 44 base64 characters'],
    ['WEBHOOK_SECRETS_KEY', 'ab'.repeat(16), 'WEBHOOK_SECRETS_KEY must be 32 random bytes'],
    ['WEBHOOK_ALLOW_PRIVATE_TARGETS', 'yes', 'WEBHOOK_ALLOW_PRIVATE_TARGETS must be true or false'],
    ['WEBHOOK_TIMEOUT_MS', '50', 'WEBHOOK_TIMEOUT_MS'],
    ['WEBHOOK_RELAY_CONCURRENCY', '0', 'WEBHOOK_RELAY_CONCURRENCY'],
    ['WEBHOOK_ENDPOINTS_MAX_PER_ACCOUNT', 'many', 'WEBHOOK_ENDPOINTS_MAX_PER_ACCOUNT must be a whole number'],
  ] as const) {
    it(`names ${name} when it is '${value}'`, () => {
      const problems = problemsOf({ [name]: value });
      expect(problems.join('\n')).to.include(fragment);
    });
  }

  it('reads the webhook settings, the secrets key as hex or base64, and refuses a degraded window not shorter than the disabling one', () => {
    const defaults = loadConfig({}).webhooks;
    expect(defaults).to.deep.include({ allowPrivateTargets: false, timeoutMs: 10_000, degradedAfterMs: 3_600_000, disableAfterMs: 432_000_000, maxEndpointsPerAccount: 16 });
    expect(defaults.relay).to.deep.equal({ enabled: true, intervalMs: 200, concurrency: 32 });
    expect(defaults.secretsKey).to.equal(undefined);
    const key = Buffer.from(WEBHOOK_KEY_HEX, 'hex');
    expect(loadConfig(PRODUCTION).webhooks.secretsKey).to.deep.equal(key);
    expect(loadConfig({ WEBHOOK_SECRETS_KEY: key.toString('base64') }).webhooks.secretsKey).to.deep.equal(key);
    expect(problemsOf({ WEBHOOK_DEGRADED_AFTER_S: '600', WEBHOOK_DISABLE_AFTER_S: '600' })).to.deep.equal([
      'WEBHOOK_DEGRADED_AFTER_S must be less than WEBHOOK_DISABLE_AFTER_S (an endpoint is marked degraded before it is disabled)',
    ]);
  });

  it('reads quotas as <requests>/<window>, with writes stricter than reads by default', () => {
    const { rateLimits } = loadConfig({});
    expect(rateLimits.enabled).to.equal(true);
    expect(rateLimits.instances).to.equal(1);
    expect(rateLimits.keyPrefix).to.equal('remit:rl');
    const { read, write } = rateLimits.policies;
    expect(write.points / write.windowS).to.be.lessThan(read.points / read.windowS);
    const custom = loadConfig({ RATE_LIMIT_WRITE: '50/10s', RATE_LIMIT_READ: '5/2m', RATE_LIMIT_AUTH_FAILURES: '3/1h', RATE_LIMITS_ENABLED: 'false' }).rateLimits;
    expect(custom.policies.write).to.deep.equal({ points: 50, windowS: 10 });
    expect(custom.policies.read).to.deep.equal({ points: 5, windowS: 120 });
    expect(custom.policies.auth).to.deep.equal({ points: 3, windowS: 3600 });
    expect(custom.enabled).to.equal(false);
  });

  it('trusts no proxy by default, and takes hop counts or addresses', () => {
    expect(loadConfig({}).trustProxy).to.equal(false);
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).to.equal(1);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, loopback' }).trustProxy).to.equal('10.0.0.0/8, loopback');
  });

  it('reports every bad variable at once', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'y' })).to.have.length(2);
  });

  it('has processor and idempotency defaults whose lease outlasts the longest processor call twice over', () => {
    const config = loadConfig({});
    expect(config.processor).to.deep.equal({ protocol: 'http', grpcChannels: 1, grpcKeepaliveMs: 300_000, timeoutMs: 2_000, maxRetries: 2, breakerThreshold: 5, breakerHalfOpenMs: 5_000 });
    expect(config.idempotency.retentionMs).to.equal(24 * 3_600_000);
    expect(config.idempotency.leaseMs).to.be.greaterThan(2 * worstProcessorCallMs(config.processor.timeoutMs, config.processor.maxRetries));
  });

  it('takes the processor protocol and its gRPC settings', () => {
    expect(loadConfig({ PROCESSOR_PROTOCOL: 'grpc', PROCESSOR_GRPC_CHANNELS: '4', PROCESSOR_GRPC_KEEPALIVE_MS: '60000' }).processor).to.include({
      protocol: 'grpc',
      grpcChannels: 4,
      grpcKeepaliveMs: 60_000,
    });
  });

  it('refuses a lease shorter than twice the longest processor call, naming the variables', () => {
    // 1 s × 3 attempts + 2 s × 2 backoffs = 7 s; a 10 s lease is under twice that.
    const problems = problemsOf({ PROCESSOR_TIMEOUT_MS: '1000', PROCESSOR_MAX_RETRIES: '2', IDEMPOTENCY_LEASE_MS: '10000' });
    expect(problems[0]).to.include('IDEMPOTENCY_LEASE_MS must be more than 14000').and.include('PROCESSOR_TIMEOUT_MS');
    expect(loadConfig({ PROCESSOR_TIMEOUT_MS: '1000', PROCESSOR_MAX_RETRIES: '2', IDEMPOTENCY_LEASE_MS: '14001' }).idempotency.leaseMs).to.equal(14_001);
  });

  it('gives the processor simulator its own port and host, and names a bad port', () => {
    expect(loadSimulatorConfig({})).to.include({ host: '127.0.0.1', port: 4010 });
    expect(loadSimulatorConfig({ PROCESSOR_PORT: '4999' }).port).to.equal(4999);
    expect(() => loadSimulatorConfig({ PROCESSOR_PORT: 'x' })).to.throw(ConfigError, /PROCESSOR_PORT must be a port number/);
  });

  it('refuses DATA_DIR together with DATABASE_URL', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://u@h/db', DATA_DIR: './data' })[0]).to.include('DATA_DIR');
  });
});
