/**
 * Open Telekom Cloud / Huawei Cloud IAM end to end: the real CLI against the test IAM server's
 * emulation of virtual MFA, agencies and temporary access keys (iam-api.md §6-§8), the keys
 * proven at IAM by a login token made from them, and handed to real shells.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm, type Realm } from '../helpers/realm.js';
import { totp } from '../helpers/totp.js';

const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'OTC/Huawei e2e (OS keychain)');

const KEYS_PATH = '/v3.0/OS-CREDENTIAL/securitytokens';

/** A passcode command as a person would set one up: a script that prints the current code of a secret. */
function passcodeCommand(home: string, secret: string): string {
  const script = join(home, 'totp.mjs');
  writeFileSync(
    script,
    `import { createHmac } from 'node:crypto';
const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
let bits = 0, value = 0; const key = [];
for (const c of process.argv[2]) { value = (value << 5) | A.indexOf(c); bits += 5; if (bits >= 8) { key.push((value >>> (bits - 8)) & 255); bits -= 8; } value &= (1 << bits) - 1; }
const counter = Buffer.alloc(8); counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
const mac = createHmac('sha1', Buffer.from(key)).update(counter).digest();
const o = mac[mac.length - 1] & 15;
console.log(String((mac.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, '0'));
`,
  );
  return `${process.execPath} ${script} ${secret}`;
}

describe.runIf(haveKeyring)('virtual MFA', () => {
  it('a protected user logs in with password and passcode in one request; renewals answer with the passcode command', async () => {
    const realm = await newRealm();
    const { mfaUser, project } = realm.fixtures;
    const env = isolatedEnv({ OS_AUTH_URL: realm.authUrl, OS_USER_ID: mfaUser.id, OS_PASSWORD: mfaUser.password, OS_PROJECT_ID: project.id });
    env.AUTHCTL_PASSCODE_COMMAND = passcodeCommand(env.HOME!, mfaUser.totpSecret);
    const login = await runCli(['login', '--save-password'], { env });
    expect(login.code, login.stderr).toBe(0);
    const posts = (await realm.requests()).filter((request) => request.path === '/v3/auth/tokens');
    expect(posts.map((request) => (JSON.parse(request.body) as { auth: { identity: { methods: string[] } } }).auth.identity.methods)).toEqual([['password'], ['password', 'totp']]);
    expect((JSON.parse(posts[1]!.body) as { auth: { identity: { totp: unknown } } }).auth.identity.totp).toEqual({ user: { id: mfaUser.id, passcode: expect.stringMatching(/^\d{6}$/) } });
    const renewed = await runCli(['token', 'renew'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(renewed.code, renewed.stderr).toBe(0);
  });

  it('a wrong passcode: exit 4 saying so; no passcode and no terminal: exit 4 naming the ways to give one', async () => {
    const realm = await newRealm();
    const { mfaUser } = realm.fixtures;
    const base = { OS_AUTH_URL: realm.authUrl, OS_USER_ID: mfaUser.id, OS_PASSWORD: mfaUser.password };
    const wrongCode = String((Number(totp(mfaUser.totpSecret)) + 500_000) % 1_000_000).padStart(6, '0');
    const wrong = await runCli(['login'], { env: isolatedEnv({ ...base, OS_PASSCODE: wrongCode }) });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/the passcode was wrong or from another time window/);
    expect(wrong.stderr).not.toContain(wrongCode);
    const none = await runCli(['login'], { env: isolatedEnv(base) });
    expect(none.code).toBe(4);
    expect(none.stderr).toMatch(/requires a second factor \(a TOTP passcode\)\nhint: .*OS_PASSCODE/);
  });

  it('a passcode command that hangs is stopped after 3 x --timeout with all it started, exit 2 saying so; nothing is stored', async () => {
    const realm = await newRealm();
    const { mfaUser, project } = realm.fixtures;
    const env = isolatedEnv({ OS_AUTH_URL: realm.authUrl, OS_USER_ID: mfaUser.id, OS_PASSWORD: mfaUser.password, OS_PROJECT_ID: project.id });
    const pidFile = join(env.HOME!, 'grandchild.pid');
    // The shell forks a child that outlives it unless its whole group is stopped.
    env.AUTHCTL_PASSCODE_COMMAND = `sleep 60 & echo $! > ${pidFile}; wait`;
    const started = Date.now();
    const result = await runCli(['--timeout', '1s', 'login'], { env });
    expect([result.code, result.stdout]).toEqual([2, '']);
    expect(result.stderr).toMatch(/^authctl: AUTHCTL_PASSCODE_COMMAND did not finish within 3s, so it was stopped\nhint: run it by hand/);
    expect(Date.now() - started).toBeLessThan(15_000);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    expect(grandchild).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Gone, or a zombie nobody reaps (a container's init may not): not running either way.
    const state = (() => {
      try {
        return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${grandchild}/status`, 'utf8'))?.[1];
      } catch {
        return 'gone';
      }
    })();
    expect(['gone', 'Z', 'X']).toContain(state);
    expect((await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined, AUTHCTL_PASSCODE_COMMAND: undefined } })).code).toBe(3);
  });

  it('a user by name that never logged in here: exit 2 asking for OS_USER_ID, after one request', async () => {
    const realm = await newRealm();
    const { mfaUser } = realm.fixtures;
    const env = isolatedEnv({ OS_AUTH_URL: realm.authUrl, OS_USERNAME: mfaUser.name, OS_USER_DOMAIN_NAME: mfaUser.domain, OS_PASSWORD: mfaUser.password, OS_PASSCODE: totp(mfaUser.totpSecret) });
    const result = await runCli(['login'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/needs the account's virtual MFA passcode \(IAM said: mfa totp code verify fail\).*\nhint: set OS_USER_ID/);
    expect(await realm.count('POST')).toBe(1);
  });
});

/** A source profile `me` for the realm's user (who holds Agent Operator), its password saved. */
async function withSource(realm: Realm, user = realm.fixtures.user, project = realm.fixtures.project.name) {
  const env = isolatedEnv();
  const login = await runCli(['--profile', 'me', 'login', '--save-password'], { env: { ...env, ...loginEnv(realm), OS_USERNAME: user.name, OS_USER_DOMAIN_NAME: user.domain, OS_PASSWORD: user.password, OS_PROJECT_NAME: project } });
  expect(login.code, login.stderr).toBe(0);
  return env;
}

function agencyArgs(realm: Realm, name = realm.fixtures.agency.name): string[] {
  const { agency } = realm.fixtures;
  return ['--profile', 'ops', 'login', '--agency', name, '--agency-domain', agency.domain.name, '--source-profile', 'me', '--project', agency.project.name];
}

describe.runIf(haveKeyring)('agencies', () => {
  it('assumes the agency with the source token; the agency token validates at IAM and profile show says which', async () => {
    const realm = await newRealm();
    const env = await withSource(realm);
    const login = await runCli(agencyArgs(realm), { env });
    expect(login.code, login.stderr).toBe(0);
    const { agency } = realm.fixtures;
    expect(login.stderr).toContain(`as agency ${agency.name} of domain ${agency.domain.name} (${agency.domain.name}/${agency.name}), via profile me, project ${agency.project.name} [profile ops]`);
    const check = await runCli(['--profile', 'ops', 'token', 'check'], { env });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain(`project ${agency.project.name}`);
    const show = await runCli(['profile', 'show', 'ops'], { env });
    expect(show.stdout).toContain(`agency ${agency.name} of domain ${agency.domain.name}, via profile me`);
  });

  it('renews from the source profile: a revoked source token is replaced with the saved password, then the agency token', async () => {
    const realm = await newRealm();
    const env = await withSource(realm);
    expect((await runCli(agencyArgs(realm), { env })).code).toBe(0);
    const sourceToken = (await runCli(['--profile', 'me', 'token', 'get'], { env })).stdout.trim();
    const agencyToken = (await runCli(['--profile', 'ops', 'token', 'get'], { env })).stdout.trim();
    await realm.revoke(sourceToken);
    await realm.expire(agencyToken);
    const renewed = await runCli(['--profile', 'ops', 'token', 'renew'], { env });
    expect(renewed.code, renewed.stderr).toBe(0);
    const fresh = (await runCli(['--profile', 'ops', 'token', 'get'], { env })).stdout.trim();
    expect(fresh).not.toBe(agencyToken);
    expect((await runCli(['--profile', 'me', 'token', 'get'], { env })).stdout.trim()).not.toBe(sourceToken);
  });

  it('an unknown agency (404) and a source user without Agent Operator (403): exit 4, nothing saved', async () => {
    const realm = await newRealm();
    const env = await withSource(realm);
    const unknown = await runCli(agencyArgs(realm, 'no-such-agency'), { env });
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('IAM knows no agency no-such-agency of domain');
    const adminEnv = await withSource(realm, realm.fixtures.admin, 'admin');
    const forbidden = await runCli(agencyArgs(realm), { env: adminEnv });
    expect(forbidden.code).toBe(4);
    expect(forbidden.stderr).toContain('hint: the user needs the Agent Operator role');
    expect((await runCli(['--profile', 'ops', 'token', 'get'], { env })).code).toBe(3);
  });
});

describe.runIf(haveKeyring)('temporary access keys', () => {
  it('credentials: keys IAM accepts (a login token is made from them), cached in the keychain, evaluated by a real shell', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    expect((await runCli(['login'], { env })).code).toBe(0);
    const printed = await runCli(['credentials', '--shell', 'json', '--aws'], { env });
    expect(printed.code, printed.stderr).toBe(0);
    const keys = JSON.parse(printed.stdout) as Record<string, string>;
    expect(keys.AWS_ACCESS_KEY_ID).toBe(keys.OS_ACCESS_KEY);
    expect(keys.HUAWEICLOUD_SDK_SECURITY_TOKEN).toBe(keys.OS_SECURITY_TOKEN);
    const loginToken = await runCli(['logintoken', '--access-key', keys.OS_ACCESS_KEY!], { env: { ...env, AUTHCTL_SECRET_KEY: keys.OS_SECRET_KEY, AUTHCTL_SECURITY_TOKEN: keys.OS_SECURITY_TOKEN } });
    expect(loginToken.code, loginToken.stderr).toBe(0);

    const shell = await runCli(['exec', '--aksk', '--', 'sh', '-c', 'printf "%s %s" "$OS_ACCESS_KEY" "$HUAWEICLOUD_SDK_SK"'], { env });
    expect(shell.stdout).toBe(`${keys.OS_ACCESS_KEY} ${keys.OS_SECRET_KEY}`);
    expect(await realm.count('POST', KEYS_PATH)).toBe(1);
  });

  it('agency keys: assume_role with the user token, accepted by IAM', async () => {
    const realm = await newRealm();
    const env = await withSource(realm);
    expect((await runCli(agencyArgs(realm), { env })).code).toBe(0);
    const printed = await runCli(['--profile', 'ops', 'credentials', '--shell', 'json', '--duration', '1h'], { env });
    expect(printed.code, printed.stderr).toBe(0);
    const request = (await realm.requests()).find((candidate) => candidate.path === KEYS_PATH)!;
    expect(JSON.parse(request.body)).toMatchObject({ auth: { identity: { methods: ['assume_role'], assume_role: { agency_name: realm.fixtures.agency.name, duration_seconds: 3600 } } } });
    const keys = JSON.parse(printed.stdout) as Record<string, string>;
    const loginToken = await runCli(['logintoken', '--access-key', keys.OS_ACCESS_KEY!, '--auth-url', realm.authUrl], { env: { ...env, AUTHCTL_SECRET_KEY: keys.OS_SECRET_KEY, AUTHCTL_SECURITY_TOKEN: keys.OS_SECURITY_TOKEN } });
    expect(loginToken.code, loginToken.stderr).toBe(0);
  });

  it('an answer missing a field: exit 5, nothing cached, the next run asks again; a bad duration sends nothing', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    expect((await runCli(['login'], { env })).code).toBe(0);
    await realm.fault({ method: 'POST', path: KEYS_PATH, status: 201, body: JSON.stringify({ credential: { access: 'AK1', secret: 'SK1', expires_at: '2030-01-01T00:00:00.000000Z' } }) });
    const broken = await runCli(['credentials'], { env });
    expect(broken.code).toBe(5);
    expect(broken.stderr).toContain('without a complete credential (missing securitytoken)');
    expect(broken.stdout).toBe('');
    expect((await runCli(['credentials'], { env })).code).toBe(0);
    expect(await realm.count('POST', KEYS_PATH)).toBe(2);
    const long = await runCli(['credentials', '--duration', '2d'], { env });
    expect(long.code).toBe(2);
    expect(await realm.count('POST', KEYS_PATH)).toBe(2);
  });
});
