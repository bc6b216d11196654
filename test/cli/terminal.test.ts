/**
 * The built `remit` on a real terminal: tmux gives it a pseudo-terminal, and `capture-pane` reads
 * back the screen a person would see — the table with its bold header, which a pipe never gets;
 * and no colour at all under `NO_COLOR` or `--no-color`, terminal or not.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { startApi, type RunningApi } from '../../sdk/test/helpers/api.js';
import { ANSI, BIN, ROOT, baseEnv, buildCli, scratchConfigDir } from './helpers/cli.js';

const exec = promisify(execFile);

describe('remit on a terminal (tmux)', function () {
  this.timeout(90_000);
  let api: RunningApi;
  let env: Record<string, string>;
  // A server of this test's own: nothing else's sessions are touched.
  const socket = `remit-test-${randomBytes(4).toString('hex')}`;
  const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args], { cwd: ROOT });

  before(async () => {
    await buildCli();
    api = await startApi();
    env = { ...baseEnv(await scratchConfigDir()), REMIT_BASE_URL: api.server.url, REMIT_API_KEY: api.account.secret, TERM: 'xterm-256color' };
    for (const email of ['tty1@example.com', 'tty2@example.com', 'tty3@example.com']) await api.client().customers.create({ email, name: 'On a terminal' });
  });
  after(async () => {
    await tmux('kill-server').catch(() => undefined);
    await api?.close();
  });

  /** Runs `remit <args>` in a new 200×50 window and returns the screen once it has finished, escape sequences included. */
  async function screen(args: string[], extraEnv: Record<string, string> = {}): Promise<string> {
    const name = `w${randomBytes(3).toString('hex')}`;
    const vars = Object.entries({ ...env, ...extraEnv }).map(([k, v]) => `${k}='${v}'`);
    const line = `env -i ${vars.join(' ')} ${process.execPath} ${BIN} ${args.join(' ')}; echo "exit=$?"; sleep 60`;
    await tmux('new-session', '-d', '-s', name, '-x', '200', '-y', '50', line);
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const { stdout } = await tmux('capture-pane', '-p', '-e', '-t', name);
        if (/exit=\d+/.test(stdout)) return stdout;
        if (Date.now() > deadline) throw new Error(`remit ${args.join(' ')} did not finish on the terminal:\n${stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await tmux('kill-session', '-t', name).catch(() => undefined);
    }
  }

  it('shows a list as a table with a bold header, in colour, on a terminal', async () => {
    const shown = await screen(['customers', 'list', '--limit', '3']);
    expect(shown).to.match(/exit=0/);
    expect(shown).to.match(/\x1b\[1mID\s+NAME\s+EMAIL\s+/);
    const rows = shown.split('\n').filter((l) => /^cus_\S+\s+On a terminal\s+tty\d@example\.com\s+/.test(l.replace(new RegExp(ANSI.source, 'g'), '')));
    expect(rows).to.have.length(3);
    expect(shown).to.match(ANSI);
  });

  it('prints no ANSI code at all with NO_COLOR or --no-color, on the same terminal', async () => {
    for (const [args, extra] of [
      [['customers', 'list', '--limit', '3'], { NO_COLOR: '1' }],
      [['customers', 'list', '--limit', '3', '--no-color'], {}],
    ] as const) {
      const shown = await screen([...args], extra);
      expect(shown).to.match(/exit=0/);
      expect(shown).to.match(/^ID\s+NAME\s+EMAIL\s+/m);
      expect(shown, args.join(' ')).not.to.match(ANSI);
    }
  });
});
