import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LocalError } from '../core/errors.js';
import { storageFailure } from './fs-errors.js';
import { checkPrivateDir } from './private-path.js';
import { requireDependency } from '../util/cjs.js';

/** node:os, loaded only when a lock is taken or judged: the cached path takes none. */
const hostname = () => requireDependency<typeof import('node:os')>('node:os').hostname();

/**
 * The refresh lock of a profile, shared by every authctl process using the same config directory:
 * when thirty processes find the same expired token, one asks IAM and the others wait, then read
 * what it stored.
 *
 * A lock file created with O_EXCL, holding its owner's pid, host and a random nonce. The owner
 * touches it every second. A waiter takes it over when its owner is gone (same host, pid no
 * longer running), or when the waiter itself has watched it go untouched for `staleMs` (owner
 * frozen, or on another host; judged by the waiter's own clock, so clock skew between hosts
 * does not matter). The nonce makes sure nobody removes a lock that is not the one they judged.
 * A lock library (proper-lockfile) did the same but cost 11 ms per refresh to load and take,
 * most of the budget of a cold `token get` (`npm run bench`).
 */

export interface LockOptions {
  /** How long a waiter waits before giving up. */
  waitMs: number;
  /** A lock a waiter has seen untouched for this long is taken over (its owner is frozen or gone). */
  staleMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** What holds the lock, for the message when the wait runs out (default: `another authctl process`). */
  holder?: string;
  /** Looked at before each wait: an error to give up with at once instead (the holder waits for a person). */
  refuse?: () => Error | undefined;
}

export const DEFAULT_LOCK_OPTIONS = { waitMs: 30_000, staleMs: 4_000 } as const;

interface Owner {
  pid: number;
  host: string;
  nonce: string;
}

/** What a waiter has seen of a lock: the same nonce and mtime since `since` means nobody touched it. */
interface Sighting {
  nonce: string | undefined;
  mtimeMs: number;
  since: number;
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

export async function withProfileLock<T>(configDir: string, profile: string, options: LockOptions, work: () => Promise<T>, name = profile): Promise<T> {
  const path = lockPath(configDir, name);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  let sighting: Sighting | undefined;

  for (const delay of [...pollDelays(options.waitMs), -1]) {
    const held = tryAcquire(path);
    if (held) {
      try {
        return await work();
      } finally {
        held.release();
      }
    }
    sighting = breakIfAbandoned(path, options.staleMs, sighting, now());
    const refused = options.refuse?.();
    if (refused) throw refused;
    if (delay < 0) break;
    await sleep(delay);
  }
  throw new LocalError(`${options.holder ?? 'another authctl process'} kept profile ${profile} locked for over ${Math.round(options.waitMs / 1000)}s`, {
    hint: `if no authctl is running, remove ${path}`,
  });
}

/**
 * A lock that is not waited for: while one `login` for a profile waits for a person (a browser,
 * a second device), a second one says so at once instead of queueing behind it. A lock whose
 * owner is gone is taken over.
 */
export async function withExclusiveLock<T>(configDir: string, name: string, refused: (ownerPid: number | undefined) => Error, work: () => Promise<T>): Promise<T> {
  const path = lockPath(configDir, name);
  let held = tryAcquire(path);
  if (!held) {
    const owner = readOwner(path);
    const ownerGone = owner?.host === hostname() && typeof owner.pid === 'number' && !isRunning(owner.pid);
    if (!ownerGone) throw refused(typeof owner?.pid === 'number' ? owner.pid : undefined);
    breakLock(path, owner?.nonce);
    held = tryAcquire(path);
    if (!held) throw refused(undefined);
  }
  try {
    return await work();
  } finally {
    held.release();
  }
}

/**
 * Marks the lock NAME (held by this process) as waiting for a person (a browser, a second
 * device): `locks/NAME.person`, holding this process's pid, until the returned function runs or
 * the process ends. Those who would wait for the lock see it and give up at once.
 */
export function markWaitingForPerson(configDir: string, name: string): () => void {
  const path = personMark(lockPath(configDir, name));
  try {
    writeFileSync(path, JSON.stringify({ pid: process.pid, host: hostname() }), { mode: 0o600 });
  } catch {
    return () => {}; // a waiter then waits its turn rather than hearing why: no harm
  }
  const remove = () => {
    process.off('exit', remove);
    for (const signal of SIGNALS) process.off(signal, remove);
    try {
      if (readOwner(path)?.pid === process.pid) unlinkSync(path);
    } catch {
      // gone already
    }
  };
  // The lock's own signal handler ends the process; this one only tidies up beside it.
  process.on('exit', remove);
  for (const signal of SIGNALS) process.once(signal, remove);
  return remove;
}

/** The pid of a running process of this host that marked lock NAME as waiting for a person. */
export function waitingForPerson(configDir: string, name: string): number | undefined {
  // Only read: a missing or planted mark makes a waiter refuse or wait, nothing more.
  const owner = readOwner(personMark(join(configDir, 'locks', `${name}.lock`)));
  return owner?.host === hostname() && typeof owner.pid === 'number' && isRunning(owner.pid) ? owner.pid : undefined;
}

/** The mark beside a lock file that its holder waits for a person. */
const personMark = (lockFile: string) => `${lockFile}.person`;

/**
 * `locks/NAME.lock` in the config directory, the directory made (0700) if need be. Checked like
 * `secrets/` first: a `locks/` planted as a symbolic link would have lock files made and removed
 * elsewhere, and one another user can write to lets them hold or break every refresh lock.
 */
function lockPath(configDir: string, name: string): string {
  const dir = join(configDir, 'locks');
  checkPrivateDir(configDir, 'config directory');
  checkPrivateDir(dir, 'lock directory');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw storageFailure(error, 'create the lock directory', dir);
  }
  return join(dir, `${name}.lock`);
}

function tryAcquire(path: string): { release(): void } | undefined {
  const owner: Owner = { pid: process.pid, host: hostname(), nonce: uniqueId() };
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw storageFailure(error, 'take the lock', path);
  }
  try {
    writeSync(fd, JSON.stringify(owner));
  } catch (error) {
    // A full disk takes the name but not the content: an empty lock nobody owns must not stay.
    closeSync(fd);
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
    throw storageFailure(error, 'take the lock', path);
  }
  closeSync(fd);
  return hold(path, owner.nonce);
}

function readOwner(path: string): Partial<Owner> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<Owner>;
  } catch {
    return undefined; // gone, or caught half-written
  }
}

/** Keeps the lock fresh while held, and removes it (if it is still ours) however the process ends. */
function hold(path: string, nonce: string): { release(): void } {
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
    // A lock we lost while frozen belongs to someone else now: leave it alone.
    if (readOwner(path)?.nonce === nonce) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
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

/** Unique among the processes sharing the directory; not a secret, so no need to load node:crypto. */
function uniqueId(): string {
  return `${process.pid}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2, 10)}`;
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
 * Looks at someone else's lock and removes it if its owner is gone or it has gone untouched for
 * `staleMs` of this waiter's watching. Returns what was seen, for the next look.
 */
function breakIfAbandoned(path: string, staleMs: number, previous: Sighting | undefined, now: number): Sighting | undefined {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return undefined; // released meanwhile
  }
  const owner = readOwner(path);
  const unchanged = previous !== undefined && previous.nonce === owner?.nonce && previous.mtimeMs === mtimeMs;
  const sighting: Sighting = unchanged ? previous : { nonce: owner?.nonce, mtimeMs, since: now };
  const ownerGone = owner?.host === hostname() && typeof owner.pid === 'number' && !isRunning(owner.pid);
  if (!ownerGone && now - sighting.since < staleMs) return sighting;
  breakLock(path, owner?.nonce);
  return undefined;
}

/**
 * Removes the lock judged abandoned. Renaming is atomic, so of several waiters only one breaks
 * it; if what it renamed turns out to be a newer lock (another waiter got there first), it is
 * put back.
 */
function breakLock(path: string, judgedNonce: string | undefined): void {
  const aside = `${path}.broken.${uniqueId()}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else broke it
  }
  if (readOwner(aside)?.nonce !== judgedNonce) {
    try {
      linkSync(aside, path);
    } catch {
      // a third process holds the lock now: it wins
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // nothing left to clean
  }
}
