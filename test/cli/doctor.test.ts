/**
 * `remit doctor` against the real API, and against what a wrong configuration points at: a
 * revoked key, a closed port, a server that never answers, one that is not Remit, one whose clock
 * is off, OAuth client credentials. No output of any run holds a secret.
 */
import { expect } from 'chai';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { doctor } from '../../cli/src/doctor.js';
import type { ExitCode } from '../../cli/src/exit-codes.js';
import { startApi, type RunningApi } from '../../sdk/test/helpers/api.js';
import { listen as listenHttp, type Listening } from '../helpers/http-server.js';
import { temporaryDirectory, testContext, type TestContext, type TestContextOptions } from './helpers/context.js';

/**
 * Doctor gives up after about 6 s whatever answers. The bound leaves a loaded machine room and
 * still proves doctor's own deadline ended the run: without it, a silent server holds a check for
 * the SDK's 60 s per attempt.
 */
const TIME_BOUND_MS = 20_000;

interface Diagnosis {
  readonly code: ExitCode;
  readonly t: TestContext;
  /** stdout's lines, by check name: `api`, `clock`, `credentials`, `access`, `scopes`. */
  readonly lines: Record<string, string>;
  readonly elapsedMs: number;
}

describe('remit doctor', function () {
  this.timeout(30_000);
  let api: RunningApi;
  let dir: { path: string; remove: () => Promise<void> };
  const servers: Listening[] = [];
  /** Every secret a test used, and every output printed: no output may hold any of them. */
  const secrets: string[] = [];
  const outputs: string[] = [];

  before(async () => {
    api = await startApi();
    dir = await temporaryDirectory();
    secrets.push(api.account.secret);
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
    await dir?.remove();
    await api?.close();
  });

  async function diagnose(options: Partial<TestContextOptions> = {}): Promise<Diagnosis> {
    const t = testContext({ baseURL: api.server.url, credentials: { apiKey: api.account.secret }, configDir: dir.path, ...options });
    const started = Date.now();
    const code = await doctor(t.ctx);
    const elapsedMs = Date.now() - started;
    outputs.push(t.stdout(), t.stderr());
    const lines: Record<string, string> = {};
    for (const line of t.lines()) {
      const match = /^(?:ok|FAIL|warn|skip) +([a-z]+): /.exec(line);
      if (match) lines[match[1]!] = line;
    }
    return { code, t, lines, elapsedMs };
  }

  async function server(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
    const listening = await listenHttp(handler);
    servers.push(listening);
    return listening;
  }

  /** A proxy to the real API whose answers carry a `Date` that is `offsetMs` off. */
  function skewedProxy(offsetMs: number): Promise<Listening> {
    return server((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        const headers: Record<string, string> = {};
        for (const name of ['authorization', 'content-type', 'accept', 'idempotency-key']) {
          const value = req.headers[name];
          if (typeof value === 'string') headers[name] = value;
        }
        const upstream = await fetch(`${api.server.url}${req.url}`, { method: req.method, headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined });
        const body = await upstream.text();
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/plain', date: new Date(Date.now() + offsetMs).toUTCString() });
        res.end(body);
      });
    });
  }

  async function closedPort(): Promise<string> {
    const closed = await listenHttp(() => undefined);
    await closed.close();
    return closed.url;
  }

  it('passes every check against the real API, naming the key and its scopes', async () => {
    const { code, t, lines } = await diagnose();
    expect(code, t.stdout()).to.equal(0);
    expect(Object.keys(lines)).to.deep.equal(['api', 'clock', 'credentials', 'access', 'scopes']);
    for (const line of Object.values(lines)) expect(line).to.match(/^ok {4}/);
    expect(lines.api).to.include(`Remit answers at ${api.server.url}`);
    expect(lines.credentials).to.include('an API key, from REMIT_API_KEY');
    expect(lines.scopes).to.equal(`ok    scopes: read, write (key ${api.account.keyId} "Default key").`);
    expect(t.lines().at(-1)).to.equal('Everything looks good.');
  });

  it('prints one JSON document with --json', async () => {
    const { code, t } = await diagnose({ json: true });
    expect(code).to.equal(0);
    const document = JSON.parse(t.stdout()) as { ok: boolean; checks: { check: string; status: string }[] };
    expect(document.ok).to.equal(true);
    expect(document.checks.map((check) => `${check.check}:${check.status}`)).to.deep.equal(['api:ok', 'clock:ok', 'credentials:ok', 'access:ok', 'scopes:ok']);
  });

  it('fails a revoked key with exit 2, saying what is wrong and how to fix it', async () => {
    const key = await api.t.createKey(api.account, ['read']);
    secrets.push(key.secret);
    const before = await diagnose({ credentials: { apiKey: key.secret } });
    expect(before.code).to.equal(0);
    expect(before.lines.scopes).to.equal(`ok    scopes: read (key ${key.id}).`);

    await api.client().apiKeys.revoke(key.id);
    const { code, lines } = await diagnose({ credentials: { apiKey: key.secret } });
    expect(code).to.equal(2);
    expect(lines.access).to.match(/^FAIL {2}access: the API refused the API key \(401 .+\): it is revoked or mistyped\. Fix: create a new key/);
    expect(lines.scopes).to.match(/^skip/);
    expect(lines.api).to.match(/^ok/);
  });

  it('fails a key without read with exit 2', async () => {
    const key = await api.t.createKey(api.account, ['write']);
    secrets.push(key.secret);
    const { code, lines } = await diagnose({ credentials: { apiKey: key.secret } });
    expect(code).to.equal(2);
    expect(lines.access).to.match(/^FAIL {2}access: the credentials lack the read scope/);
  });

  it('fails an unreachable port with exit 3, quickly', async () => {
    const url = await closedPort();
    const { code, lines, elapsedMs } = await diagnose({ baseURL: url });
    expect(code).to.equal(3);
    expect(elapsedMs).to.be.below(TIME_BOUND_MS);
    expect(lines.api).to.equal(`FAIL  api: ${url} cannot be reached: connection refused. Fix: start the API, or point the base URL at the address it listens on (and check any firewall or VPN in between).`);
    for (const check of ['clock', 'access', 'scopes']) expect(lines[check], check).to.match(/^skip/);
    expect(lines.credentials).to.match(/^ok/);
  });

  it('gives up on a server that never answers within the time bound, with exit 3', async () => {
    const silent = await server(() => undefined);
    const { code, lines, elapsedMs } = await diagnose({ baseURL: silent.url });
    expect(code).to.equal(3);
    expect(elapsedMs).to.be.below(TIME_BOUND_MS);
    expect(lines.api).to.include('cannot be reached: no answer within 5 s.');
  });

  it('stays within the time bound when only /health answers and the token endpoint hangs', async () => {
    const halfDead = await server((req, res) => {
      if (req.url !== '/health') return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    });
    const credentials = { clientId: 'cli_doesnotmatter', clientSecret: 'cs_doesnotmatterdoesnotmatter' };
    secrets.push(credentials.clientSecret);
    const { code, lines, elapsedMs } = await diagnose({ baseURL: halfDead.url, credentials });
    expect(code).to.equal(3);
    expect(elapsedMs).to.be.below(TIME_BOUND_MS);
    expect(lines.api).to.match(/^ok/);
    expect(lines.access).to.match(/^FAIL {2}access: a read got no answer \(no answer within \d(\.\d)? s\)/);
    expect(lines.scopes).to.match(/^skip {2}scopes: not checked/);
  });

  it('says when what answers is not Remit, with exit 1', async () => {
    const other = await server((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not found</h1>');
    });
    const { code, lines } = await diagnose({ baseURL: other.url });
    expect(code).to.equal(1);
    expect(lines.api).to.include(`FAIL  api: something answers at ${other.url}, but it is not Remit (GET /health answered 404 text/html`);
  });

  it('fails a clock 2 minutes off the API\'s with exit 1, and warns about 10 s', async () => {
    const fast = await diagnose({ baseURL: (await skewedProxy(120_000)).url });
    expect(fast.code).to.equal(1);
    expect(fast.lines.clock).to.match(/^FAIL {2}clock: this machine's clock is 1[12]\d(\.\d)? s behind the API's/);
    expect(fast.lines.clock).to.include('Fix: turn on automatic time sync (NTP)');
    for (const check of ['api', 'credentials', 'access', 'scopes']) expect(fast.lines[check], check).to.match(/^ok/);

    const slightly = await diagnose({ baseURL: (await skewedProxy(-10_000)).url });
    expect(slightly.code).to.equal(0);
    expect(slightly.lines.clock).to.match(/^warn {2}clock: this machine's clock is \d+(\.\d)? s ahead of the API's/);
    expect(slightly.t.lines().at(-1)).to.equal('No check failed; 1 warning.');
  });

  it('prints the scopes granted to OAuth client credentials', async () => {
    const client = await api.client().oauthClients.create({ name: 'doctor', scopes: ['read'] });
    secrets.push(client.client_secret);
    const { code, t, lines } = await diagnose({ credentials: { clientId: client.id, clientSecret: client.client_secret } });
    expect(code, t.stdout()).to.equal(0);
    expect(lines.credentials).to.include(`OAuth client ${client.id}`);
    expect(lines.scopes).to.equal(`ok    scopes: read (OAuth client ${client.id}).`);

    const wrong = await diagnose({ credentials: { clientId: client.id, clientSecret: 'cs_wrongwrongwrongwrongwrongwrongwrong' } });
    expect(wrong.code).to.equal(2);
    expect(wrong.lines.access).to.match(/^FAIL {2}access: the token endpoint refused the OAuth client \(401 invalid_client/);
  });

  it('fails without credentials with exit 1', async () => {
    const { code, lines } = await diagnose({ credentials: undefined });
    expect(code).to.equal(1);
    expect(lines.credentials).to.match(/^FAIL {2}credentials: none are configured\. Fix: pass --api-key/);
  });

  it('never prints a secret', () => {
    expect(outputs.length).to.be.above(10);
    expect(secrets.length).to.be.above(3);
    for (const output of outputs) {
      for (const secret of secrets) expect(output.includes(secret), 'a secret was printed').to.equal(false);
      expect(output).to.not.match(/sk_[A-Za-z0-9]+_[A-Za-z0-9_-]{8,}|cs_[A-Za-z0-9_-]{8,}|eyJ[A-Za-z0-9_-]{10,}/);
    }
  });
});
