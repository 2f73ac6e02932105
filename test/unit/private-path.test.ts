import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { FileStore } from '../../src/store/file-store.js';
import { checkPrivateDir, readPrivateFile } from '../../src/store/private-path.js';
import { ConfigFile } from '../../src/store/config.js';
import { PROFILE_SCHEMA } from '../../src/settings/table.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'authctl-private-'));

describe('the store refuses directories and files it cannot trust', () => {
  it('a secrets directory planted as a symbolic link: refused, the target neither chmodded nor written', async () => {
    const root = fresh();
    const elsewhere = join(fresh(), 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o755 });
    chmodSync(elsewhere, 0o755);
    symlinkSync(elsewhere, join(root, 'secrets'));
    const store = new FileStore(join(root, 'secrets'), {});
    await expect(store.set('default:token', 'authctl1:x')).rejects.toThrow(StoreError);
    await expect(store.set('default:token', 'authctl1:x')).rejects.toThrow(/is a symbolic link; refusing to keep secrets through it/);
    await expect(store.get('default:token')).rejects.toThrow(/is a symbolic link/);
    expect(statSync(elsewhere).mode & 0o777).toBe(0o755);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a group- or world-writable directory: refused, saying which and how to fix it', () => {
    const dir = fresh();
    chmodSync(dir, 0o777);
    expect(() => checkPrivateDir(dir, 'config directory')).toThrow(`the config directory ${dir} is writable by everyone (mode 777): anyone could replace what is in it`);
    chmodSync(dir, 0o770);
    expect(() => checkPrivateDir(dir, 'config directory')).toThrow('writable by its group (mode 770)');
    chmodSync(dir, 0o700);
    expect(() => checkPrivateDir(dir, 'config directory')).not.toThrow();
    expect(() => checkPrivateDir(join(dir, 'missing'), 'config directory')).not.toThrow();
  });

  it.runIf(process.getuid?.() === 0)("a directory of another user (as root: chowned to nobody)", () => {
    const dir = fresh();
    chownSync(dir, 65534, 65534);
    expect(() => checkPrivateDir(dir, 'config directory')).toThrow(/belongs to another user \(uid 65534\)/);
  });

  it('a config file or secret file that is a symbolic link is not followed', () => {
    const dir = fresh();
    const target = join(fresh(), 'planted.json');
    writeFileSync(target, '{"profiles":{}}');
    symlinkSync(target, join(dir, 'config.json'));
    expect(() => readPrivateFile(join(dir, 'config.json'), { what: 'config file' })).toThrow(/is a symbolic link; refusing to read a secret through it/);
    expect(() => new ConfigFile(dir, PROFILE_SCHEMA).read()).toThrow(StoreError);
    expect(readPrivateFile(join(dir, 'absent'), { what: 'config file' })).toBeUndefined();
  });

  it('a world-writable config directory stops a login before anything is written', () => {
    const dir = fresh();
    chmodSync(dir, 0o777);
    const config = new ConfigFile(dir, PROFILE_SCHEMA);
    expect(() => config.read()).toThrow(/writable by everyone/);
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
  });

  it('a config file writable by group or others, or not a regular file: refused, naming it (config.json says where a saved password may go)', async () => {
    const dir = fresh();
    const path = join(dir, 'config.json');
    writeFileSync(path, '{"profiles":{}}', { mode: 0o600 });
    chmodSync(path, 0o666);
    expect(() => new ConfigFile(dir, PROFILE_SCHEMA).read()).toThrow(StoreError);
    expect(() => new ConfigFile(dir, PROFILE_SCHEMA).read()).toThrow(`the config file ${path} is writable by everyone (mode 666): anyone could change it`);
    chmodSync(path, 0o620);
    expect(() => new ConfigFile(dir, PROFILE_SCHEMA).read()).toThrow('is writable by its group (mode 620)');
    // Readable is fine: config.json holds no secret.
    chmodSync(path, 0o644);
    expect(new ConfigFile(dir, PROFILE_SCHEMA).read()).toEqual({ profiles: {} });
    // What authctl writes is 0600.
    chmodSync(path, 0o600);
    await new ConfigFile(dir, PROFILE_SCHEMA).update((data) => void (data.defaultProfile = 'x'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const fifo = join(fresh(), 'config.json');
    execFileSync('mkfifo', [fifo]);
    // Refused without hanging on the FIFO's open.
    expect(() => readPrivateFile(fifo, { what: 'config file' })).toThrow(`the config file ${fifo} is not a regular file`);
  });

  it.runIf(process.getuid?.() === 0)('a config file of another user (as root: chowned to nobody) is refused', () => {
    const dir = fresh();
    const path = join(dir, 'config.json');
    writeFileSync(path, '{"profiles":{}}', { mode: 0o600 });
    chownSync(path, 65534, 65534);
    expect(() => new ConfigFile(dir, PROFILE_SCHEMA).read()).toThrow(`the config file ${path} belongs to another user (uid 65534): whoever owns it could change it`);
  });

  it('a file store entry writable, or even readable, by group or others is refused; one written by authctl is 0600 and reads', async () => {
    const dir = join(fresh(), 'secrets');
    const store = new FileStore(dir, {});
    await store.set('default:token', 'authctl1:x');
    const path = join(dir, 'default%3atoken');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await store.get('default:token')).toBe('authctl1:x');
    for (const [mode, why] of [
      [0o666, `the file store entry ${path} is writable by everyone (mode 666): anyone could change it`],
      [0o660, 'is writable by its group (mode 660)'],
      [0o644, `the file store entry ${path} is readable by everyone (mode 644): the secret in it may have been read`],
      [0o640, 'is readable by its group (mode 640)'],
    ] as const) {
      chmodSync(path, mode);
      await expect(store.get('default:token')).rejects.toThrow(StoreError);
      await expect(store.get('default:token')).rejects.toThrow(why);
    }
    chmodSync(path, 0o400);
    expect(await store.get('default:token')).toBe('authctl1:x');
  });

  it.runIf(process.getuid?.() === 0)('a file store entry of another user (as root: chowned to nobody) is refused', async () => {
    const dir = join(fresh(), 'secrets');
    const store = new FileStore(dir, {});
    await store.set('default:password', 'authctl1:hunter2');
    const path = join(dir, 'default%3apassword');
    chownSync(path, 65534, 65534);
    await expect(store.get('default:password')).rejects.toThrow(`the file store entry ${path} belongs to another user (uid 65534)`);
  });
});
