/**
 * Where the CLI keeps its settings, and which settings a command runs with.
 *
 * Named profiles live in `config.json` under the user's config directory — `$REMIT_CONFIG_DIR`,
 * else `%APPDATA%\remit` on Windows, else `$XDG_CONFIG_HOME/remit` or `~/.config/remit` — written
 * with mode 0600 in a directory of mode 0700, as SSH keeps its keys: the file holds secrets.
 *
 * Each setting is taken from the first place that has it: the command line (`--api-key`), the
 * environment (`REMIT_API_KEY`), the profile (`--profile`, `REMIT_PROFILE`, else `default`), the
 * default. Credentials are taken as a set: an API key, or an OAuth client's id and secret (with
 * an optional scope), from one place; naming both at one level is a usage error.
 */
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Credentials } from './context.js';
import { UsageError } from './exit-codes.js';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
export const DEFAULT_PROFILE = 'default';

/** One profile as stored. Secrets are kept as given; nothing prints them. */
export interface Profile {
  base_url?: string;
  api_key?: string;
  client_id?: string;
  client_secret?: string;
  /** Space-separated scopes the OAuth client's tokens are narrowed to. */
  scope?: string;
  admin_token?: string;
  metrics_token?: string;
}

export const PROFILE_SETTINGS = ['base_url', 'api_key', 'client_id', 'client_secret', 'scope', 'admin_token', 'metrics_token'] as const satisfies readonly (keyof Profile)[];
export const SECRET_SETTINGS: ReadonlySet<keyof Profile> = new Set(['api_key', 'client_secret', 'admin_token', 'metrics_token']);

export interface ConfigFile {
  profiles: Record<string, Profile>;
}

type Env = Readonly<Record<string, string | undefined>>;

export function configDirOf(rawEnv: Env, platform: NodeJS.Platform = process.platform): string {
  const env = Object.fromEntries(Object.entries(rawEnv).filter(([, value]) => value !== '')) as Env;
  if (env.REMIT_CONFIG_DIR) return path.resolve(env.REMIT_CONFIG_DIR);
  if (platform === 'win32' && env.APPDATA) return path.join(env.APPDATA, 'remit');
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME ?? os.homedir(), '.config');
  return path.join(base, 'remit');
}

export function configFileOf(configDir: string): string {
  return path.join(configDir, 'config.json');
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export function checkProfileName(name: string): string {
  if (!PROFILE_NAME.test(name)) throw new UsageError(`A profile name is 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit; not ${JSON.stringify(name)}.`);
  return name;
}

/** The profiles file; an absent file is no profiles. A file others can read is used, with a warning. */
export async function readConfig(configDir: string, warn: (line: string) => void): Promise<ConfigFile> {
  const file = configFileOf(configDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw new UsageError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  if (process.platform !== 'win32') {
    const { mode } = await stat(file);
    if ((mode & 0o077) !== 0) warn(`warning: ${file} can be read by other users (mode ${(mode & 0o777).toString(8)}); it holds secrets: chmod 600 it.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON (${(error as Error).message}); fix or remove it.`);
  }
  const profiles = (parsed as { profiles?: unknown } | null)?.profiles;
  if (!profiles || typeof profiles !== 'object' || Array.isArray(profiles)) throw new UsageError(`${file} has no "profiles" object; fix or remove it.`);
  for (const [name, profile] of Object.entries(profiles)) {
    if (!profile || typeof profile !== 'object') throw new UsageError(`${file}: profile "${name}" is not an object.`);
    for (const [key, value] of Object.entries(profile)) {
      if (!(PROFILE_SETTINGS as readonly string[]).includes(key) || typeof value !== 'string') {
        throw new UsageError(`${file}: profile "${name}" has ${JSON.stringify(key)}, which is not a setting (${PROFILE_SETTINGS.join(', ')}) with a string value.`);
      }
    }
  }
  return { profiles: profiles as Record<string, Profile> };
}

/** Writes the profiles file whole: a new file (mode 0600) renamed over the old one, so a crash leaves one or the other. */
export async function writeConfig(configDir: string, config: ConfigFile): Promise<string> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const file = configFileOf(configDir);
  const scratch = `${file}.${process.pid}.tmp`;
  await writeFile(scratch, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFile is masked by the umask; set it exactly.
  await chmod(scratch, 0o600);
  await rename(scratch, file);
  return file;
}

/** The settings the command line gave (global options), before the environment and the profile. */
export interface GivenSettings {
  apiKey?: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
  baseUrl?: string;
  profile?: string;
  adminToken?: string;
  metricsToken?: string;
}

export interface Settings {
  readonly profile: string;
  readonly baseURL: string;
  readonly credentials: Credentials;
  readonly adminToken: string | undefined;
  readonly metricsToken: string | undefined;
}

function scopesOf(scope: string | undefined): string[] | undefined {
  if (scope === undefined) return undefined;
  const scopes = scope.split(/[\s,]+/).filter((s) => s !== '');
  return scopes.length > 0 ? scopes : undefined;
}

/** One level's credentials: none, an API key, or a client's id and secret; both is a usage error. */
function credentialsAt(
  where: string,
  level: { apiKey?: string | undefined; clientId?: string | undefined; clientSecret?: string | undefined; scope?: string | undefined },
  names: { apiKey: string; clientId: string; clientSecret: string },
): Credentials | undefined {
  const { apiKey, clientId, clientSecret } = level;
  if (apiKey && (clientId || clientSecret)) throw new UsageError(`${where} names both an API key (${names.apiKey}) and OAuth client credentials (${names.clientId}); use one.`);
  if (apiKey) return { kind: 'apiKey', apiKey, source: where };
  if (!clientId && !clientSecret) return undefined;
  if (!clientId || !clientSecret) throw new UsageError(`${where} names ${clientId ? names.clientId : names.clientSecret} without ${clientId ? names.clientSecret : names.clientId}; an OAuth client needs both.`);
  return { kind: 'oauth', clientId, clientSecret, scope: scopesOf(level.scope), source: where };
}

export function resolveSettings(given: GivenSettings, rawEnv: Env, config: ConfigFile): Settings {
  // A variable set to the empty string is taken as unset, as shells make `VAR= remit …` easy.
  const env = Object.fromEntries(Object.entries(rawEnv).filter(([, value]) => value !== '')) as Env;
  const profileName = checkProfileName(given.profile ?? env.REMIT_PROFILE ?? DEFAULT_PROFILE);
  const profile = config.profiles[profileName];
  if (!profile && (given.profile !== undefined || env.REMIT_PROFILE !== undefined) && profileName !== DEFAULT_PROFILE) {
    const known = Object.keys(config.profiles);
    throw new UsageError(`There is no profile "${profileName}"${known.length > 0 ? ` (profiles: ${known.join(', ')})` : ''}; create it with \`remit config set --profile ${profileName} …\`.`);
  }
  const credentials =
    credentialsAt('--api-key/--client-id', given, { apiKey: '--api-key', clientId: '--client-id', clientSecret: '--client-secret' }) ??
    credentialsAt('the environment', { apiKey: env.REMIT_API_KEY, clientId: env.REMIT_CLIENT_ID, clientSecret: env.REMIT_CLIENT_SECRET, scope: env.REMIT_SCOPE }, {
      apiKey: 'REMIT_API_KEY',
      clientId: 'REMIT_CLIENT_ID',
      clientSecret: 'REMIT_CLIENT_SECRET',
    }) ??
    (profile
      ? credentialsAt(`profile "${profileName}"`, { apiKey: profile.api_key, clientId: profile.client_id, clientSecret: profile.client_secret, scope: profile.scope }, {
          apiKey: 'api_key',
          clientId: 'client_id',
          clientSecret: 'client_secret',
        })
      : undefined) ?? { kind: 'none' };
  // A scope narrows client credentials wherever it is given, the command line first.
  const scope = scopesOf(given.scope ?? env.REMIT_SCOPE);
  const narrowed = credentials.kind === 'oauth' && scope ? { ...credentials, scope } : credentials;
  if (given.scope !== undefined && credentials.kind !== 'oauth') throw new UsageError('--scope narrows OAuth client credentials; these credentials are an API key or none.');
  const baseURL = (given.baseUrl ?? env.REMIT_BASE_URL ?? profile?.base_url ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(baseURL);
  } catch {
    throw new UsageError(`The base URL ${JSON.stringify(baseURL)} is not a URL (e.g. https://api.example.com).`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`The base URL must be http or https, not ${parsed.protocol}`);
  return {
    profile: profileName,
    baseURL,
    credentials: narrowed,
    adminToken: given.adminToken ?? env.REMIT_ADMIN_TOKEN ?? profile?.admin_token,
    metricsToken: given.metricsToken ?? env.REMIT_METRICS_TOKEN ?? profile?.metrics_token,
  };
}
