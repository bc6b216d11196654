/**
 * Every operation of the spec has a command, and every command is an operation or one of the
 * CLI's own tools: read from the program's own help, walked from `remit --help` down, so the test
 * sees the commands a user sees.
 */
import { expect } from 'chai';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { HTTP_METHODS, loadSpec } from '../../src/platform/spec.js';
import { remit } from './helpers/in-process.js';

/** The commands that are not an operation of the spec. */
const TOOLS = ['config list', 'config remove', 'config set', 'config show', 'doctor', 'listen', 'trigger'];

/** The subcommand names a help text lists under "Commands:" (commander's own `help` aside). */
function subcommands(help: string): string[] {
  const section = help.split(/^Commands:\s*$/m)[1];
  if (!section) return [];
  return section
    .split('\n')
    .map((line) => /^ {2}([a-z0-9][a-z0-9-]*)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
}

describe('remit: one command per operation', function () {
  this.timeout(60_000);
  const leaves = new Map<string, string>();
  let env: Record<string, string>;

  before(async () => {
    env = { REMIT_CONFIG_DIR: await mkdtemp(path.join(os.tmpdir(), 'remit-cli-')) };
    const walk = async (words: string[]): Promise<void> => {
      const { code, stdout } = await remit([...words, '--help'], env);
      expect(code, `remit ${words.join(' ')} --help`).to.equal(0);
      const children = subcommands(stdout);
      if (children.length === 0) {
        leaves.set(words.join(' '), stdout);
        return;
      }
      for (const child of children) await walk([...words, child]);
    };
    await walk([]);
  });

  it("has a command for each of the spec's operationIds, and no command without an operation but the CLI's own tools", () => {
    const spec = loadSpec() as unknown as { paths: Record<string, Record<string, { operationId?: string }>> };
    const specIds = Object.values(spec.paths)
      .flatMap((item) => HTTP_METHODS.map((m) => item[m]?.operationId))
      .filter((id): id is string => id !== undefined)
      .sort();
    const byOperation = new Map<string, string>();
    const tools: string[] = [];
    for (const [command, help] of leaves) {
      const id = /^(?:GET|POST|PUT|PATCH|DELETE) \/\S* \(([A-Za-z0-9]+)\)$/m.exec(help)?.[1];
      if (id === undefined) tools.push(command);
      else {
        expect(byOperation.has(id), `${id} has two commands`).to.equal(false);
        byOperation.set(id, command);
      }
    }
    expect([...byOperation.keys()].sort()).to.deep.equal(specIds);
    expect(tools.sort()).to.deep.equal(TOOLS);
    expect(specIds.length).to.be.greaterThan(50);
  });

  it('derives options from the schema: types, enums, required, and the deprecation of an operation', () => {
    const create = leaves.get('v2 payments create')!;
    expect(create).to.match(/--amount-value <integer>/);
    expect(create).to.match(/--amount-currency <value>.*\(choices:.*"EUR"/s);
    expect(create).to.match(/--capture-method <value>.*choices:\s+"automatic",\s+"manual"/s);
    expect(create).to.match(/--metadata <key=value>/);
    expect(create).to.match(/--idempotency-key <key>/);
    expect(create).to.match(/--data <json\|@file\|->/);
    expect(create).to.match(/Usage: remit v2 payments create/);
    const capture = leaves.get('v2 payments capture')!;
    expect(capture).to.match(/Usage: remit v2 payments capture \[options\] <id>/);
    const keys = leaves.get('api-keys create')!;
    expect(keys).to.match(/--scopes <string\[,…\]>.*required/s);
    const list = leaves.get('refunds list')!;
    expect(list).to.match(/--all/);
    expect(list).to.match(/--created-gte <integer>/);
    expect(list).to.match(/--created-gte <integer>\s+Only items created in this range.*\(gte\)/s);
    expect(list.replace(/\s+/g, ' ')).to.match(/Deprecated: `remit refunds list` is deprecated since \d{4}-\d{2}-\d{2} and stops answering on \d{4}-\d{2}-\d{2}; use `remit v2 refunds list`/);
    // An operation's option that the program also has (`--scope`) is given a prefix, not lost.
    const token = leaves.get('oauth create-access-token')!;
    expect(token).to.match(/--body-scope <value>/);
    expect(token).to.match(/--body-client-id <value>/);
  });
});
