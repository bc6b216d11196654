/**
 * Where `remit listen` keeps its state under the CLI's config directory: one `listen/` directory
 * (mode 0700) holding, per profile, the local webhook signing secret (mode 0600), and per profile
 * and base URL, the position in the account's events that a restart resumes from.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from './exit-codes.js';

const SECRET_PATTERN = /^whsec_[A-Za-z0-9+/]{43}=$/;

/** The directory holding listen's files, created (mode 0700) when missing. */
export async function listenDirectory(configDir: string): Promise<string> {
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const dir = join(configDir, 'listen');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  return dir;
}

/** The profile's name as a file name: any character but letters, digits, `-`, `_` and `.` is escaped. */
function fileSafe(profile: string): string {
  return encodeURIComponent(profile).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The file holding the profile's signing secret. */
export function secretPath(dir: string, profile: string): string {
  return join(dir, `${fileSafe(profile)}.secret`);
}

/** The file holding the position for the profile on the API at `baseURL`. */
export function positionPath(dir: string, profile: string, baseURL: string): string {
  const urlHash = createHash('sha256').update(baseURL).digest('hex').slice(0, 16);
  return join(dir, `${fileSafe(profile)}-${urlHash}.position.json`);
}

/**
 * The profile's local signing secret (`whsec_` and the base64 of 32 random bytes): the one in its
 * file, or a new one written there (mode 0600) on first use. Two listeners started at once agree on
 * it: the file is created exclusively, and the one that loses the race reads the winner's.
 */
export async function signingSecret(configDir: string, profile: string): Promise<string> {
  const path = secretPath(await listenDirectory(configDir), profile);
  const fresh = `whsec_${randomBytes(32).toString('base64')}`;
  try {
    const file = await open(path, 'wx', 0o600);
    try {
      await file.writeFile(`${fresh}\n`);
      await file.chmod(0o600);
    } finally {
      await file.close();
    }
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readSecret(path);
}

async function readSecret(path: string): Promise<string> {
  const secret = (await readFile(path, 'utf8')).trim();
  if (!SECRET_PATTERN.test(secret)) {
    // The content is never quoted: it may be a secret pasted in the wrong place.
    throw new UsageError(`${path} does not hold a webhook signing secret ("whsec_" and the base64 of 32 bytes); delete it and listen makes a new one.`);
  }
  // Readable by its owner only, whatever made it otherwise.
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600);
  return secret;
}

/** Writes `content` to `path` (mode 0600) as a whole: a reader sees the old file or the new one, never half of one. */
export async function writeFileAtomically(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  await rename(temporary, path);
}
