/** Runs the built CLI as a user would: a real process, a clean environment, its own config dir. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, inject } from 'vitest';

export const BIN = fileURLToPath(new URL('../../bin/authctl', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
  /** Another copy of bin/authctl (with its dist/ beside it). */
  bin?: string;
}

/** Every home made for a test file, removed when the file is done (a run made hundreds otherwise). */
const homes: string[] = [];
afterAll(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

/** A fresh, isolated user: own HOME and config dir, the test keyring's bus, nothing from the developer's shell. */
export function isolatedEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const home = mkdtempSync(join(tmpdir(), 'authctl-test-'));
  homes.push(home);
  const keyring = inject('keyring');
  return {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    AUTHCTL_CONFIG_DIR: join(home, 'config'),
    ...(keyring.ok ? { DBUS_SESSION_BUS_ADDRESS: keyring.busAddress } : {}),
    ...extra,
  };
}

export function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(options.env ?? isolatedEnv()).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const child = spawn(process.execPath, [options.bin ?? BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * `authctl login` that waits for a person on a second device: the device URL is taken from stderr
 * as it appears and `complete` (a browser harness's `completeDevice`) finishes the sign-in there.
 */
export async function deviceLogin(
  env: Record<string, string | undefined>,
  complete: (url: string) => Promise<{ signedIn: boolean; trail: string[] }>,
): Promise<{ code: number | null; stderr: string; signedIn: boolean; trail: string[] }> {
  const child = spawn(process.execPath, [BIN, 'login'], { env: Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /open (\S+) on any device/.exec(stderr);
      if (found) resolve(found[1]!);
    });
    child.once('exit', () => reject(new Error(`login ended before printing a device URL: ${stderr}`)));
  });
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const { signedIn, trail } = await complete(await url);
    return { code: await done, stderr, signedIn, trail };
  } finally {
    child.kill('SIGKILL');
  }
}
