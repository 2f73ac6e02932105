import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AuthctlError, ExitCode } from '../core/errors.js';

/**
 * The refresh lock of a profile, shared by every authctl process using the same config directory:
 * when thirty processes find the same expired token, one asks IAM and the others wait, then read
 * what it stored.
 *
 * A lock file created with O_EXCL, holding its owner's pid and host. The owner touches it every
 * second; a waiter takes it over when its owner is gone (same host, pid no longer running) or it
 * has not been touched for `staleMs` (owner frozen, or on another host). A lock library
 * (proper-lockfile) did the same but cost 11 ms per refresh to load and take, most of the
 * budget of a cold `token get` (`npm run bench`).
 */

export interface LockOptions {
  /** How long a waiter waits before giving up. */
  waitMs: number;
  /** A lock not touched for this long is taken over (its owner is frozen or gone). */
  staleMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_LOCK_OPTIONS = { waitMs: 30_000, staleMs: 4_000 } as const;

interface Owner {
  pid: number;
  host: string;
}

/** Polls quickly at first (a refresh takes about one round trip), then every quarter second. */
export function pollDelays(waitMs: number): number[] {
  const delays: number[] = [];
  for (let waited = 0, next = 10; waited < waitMs; next = Math.min(next * 1.5, 250)) {
    delays.push(next);
    waited += next;
  }
  return delays;
}

export async function withProfileLock<T>(configDir: string, profile: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const dir = join(configDir, 'locks');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, `${profile}.lock`);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  for (const delay of [...pollDelays(options.waitMs), -1]) {
    const held = tryAcquire(path, options.staleMs);
    if (held) {
      try {
        return await work();
      } finally {
        held.release();
      }
    }
    if (delay < 0) break;
    await sleep(delay);
  }
  throw new AuthctlError(ExitCode.Unexpected, `another authctl process kept profile ${profile} locked for over ${Math.round(options.waitMs / 1000)}s`, {
    hint: `if no authctl is running, remove ${path}`,
  });
}

function tryAcquire(path: string, staleMs: number): { release(): void } | undefined {
  const owner: Owner = { pid: process.pid, host: hostname() };
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AuthctlError(ExitCode.Unexpected, `cannot take the lock ${path}: ${(error as Error).message}`, { cause: error });
    }
    breakIfAbandoned(path, staleMs);
    return undefined;
  }
  writeSync(fd, JSON.stringify(owner));
  closeSync(fd);
  return hold(path);
}

/** Keeps the lock fresh while held, and removes it however the process ends. */
function hold(path: string): { release(): void } {
  const touch = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // taken over after all (we were frozen past staleMs): the refresh still completes
    }
  }, 1000);
  touch.unref();
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(touch);
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
    process.off('exit', release);
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
  // Ctrl-C or SIGTERM in the middle of a refresh: release, then die of the same signal.
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    process.kill(process.pid, signal);
  };
  process.on('exit', release);
  for (const signal of SIGNALS) process.once(signal, onSignal);
  return { release };
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function isAbandoned(path: string, staleMs: number): { ino: number } | undefined {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return undefined; // released meanwhile
  }
  if (Date.now() - stat.mtimeMs > staleMs) return { ino: stat.ino };
  let owner: Partial<Owner>;
  try {
    owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<Owner>;
  } catch {
    return undefined; // caught half-written: a fresh lock, judged by age alone
  }
  if (owner.host === hostname() && typeof owner.pid === 'number' && !isRunning(owner.pid)) return { ino: stat.ino };
  return undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes an abandoned lock. Renaming is atomic, so of several waiters only one breaks it; if
 * what it renamed turns out to be a newer lock (another waiter got there first), it is put back.
 */
function breakIfAbandoned(path: string, staleMs: number): void {
  const abandoned = isAbandoned(path, staleMs);
  if (!abandoned) return;
  const aside = `${path}.broken.${process.pid}.${Date.now()}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else broke it
  }
  try {
    if (statSync(aside).ino !== abandoned.ino) linkSync(aside, path);
  } catch {
    // a third process holds the lock now: it wins
  }
  try {
    unlinkSync(aside);
  } catch {
    // nothing left to clean
  }
}
