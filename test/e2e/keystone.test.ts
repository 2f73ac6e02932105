/**
 * authctl against a real OpenStack Keystone (Debian's python3-keystone) and the real OpenStack
 * client: implementations nobody here wrote. Two Keystones start once for this file: one with
 * the usual token lifetime, one whose tokens expire after 5 seconds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminToken, keystoneMissing, startKeystone, type KeystoneHarness } from '../harness/keystone.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { totp } from '../helpers/totp.js';

const keyring = inject('keyring');
const ready =
  requireOrSkip(keystoneMissing(), 'Keystone interop') && requireOrSkip(keyring.ok ? undefined : keyring.reason, 'Keystone interop (OS keychain)');

let keystone: KeystoneHarness;
let shortLived: KeystoneHarness;

/** A plain PATH: Debian's python3 and openstack, not a pyenv shim. */
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

function memberEnv(ks: KeystoneHarness, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const { member } = ks.fixtures;
  return isolatedEnv({
    OS_AUTH_URL: ks.url,
    OS_USERNAME: member.name,
    OS_USER_DOMAIN_NAME: member.domainName,
    OS_PASSWORD: member.password,
    ...extra,
  });
}

async function tokenOf(env: Record<string, string | undefined>): Promise<string> {
  const result = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim();
}


/** What Keystone itself says of a token, asked by the admin. */
async function keystoneHead(ks: KeystoneHarness, subject: string): Promise<number> {
  return (await fetch(`${ks.url}/auth/tokens`, { method: 'HEAD', headers: { 'X-Auth-Token': await adminToken(ks), 'X-Subject-Token': subject } })).status;
}

describe.runIf(ready)('a real Keystone', () => {
  beforeAll(async () => {
    const [normal, short] = await Promise.all([startKeystone(), startKeystone({ tokenExpirationSeconds: 5 })]);
    if (!normal.ok) throw new Error(normal.reason);
    if (!short.ok) throw new Error(short.reason);
    keystone = normal.keystone;
    shortLived = short.keystone;
  }, 180_000);

  afterAll(async () => {
    await Promise.all([keystone?.stop(), shortLived?.stop()]);
  });

  describe('password login', () => {
    it.each([
      ['project id', () => ['--project-id', keystone.fixtures.project.id], (body: Record<string, unknown>) => expect(body.scope).toMatchObject({ project: { id: keystone.fixtures.project.id } })],
      ['project name and domain', () => ['--project', '/smartcity', '--project-domain', 'Fiware'], (body: Record<string, unknown>) => expect(body.scope).toMatchObject({ project: { name: '/smartcity', domain: { name: 'Fiware' } } })],
      ['domain', () => ['--domain', 'Fiware'], (body: Record<string, unknown>) => expect(body.scope).toMatchObject({ domain: { name: 'Fiware' } })],
      ['nothing (unscoped)', () => ['--unscoped'], (body: Record<string, unknown>) => expect(body.scope).toBeNull()],
    ])('scoped by %s', async (_, args, check) => {
      const env = memberEnv(keystone);
      const login = await runCli(['login', ...args()], { env });
      expect(login.code, login.stderr).toBe(0);
      expect(login.stderr).toMatch(/^Logged in to http:\/\/127\.0\.0\.1:\d+\/v3 as smartcity-member \(domain Fiware\), /);
      const json = JSON.parse((await runCli(['token', 'get', '--json'], { env: { ...env, OS_PASSWORD: undefined } })).stdout) as Record<string, unknown>;
      check(json);
      expect(await keystoneHead(keystone, json.token as string)).toBe(200);
    });

    it('by user id', async () => {
      const env = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_USER_ID: keystone.fixtures.member.id, OS_PASSWORD: keystone.fixtures.member.password, OS_PROJECT_ID: keystone.fixtures.project.id });
      const login = await runCli(['login'], { env });
      expect(login.code, login.stderr).toBe(0);
      expect(login.stderr).toContain('project /smartcity in domain Fiware');
    });

    it("wrong password and unknown project: exit 4 with Keystone's message", async () => {
      for (const env of [memberEnv(keystone, { OS_PASSWORD: 'wrong', OS_PROJECT_NAME: '/smartcity' }), memberEnv(keystone, { OS_PROJECT_NAME: '/nowhere' })]) {
        const result = await runCli(['login'], { env });
        expect(result.code).toBe(4);
        expect(result.stderr).toMatch(/^authctl: login to http:\/\/127\.0\.0\.1:\d+\/v3 was rejected \(401\): The request you have made requires authentication\.\n/);
      }
    });
  });

  describe('the cached token', () => {
    it('token get and export serve it, and the exported token is one Keystone accepts', async () => {
      const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
      await runCli(['login'], { env });
      const bare = { ...env, OS_PASSWORD: undefined };
      const token = await tokenOf(bare);
      const exported = await runCli(['export'], { env: bare });
      const shell = spawnSync('sh', ['-c', 'eval "$(cat)"; printf %s "$Token"'], { input: exported.stdout, encoding: 'utf8' });
      expect(shell.stdout).toBe(token);
      const head = await fetch(`${keystone.url}/auth/tokens`, { method: 'HEAD', headers: { 'X-Auth-Token': shell.stdout, 'X-Subject-Token': shell.stdout } });
      expect(head.status).toBe(200);
    });
  });

  describe('token check', () => {
    it('valid: GET shows the details, HEAD and offline answer 0', async () => {
      const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
      await runCli(['login'], { env });
      const bare = { ...env, OS_PASSWORD: undefined };
      const get = await runCli(['token', 'check', '--json'], { env: bare });
      expect(get.code).toBe(0);
      expect(JSON.parse(get.stdout)).toMatchObject({
        valid: true,
        user: { name: 'smartcity-member', domain: { name: 'Fiware' } },
        scope: { project: { name: '/smartcity', id: keystone.fixtures.project.id } },
        roles: expect.arrayContaining(['member']) as string[],
      });
      expect((await runCli(['token', 'check', '--quiet'], { env: bare })).code).toBe(0);
      expect((await runCli(['token', 'check', '--offline'], { env: bare })).code).toBe(0);
    });

    it('revoked: exit 3 from GET and HEAD', async () => {
      const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
      await runCli(['login'], { env });
      const bare = { ...env, OS_PASSWORD: undefined };
      const token = await tokenOf(bare);
      const admin = await adminToken(keystone);
      expect((await fetch(`${keystone.url}/auth/tokens`, { method: 'DELETE', headers: { 'X-Auth-Token': admin, 'X-Subject-Token': token } })).status).toBe(204);
      const get = await runCli(['token', 'check'], { env: bare });
      expect(get.code).toBe(3);
      expect(get.stdout).toMatch(/^valid: +no \(revoked or expired at IAM \(401\)\)/);
      expect(get.stderr).toMatch(/^authctl: the token of profile default is revoked or expired at IAM \(401\), so it was removed from the cache\nhint: run `authctl login`\n$/);
      expect((await runCli(['token', 'check', '-q'], { env: bare })).code).toBe(3);
    });

    it('expired (5 s tokens): exit 3 from GET, HEAD and offline', async () => {
      const env = memberEnv(shortLived, { OS_PROJECT_NAME: '/smartcity' });
      const login = await runCli(['login'], { env });
      expect(login.code, login.stderr).toBe(0);
      const bare = { ...env, OS_PASSWORD: undefined };
      await sleep(5500);
      // Offline first: asking IAM drops the expired token from the cache.
      const offline = await runCli(['token', 'check', '--offline', '--json'], { env: bare });
      expect(offline.code).toBe(3);
      expect(JSON.parse(offline.stdout)).toMatchObject({ valid: false, reason: 'expired' });
      expect((await runCli(['token', 'check', '--quiet'], { env: bare })).code).toBe(3);
      expect((await runCli(['token', 'check'], { env: bare })).code).toBe(3);
    });

    it("a member checking the admin's token: 403, exit 4", async () => {
      const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
      await runCli(['login'], { env });
      const result = await runCli(['token', 'check', '--token-stdin'], { env: { ...env, OS_PASSWORD: undefined }, input: await adminToken(keystone) });
      expect(result.code).toBe(4);
      expect(result.stderr).toContain('was rejected (403): You are not authorized to perform the requested action: identity:validate_token.');
    });
  });

  describe('token renew', () => {
    it('by password: a new token with a later expiry', async () => {
      const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
      await runCli(['login'], { env });
      const before = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { token: string; expires_at: string };
      await sleep(1100); // Keystone's expires_at has one-second steps
      const renew = await runCli(['token', 'renew'], { env });
      expect(renew.code, renew.stderr).toBe(0);
      const after = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { token: string; expires_at: string };
      expect(after.token).not.toBe(before.token);
      expect(Date.parse(after.expires_at)).toBeGreaterThan(Date.parse(before.expires_at));
    });

    it('by token method: the same expiry, and authctl says so', async () => {
      const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
      await runCli(['login'], { env });
      const bare = { ...env, OS_PASSWORD: undefined };
      const before = JSON.parse((await runCli(['token', 'get', '--json'], { env: bare })).stdout) as { token: string; expires_at: string };
      const renew = await runCli(['token', 'renew'], { env: bare });
      expect(renew.code, renew.stderr).toBe(0);
      expect(renew.stderr).toContain('the expiry did not move');
      const after = JSON.parse((await runCli(['token', 'get', '--json'], { env: bare })).stdout) as { token: string; expires_at: string };
      expect(after.token).not.toBe(before.token);
      expect(after.expires_at).toBe(before.expires_at);
      expect(await keystoneHead(keystone, after.token)).toBe(200);
    });

    it('rescoping to a project without a role: exit 4', async () => {
      const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
      await runCli(['login'], { env });
      const bare = { ...env, OS_PASSWORD: undefined };
      const result = await runCli(['token', 'renew', '--project-id', keystone.fixtures.otherProject.id], { env: bare });
      expect(result.code).toBe(4);
      expect(result.stderr).toContain('was rejected (401): The request you have made requires authentication.');
    });
  });

  it('logout revokes: Keystone answers 404 for the token afterwards', async () => {
    const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
    await runCli(['login'], { env });
    const token = await tokenOf(env);
    expect(await keystoneHead(keystone, token)).toBe(200);
    const logout = await runCli(['logout'], { env });
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stderr).toContain('token revoked at IAM');
    expect(await keystoneHead(keystone, token)).toBe(404);
  });

  // The OpenStack client (Python) takes 2 s to start on an idle machine and 5-10 s in CI's full run,
  // and these tests start it two or three times: 23 s of the 30 s default in one CI run.
  describe('the OpenStack client, from authctl output alone', { timeout: 120_000 }, () => {
    function openstack(args: string[], env: Record<string, string | undefined>) {
      return spawnSync('openstack', args, { env: { ...env, PATH: SYSTEM_PATH } as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 60_000 });
    }

    it('eval "$(authctl export --openstack)" is enough for `openstack token issue` and a project read', async () => {
      const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
      await runCli(['login'], { env });
      const exported = await runCli(['export', '--openstack'], { env: { ...env, OS_PASSWORD: undefined } });
      expect(exported.code).toBe(0);
      // A clean environment holding only what authctl printed: no password, no user name.
      const script = `eval "$1"; openstack token issue -f value -c project_id && openstack project show -f value -c name "$OS_PROJECT_ID"`;
      const home = mkdtempSync(join(tmpdir(), 'authctl-osc-'));
      const result = spawnSync('sh', ['-c', script, 'sh', exported.stdout], { env: { PATH: SYSTEM_PATH, HOME: home }, encoding: 'utf8', timeout: 60_000 });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${keystone.fixtures.project.id}\n/smartcity\n`);
    });

    it('authctl exec --openstack -- openstack ... works the same', async () => {
      const env = memberEnv(keystone, { OS_PROJECT_NAME: '/smartcity' });
      await runCli(['login'], { env });
      const home = mkdtempSync(join(tmpdir(), 'authctl-osc-'));
      const clean = { PATH: SYSTEM_PATH, HOME: home, AUTHCTL_CONFIG_DIR: env.AUTHCTL_CONFIG_DIR, DBUS_SESSION_BUS_ADDRESS: env.DBUS_SESSION_BUS_ADDRESS };
      const result = await runCli(['exec', '--openstack', '--', 'openstack', 'project', 'show', '-f', 'value', '-c', 'name', keystone.fixtures.project.id], { env: clean, timeoutMs: 60_000 });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe('/smartcity\n');
      expect(openstack(['--version'], clean).status).toBe(0);
    });
  });
  describe('every way the OpenStack client signs in', { timeout: 120_000 }, () => {
    const osc = (script: string, exported: string) => {
      const home = mkdtempSync(join(tmpdir(), 'authctl-osc-'));
      return spawnSync('sh', ['-c', `eval "$1"; ${script}`, 'sh', exported], { env: { PATH: SYSTEM_PATH, HOME: home }, encoding: 'utf8', timeout: 60_000 });
    };

    it('application credential by id, from OS_* alone: the credential scope, renewal by secret, and the OpenStack client from export --openstack', async () => {
      const { appCredential } = keystone.fixtures;
      const env = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_AUTH_TYPE: 'v3applicationcredential', OS_APPLICATION_CREDENTIAL_ID: appCredential.id, OS_APPLICATION_CREDENTIAL_SECRET: appCredential.secret });
      const login = await runCli(['login'], { env });
      expect(login.code, login.stderr).toBe(0);
      expect(login.stderr).toMatch(/^Logged in to http:\/\/127\.0\.0\.1:\d+\/v3 as smartcity-member \(domain Fiware\) via application credential \w+, project \/smartcity in domain Fiware /);
      const json = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { token: string; scope: unknown };
      expect(json.scope).toMatchObject({ project: { id: keystone.fixtures.project.id } });
      expect(await keystoneHead(keystone, json.token)).toBe(200);
      // Keystone refuses the token method for it: renewal without the secret says what is needed.
      const renew = await runCli(['token', 'renew'], { env: { ...env, OS_APPLICATION_CREDENTIAL_SECRET: undefined } });
      expect(renew.code).toBe(3);
      expect(renew.stderr).toMatch(/^authctl: no application credential secret to renew profile default with\n/);
      const exported = await runCli(['export', '--openstack'], { env });
      expect(exported.code, exported.stderr).toBe(0);
      const result = osc('openstack token issue -f value -c project_id', exported.stdout);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`${keystone.fixtures.project.id}\n`);
    });

    it('application credential by name with its user; a scope alongside is exit 2; a deleted one is exit 4; a wrong secret is exit 4', async () => {
      const { appCredential, deletedAppCredential } = keystone.fixtures;
      const byName = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_APPLICATION_CREDENTIAL_NAME: appCredential.name, OS_USERNAME: appCredential.userName, OS_USER_DOMAIN_NAME: appCredential.userDomain, OS_APPLICATION_CREDENTIAL_SECRET: appCredential.secret });
      expect((await runCli(['login'], { env: byName })).code).toBe(0);
      const scoped = await runCli(['login', '--project', '/smartcity'], { env: byName });
      expect(scoped.code).toBe(2);
      expect(scoped.stderr).toMatch(/carries its own scope/);
      const deleted = await runCli(['login'], { env: isolatedEnv({ OS_AUTH_URL: keystone.url, OS_APPLICATION_CREDENTIAL_ID: deletedAppCredential.id, OS_APPLICATION_CREDENTIAL_SECRET: deletedAppCredential.secret }) });
      expect(deleted.code).toBe(4);
      const wrong = await runCli(['login'], { env: isolatedEnv({ OS_AUTH_URL: keystone.url, OS_APPLICATION_CREDENTIAL_ID: appCredential.id, OS_APPLICATION_CREDENTIAL_SECRET: 'not-the-secret' }) });
      expect(wrong.code).toBe(4);
      expect(wrong.stderr).not.toContain('not-the-secret');
    });

    it('v3totp with a code computed from the credential', async () => {
      const { totpUser } = keystone.fixtures;
      const env = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_AUTH_TYPE: 'v3totp', OS_USERNAME: totpUser.name, OS_USER_DOMAIN_NAME: totpUser.domain, OS_PROJECT_NAME: '/smartcity', OS_PASSCODE: totp(totpUser.totpSecret) });
      const login = await runCli(['login'], { env });
      expect(login.code, login.stderr).toBe(0);
      const json = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { token: string };
      expect(await keystoneHead(keystone, json.token)).toBe(200);
      const exported = await runCli(['export', '--openstack'], { env: { ...env, OS_PASSCODE: undefined } });
      const result = osc('openstack token issue -f value -c project_id', exported.stdout);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`${keystone.fixtures.project.id}\n`);
    });

    it('a user with multi-factor rules: the receipt is answered with AUTHCTL_PASSCODE_COMMAND; without a way to give a code, exit 4 saying so', async () => {
      const { mfaUser } = keystone.fixtures;
      const base = { OS_AUTH_URL: keystone.url, OS_USERNAME: mfaUser.name, OS_USER_DOMAIN_NAME: mfaUser.domain, OS_PROJECT_NAME: '/smartcity', OS_PASSWORD: mfaUser.password };
      const none = await runCli(['login'], { env: isolatedEnv(base) });
      expect(none.code).toBe(4);
      expect(none.stderr).toMatch(/requires a second factor \(a TOTP passcode\)\nhint: give the passcode in OS_PASSCODE, or a command that prints it in AUTHCTL_PASSCODE_COMMAND/);
      const command = `printf %s ${totp(mfaUser.totpSecret)}`;
      const env = isolatedEnv({ ...base, AUTHCTL_PASSCODE_COMMAND: command });
      const login = await runCli(['login'], { env });
      expect(login.code, login.stderr).toBe(0);
      const json = JSON.parse((await runCli(['token', 'check', '--json'], { env })).stdout) as { valid: boolean };
      expect(json.valid).toBe(true);
      const wrong = await runCli(['login'], { env: isolatedEnv({ ...base, OS_PASSCODE: '000000' }) });
      expect(wrong.code).toBe(4);
      expect(wrong.stderr).toMatch(/the passcode was refused/);
    });

    it('v3multifactor: password and passcode in one request', async () => {
      const { mfaUser } = keystone.fixtures;
      const env = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_AUTH_TYPE: 'v3multifactor', OS_AUTH_METHODS: 'v3password,v3totp', OS_USERNAME: mfaUser.name, OS_USER_DOMAIN_NAME: mfaUser.domain, OS_PROJECT_NAME: '/smartcity', OS_PASSWORD: mfaUser.password, OS_PASSCODE: totp(mfaUser.totpSecret) });
      const login = await runCli(['login'], { env });
      expect(login.code, login.stderr).toBe(0);
    });

    it('v3token: a new token rescoped from OS_TOKEN, which Keystone accepts', async () => {
      const unscoped = memberEnv(keystone, { OS_PROJECT_NAME: undefined });
      await runCli(['login', '--unscoped'], { env: unscoped });
      const source = await tokenOf(unscoped);
      const env = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_AUTH_TYPE: 'v3token', OS_TOKEN: source, OS_PROJECT_ID: keystone.fixtures.project.id });
      const login = await runCli(['login'], { env });
      expect(login.code, login.stderr).toBe(0);
      const json = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { token: string; scope: unknown };
      expect(json.token).not.toBe(source);
      expect(json.scope).toMatchObject({ project: { id: keystone.fixtures.project.id } });
      const exported = await runCli(['export', '--openstack'], { env: { ...env, OS_TOKEN: undefined, OS_AUTH_TYPE: undefined } });
      const result = osc('openstack token issue -f value -c project_id', exported.stdout);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(`${keystone.fixtures.project.id}\n`);
    });

    it('trust scope as the trustee, system scope as the admin', async () => {
      const { trust, admin } = keystone.fixtures;
      const trustee = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_USERNAME: trust.trusteeName, OS_USER_DOMAIN_NAME: trust.trusteeDomain, OS_PASSWORD: trust.trusteePassword, OS_TRUST_ID: trust.id });
      const login = await runCli(['login'], { env: trustee });
      expect(login.code, login.stderr).toBe(0);
      expect(JSON.parse((await runCli(['token', 'get', '--json'], { env: trustee })).stdout)).toMatchObject({ scope: { trust: { id: trust.id } } });
      const system = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_USERNAME: admin.name, OS_USER_DOMAIN_NAME: admin.domainName, OS_PASSWORD: admin.password, OS_SYSTEM_SCOPE: 'all' });
      expect((await runCli(['login'], { env: system })).code).toBe(0);
      expect(JSON.parse((await runCli(['token', 'get', '--json'], { env: system })).stdout)).toMatchObject({ scope: { system: { all: true } } });
    });

    it('the secret scan for the new kinds: no application credential secret, passcode or source token in any output or file, --debug included', async () => {
      const { appCredential, mfaUser } = keystone.fixtures;
      const unscoped = memberEnv(keystone, { OS_PROJECT_NAME: undefined });
      await runCli(['login', '--unscoped'], { env: unscoped });
      const source = await tokenOf(unscoped);
      const passcode = totp(mfaUser.totpSecret);
      const secrets = [appCredential.secret, mfaUser.password, passcode, source, 'not-the-secret-0123'];
      const debug = { AUTHCTL_DEBUG: '1' };
      const appEnv = isolatedEnv({ ...debug, OS_AUTH_URL: keystone.url, OS_APPLICATION_CREDENTIAL_ID: appCredential.id, OS_APPLICATION_CREDENTIAL_SECRET: appCredential.secret });
      const mfaEnv = isolatedEnv({ ...debug, OS_AUTH_URL: keystone.url, OS_USERNAME: mfaUser.name, OS_USER_DOMAIN_NAME: mfaUser.domain, OS_PROJECT_NAME: '/smartcity', OS_PASSWORD: mfaUser.password, OS_PASSCODE: passcode });
      const tokenEnv = isolatedEnv({ ...debug, OS_AUTH_URL: keystone.url, OS_AUTH_TYPE: 'v3token', OS_TOKEN: source, OS_PROJECT_ID: keystone.fixtures.project.id });
      const oauthEnv = isolatedEnv({ ...debug, OS_AUTH_URL: keystone.url, OS_AUTH_TYPE: 'v3oauth2clientcredential', OS_OAUTH2_CLIENT_ID: appCredential.id, OS_OAUTH2_CLIENT_SECRET: appCredential.secret });
      const runs: [string, Record<string, string | undefined>, string[]][] = [
        ['app credential login --save-secret', appEnv, ['login', '--save-secret']],
        ['app credential token check', appEnv, ['token', 'check']],
        ['app credential status --json', appEnv, ['status', '--json']],
        ['app credential, wrong secret', { ...appEnv, OS_APPLICATION_CREDENTIAL_SECRET: 'not-the-secret-0123' }, ['login']],
        ['mfa login (receipt, passcode)', mfaEnv, ['login']],
        ['mfa, wrong passcode', { ...mfaEnv, OS_PASSCODE: '000000' }, ['login']],
        ['v3token login', tokenEnv, ['login']],
        ['v3token token get --json', tokenEnv, ['token', 'get', '--json']],
        ['oauth2 token get', oauthEnv, ['token', 'get']],
      ];
      const { secretForms } = await import('../../src/io/redact.js');
      const forms = secrets.flatMap((secret) => secretForms(secret).filter((form) => form.length >= 6));
      const files = (dir: string): string[] => {
        try {
          return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? files(join(dir, entry.name)) : [readFileSync(join(dir, entry.name), 'utf8')]));
        } catch {
          return [];
        }
      };
      for (const [name, env, args] of runs) {
        const result = await runCli(args, { env });
        expect(result.stderr, name).toMatch(/debug: /);
        const seen = [result.stdout, result.stderr, ...files(env.HOME!)].join('\n');
        for (const form of forms) expect(seen.includes(form), `${name}: a secret in ${JSON.stringify(form.slice(0, 4))}...`).toBe(false);
      }
    });

    it("v3oauth2clientcredential: Keystone's /v3/OS-OAUTH2/token with the application credential, HTTP Basic", async () => {
      const { appCredential } = keystone.fixtures;
      const env = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_AUTH_TYPE: 'v3oauth2clientcredential', OS_OAUTH2_CLIENT_ID: appCredential.id, OS_OAUTH2_CLIENT_SECRET: appCredential.secret });
      const result = await runCli(['token', 'get'], { env });
      expect(result.code, result.stderr).toBe(0);
      expect(await keystoneHead(keystone, result.stdout.trim())).toBe(200);
      const post = await runCli(['login', '--client-id', appCredential.id, '--token-url', `${keystone.url}/OS-OAUTH2/token`, '--client-auth', 'post'], { env: isolatedEnv({ AUTHCTL_CLIENT_SECRET: appCredential.secret }) });
      expect(post.code).toBe(4);
      expect(post.stderr).toMatch(/invalid_client.*\(the secret was sent in the form body\)\nhint: .*--client-auth basic/);
    });
  });
});
