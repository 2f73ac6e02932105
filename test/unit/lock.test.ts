import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { pollDelays, withExclusiveLock, withProfileLock } from '../../src/store/lock.js';

const dir = () => mkdtempSync(join(tmpdir(), 'authctl-lock-'));
const lockFile = (configDir: string) => join(configDir, 'locks', 'p.lock');

/** A clock and sleep under the test's control: `sleep` advances the clock instantly. */
function virtualTime() {
  let now = Date.now();
  return { now: () => now, sleep: async (ms: number) => void (now += ms) };
}

describe('the refresh lock', () => {
  it('lets one holder in at a time', async () => {
    const configDir = dir();
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = withProfileLock(configDir, 'p', { waitMs: 5000, staleMs: 4000 }, async () => {
      order.push('first in');
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('first out');
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = withProfileLock(configDir, 'p', { waitMs: 5000, staleMs: 4000 }, async () => void order.push('second in'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(order).toEqual(['first in']);
    releaseFirst();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
    expect(existsSync(lockFile(configDir))).toBe(false);
  });

  it('takes over at once from an owner that is no longer running', async () => {
    const configDir = dir();
    mkdirSync(join(configDir, 'locks'));
    writeFileSync(lockFile(configDir), JSON.stringify({ pid: 2 ** 22 + 12345, host: hostname(), nonce: 'x' }));
    const time = virtualTime();
    const started = time.now();
    expect(await withProfileLock(configDir, 'p', { waitMs: 30_000, staleMs: 4000, ...time }, async () => 'mine')).toBe('mine');
    expect(time.now() - started).toBeLessThan(100);
  });

  it("takes over another host's lock only after watching it untouched for staleMs, whatever its mtime says", async () => {
    const configDir = dir();
    mkdirSync(join(configDir, 'locks'));
    writeFileSync(lockFile(configDir), JSON.stringify({ pid: 1, host: 'elsewhere', nonce: 'x' }));
    const time = virtualTime();
    const started = time.now();
    await withProfileLock(configDir, 'p', { waitMs: 30_000, staleMs: 4000, ...time }, async () => undefined);
    expect(time.now() - started).toBeGreaterThanOrEqual(4000);
    expect(time.now() - started).toBeLessThan(4600);
  });

  it('gives up after waitMs with a clear error', async () => {
    const configDir = dir();
    mkdirSync(join(configDir, 'locks'));
    writeFileSync(lockFile(configDir), JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'alive' }));
    const time = virtualTime();
    await expect(withProfileLock(configDir, 'p', { waitMs: 2000, staleMs: 60_000, ...time }, async () => undefined)).rejects.toThrow(
      /^another authctl process kept profile p locked for over 2s$/,
    );
    expect(JSON.parse(readFileSync(lockFile(configDir), 'utf8'))).toMatchObject({ nonce: 'alive' });
  });

  it('does not remove a lock that was taken over from it while it worked', async () => {
    const configDir = dir();
    await withProfileLock(configDir, 'p', { waitMs: 1000, staleMs: 4000 }, async () => {
      writeFileSync(lockFile(configDir), JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'someone else' }));
    });
    expect(JSON.parse(readFileSync(lockFile(configDir), 'utf8'))).toMatchObject({ nonce: 'someone else' });
  });

  it('polls quickly at first, then every quarter second, for about waitMs in all', () => {
    const delays = pollDelays(30_000);
    expect(delays[0]).toBe(10);
    expect(Math.max(...delays)).toBe(250);
    const total = delays.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThanOrEqual(30_000);
    expect(total).toBeLessThan(30_250);
  });
});

describe('the lock directory is checked like secrets/', () => {
  const take = (configDir: string) => withProfileLock(configDir, 'p', { waitMs: 100, staleMs: 4000 }, async () => 'worked');
  const takeExclusive = (configDir: string) => withExclusiveLock(configDir, 'p.login', () => new Error('held'), async () => 'worked');

  it('a locks/ planted as a symbolic link: refused (exit 6, naming it), nothing made or removed where it points', async () => {
    const configDir = dir();
    const elsewhere = dir();
    writeFileSync(join(elsewhere, 'p.lock'), 'not ours');
    symlinkSync(elsewhere, join(configDir, 'locks'));
    for (const attempt of [take, takeExclusive]) {
      const error = await attempt(configDir).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as Error).message).toBe(`the lock directory ${join(configDir, 'locks')} is a symbolic link; refusing to keep secrets through it`);
    }
    expect(readdirSync(elsewhere)).toEqual(['p.lock']);
  });

  it('a locks/ writable by group or others: refused', async () => {
    const configDir = dir();
    mkdirSync(join(configDir, 'locks'));
    chmodSync(join(configDir, 'locks'), 0o777);
    await expect(take(configDir)).rejects.toThrow(`the lock directory ${join(configDir, 'locks')} is writable by everyone (mode 777)`);
    chmodSync(join(configDir, 'locks'), 0o770);
    await expect(take(configDir)).rejects.toThrow('is writable by its group (mode 770)');
    chmodSync(join(configDir, 'locks'), 0o700);
    expect(await take(configDir)).toBe('worked');
  });

  it.runIf(process.getuid?.() === 0)('a locks/ of another user (as root: chowned to nobody): refused', async () => {
    const configDir = dir();
    mkdirSync(join(configDir, 'locks'), { mode: 0o700 });
    chownSync(join(configDir, 'locks'), 65534, 65534);
    await expect(take(configDir)).rejects.toThrow(/the lock directory .* belongs to another user \(uid 65534\)/);
  });

  it('made 0700 when missing', async () => {
    const configDir = join(dir(), 'config');
    expect(await take(configDir)).toBe('worked');
    expect(statSync(join(configDir, 'locks')).mode & 0o777).toBe(0o700);
  });
});
