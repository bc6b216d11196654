/**
 * The processor protocol is gated as spec/openapi.yaml is: `make proto-gate` (scripts/proto-gate.sh)
 * runs `buf breaking` against the base the API gate picks, and `make lint-spec` runs `buf lint`.
 * Each case edits spec/processor.proto as it is today in a repository made for the test, where main
 * holds that protocol as released, and checks the exit status and the finding buf names.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PROTO = 'spec/processor.proto';
/** The binary `npx buf` runs, called directly where the test runs buf itself. */
const BUF = path.join(ROOT, 'node_modules/.bin/buf');
const RELEASED = readFileSync(path.join(ROOT, PROTO), 'utf8');
/** What `buf breaking` and `buf lint` exit with when they report findings. */
const EXIT_FINDINGS = 100;
/** The gate's settings, which must come from each case and not from the shell running the suite. */
const GATE_ENV = ['API_DIFF_BASE', 'API_DIFF_ALLOW_BREAKING', 'PROTO_ALLOW_BREAKING', 'PROTO_GATE_FORMAT', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE'];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

type Edit = readonly [from: string, to: string];

/** Charge.amount_captured from int64 to string: a different wire type and JSON value. */
const AMOUNT_CAPTURED_AS_STRING: Edit = ['  int64 amount_captured = 5;', '  string amount_captured = 5;'];
const AMOUNT_CAPTURED_FINDING = 'Field "5" with name "amount_captured" on message "Charge" changed type from "int64" to "string"';

function run(cwd: string, command: string, args: readonly string[], env: Record<string, string> = {}): Run {
  const clean = { ...process.env };
  for (const name of GATE_ENV) delete clean[name];
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...clean, ...env } });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The protocol as released with each `from` (which must occur exactly once) replaced by its `to`. */
function edited(...edits: readonly Edit[]): string {
  let text = RELEASED;
  for (const [from, to] of edits) {
    expect(text.split(from).length - 1, `occurrences of ${JSON.stringify(from)} in ${PROTO}`).to.equal(1);
    text = text.replace(from, to);
  }
  return text;
}

describe('the processor protocol gates (make proto-gate, buf lint)', function () {
  this.timeout(30_000);
  let repo: string;
  /** The commit before spec/processor.proto existed, and the one that released it on main. */
  let beforeProtocol: string;
  let released: string;
  const clones: string[] = [];

  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd: repo, encoding: 'utf8', stdio: 'pipe' }).trim();
  const writeProto = (...edits: readonly Edit[]) => writeFileSync(path.join(repo, PROTO), edited(...edits));
  const gate = (env: Record<string, string> = {}, cwd = repo) => run(cwd, 'bash', ['scripts/proto-gate.sh'], env);
  const bufLint = () => run(repo, BUF, ['lint']);
  /** A branch off main whose one commit edits the protocol, as a pull request does. */
  const propose = (branch: string, message: string, ...edits: readonly Edit[]) => {
    git('checkout', '-q', '-f', '-B', branch, 'main');
    writeProto(...edits);
    git('commit', '-q', '-a', '-m', message);
  };
  const cloneOf = (...args: string[]) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'proto-gate-clone-'));
    clones.push(dir);
    execFileSync('git', ['clone', '-q', ...args, `file://${repo}`, dir], { stdio: 'pipe' });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    return dir;
  };

  before(() => {
    repo = mkdtempSync(path.join(os.tmpdir(), 'proto-gate-'));
    git('init', '-q', '-b', 'main');
    git('config', 'user.email', 'test@example.com');
    git('config', 'user.name', 'Test');
    // buf comes from the project's own node_modules, as `npx buf` finds it in the checkout.
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'));
    writeFileSync(path.join(repo, '.gitignore'), 'node_modules\n');
    mkdirSync(path.join(repo, 'scripts'));
    for (const script of ['scripts/proto-gate.sh', 'scripts/gate-base.sh']) copyFileSync(path.join(ROOT, script), path.join(repo, script));
    git('add', '.');
    git('commit', '-q', '-m', 'The gates, before the protocol');
    beforeProtocol = git('rev-parse', 'HEAD');
    mkdirSync(path.join(repo, 'spec'));
    copyFileSync(path.join(ROOT, 'buf.yaml'), path.join(repo, 'buf.yaml'));
    writeProto();
    git('add', '.');
    git('commit', '-q', '-m', 'The processor protocol, released');
    released = git('rev-parse', 'HEAD');
  });

  afterEach(() => git('checkout', '-q', '-f', 'main'));

  after(() => {
    for (const dir of [repo, ...clones]) rmSync(dir, { recursive: true, force: true });
  });

  describe('buf breaking against the base (make proto-gate)', () => {
    it('passes an additive change, a new field and a new rpc, compared with the merge base on main', () => {
      propose(
        'additive',
        'An order reference on charges, and refunds listed',
        // A number far above the protocol's own, so that the case holds while the protocol grows.
        ['message CreateChargeRequest {\n', 'message CreateChargeRequest {\n  optional string order_reference = 1000;\n'],
        ['service ProcessorService {\n', 'service ProcessorService {\n  rpc ListChargeRefunds(ListChargeRefundsRequest) returns (ListChargeRefundsResponse);\n'],
        [
          'message GetChargeRequest {',
          'message ListChargeRefundsRequest {\n  string charge_id = 1;\n}\n\nmessage ListChargeRefundsResponse {\n  repeated Refund refunds = 1;\n}\n\nmessage GetChargeRequest {',
        ],
      );

      const result = gate();

      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.contain(`proto gate: ${released}:spec → spec (working tree)`);
      expect(result.stderr).not.to.contain('FAILED');
    });

    it('fails a field whose type changed from int64 to string, printing the field buf names', () => {
      propose('amount-as-string', 'Captured amounts as strings', AMOUNT_CAPTURED_AS_STRING);

      const result = gate();

      expect(result.code).to.equal(EXIT_FINDINGS);
      expect(result.stdout).to.contain(AMOUNT_CAPTURED_FINDING);
      expect(result.stderr).to.contain('proto gate: FAILED');
    });

    it('fails a field deleted without reserving its number and name', () => {
      propose('no-capture-flag', 'Charges no longer capture at once', ['  bool capture = 4;\n', '']);

      const result = gate();

      expect(result.code).to.equal(EXIT_FINDINGS);
      expect(result.stdout).to.contain('Previously present field "4" with name "capture" on message "CreateChargeRequest" was deleted without reserving the number "4"');
      expect(result.stdout).to.contain('was deleted without reserving the name "capture"');
    });

    it('fails a field given another number, which to a reader of the old one is the field deleted', () => {
      propose('renumbered', 'Renumbered', ['  string charge_id = 2;\n}\n\nmessage CaptureChargeResponse', '  string charge_id = 3;\n}\n\nmessage CaptureChargeResponse']);

      const result = gate();

      expect(result.code).to.equal(EXIT_FINDINGS);
      expect(result.stdout).to.contain('Previously present field "2" with name "charge_id" on message "CaptureChargeRequest" was deleted without reserving the number "2"');
    });

    it('fails an rpc removed, which the WIRE_JSON rules alone do not judge', () => {
      propose('no-void', 'Voids go', ['  rpc VoidCharge(VoidChargeRequest) returns (VoidChargeResponse) {\n    option idempotency_level = IDEMPOTENT;\n  }\n', '']);

      const result = gate();

      expect(result.code).to.equal(EXIT_FINDINGS);
      expect(result.stdout).to.contain('Previously present RPC "VoidCharge" on service "ProcessorService" was deleted.');
    });

    it('fails a renamed field, the same on the wire but not in JSON, which the WIRE rules alone let through', () => {
      // Uncommitted on main: the change under review is the working tree against HEAD.
      writeProto(['  string currency = 3;\n  ChargeStatus status = 4;', '  string currency_code = 3;\n  ChargeStatus status = 4;']);

      const result = gate();
      const wireOnly = run(repo, BUF, [
        'breaking', '--against', `.git#format=git,ref=${released}`,
        '--config', JSON.stringify({ version: 'v2', modules: [{ path: 'spec' }], breaking: { use: ['WIRE'] } }),
      ]);

      expect(result.code).to.equal(EXIT_FINDINGS);
      expect(result.stdout).to.contain('proto gate: HEAD:spec → spec (working tree)');
      expect(result.stdout).to.contain('Field "3" on message "Charge" changed name from "currency" to "currency_code"');
      expect(result.stdout).to.contain('changed option "json_name" from "currency" to "currencyCode"');
      expect(wireOnly.code, wireOnly.stdout + wireOnly.stderr).to.equal(0);
    });

    it('lets a break through with a Breaking-Change-Approved trailer, still printing the report', () => {
      propose(
        'approved',
        'Captured amounts as strings\n\nBreaking-Change-Approved: the adapter and the simulator deploy together',
        AMOUNT_CAPTURED_AS_STRING,
      );

      const result = gate();

      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.contain(AMOUNT_CAPTURED_FINDING);
      expect(result.stdout).to.contain(
        `proto gate: breaking changes approved in commit ${git('rev-parse', '--short', 'HEAD')}: the adapter and the simulator deploy together`,
      );
    });

    it('lets a break through with PROTO_ALLOW_BREAKING=1, and not with the API gate\'s API_DIFF_ALLOW_BREAKING=1', () => {
      propose('allowed', 'Captured amounts as strings', AMOUNT_CAPTURED_AS_STRING);

      const allowed = gate({ PROTO_ALLOW_BREAKING: '1' });
      const apiOnly = gate({ API_DIFF_ALLOW_BREAKING: '1' });

      expect(allowed.code, allowed.stderr).to.equal(0);
      expect(allowed.stdout).to.contain(AMOUNT_CAPTURED_FINDING);
      expect(allowed.stdout).to.contain('proto gate: breaking changes allowed by PROTO_ALLOW_BREAKING=1');
      expect(apiOnly.code).to.equal(EXIT_FINDINGS);
      expect(apiOnly.stderr).to.contain('proto gate: FAILED');
    });

    it('passes, saying so, when the base has no spec/processor.proto', () => {
      writeProto(AMOUNT_CAPTURED_AS_STRING);

      const result = gate({ API_DIFF_BASE: beforeProtocol });

      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.contain(`proto gate: ${PROTO} does not exist at ${beforeProtocol}; everything in it is new (pass)`);
    });

    it('reads the base through buf\'s git input in a fresh clone holding the base commit', () => {
      propose('cloned-break', 'Captured amounts as strings', AMOUNT_CAPTURED_AS_STRING);
      const clone = cloneOf('--depth', '2', '--branch', 'cloned-break');

      const result = gate({}, clone);

      expect(result.code).to.equal(EXIT_FINDINGS);
      expect(result.stdout).to.contain(`proto gate: ${released}:spec → spec (working tree)`);
      expect(result.stdout).to.contain(AMOUNT_CAPTURED_FINDING);
    });

    it('passes, saying so, in a shallow clone without the base commit', () => {
      const clone = cloneOf('--depth', '1');

      const result = gate({}, clone);

      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.contain('proto gate: no previous commit to compare against (pass)');
    });
  });

  describe('buf lint (make lint-spec)', () => {
    it('passes the protocol as released', () => {
      const result = bufLint();

      expect(result.code, result.stdout + result.stderr).to.equal(0);
    });

    it('fails an enum whose zero value does not end in _UNSPECIFIED', () => {
      writeProto(['enum DeclineCode {', 'enum CardBrand {\n  CARD_BRAND_VISA = 0;\n}\n\nenum DeclineCode {']);

      const result = bufLint();

      expect(result.code).to.equal(EXIT_FINDINGS);
      expect(result.stdout).to.contain('Enum zero value name "CARD_BRAND_VISA" should be suffixed with "_UNSPECIFIED"');
    });

    it('fails a service whose name does not end in Service', () => {
      writeProto(['service SimulatorControlService {', 'service SimulatorControl {']);

      const result = bufLint();

      expect(result.code).to.equal(EXIT_FINDINGS);
      expect(result.stdout).to.contain('Service name "SimulatorControl" should be suffixed with "Service"');
    });
  });

  describe('the Makefile', () => {
    const makefile = readFileSync(path.join(ROOT, 'Makefile'), 'utf8');

    it('runs proto-gate in make check right after api-gate, and buf lint in make lint-spec', () => {
      const check = /^check:([^#\n]*)/m.exec(makefile)?.[1]?.trim().split(/\s+/) ?? [];
      const lintSpec = /^lint-spec:.*\n((?:\t.*\n)+)/m.exec(makefile)?.[1] ?? '';

      expect(check.indexOf('proto-gate')).to.equal(check.indexOf('api-gate') + 1).and.to.be.greaterThan(0);
      expect(makefile).to.match(/^proto-gate:.*## .*\n\tbash scripts\/proto-gate\.sh$/m);
      expect(lintSpec).to.contain('npx buf lint');
    });
  });
});
