/**
 * The CLI's rules for its streams and its settings, without a process: when colour and progress
 * lines are allowed, where each setting comes from, and what a mistaken setting says.
 */
import { expect } from 'chai';
import { configDirOf, resolveSettings, type ConfigFile } from '../../cli/src/config.js';
import { createOutput } from '../../cli/src/output.js';
import { positionalWords } from '../../cli/src/main.js';

function stream(isTTY: boolean) {
  return {
    isTTY,
    text: '',
    write(chunk: string) {
      this.text += chunk;
      return true;
    },
  };
}

describe('remit: streams and settings', () => {
  describe('output', () => {
    const make = (tty: boolean, env: Record<string, string> = {}, noColor = false) => {
      const stdout = stream(tty);
      const stderr = stream(tty);
      return { stdout, stderr, out: createOutput({ stdout, stderr, json: false, noColor, env }) };
    };

    it('colours only a terminal, and never with NO_COLOR, --no-color or TERM=dumb', () => {
      expect(make(true).out.color).to.equal(true);
      expect(make(false).out.color).to.equal(false);
      expect(make(true, { NO_COLOR: '1' }).out.color).to.equal(false);
      expect(make(true, { NO_COLOR: '' }).out.color, 'NO_COLOR set but empty is unset (no-color.org)').to.equal(true);
      expect(make(true, {}, true).out.color).to.equal(false);
      expect(make(true, { TERM: 'dumb' }).out.color).to.equal(false);
      expect(make(true).out.paint('bold', 'x')).to.equal('\x1b[1mx\x1b[22m');
      expect(make(false).out.paint('bold', 'x')).to.equal('x');
    });

    it('writes data to stdout and messages to stderr; a progress line only on a terminal, cleared before the next line', () => {
      const piped = make(false);
      piped.out.progress('3 fetched…');
      piped.out.data('row');
      piped.out.message('note');
      expect(piped.stdout.text).to.equal('row\n');
      expect(piped.stderr.text).to.equal('note\n');
      const tty = make(true);
      tty.out.progress('3 fetched…');
      tty.out.message('done');
      expect(tty.stderr.text).to.equal('\r\x1b[2K3 fetched…\r\x1b[2Kdone\n');
    });
  });

  describe('settings', () => {
    const config: ConfigFile = {
      profiles: {
        default: { base_url: 'https://profile.example', api_key: 'sk_profile' },
        ops: { client_id: 'cli_1', client_secret: 'cs_1', scope: 'read' },
      },
    };

    it('takes each setting from the command line, then the environment, then the profile, then the default', () => {
      expect(resolveSettings({}, {}, { profiles: {} })).to.deep.include({ baseURL: 'http://127.0.0.1:8080', credentials: { kind: 'none' }, profile: 'default' });
      expect(resolveSettings({}, {}, config)).to.deep.include({ baseURL: 'https://profile.example', credentials: { kind: 'apiKey', apiKey: 'sk_profile', source: 'profile "default"' } });
      const env = { REMIT_API_KEY: 'sk_env', REMIT_BASE_URL: 'https://env.example/' };
      expect(resolveSettings({}, env, config)).to.deep.include({ baseURL: 'https://env.example', credentials: { kind: 'apiKey', apiKey: 'sk_env', source: 'the environment' } });
      expect(resolveSettings({ apiKey: 'sk_flag', baseUrl: 'https://flag.example' }, env, config)).to.deep.include({
        baseURL: 'https://flag.example',
        credentials: { kind: 'apiKey', apiKey: 'sk_flag', source: '--api-key/--client-id' },
      });
      expect(resolveSettings({}, { REMIT_API_KEY: '' }, config).credentials).to.deep.include({ apiKey: 'sk_profile' });
    });

    it('takes client credentials as a set, narrows them with a scope, and refuses mixed or half sets', () => {
      expect(resolveSettings({ profile: 'ops' }, {}, config).credentials).to.deep.equal({ kind: 'oauth', clientId: 'cli_1', clientSecret: 'cs_1', scope: ['read'], source: 'profile "ops"' });
      expect(resolveSettings({ profile: 'ops', scope: 'read,write' }, {}, config).credentials).to.deep.include({ scope: ['read', 'write'] });
      expect(() => resolveSettings({ apiKey: 'sk_1', clientId: 'cli_1' }, {}, config)).to.throw(/both an API key .* and OAuth client credentials/);
      expect(() => resolveSettings({}, { REMIT_CLIENT_ID: 'cli_1' }, config)).to.throw(/REMIT_CLIENT_ID without REMIT_CLIENT_SECRET/);
      expect(() => resolveSettings({ scope: 'read' }, {}, config)).to.throw(/--scope narrows OAuth client credentials/);
    });

    it('names the profiles there are when asked for one that is not, and refuses a base URL that is not http(s)', () => {
      expect(() => resolveSettings({ profile: 'prod' }, {}, config)).to.throw(/no profile "prod" \(profiles: default, ops\)/);
      expect(() => resolveSettings({ profile: '../etc' }, {}, config)).to.throw(/A profile name is/);
      expect(() => resolveSettings({ baseUrl: 'ftp://x.example' }, {}, config)).to.throw(/http or https/);
      expect(() => resolveSettings({ baseUrl: 'not a url' }, {}, config)).to.throw(/is not a URL/);
    });

    it('keeps its files in REMIT_CONFIG_DIR, else XDG_CONFIG_HOME, else ~/.config, else %APPDATA% on Windows', () => {
      expect(configDirOf({ REMIT_CONFIG_DIR: '/tmp/r', HOME: '/home/a' }, 'linux')).to.equal('/tmp/r');
      expect(configDirOf({ XDG_CONFIG_HOME: '/home/a/.cfg', HOME: '/home/a' }, 'linux')).to.equal('/home/a/.cfg/remit');
      expect(configDirOf({ XDG_CONFIG_HOME: 'relative', HOME: '/home/a' }, 'linux')).to.equal('/home/a/.config/remit');
      expect(configDirOf({ HOME: '/home/a' }, 'darwin')).to.equal('/home/a/.config/remit');
      expect(configDirOf({ APPDATA: 'C:\\Users\\a\\AppData\\Roaming', HOME: '/home/a' }, 'win32')).to.match(/AppData.Roaming.remit$/);
    });

    it('reads the command words past the program\'s options and their values', () => {
      expect(positionalWords(['--profile', 'staging', 'v2', 'payments', 'list', '--all'])).to.deep.equal(['v2', 'payments', 'list']);
      expect(positionalWords(['--json', '-p', 'x', 'customers', 'retrieve', 'cus_1'])).to.deep.equal(['customers', 'retrieve', 'cus_1']);
      expect(positionalWords(['--version'])).to.deep.equal([]);
    });
  });
});
