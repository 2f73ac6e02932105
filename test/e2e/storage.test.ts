/**
 * The storage layer under stress, end to end: large tokens through the real Secret Service, the
 * file store, many processes refreshing at once, killed processes, corrupt and foreign entries,
 * a locked and a frozen keyring.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { keychainService } from '../../src/store/open.js';
import { privateKeyring } from '../helpers/private-keyring.js';
import { BIN, isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'storage e2e (OS keychain)');

function secretTool(env: Record<string, string | undefined>, args: string[], input?: string) {
  return spawnSync('secret-tool', args, { env: { PATH: process.env.PATH, DBUS_SESSION_BUS_ADDRESS: env.DBUS_SESSION_BUS_ADDRESS }, encoding: 'utf8', input });
}

describe.runIf(haveKeyring)('large tokens', () => {
  it('stores a 16 KB PKI token in the real Secret Service and serves it back whole', async () => {
    const realm = await newRealm({ tokenLength: 16 * 1024 });
    const env = isolatedEnv(loginEnv(realm));
    expect((await runCli(['login'], { env })).code).toBe(0);
    const token = (await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } })).stdout;
    expect(token).toMatch(/^MII[\w-]{16381}\n$/);
    expect(await realm.count('POST')).toBe(1);
  });

  it('splits it into parts under the limit when forced small, and reassembles it', async () => {
    const realm = await newRealm({ tokenLength: 16 * 1024 });
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_KEYCHAIN_CHUNK_SIZE: '1000' });
    expect((await runCli(['login'], { env })).code).toBe(0);
    const token = (await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } })).stdout.trim();
    expect(token).toHaveLength(16 * 1024);

    const service = keychainService(env.AUTHCTL_CONFIG_DIR);
    const search = secretTool(env, ['search', '--all', 'service', service]);
    const entries = search.stdout + search.stderr; // secret-tool prints attributes on stderr
    const secrets = [...entries.matchAll(/^secret = (.*)$/gm)].map((m) => m[1]!);
    expect(secrets.length).toBeGreaterThanOrEqual(18);
    for (const secret of secrets) expect(secret.length).toBeLessThanOrEqual(1000);
    expect(secrets.some((s) => s.startsWith('authctl1*'))).toBe(true);

    // Remove one part: the set is incomplete, which reads as a miss, never as a wrong token.
    const part = [...entries.matchAll(/^attribute\.username = (default:token#\w+\.3)$/gm)][0]![1]!;
    secretTool(env, ['clear', 'service', service, 'username', part]);
    const damaged = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(damaged.code).toBe(3);
    expect(damaged.stdout).toBe('');
    expect(damaged.stderr).toMatch(/^warning: the cached token of profile default is incomplete; ignoring it\n/);
  });
});

describe.runIf(haveKeyring)('logout in the real Secret Service', () => {
  it("removes every entry of the profile (a token in parts, the password, a role of another version, an orphaned part) and none of another profile's", async () => {
    // 4 KB: in five parts, and still small enough for the DELETE that revokes it (Node takes 16 KB of headers).
    const realm = await newRealm({ tokenLength: 4 * 1024 });
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_KEYCHAIN_CHUNK_SIZE: '1000' });
    for (const profile of ['a', 'ab']) expect((await runCli(['login', '--profile', profile, '--save-password'], { env })).code).toBe(0);
    const service = keychainService(env.AUTHCTL_CONFIG_DIR);
    secretTool(env, ['store', '--label', 'x', 'service', service, 'username', 'a:from-a-later-version'], 'x');
    secretTool(env, ['store', '--label', 'x', 'service', service, 'username', 'a:token#dead0000.0'], 'orphaned part');
    const accounts = () => {
      const search = secretTool(env, ['search', '--all', 'service', service]);
      return [...(search.stdout + search.stderr).matchAll(/^attribute\.username = (.*)$/gm)].map((m) => m[1]!);
    };
    expect(accounts().filter((account) => account.startsWith('a:')).length).toBeGreaterThanOrEqual(9);

    const logout = await runCli(['logout', '--profile', 'a'], { env: { ...env, OS_PASSWORD: undefined } });
    expect([logout.code, logout.stderr]).toEqual([0, 'Logged out of profile a: token revoked at IAM, secrets removed from the keychain\n']);
    const left = accounts();
    expect(left.filter((account) => !account.startsWith('ab:'))).toEqual([]);
    expect(left).toContain('ab:token');
    expect(left).toContain('ab:password');
    expect((await runCli(['token', 'get', '--profile', 'ab'], { env: { ...env, OS_PASSWORD: undefined } })).code).toBe(0);
  });

  it('a keychain that cannot be listed (no session bus): exit 6, nothing revoked, the token still there', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    expect((await runCli(['login'], { env })).code).toBe(0);
    const bare = { ...env, OS_PASSWORD: undefined };
    const token = (await runCli(['token', 'get'], { env: bare })).stdout;
    const logout = await runCli(['logout'], { env: { ...bare, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } });
    expect(logout.code).toBe(6);
    expect(logout.stderr).toMatch(/^authctl: keychain unavailable: .*\nhint: /);
    expect(await realm.count('DELETE')).toBe(0);
    const again = await runCli(['token', 'get'], { env: bare });
    expect([again.code, again.stdout]).toEqual([0, token]);
  });
});

describe.runIf(haveKeyring)('many processes at once', () => {
  it('32 concurrent `token get` on an expired cache make exactly one IAM request and all print the same token', async () => {
    const realm = await newRealm({ delayMs: 300 });
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const old = (await runCli(['token', 'get'], { env })).stdout;
    // The cached token (1 h) is due for every process (--min-ttl 2h); the new one (3 h) is not.
    await realm.configure({ tokenTtlSeconds: 3 * 3600 });
    const results = await Promise.all(Array.from({ length: 32 }, () => runCli(['token', 'get', '--min-ttl', '2h'], { env, timeoutMs: 60_000 })));
    expect(results.map((r) => r.code)).toEqual(Array(32).fill(0));
    const tokens = new Set(results.map((r) => r.stdout));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).not.toBe(old);
    expect(await realm.count('POST')).toBe(2); // the login, and one refresh
  }, 90_000);

  it('with --min-ttl above the token lifetime, processes waiting on a refresh take its result instead of renewing again', async () => {
    // The renewal takes 2 s at IAM, so that all 8 have read the cache before it ends, however slowly
    // the machine starts 8 Node processes at once (one that starts after it renews again, rightly).
    const realm = await newRealm({ delayMs: 2000 });
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_MIN_TTL: '2h' });
    await runCli(['login'], { env });
    const results = await Promise.all(Array.from({ length: 8 }, () => runCli(['token', 'get'], { env, timeoutMs: 60_000 })));
    expect(results.map((r) => r.code)).toEqual(Array(8).fill(0));
    expect(new Set(results.map((r) => r.stdout)).size).toBe(1);
    expect(await realm.count('POST')).toBe(2); // the login, and one renewal
    expect(results.filter((r) => r.stderr.includes('less than --min-ttl 2h 00m: every call will renew'))).toHaveLength(1);
  }, 60_000);

  it('a lock left by a killed process is taken over within a few seconds', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    // The refresh hangs at IAM; the holder is killed with SIGKILL, so nothing releases the lock.
    await realm.fault({ method: 'POST', path: '/v3/auth/tokens', hang: true });
    const holder = spawn(process.execPath, [BIN, 'token', 'get', '--min-ttl', '2h'], { env: env as NodeJS.ProcessEnv, stdio: 'ignore' });
    const lockDir = join(env.AUTHCTL_CONFIG_DIR!, 'locks', 'default.lock');
    await realm.waitForRequests('POST', 2);
    expect(existsSync(lockDir)).toBe(true);
    holder.kill('SIGKILL');
    const started = Date.now();
    const waiter = await runCli(['token', 'get', '--min-ttl', '2h'], { env });
    expect(waiter.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('a waiter gives up after a bounded time with a clear error', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_LOCK_TIMEOUT: '1' });
    await runCli(['login'], { env });
    await realm.fault({ method: 'POST', path: '/v3/auth/tokens', hang: true });
    const holder = spawn(process.execPath, [BIN, 'token', 'get', '--min-ttl', '2h', '--timeout', '20s'], { env: env as NodeJS.ProcessEnv, stdio: 'ignore' });
    const lockDir = join(env.AUTHCTL_CONFIG_DIR!, 'locks', 'default.lock');
    await realm.waitForRequests('POST', 2);
    expect(existsSync(lockDir)).toBe(true);
    const waiter = await runCli(['token', 'get', '--min-ttl', '2h'], { env });
    holder.kill('SIGKILL');
    expect(waiter.code).toBe(1);
    expect(waiter.stderr).toMatch(/^authctl: another authctl process kept profile default locked for over 1s\nhint: if no authctl is running, remove .*default\.lock\n$/);
  });

  it('SIGTERM during a refresh leaves the previous token intact and the lock released', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const before = (await runCli(['token', 'get'], { env })).stdout;
    await realm.fault({ method: 'POST', path: '/v3/auth/tokens', hang: true });
    const child = spawn(process.execPath, [BIN, 'token', 'get', '--min-ttl', '2h'], { env: env as NodeJS.ProcessEnv, stdio: 'ignore' });
    const lockDir = join(env.AUTHCTL_CONFIG_DIR!, 'locks', 'default.lock');
    await realm.waitForRequests('POST', 2);
    expect(existsSync(lockDir)).toBe(true);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(existsSync(lockDir)).toBe(false);
    expect((await runCli(['token', 'get'], { env })).stdout).toBe(before);
  });

  it('a lock whose owner died is taken over at once; one nobody touches, after 4 s of watching it', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file' });
    await runCli(['login'], { env });
    const lockFile = join(env.AUTHCTL_CONFIG_DIR!, 'locks', 'default.lock');
    mkdirSync(join(env.AUTHCTL_CONFIG_DIR!, 'locks'), { recursive: true });
    // A pid that is not running on this host.
    const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    writeFileSync(lockFile, JSON.stringify({ pid: Number(dead), host: hostname(), nonce: 'dead' }));
    let started = Date.now();
    expect((await runCli(['token', 'get', '--min-ttl', '2h'], { env })).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
    // Another host's lock cannot be judged by pid, nor by its mtime (that host's clock): by watching it.
    writeFileSync(lockFile, JSON.stringify({ pid: 1, host: 'elsewhere', nonce: 'frozen' }));
    started = Date.now();
    expect((await runCli(['token', 'get', '--min-ttl', '2h'], { env })).code).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    expect(existsSync(lockFile)).toBe(false);
  });
});

describe.runIf(haveKeyring)('nothing lost, nothing stale', () => {
  it('a corrupt config file: a clear error naming it, and it is not overwritten', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    const path = join(env.AUTHCTL_CONFIG_DIR!, 'config.json');
    mkdirSync(env.AUTHCTL_CONFIG_DIR!, { recursive: true });
    writeFileSync(path, '{"profiles": {"default": {"authUrl": ');
    for (const args of [['login'], ['token', 'get'], ['logout', '--all']]) {
      const result = await runCli(args, { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`authctl: the config file ${path} is corrupt: `);
      expect(result.stderr).toContain('hint: fix it by hand, or move it away');
    }
    expect(readFileSync(path, 'utf8')).toBe('{"profiles": {"default": {"authUrl": ');
    expect(await realm.count('POST')).toBe(0);
  });

  it('a foreign keychain entry is a miss with a warning, not a crash', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const service = keychainService(env.AUTHCTL_CONFIG_DIR);
    secretTool(env, ['store', '--label', 'someone else', 'service', service, 'username', 'default:token'], 'not authctl data');
    const result = await runCli(['token', 'get'], { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("warning: the cached token of profile default is not in authctl's format; ignoring it\n");
    expect(await realm.count('POST')).toBe(2);
    // The renewal replaced the foreign entry with a good one.
    const again = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect([again.code, again.stderr]).toEqual([0, '']);
  });

  it('a damaged entry of ours is a miss with a warning', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    secretTool(env, ['store', '--label', 'x', 'service', keychainService(env.AUTHCTL_CONFIG_DIR), 'username', 'default:token'], 'authctl1:{"v":1,"token":');
    const result = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^warning: the cached token of profile default is damaged; ignoring it\n/);
  });

  it('separate config directories never see each other\'s tokens', async () => {
    const realm = await newRealm();
    const a = isolatedEnv(loginEnv(realm));
    const b = isolatedEnv({ ...loginEnv(realm), OS_PASSWORD: undefined });
    await runCli(['login'], { env: a });
    expect((await runCli(['token', 'get'], { env: b })).code).toBe(3);
  });
});

describe.runIf(haveKeyring)('the file store', () => {
  it('refuses a secrets directory planted as a symbolic link (exit 6, naming it) and a world-writable config directory, sending no password', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file', DBUS_SESSION_BUS_ADDRESS: undefined });
    const config = env.AUTHCTL_CONFIG_DIR!;
    const elsewhere = mkdtempSync(join(tmpdir(), 'authctl-planted-'));
    mkdirSync(config, { mode: 0o700 });
    symlinkSync(elsewhere, join(config, 'secrets'));
    const before = await realm.count('POST');
    const planted = await runCli(['login', '--save-password'], { env });
    expect(planted.code).toBe(6);
    expect(planted.stderr).toBe(`authctl: the secrets directory ${join(config, 'secrets')} is a symbolic link; refusing to keep secrets through it\nhint: make ${join(config, 'secrets')} a real directory (mkdir -m 700), owned by you\n`);
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(statSync(elsewhere).mode & 0o777).toBe(0o700);
    expect(await realm.count('POST')).toBe(before);
    chmodSync(config, 0o777);
    const open = await runCli(['login'], { env });
    expect(open.code).toBe(6);
    expect(open.stderr).toMatch(/^authctl: the config directory .* is writable by everyone \(mode 777\): anyone could replace what is in it\nhint: chmod 700 /);
  });

  it('keeps secrets in 0600 files in a 0700 directory, warning when they are plain text', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), DBUS_SESSION_BUS_ADDRESS: undefined });
    const login = await runCli(['login', '--store', 'file', '--save-password'], { env });
    expect(login.code).toBe(0);
    const dir = join(env.AUTHCTL_CONFIG_DIR!, 'secrets');
    expect(login.stderr).toContain(`warning: secrets are stored in plain text under ${dir}; set AUTHCTL_FILE_PASSPHRASE to encrypt them\n`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dir).sort()).toEqual(['default%3apassword', 'default%3atoken']);
    for (const file of readdirSync(dir)) expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
    // The profile remembers its store: no flag needed afterwards, and no keychain is touched.
    const get = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect([get.code, get.stderr]).toEqual([0, '']);
  });

  it('encrypts with AUTHCTL_FILE_PASSPHRASE; a wrong passphrase is a clear error, never a miss', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file', AUTHCTL_FILE_PASSPHRASE: 'correct horse battery' });
    const login = await runCli(['login'], { env });
    expect(login.code).toBe(0);
    expect(login.stderr).not.toContain('plain text');
    const token = (await runCli(['token', 'get'], { env })).stdout.trim();
    const file = readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'secrets', 'default%3atoken'), 'utf8');
    expect(file).not.toContain(token);
    expect(JSON.parse(file)).toMatchObject({ alg: 'aes-256-gcm', kdf: 'scrypt' });

    const wrong = await runCli(['token', 'get'], { env: { ...env, AUTHCTL_FILE_PASSPHRASE: 'Tr0ub4dor&3', OS_PASSWORD: undefined } });
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).toMatch(/^authctl: cannot decrypt .*default%3atoken: wrong passphrase \(AUTHCTL_FILE_PASSPHRASE is not the one it was written with\)\n/);
    expect(wrong.stderr).not.toContain('correct horse');
    const none = await runCli(['token', 'get'], { env: { ...env, AUTHCTL_FILE_PASSPHRASE: undefined } });
    expect(none.code).toBe(6);
    expect(none.stderr).toContain('is encrypted and no passphrase was given\nhint: set AUTHCTL_FILE_PASSPHRASE');
  });

  it('encrypts with AUTHCTL_FILE_KEY (no key derivation): login and token get; a wrong or malformed key is a clear error', async () => {
    const realm = await newRealm();
    const key = randomBytes(32).toString('base64');
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file', AUTHCTL_FILE_KEY: `${key}\n`, DBUS_SESSION_BUS_ADDRESS: undefined });
    const login = await runCli(['login', '--save-password'], { env });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).not.toContain('plain text');
    expect(login.stderr).not.toContain(key);
    const get = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect([get.code, get.stderr]).toEqual([0, '']);
    const token = get.stdout.trim();
    expect(token).toMatch(/^gAAAAA/);
    const dir = join(env.AUTHCTL_CONFIG_DIR!, 'secrets');
    expect(readdirSync(dir).sort()).toEqual(['default%3apassword', 'default%3atoken']); // no salt file: nothing is derived
    const onDisk = readdirSync(dir).map((name) => readFileSync(join(dir, name), 'utf8')).join('\n');
    expect(onDisk).not.toContain(token);
    expect(onDisk).not.toContain(realm.fixtures.user.password);
    expect(JSON.parse(readFileSync(join(dir, 'default%3atoken'), 'utf8'))).toMatchObject({ v: 2, alg: 'aes-256-gcm', kdf: 'none' });
    expect(await realm.count('POST')).toBe(1);

    const wrong = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined, AUTHCTL_FILE_KEY: randomBytes(32).toString('base64') } });
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).toMatch(/^authctl: cannot decrypt .*default%3atoken: wrong key \(AUTHCTL_FILE_KEY is not the one it was written with\)\nhint: /);
    const passphrase = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined, AUTHCTL_FILE_KEY: undefined, AUTHCTL_FILE_PASSPHRASE: 'correct horse battery' } });
    expect(passphrase.code).toBe(6);
    expect(passphrase.stderr).toMatch(/default%3atoken was encrypted with AUTHCTL_FILE_KEY, which is not set \(AUTHCTL_FILE_PASSPHRASE cannot open it\)\nhint: set AUTHCTL_FILE_KEY/);
    const malformed = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined, AUTHCTL_FILE_KEY: 'my secret passphrase' } });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toBe('authctl: AUTHCTL_FILE_KEY must be a key of 32 random bytes in base64 (44 characters); the value set is not one (20 characters, not all base64)\nhint: make one with `openssl rand -base64 32` and keep it as a secret; for a passphrase of your own choosing use AUTHCTL_FILE_PASSPHRASE instead\n');
  });

  it('a warm token get with a passphrase derives one key, however many entries it reads', async () => {
    const realm = await newRealm({ tokenLength: 4096 });
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file', AUTHCTL_FILE_PASSPHRASE: 'correct horse battery', AUTHCTL_KEYCHAIN_CHUNK_SIZE: '1000', DBUS_SESSION_BUS_ADDRESS: undefined });
    expect((await runCli(['login', '--save-password'], { env })).code).toBe(0);
    const dir = join(env.AUTHCTL_CONFIG_DIR!, 'secrets');
    expect(readdirSync(dir).filter((name) => name.startsWith('default%3atoken')).length).toBeGreaterThan(4);
    // --debug logs each key derivation: a warm get reads the manifest and every part...
    const warm = await runCli(['token', 'get', '--debug'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(warm.code).toBe(0);
    expect(warm.stderr.match(/^debug: file store: derived the key from AUTHCTL_FILE_PASSPHRASE \(scrypt/gm)).toHaveLength(1);
    // ...and one that renews reads the token twice (before and under the lock), the password, and writes a token.
    const renewed = await runCli(['token', 'get', '--debug', '--min-ttl', '2h'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(await realm.count('POST')).toBe(2);
    expect(renewed.stderr.match(/^debug: file store: derived the key/gm)).toHaveLength(1);
  });

  it('a leftover temporary file from a crashed write changes nothing', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file' });
    await runCli(['login'], { env });
    const token = (await runCli(['token', 'get'], { env })).stdout;
    writeFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'secrets', 'default%3atoken.123.abcd.tmp'), '{"v":1,"value":"half');
    expect((await runCli(['token', 'get'], { env })).stdout).toBe(token);
  });
});

describe.runIf(haveKeyring)('files in the config directory are trusted only when private', () => {
  it('a config.json others can write, or of another user, is refused (exit 6, naming it) before a saved password is sent anywhere', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file', DBUS_SESSION_BUS_ADDRESS: undefined });
    expect((await runCli(['login', '--save-password'], { env })).code).toBe(0);
    const path = join(env.AUTHCTL_CONFIG_DIR!, 'config.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const quiet = { ...env, OS_PASSWORD: undefined };
    const before = await realm.count('POST');
    chmodSync(path, 0o666);
    for (const args of [['token', 'get'], ['token', 'get', '--min-ttl', '2h'], ['login']]) {
      const result = await runCli(args, { env: quiet });
      expect([result.code, result.stdout]).toEqual([6, '']);
      expect(result.stderr).toBe(`authctl: the config file ${path} is writable by everyone (mode 666): anyone could change it\nhint: check what is in it, then chmod 600 ${path}\n`);
    }
    chmodSync(path, 0o600);
    if (process.getuid?.() === 0) {
      chownSync(path, 65534, 65534);
      const foreign = await runCli(['token', 'get', '--min-ttl', '2h'], { env: quiet });
      expect(foreign.code).toBe(6);
      expect(foreign.stderr).toMatch(new RegExp(`^authctl: the config file ${path} belongs to another user \\(uid 65534\\)`));
      chownSync(path, 0, 0);
    }
    expect(await realm.count('POST')).toBe(before);
    expect((await runCli(['token', 'get'], { env: quiet })).code).toBe(0);
  });

  it('a store entry others can write or read, or of another user, is refused (exit 6, naming it); what authctl writes is 0600', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file', DBUS_SESSION_BUS_ADDRESS: undefined });
    expect((await runCli(['login', '--save-password'], { env })).code).toBe(0);
    const dir = join(env.AUTHCTL_CONFIG_DIR!, 'secrets');
    const quiet = { ...env, OS_PASSWORD: undefined };
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
    const token = join(dir, 'default%3atoken');
    const password = join(dir, 'default%3apassword');
    chmodSync(token, 0o666);
    const writable = await runCli(['token', 'get'], { env: quiet });
    expect([writable.code, writable.stdout]).toEqual([6, '']);
    expect(writable.stderr).toBe(`authctl: the file store entry ${token} is writable by everyone (mode 666): anyone could change it\nhint: check what is in it, then chmod 600 ${token}\n`);
    chmodSync(token, 0o644);
    const readable = await runCli(['token', 'get'], { env: quiet });
    expect(readable.code).toBe(6);
    expect(readable.stderr).toMatch(/^authctl: the file store entry .*default%3atoken is readable by everyone \(mode 644\): the secret in it may have been read\nhint: chmod 600 /);
    chmodSync(token, 0o600);
    // The saved password is read when the token is renewed.
    chmodSync(password, 0o620);
    const renew = await runCli(['token', 'get', '--min-ttl', '2h'], { env: quiet });
    expect([renew.code, renew.stdout]).toEqual([6, '']);
    expect(renew.stderr).toContain(`authctl: the file store entry ${password} is writable by its group (mode 620)`);
    chmodSync(password, 0o600);
    if (process.getuid?.() === 0) {
      chownSync(password, 65534, 65534);
      const foreign = await runCli(['token', 'get', '--min-ttl', '2h'], { env: quiet });
      expect(foreign.code).toBe(6);
      expect(foreign.stderr).toContain(`authctl: the file store entry ${password} belongs to another user (uid 65534)`);
      chownSync(password, 0, 0);
    }
    const renewed = await runCli(['token', 'get', '--min-ttl', '2h'], { env: quiet });
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(renewed.stderr).not.toContain('authctl:');
    for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
  });

  it('with AUTHCTL_FILE_KEY, a planted plain-text token is refused (exit 6), never printed; once removed, login starts over encrypted', async () => {
    const realm = await newRealm();
    const plain = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file', DBUS_SESSION_BUS_ADDRESS: undefined });
    const env: Record<string, string | undefined> = { ...plain, AUTHCTL_FILE_KEY: randomBytes(32).toString('base64') };
    const path = join(env.AUTHCTL_CONFIG_DIR!, 'secrets', 'default%3atoken');
    // A well-formed plain-text entry (as a plain-text store writes it), its token swapped for the attacker's.
    expect((await runCli(['login'], { env: plain })).code).toBe(0);
    const entry = JSON.parse(readFileSync(path, 'utf8')) as { v: 1; value: string };
    const cached = JSON.parse(entry.value.slice('authctl1:'.length)) as { token: string };
    const planted = JSON.stringify({ v: 1, value: `authctl1:${JSON.stringify({ ...cached, token: 'gAAAAAplanted' + 'x'.repeat(100) })}` });
    // Moving that store to a key: the plain-text entry is refused by login too, with the way out.
    const migrate = await runCli(['login'], { env });
    expect(migrate.code).toBe(6);
    expect(migrate.stderr).toContain(`authctl: ${path} is not encrypted, although the file store is (AUTHCTL_FILE_KEY is set); refusing to use it\n`);
    // The hint's second way out: logout removes what it cannot open (saying it could not revoke it).
    const logout = await runCli(['logout'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toContain(`warning: profile default: ${path} is not encrypted, although the file store is (AUTHCTL_FILE_KEY is set); refusing to use it; removing it without revoking it at IAM`);
    expect(existsSync(path)).toBe(false);
    expect((await runCli(['login'], { env })).code).toBe(0);
    const real = (await runCli(['token', 'get'], { env })).stdout;
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ v: 2, kdf: 'none' });
    writeFileSync(path, planted, { mode: 0o600 });
    const refused = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect([refused.code, refused.stdout]).toEqual([6, '']);
    expect(refused.stderr).toBe(
      `authctl: ${path} is not encrypted, although the file store is (AUTHCTL_FILE_KEY is set); refusing to use it\n` +
        'hint: if it was written before AUTHCTL_FILE_KEY was set, or you do not know where it came from: remove it, or `authctl logout` and log in again (entries are then written encrypted)\n',
    );
    expect(refused.stderr).not.toContain('planted');
    rmSync(path);
    expect((await runCli(['login'], { env })).code).toBe(0);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ v: 2, kdf: 'none' });
    const again = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect(again.stdout).not.toBe(real);
  });

  it('a locks/ planted as a symbolic link, or writable by others, is refused (exit 6, naming it); no lock is made where it points', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file', DBUS_SESSION_BUS_ADDRESS: undefined });
    expect((await runCli(['login', '--save-password'], { env })).code).toBe(0);
    const locks = join(env.AUTHCTL_CONFIG_DIR!, 'locks');
    rmSync(locks, { recursive: true, force: true });
    const elsewhere = mkdtempSync(join(tmpdir(), 'authctl-planted-locks-'));
    symlinkSync(elsewhere, locks);
    const quiet = { ...env, OS_PASSWORD: undefined };
    const linked = await runCli(['token', 'get', '--min-ttl', '2h'], { env: quiet });
    expect([linked.code, linked.stdout]).toEqual([6, '']);
    expect(linked.stderr).toBe(`authctl: the lock directory ${locks} is a symbolic link; refusing to keep secrets through it\nhint: make ${locks} a real directory (mkdir -m 700), owned by you\n`);
    expect(readdirSync(elsewhere)).toEqual([]);
    rmSync(locks);
    mkdirSync(locks, { mode: 0o700 });
    chmodSync(locks, 0o777);
    const open = await runCli(['token', 'get', '--min-ttl', '2h'], { env: quiet });
    expect(open.code).toBe(6);
    expect(open.stderr).toMatch(/^authctl: the lock directory .*locks is writable by everyone \(mode 777\): anyone could replace what is in it\n/);
    chmodSync(locks, 0o700);
    expect((await runCli(['token', 'get', '--min-ttl', '2h'], { env: quiet })).code).toBe(0);
  });
});

describe('the CA file is read within bounds', () => {
  it('OS_CACERT=/dev/zero, AUTHCTL_CACERT=/dev/urandom, --cacert of a 8 GiB file: exit 2 at once, naming it, instead of exhausting memory', async () => {
    const realm = await newRealm();
    const huge = join(mkdtempSync(join(tmpdir(), 'authctl-ca-')), 'huge.pem');
    writeFileSync(huge, '');
    truncateSync(huge, 8 * 1024 ** 3); // sparse: no disk used
    const base = { ...loginEnv(realm), AUTHCTL_STORE: 'file', AUTHCTL_FILE_KEY: randomBytes(32).toString('base64'), DBUS_SESSION_BUS_ADDRESS: undefined };
    for (const [extra, args, file, why] of [
      [{ OS_CACERT: '/dev/zero' }, [], '/dev/zero', 'is not a file (a device)'],
      [{ AUTHCTL_CACERT: '/dev/urandom' }, [], '/dev/urandom', 'is not a file (a device)'],
      [{}, ['--cacert', huge], huge, 'is over 4 MiB, more than a CA bundle can sensibly be (authctl reads up to 4 MiB)'],
    ] as const) {
      const started = Date.now();
      const result = await runCli(['login', ...args], { env: isolatedEnv({ ...base, ...extra }), timeoutMs: 10_000 });
      expect([result.code, result.signal]).toEqual([2, null]);
      expect(result.stderr).toBe(`authctl: the CA file ${file} ${why}\nhint: give a PEM file with --cacert (or OS_CACERT / AUTHCTL_CACERT)\n`);
      expect(Date.now() - started).toBeLessThan(5000);
    }
    expect(await realm.count('POST')).toBe(0);
  });
});

describe.runIf(haveKeyring)('an unhealthy keyring', () => {
  const keyring = privateKeyring();

  it('frozen: fails within the keychain timeout with exit 6, instead of hanging the shell', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), DBUS_SESSION_BUS_ADDRESS: keyring().busAddress, AUTHCTL_KEYCHAIN_TIMEOUT: '1' });
    for (const profile of ['default', 'second', 'third']) expect((await runCli(['--profile', profile, 'login'], { env })).code).toBe(0);
    keyring().freeze();
    try {
      const started = Date.now();
      const result = await runCli(['token', 'get'], { env });
      expect(result.code).toBe(6);
      expect(result.stderr).toMatch(/^authctl: keychain unavailable: the Secret Service did not answer (in time|within 1s)\nhint: the Secret Service runs but does not answer: restart it /);
      expect(Date.now() - started).toBeLessThan(5000);
      // status reads three profiles' tokens: a keychain that did not answer once is not asked
      // again (each would wait ~2 s more), and every row says why it is unreadable.
      const statusStarted = Date.now();
      const status = await runCli(['status'], { env });
      expect(status.stdout.match(/unreadable: keychain unavailable: the Secret Service did not answer/g)).toHaveLength(3);
      expect(Date.now() - statusStarted).toBeLessThan(5000);
    } finally {
      keyring().thaw();
    }
  });

  it('locked: exit 6 naming the cause; the token is still there once unlocked', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), DBUS_SESSION_BUS_ADDRESS: keyring().busAddress });
    await runCli(['login'], { env });
    keyring().lock();
    const result = await runCli(['token', 'get'], { env });
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/^authctl: keychain unavailable: the keychain is locked and could not be unlocked\nhint: unlock the keyring \(log in to the desktop session, or `printf %s "\$PASSWORD" \| gnome-keyring-daemon --replace --unlock --components=secrets`\), or keep tokens in an encrypted file/);
    expect(await realm.count('POST')).toBe(1);
  });
});

describe.runIf(haveKeyring)('the default config directory (no AUTHCTL_CONFIG_DIR), as most people run it', () => {
  // Its keychain service is plain `authctl`, the same for every such run: a keyring of its own.
  const keyring = privateKeyring();

  const defaultEnv = (): Record<string, string | undefined> => ({ ...isolatedEnv({ DBUS_SESSION_BUS_ADDRESS: keyring().busAddress }), AUTHCTL_CONFIG_DIR: undefined });
  const serviceEntries = (env: Record<string, string | undefined>) => {
    const search = secretTool(env, ['search', '--all', 'service', 'authctl']);
    return [...(search.stdout + search.stderr).matchAll(/^attribute\.username = (.*)$/gm)].map((m) => m[1]!).sort();
  };

  it.each([
    ['$XDG_CONFIG_HOME/authctl', (home: string) => ({ XDG_CONFIG_HOME: join(home, 'xdg') }), (home: string) => join(home, 'xdg', 'authctl')],
    ['~/.config/authctl without XDG_CONFIG_HOME', () => ({}), (home: string) => join(home, '.config', 'authctl')],
  ])('lives in %s; the cached path and the full CLI find the same profile and token', async (_, extra, where) => {
    const realm = await newRealm();
    const base = defaultEnv();
    const env: Record<string, string | undefined> = { ...base, ...extra(base.HOME!) };
    expect((await runCli(['login'], { env: { ...env, ...loginEnv(realm) } })).code).toBe(0);
    const dir = where(env.HOME!);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).profiles.default).toBeDefined();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(serviceEntries(env)).toEqual(['default:token']);

    const token = await runCli(['token', 'get'], { env });
    expect([token.code, token.stderr]).toEqual([0, '']);
    expect(token.stdout).toMatch(/^\S{20,}\n$/);
    const status = await runCli(['status'], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('default');
    expect(await realm.count('POST')).toBe(1);

    expect((await runCli(['logout'], { env })).code).toBe(0);
    expect(serviceEntries(env)).toEqual([]);
  });
});
