/**
 * authctl against a real OpenStack Keystone (Debian's python3-keystone) and the real OpenStack
 * client: implementations nobody here wrote. Two Keystones start once for this file: one with
 * the usual token lifetime, one whose tokens expire after 5 seconds.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { keystoneMissing, startKeystone, type KeystoneHarness } from '../harness/keystone.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';

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

async function adminToken(ks: KeystoneHarness): Promise<string> {
  const { admin } = ks.fixtures;
  const response = await fetch(`${ks.url}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: admin.name, domain: { name: admin.domainName }, password: admin.password } } },
        scope: { project: { name: admin.projectName, domain: { name: admin.domainName } } },
      },
    }),
  });
  expect(response.status).toBe(201);
  return response.headers.get('x-subject-token')!;
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
      expect(login.stderr).toMatch(/^Logged in to http:\/\/127\.0\.0\.1:\d+\/v3 as smartcity-member@Fiware, /);
      const json = JSON.parse((await runCli(['token', 'get', '--json'], { env: { ...env, OS_PASSWORD: undefined } })).stdout) as Record<string, unknown>;
      check(json);
      expect(await keystoneHead(keystone, json.token as string)).toBe(200);
    });

    it('by user id', async () => {
      const env = isolatedEnv({ OS_AUTH_URL: keystone.url, OS_USER_ID: keystone.fixtures.member.id, OS_PASSWORD: keystone.fixtures.member.password, OS_PROJECT_ID: keystone.fixtures.project.id });
      const login = await runCli(['login'], { env });
      expect(login.code, login.stderr).toBe(0);
      expect(login.stderr).toContain('project /smartcity in Fiware');
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
      expect(get.stdout).toMatch(/^valid: +no \(IAM does not accept it \(401/);
      expect((await runCli(['token', 'check', '-q'], { env: bare })).code).toBe(3);
    });

    it('expired (5 s tokens): exit 3 from GET, HEAD and offline', async () => {
      const env = memberEnv(shortLived, { OS_PROJECT_NAME: '/smartcity' });
      const login = await runCli(['login'], { env });
      expect(login.code, login.stderr).toBe(0);
      const bare = { ...env, OS_PASSWORD: undefined };
      await sleep(5500);
      expect((await runCli(['token', 'check'], { env: bare })).code).toBe(3);
      expect((await runCli(['token', 'check', '--quiet'], { env: bare })).code).toBe(3);
      const offline = await runCli(['token', 'check', '--offline', '--json'], { env: bare });
      expect(offline.code).toBe(3);
      expect(JSON.parse(offline.stdout)).toMatchObject({ valid: false, reason: 'expired' });
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

  describe('the OpenStack client, from authctl output alone', () => {
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
});
