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
    expect(() => readPrivateFile(join(dir, 'config.json'))).toThrow(/is a symbolic link; refusing to read a secret through it/);
    expect(() => new ConfigFile(dir, PROFILE_SCHEMA).read()).toThrow(StoreError);
    expect(readPrivateFile(join(dir, 'absent'))).toBeUndefined();
  });

  it('a world-writable config directory stops a login before anything is written', () => {
    const dir = fresh();
    chmodSync(dir, 0o777);
    const config = new ConfigFile(dir, PROFILE_SCHEMA);
    expect(() => config.read()).toThrow(/writable by everyone/);
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
  });
});
