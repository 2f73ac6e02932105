/**
 * Issue 16, end to end: a token revoked at a real Keystone is dropped at the first answer that
 * says so (exit 3, the command that logs in again, which then works); a hung test IAM costs each
 * command one budget, with progress at a terminal only, and a still-valid token near expiry is
 * served after one try. No assertion here is on wall-clock time: exit codes, messages, and the
 * number of requests the servers saw.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, keystoneMissing, startKeystone, type KeystoneHarness } from '../harness/keystone.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { startPty } from '../helpers/pty.js';
import { loginEnv, newRealm, type Realm } from '../helpers/realm.js';

/** The encrypted file store: these tests need no Secret Service. */
const fileStore = () => ({ AUTHCTL_STORE: 'file', AUTHCTL_FILE_KEY: randomBytes(32).toString('base64') });

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const ready = requireOrSkip(keystoneMissing(), 'revoked tokens at a real Keystone');

describe.runIf(ready)('a token revoked at a real Keystone', () => {
  let keystone: KeystoneHarness;

  beforeAll(async () => {
    const started = await startKeystone();
    if (!started.ok) throw new Error(started.reason);
    keystone = started.keystone;
  }, 180_000);

  afterAll(async () => {
    await keystone?.stop();
  });

  /** A member logged in to /smartcity (profile `profile`); the environment without the password, and the token. */
  async function loggedIn(profile?: string): Promise<{ env: Record<string, string | undefined>; bare: Record<string, string | undefined>; token: string; args: string[] }> {
    const { member } = keystone.fixtures;
    const env = isolatedEnv({ ...fileStore(), OS_AUTH_URL: keystone.url, OS_USERNAME: member.name, OS_USER_DOMAIN_NAME: member.domainName, OS_PASSWORD: member.password, OS_PROJECT_NAME: '/smartcity' });
    const args = profile ? ['--profile', profile] : [];
    const login = await runCli([...args, 'login'], { env });
    expect(login.code, login.stderr).toBe(0);
    const bare = { ...env, OS_PASSWORD: undefined };
    const get = await runCli([...args, 'token', 'get'], { env: bare });
    expect(get.code, get.stderr).toBe(0);
    return { env, bare, token: get.stdout.trim(), args };
  }

  async function revoke(token: string): Promise<void> {
    const admin = await adminToken(keystone);
    const revoked = await fetch(`${keystone.url}/auth/tokens`, { method: 'DELETE', headers: { 'X-Auth-Token': admin, 'X-Subject-Token': token } });
    expect(revoked.status).toBe(204);
  }

  it('token check: exit 3, one clean line, the token dropped; token get then prints nothing; the hinted login works', async () => {
    const { env, bare, token } = await loggedIn();
    await revoke(token);

    const check = await runCli(['token', 'check'], { env: bare });
    expect(check.code).toBe(3);
    // Keystone refuses a revoked token as the caller of its own check: 401.
    expect(check.stdout).toBe('valid:   no (revoked or expired at IAM (401))\nchecked: at IAM\n');
    expect(check.stderr).toBe('authctl: the token of profile default is revoked or expired at IAM (401), so it was removed from the cache\nhint: run `authctl login`\n');

    const get = await runCli(['token', 'get'], { env: bare });
    expect(get.code).toBe(3);
    expect(get.stdout).toBe('');
    expect(get.stderr).not.toContain(token);
    expect(get.stderr).toMatch(/^authctl: no token is cached for profile default/);

    // The hint, as it stands, in the same environment (the password asked for, here from OS_PASSWORD).
    const again = await runCli(['login'], { env });
    expect(again.code, again.stderr).toBe(0);
    const fresh = await runCli(['token', 'get'], { env: bare });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stdout.trim()).not.toBe(token);
    expect((await runCli(['token', 'check', '--quiet'], { env: bare })).code).toBe(0);
  });

  it('token check --quiet: silence, exit 3, and the token is dropped all the same', async () => {
    const { bare, token } = await loggedIn();
    await revoke(token);
    const check = await runCli(['token', 'check', '--quiet'], { env: bare });
    expect([check.code, check.stdout, check.stderr]).toEqual([3, '', '']);
    const get = await runCli(['token', 'get'], { env: bare });
    expect([get.code, get.stdout]).toEqual([3, '']);
  });

  it('token renew from a revoked token (no password): exit 3 with the same message, not a 404 about the auth URL', async () => {
    const { bare, token, args } = await loggedIn('work');
    await revoke(token);
    const renew = await runCli([...args, 'token', 'renew'], { env: bare });
    expect(renew.code).toBe(3);
    expect(renew.stdout).toBe('');
    expect(renew.stderr).toMatch(/^authctl: the token of profile work is revoked or expired at IAM \(404\), so it was removed from the cache\nhint: run `authctl login --profile work`\n$/);
    expect(renew.stderr).not.toContain('auth URL');
    const get = await runCli([...args, 'token', 'get'], { env: bare });
    expect([get.code, get.stdout]).toEqual([3, '']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('a hung IAM (the test IAM server)', () => {
  /** A realm, a profile logged in to it with the file store, and the environment without the password. */
  async function setUp(options: { tokenTtlSeconds?: number } = {}): Promise<{ realm: Realm; env: Record<string, string | undefined> }> {
    const realm = await newRealm(options);
    const env = isolatedEnv({ ...loginEnv(realm), ...fileStore() });
    return { realm, env };
  }

  const hangTokens = (realm: Realm, times: number) => realm.fault({ method: 'POST', path: '/v3/auth/tokens', hang: true, times });

  it('login without a terminal: every try, no progress lines, then the tries and the time they took', async () => {
    const { realm, env } = await setUp();
    await hangTokens(realm, 3);
    const login = await runCli(['login', '--timeout', '1s'], { env });
    expect(login.code).toBe(5);
    expect(login.stderr).toMatch(new RegExp(`^authctl: no answer from ${escape(new URL(realm.authUrl).origin)} \\(3 tries in \\d+(\\.\\d)?s\\)\\nhint: `));
    expect(login.stderr).not.toContain('retrying');
    expect(await realm.count('POST')).toBe(3);
  });

  it('login at a terminal: "retrying (2/3) after a timeout ..." on stderr', async () => {
    const { realm, env } = await setUp();
    await hangTokens(realm, 3);
    const pty = startPty(['login', '--timeout', '1s'], { ...env, NO_COLOR: '1' });
    expect(await pty.exit).toBe(5);
    const screen = pty.output().replace(/\r\n/g, '\n');
    const origin = escape(new URL(realm.authUrl).origin);
    expect(screen).toMatch(new RegExp(`retrying \\(2/3\\) after a timeout \\(no answer from ${origin} within 1s\\) \\.\\.\\.\\n`));
    expect(screen).toMatch(new RegExp(`retrying \\(3/3\\) after a timeout \\(no answer from ${origin} within 1s\\) \\.\\.\\.\\n`));
    expect(screen).toMatch(new RegExp(`authctl: no answer from ${origin} \\(3 tries in \\d+(\\.\\d)?s\\)\\n`));
    expect(await realm.count('POST')).toBe(3);
  });

  it('token get near expiry: one try, then the cached token with a warning naming `authctl token renew`', async () => {
    const { realm, env } = await setUp();
    const login = await runCli(['login'], { env });
    expect(login.code, login.stderr).toBe(0);
    const cached = (await runCli(['token', 'get'], { env })).stdout;
    await hangTokens(realm, 3);
    const before = await realm.count('POST');
    // An hour's token is within --min-ttl 2h: a renewal is due, and the cached token still works.
    const get = await runCli(['token', 'get', '--min-ttl', '2h', '--timeout', '1s'], { env });
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout).toBe(cached);
    expect(get.stderr).toMatch(
      new RegExp(`^warning: no answer from ${escape(new URL(realm.authUrl).origin)} \\(1 try in \\d+(\\.\\d)?s; no time left for another\\); serving the cached token, which expires in \\d+m; to renew it with every retry, run \`authctl token renew\`\\n$`),
    );
    expect(await realm.count('POST')).toBe(before + 1);
  });

  it('export, the same way', async () => {
    const { realm, env } = await setUp();
    expect((await runCli(['login'], { env })).code).toBe(0);
    await hangTokens(realm, 3);
    const before = await realm.count('POST');
    const exported = await runCli(['export', '--min-ttl', '2h', '--timeout', '1s'], { env });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/^export \w+='/);
    expect(exported.stderr).toMatch(/serving the cached token, which expires in \d+m; to renew it with every retry, run `authctl token renew`\n$/);
    expect(await realm.count('POST')).toBe(before + 1);
  });

  it('an expired token gets every try: exit 5', async () => {
    const { realm, env } = await setUp({ tokenTtlSeconds: 1 });
    expect((await runCli(['login'], { env })).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await hangTokens(realm, 3);
    const before = await realm.count('POST');
    const get = await runCli(['token', 'get', '--timeout', '1s'], { env });
    expect(get.code).toBe(5);
    expect(get.stdout).toBe('');
    expect(await realm.count('POST')).toBe(before + 3);
  });

  it('token check against a hung IAM: exit 5 after its tries, and the token is kept', async () => {
    const { realm, env } = await setUp();
    expect((await runCli(['login'], { env })).code).toBe(0);
    await realm.fault({ method: 'GET', path: '/v3/auth/tokens', hang: true, times: 3 });
    const check = await runCli(['token', 'check', '--timeout', '1s'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(check.code).toBe(5);
    expect(check.stderr).toMatch(/\(3 tries in \d+(\.\d)?s\)\n/);
    expect(await realm.count('GET')).toBe(3);
    expect((await runCli(['token', 'check', '--offline'], { env })).code).toBe(0);
  });

  it('--debug on the cached path: where the token came from and how long it has left', async () => {
    const { realm, env } = await setUp();
    expect((await runCli(['login'], { env })).code).toBe(0);
    const before = (await realm.requests()).length;
    const get = await runCli(['--debug', 'token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(get.code, get.stderr).toBe(0);
    expect(get.stderr).toMatch(
      new RegExp(`debug: profile default: serving the token cached in the file store \\(from ${escape(realm.authUrl)}, issued \\S+Z, expires \\S+Z\\): \\d+m left, more than --min-ttl 5m; IAM not asked\\n`),
    );
    expect((await realm.requests()).length).toBe(before);
  });
});


