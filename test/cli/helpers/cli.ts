/**
 * The built `remit` command as a process: the SDK and the CLI compiled once per test run with
 * their own build scripts (what `npm install` runs), then `node cli/bin/remit.js …` with an
 * environment of the test's own — a scratch config directory, no inherited REMIT_* settings.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export const ROOT = path.resolve(import.meta.dirname, '../../..');
export const BIN = path.join(ROOT, 'cli/bin/remit.js');
const exec = promisify(execFile);

let built: Promise<void> | undefined;

/** Compiles sdk/ and cli/ (once per run), as `npm install`'s prepare script does. */
export function buildCli(): Promise<void> {
  built ??= (async () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    await exec(npm, ['run', '-s', 'sdk:build'], { cwd: ROOT });
    await exec(npm, ['run', '-s', 'cli:build'], { cwd: ROOT });
  })();
  return built;
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Record<string, string>;
  /** Written to the process's stdin, which is then closed. */
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

/** A scratch directory for a test's profiles (`REMIT_CONFIG_DIR`). */
export function scratchConfigDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'remit-cli-'));
}

/** The environment a run starts from: only PATH and a scratch HOME, so nothing of the machine's own settings leaks in. */
export function baseEnv(configDir: string): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: configDir, REMIT_CONFIG_DIR: configDir };
}

/** Runs `remit <args>` to completion, its stdout and stderr pipes (not terminals). */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, env: options.env ?? {}, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`remit ${args.join(' ')} did not finish within ${options.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Any ANSI escape sequence (CSI): colour, cursor movement, line clearing. */
export const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/;
