import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuthctlError, ExitCode } from '../core/errors.js';
import { importCommonJs } from '../util/cjs.js';

export interface LockOptions {
  /** How long a waiter waits before giving up. */
  waitMs: number;
  /** A lock whose holder stopped refreshing it for this long is taken over (holder killed). */
  staleMs: number;
  /** Called if the lock is lost while held (e.g. its directory was removed). */
  onCompromised: (error: Error) => void;
}

export const DEFAULT_LOCK_OPTIONS = { waitMs: 30_000, staleMs: 4_000 } as const;
const POLL_MS = 40;

/**
 * Runs `work` while holding the refresh lock of `profile`, shared by every authctl process using
 * the same config directory: when thirty processes find the same expired token, one asks IAM and
 * the others wait and then read what it stored.
 */
export async function withProfileLock<T>(configDir: string, profile: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const { lock } = await importCommonJs(import('proper-lockfile'));
  const dir = join(configDir, 'locks');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lockPath = join(dir, `${profile}.lock`);
  let release: () => Promise<void>;
  try {
    release = await lock(join(dir, profile), {
      lockfilePath: lockPath,
      realpath: false,
      stale: options.staleMs,
      update: Math.max(1000, Math.floor(options.staleMs / 4)),
      retries: { retries: Math.ceil(options.waitMs / POLL_MS), factor: 1, minTimeout: POLL_MS, maxTimeout: POLL_MS },
      onCompromised: options.onCompromised,
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new AuthctlError(ExitCode.Unexpected, `another authctl process kept profile ${profile} locked for over ${Math.round(options.waitMs / 1000)}s`, {
        hint: `if no authctl is running, remove ${lockPath}`,
        cause: error,
      });
    }
    throw new AuthctlError(ExitCode.Unexpected, `cannot take the lock ${lockPath}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await work();
  } finally {
    await release().catch(() => {});
  }
}
