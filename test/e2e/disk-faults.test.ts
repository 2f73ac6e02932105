/**
 * A machine in trouble: the config directory on a full or read-only file system (a real tmpfs,
 * mounted for the test). Every such fault is exit 6 naming the path, the previous token is still
 * served while valid, and no lock file is left behind.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const FILE_KEY = Buffer.alloc(32, 7).toString('base64');

function canMount(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root (CI runs as root)';
  const probe = mkdtempSync(join(tmpdir(), 'authctl-mount-probe-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]);
  spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return mounted.status === 0 ? undefined : `mount -t tmpfs failed: ${mounted.stderr.toString().trim()}`;
}

const ready = requireOrSkip(canMount(), 'disk faults e2e (a tmpfs of its own)');
const mounts: string[] = [];

afterEach(() => {
  for (const dir of mounts.splice(0)) {
    spawnSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A config directory on a fresh 512 KiB tmpfs. */
function smallDisk(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authctl-disk-'));
  expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', dir]).status).toBe(0);
  mounts.push(dir);
  return dir;
}

function fill(dir: string): void {
  // Writes until the file system says no: what a full disk is.
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `ballast-${i}`), Buffer.alloc(16 * 1024));
    } catch {
      break;
    }
  }
  // Small files too, until not even an inode or a block is left.
  for (let i = 0; i < 10000; i++) {
    try {
      writeFileSync(join(dir, `b-${i}`), 'x');
    } catch {
      break;
    }
  }
}

function locks(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'config', 'locks'));
  } catch {
    return [];
  }
}

describe.runIf(ready)('the config directory on a full or read-only disk', () => {
  it('full during a renewal: exit 6 naming the path, the previous token still served, no lock left behind', async () => {
    const realm = await newRealm();
    const disk = smallDisk();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_CONFIG_DIR: join(disk, 'config'), AUTHCTL_STORE: 'file', AUTHCTL_FILE_KEY: FILE_KEY });
    expect((await runCli(['login', '--save-password'], { env })).code).toBe(0);
    const token = (await runCli(['token', 'get'], { env })).stdout;
    fill(disk);

    const renew = await runCli(['token', 'renew'], { env });
    expect(renew.code, renew.stderr).toBe(6);
    expect(renew.stderr).toMatch(/^authctl: .*(no space left|ENOSPC|full).*\n/i);
    expect(renew.stderr).toContain(disk);
    expect(renew.stderr).not.toContain('bug in authctl');
    expect(locks(disk)).toEqual([]);

    const served = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(served.code, served.stderr).toBe(0);
    expect(served.stdout).toBe(token);
  });

  it('full at the first login: exit 6, nothing half-written, no lock', async () => {
    const realm = await newRealm();
    const disk = smallDisk();
    mkdirSync(join(disk, 'config'), { mode: 0o700 });
    fill(disk);
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_CONFIG_DIR: join(disk, 'config'), AUTHCTL_STORE: 'file', AUTHCTL_FILE_KEY: FILE_KEY });
    const login = await runCli(['login'], { env });
    expect(login.code, login.stderr).toBe(6);
    expect(login.stderr).toContain(disk);
    expect(login.stderr).not.toContain('bug in authctl');
    expect(locks(disk)).toEqual([]);
  });

  it('read-only: login and renewal are exit 6 naming the path; the cached token is still served', async () => {
    const realm = await newRealm();
    const disk = smallDisk();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_CONFIG_DIR: join(disk, 'config'), AUTHCTL_STORE: 'file', AUTHCTL_FILE_KEY: FILE_KEY });
    expect((await runCli(['login'], { env })).code).toBe(0);
    const token = (await runCli(['token', 'get'], { env })).stdout;
    expect(spawnSync('mount', ['-o', 'remount,ro', disk]).status).toBe(0);

    const renew = await runCli(['token', 'renew'], { env });
    expect(renew.code, renew.stderr).toBe(6);
    expect(renew.stderr).toMatch(/read-only|EROFS/i);
    expect(renew.stderr).toContain(disk);
    const login = await runCli(['login'], { env });
    expect(login.code, login.stderr).toBe(6);
    const served = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(served.code, served.stderr).toBe(0);
    expect(served.stdout).toBe(token);

    // logout and profile remove: the cause in words, with a hint; nothing revoked, the token still served.
    const before = await realm.count('DELETE');
    for (const args of [['logout'], ['profile', 'remove', 'default']]) {
      const failed = await runCli(args, { env: { ...env, OS_PASSWORD: undefined } });
      expect(failed.code, args.join(' ')).toBe(6);
      expect(failed.stderr).toMatch(new RegExp(`^authctl: cannot delete ${disk}/config/secrets/default%3atoken: the file system is read-only \\(EROFS\\)\nhint: remount it read-write, or point AUTHCTL_CONFIG_DIR at a writable directory; nothing was removed\n$`));
    }
    expect(await realm.count('DELETE')).toBe(before);
    expect((await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } })).stdout).toBe(token);
  });
});
