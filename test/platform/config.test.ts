import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/platform/config.js';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

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

  it('turns response validation off by default in production, and lets it be turned on', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).validateResponses).to.equal(false);
    expect(loadConfig({ NODE_ENV: 'production', VALIDATE_RESPONSES: 'true' }).validateResponses).to.equal(true);
  });

  it('does not create a demo account on PostgreSQL unless asked', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' }).demoAccount).to.equal(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', DEMO_ACCOUNT: 'true' }).demoAccount).to.equal(true);
  });

  for (const [name, value, fragment] of [
    ['PORT', 'eighty', 'PORT must be a port number'],
    ['PORT', '70000', 'PORT must be at most 65535'],
    ['DATABASE_URL', 'mysql://x', 'DATABASE_URL must be a URL starting with postgres:// or postgresql://'],
    ['REDIS_URL', 'localhost:6379', 'REDIS_URL must be a URL starting with redis://'],
    ['PROCESSOR_URL', 'ftp://x', 'PROCESSOR_URL must be a URL starting with http://'],
    ['ADMIN_TOKEN', 'short', 'ADMIN_TOKEN must be at least 24 characters'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
    ['VALIDATE_RESPONSES', 'yes', 'VALIDATE_RESPONSES must be true or false'],
    ['NODE_ENV', 'staging', 'NODE_ENV must be development, test or production'],
  ] as const) {
    it(`names ${name} when it is '${value}'`, () => {
      const problems = problemsOf({ [name]: value });
      expect(problems.join('\n')).to.include(fragment);
    });
  }

  it('reports every bad variable at once', () => {
    expect(problemsOf({ PORT: 'x', LOG_LEVEL: 'y' })).to.have.length(2);
  });

  it('refuses DATA_DIR together with DATABASE_URL', () => {
    expect(problemsOf({ DATABASE_URL: 'postgres://u@h/db', DATA_DIR: './data' })[0]).to.include('DATA_DIR');
  });
});
