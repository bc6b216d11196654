/**
 * Graceful shutdown, in the test process and as real processes. A request still in flight when
 * shutdown starts is answered while new connections are refused, and the database pool closes only
 * after it; when the deadline passes first, shutdown gives up and says so. `src/main.ts` (what `npm
 * start` runs), started as a process of its own, prints its URL, its docs URL and a demo key, takes
 * a payment through the in-process simulator and exits 0 on SIGTERM; it exits 1, naming the
 * problem, when production lacks its variables (printing no secret) or a variable is bad. The
 * simulator's own process (`npm run processor`) serves its ledger behind its token and exits 0 on
 * SIGTERM.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { createLogger } from '../../src/platform/logger.js';
import { Lifecycle, shutdown } from '../../src/platform/shutdown.js';
import { createTestApp } from '../helpers/app.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

/**
 * Runs `script` as its own process until its output matches `ready`, hands that output to `use`,
 * then sends SIGTERM and returns the exit code (the process is killed if anything fails first).
 */
async function runUntilSigterm(script: string, env: Record<string, string>, ready: RegExp, use: (out: string) => Promise<void>): Promise<number | null> {
  const child = spawn(TSX, [script], { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  try {
    const deadline = Date.now() + 45_000;
    while (!ready.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    await use(out);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    return code as number | null;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

describe('graceful shutdown', () => {
  it('finishes a request that is in flight when shutdown starts, refuses new connections, then closes the pool', async () => {
    const t = await createTestApp();
    const { secret } = await t.createAccount();
    const server = http.createServer(t.app);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;

    // A request whose body is still arriving: it is in flight until the last byte is sent.
    const body = JSON.stringify({ email: 'in-flight@example.com' });
    const req = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/v1/customers',
      headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    });
    const response = once(req, 'response').then(async ([res]) => {
      const incoming = res as http.IncomingMessage;
      let text = '';
      for await (const chunk of incoming) text += chunk;
      return { status: incoming.statusCode, body: JSON.parse(text) };
    });
    req.write(body.slice(0, 5));
    await new Promise((r) => setTimeout(r, 100));

    const events: string[] = [];
    const done = shutdown({
      server,
      lifecycle: t.lifecycle,
      log: createLogger('silent'),
      timeoutMs: 10_000,
      close: async () => {
        events.push('pool closed');
        await t.close();
      },
    });
    expect(t.lifecycle.draining).to.equal(true);

    // A new connection is refused while the old request is still running.
    const refused = await new Promise<string>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/health' }, () => resolve('accepted')).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(refused).to.equal('ECONNREFUSED');

    req.end(body.slice(5));
    const res = await response;
    events.push('response sent');
    expect(res.status).to.equal(201);
    expect(res.body.email).to.equal('in-flight@example.com');

    expect(await done).to.equal(true);
    expect(events).to.deep.equal(['response sent', 'pool closed']);
  });

  it('gives up waiting at the deadline and reports it', async () => {
    const server = http.createServer(() => {
      /* never answers */
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const stuck = http.get({ host: '127.0.0.1', port, path: '/' }).on('error', () => {});
    await new Promise((r) => setTimeout(r, 100));
    let closed = false;
    const drained = await shutdown({ server, lifecycle: new Lifecycle(), log: createLogger('silent'), timeoutMs: 300, close: async () => void (closed = true) });
    expect(drained).to.equal(false);
    expect(closed).to.equal(true);
    stuck.destroy();
  });

  describe('npm run processor (the simulator) as a process', function () {
    this.timeout(60_000);

    it('prints its URL, serves its ledger, and exits 0 on SIGTERM', async () => {
      const token = 'control-token-0123456789abcdef';
      const code = await runUntilSigterm('src/processor/simulator/main.ts', { PROCESSOR_PORT: '0', LOG_LEVEL: 'silent', PROCESSOR_CONTROL_TOKEN: token }, /Ledger: curl/, async (out) => {
        const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
        expect(url, out).to.match(/^http:\/\/127\.0\.0\.1:/);
        const getLedger = `${url}/remit.processor.v1.SimulatorControlService/GetLedger`;
        expect((await fetch(getLedger, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).to.equal(401);
        const ledger = await fetch(getLedger, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: '{}' });
        expect(ledger.status).to.equal(200);
        // Protobuf's JSON leaves out an empty list.
        expect(((await ledger.json()) as { operations?: unknown[] }).operations ?? []).to.deep.equal([]);
      });
      expect(code).to.equal(0);
    });
  });

  describe('npm start (src/main.ts) as a process', function () {
    this.timeout(60_000);

    it('prints the URL, docs URL and a demo key, serves, and exits 0 on SIGTERM', async () => {
      // No HOST: development binds loopback, and the banner says so.
      const code = await runUntilSigterm('src/main.ts', { PORT: '0', LOG_LEVEL: 'silent' }, /API key: sk_/, async (out) => {
        const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
        expect(url, out).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(out).to.include('Bound to 127.0.0.1: this machine only (HOST=0.0.0.0 accepts other machines)');
        expect(out).to.include(`${url}/docs`);
        const key = /API key: (sk_\S+)/.exec(out)![1];
        const res = await fetch(`${url}/v1/customers`, { headers: { Authorization: `Bearer ${key}` } });
        expect(res.status).to.equal(200);
        // Without PROCESSOR_URL the simulator runs in-process; a payment is charged through it.
        const [, controlToken, ledgerUrl] = /its ledger: curl -H 'Authorization: Bearer (\S+)' -H 'Content-Type: application\/json' -d '\{\}' (http:\/\/\S+\/remit\.processor\.v1\.SimulatorControlService\/GetLedger)/.exec(out) ?? [];
        expect(ledgerUrl, out).to.be.a('string');
        const payment = await fetch(`${url}/v1/payments`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Idempotency-Key': 'start-smoke' },
          body: JSON.stringify({ amount: 1500, currency: 'EUR' }),
        });
        const paid = (await payment.json()) as { id: string; status: string };
        expect(payment.status, JSON.stringify(paid)).to.equal(201);
        expect(paid.status).to.equal('succeeded');
        const ledger = (await (
          await fetch(ledgerUrl!, { method: 'POST', headers: { Authorization: `Bearer ${controlToken}`, 'Content-Type': 'application/json' }, body: '{}' })
        ).json()) as { charges: { reference: string }[] };
        expect(ledger.charges.map((c) => c.reference)).to.deep.equal([paid.id]);
      });
      expect(code).to.equal(0);
    });

    it('starts and serves with VALIDATE_RESPONSES=false, as production runs by default', async () => {
      const code = await runUntilSigterm('src/main.ts', { PORT: '0', LOG_LEVEL: 'silent', VALIDATE_RESPONSES: 'false' }, /API key: sk_/, async (out) => {
        const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
        expect(url, out).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
        const key = /API key: (sk_\S+)/.exec(out)![1];
        const res = await fetch(`${url}/v1/customers`, { headers: { Authorization: `Bearer ${key}` } });
        expect(res.status).to.equal(200);
        expect(res.headers.get('etag')).to.match(/^"[A-Za-z0-9_-]{22}"$/);
      });
      expect(code).to.equal(0);
    });

    it('refuses to start in production on development defaults, naming what is missing and printing no secret', async () => {
      const child = spawn(TSX, ['src/main.ts'], { cwd: ROOT, env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const [code] = await once(child, 'exit');
      expect(code).to.equal(1);
      for (const name of ['DATABASE_URL', 'PROCESSOR_URL', 'ADMIN_TOKEN']) expect(out).to.include(`${name} is required in production`);
      expect(out).not.to.match(/sk_[A-Za-z0-9]{22}_|Admin token|listening/);
    });

    it('refuses to start with a bad variable and names it', async () => {
      const child = spawn(TSX, ['src/main.ts'], { cwd: ROOT, env: { PATH: process.env.PATH, PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const [code] = await once(child, 'exit');
      expect(code).to.equal(1);
      expect(err).to.include('PORT must be a port number');
    });
  });
});
