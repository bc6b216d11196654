/**
 * The processor simulator is a development tool: the production image leaves it out (Dockerfile,
 * target `production`), and the API runs without it when PROCESSOR_URL names a processor. Proven
 * on a copy of the tree without `src/processor/simulator/`, as the image has it.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startProcessorSimulator } from '../../src/processor/simulator/server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('the production image', function () {
  // A copy of the tree compiles afresh (no tsx cache): on a loaded machine start-up takes a while.
  this.timeout(180_000);

  it('is built without the simulator', async () => {
    const dockerfile = await readFile(path.join(ROOT, 'Dockerfile'), 'utf8');
    const production = dockerfile.slice(dockerfile.indexOf('AS production'));
    expect(production).to.include('RUN rm -rf src/processor/simulator');
    // The production stage is the last, so it is what `docker build .` builds.
    expect(dockerfile.lastIndexOf('FROM ')).to.equal(dockerfile.indexOf('FROM base AS production'));
  });

  it('serves the API without the simulator when PROCESSOR_URL is set', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'remit-image-'));
    const processor = await startProcessorSimulator();
    try {
      for (const part of ['package.json', 'spec', 'generated', 'src']) await cp(path.join(ROOT, part), path.join(dir, part), { recursive: true });
      await rm(path.join(dir, 'src/processor/simulator'), { recursive: true });
      await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: dir,
        env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'silent', PROCESSOR_URL: processor.url, DEMO_ACCOUNT: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const deadline = Date.now() + 150_000;
      while (!/API key: sk_/.test(out) && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      try {
        const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
        expect(url, out).to.be.a('string');
        expect(out).to.include(`Processor (http): ${processor.url}`);
        const key = /API key: (sk_\S+)/.exec(out)![1];
        const paid = await fetch(`${url}/v1/payments`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}`, 'content-type': 'application/json', 'Idempotency-Key': 'image' },
          body: JSON.stringify({ amount: 100, currency: 'EUR' }),
        });
        expect(paid.status).to.equal(201);
        expect(processor.ledger().charges).to.have.length(1);
      } finally {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    } finally {
      await processor.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
