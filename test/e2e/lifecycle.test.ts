/**
 * The whole token lifecycle end to end against the project's test IAM server: token check,
 * token renew, logout, client credentials, logintoken, and every documented error status.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm, type Realm } from '../helpers/realm.js';

const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'token lifecycle e2e (OS keychain)');

async function loggedIn(options: Parameters<typeof newRealm>[0] = {}, extraEnv: Record<string, string | undefined> = {}) {
  const realm = await newRealm(options);
  const env = isolatedEnv({ ...loginEnv(realm), ...extraEnv });
  const login = await runCli(['login'], { env });
  expect(login.code, login.stderr).toBe(0);
  const token = (await runCli(['token', 'get'], { env })).stdout.trim();
  const bare: Record<string, string | undefined> = { ...env, OS_PASSWORD: undefined };
  return { realm, env, token, bare };
}

async function headStatus(realm: Realm, caller: string, subject: string): Promise<number> {
  return (await fetch(`${realm.authUrl}/auth/tokens`, { method: 'HEAD', headers: { 'X-Auth-Token': caller, 'X-Subject-Token': subject } })).status;
}

describe.runIf(haveKeyring)('token check', () => {
  it('prints a valid token for a person to read, from a GET at IAM', async () => {
    const { realm, bare } = await loggedIn();
    const result = await runCli(['token', 'check'], { env: bare });
    expect(result.code).toBe(0);
    const { user, project, domain } = realm.fixtures;
    expect(result.stdout).toMatch(
      new RegExp(
        [
          '^valid: +yes',
          `user: +alice \\(domain Fiware\\), id ${user.id}`,
          'domain: +Fiware',
          `scope: +project /smartcity in domain Fiware, id ${project.id}`,
          'roles: +member',
          'issued_at: +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ',
          'expires_at: +\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ',
          'time left: +59m',
          'checked: +at IAM\n$',
        ].join('\n'),
      ),
    );
    expect(domain.name).toBe('Fiware');
    expect(result.stderr).toBe('');
    expect(await realm.count('GET')).toBe(1);
  });

  it('gives the same as JSON', async () => {
    const { realm, bare } = await loggedIn();
    const result = await runCli(['token', 'check', '--json'], { env: bare });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      valid: true,
      checked: 'iam',
      profile: 'default',
      user: { id: realm.fixtures.user.id, name: 'alice', domain: { name: 'Fiware' } },
      scope: { project: { id: realm.fixtures.project.id, name: '/smartcity' } },
      roles: ['member'],
      seconds_left: expect.any(Number) as number,
    });
  });

  it('--quiet sends HEAD and prints nothing: the exit code is the answer', async () => {
    const { realm, bare, token } = await loggedIn();
    const valid = await runCli(['token', 'check', '--quiet'], { env: bare });
    expect([valid.code, valid.stdout, valid.stderr]).toEqual([0, '', '']);
    expect(await realm.count('HEAD')).toBe(1);
    await realm.revoke(token);
    const revoked = await runCli(['token', 'check', '-q'], { env: bare });
    expect([revoked.code, revoked.stdout, revoked.stderr]).toEqual([3, '', '']);
  });

  it('a revoked or expired token: exit 3, and stdout says why', async () => {
    for (const spoil of ['revoke', 'expire'] as const) {
      const { realm, bare, token } = await loggedIn();
      await realm[spoil](token);
      const result = await runCli(['token', 'check'], { env: bare });
      expect(result.code).toBe(3);
      expect(result.stdout).toMatch(/^valid: +no \(revoked or expired at IAM \(401\)\)\n/);
      expect(result.stderr).toMatch(/^authctl: the token of profile default is revoked or expired at IAM \(401\), so it was removed from the cache\n/);
      // Dropped: nothing revoked is served afterwards.
      expect((await runCli(['token', 'get'], { env: bare })).code).toBe(3);
    }
  });

  it('--offline sends nothing and judges from the cached expiry', async () => {
    const { realm, bare, token } = await loggedIn({ tokenTtlSeconds: 2 });
    await realm.revoke(token); // IAM knows; the cache does not
    const before = (await realm.requests()).length;
    const valid = await runCli(['token', 'check', '--offline'], { env: bare });
    expect(valid.code).toBe(0);
    expect(valid.stdout).toMatch(/checked: +offline, from the cache/);
    await sleep(2100);
    const expired = await runCli(['token', 'check', '--offline', '--json'], { env: bare });
    expect(expired.code).toBe(3);
    expect(JSON.parse(expired.stdout)).toMatchObject({ valid: false, reason: 'expired', checked: 'offline' });
    expect((await realm.requests()).length).toBe(before);
  });

  it('--token-stdin checks another token with the profile token as caller', async () => {
    const { realm, bare, token } = await loggedIn();
    const own = await fetch(`${realm.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { id: realm.fixtures.user.id, password: realm.fixtures.user.password } } } } }),
    });
    const second = own.headers.get('x-subject-token')!;
    const ok = await runCli(['token', 'check', '--token-stdin'], { env: bare, input: `${second}\n` });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/scope: +unscoped/);
    const log = await realm.requests();
    expect(log.at(-1)!.headers).toMatchObject({ 'x-auth-token': token, 'x-subject-token': second });

    const garbage = await runCli(['token', 'check', '--token-stdin'], { env: bare, input: 'gAAAAAnonsense' });
    expect(garbage.code).toBe(3);
    expect(garbage.stdout).toMatch(/^valid: +no \(IAM does not accept it \(404: Could not find token/);
  });

  it("a member checking the admin's token: 403, exit 4", async () => {
    const { realm, bare } = await loggedIn();
    const adminLogin = await fetch(`${realm.authUrl}/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { id: realm.fixtures.admin.id, password: realm.fixtures.admin.password } } }, scope: { project: { name: 'admin', domain: { name: 'Default' } } } } }),
    });
    const adminToken = adminLogin.headers.get('x-subject-token')!;
    const result = await runCli(['token', 'check', '--token-stdin'], { env: bare, input: adminToken });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^authctl: checking the token at .* was rejected \(403\): You are not authorized/);
    expect(result.stdout).toBe('');
  });

  it('IAM failing or down: exit 5', async () => {
    const { realm, bare } = await loggedIn();
    await realm.fault({ method: 'GET', path: '/v3/auth/tokens', status: 503, body: '{"error": {"message": "maintenance"}}', times: 2 });
    const failing = await runCli(['token', 'check'], { env: { ...bare, AUTHCTL_RETRIES: '2' } });
    expect(failing.code).toBe(5);
    expect(failing.stderr).toMatch(/^authctl: checking the token at .* failed: IAM answered 503: maintenance\n/);
    expect(await realm.count('GET')).toBe(2);
  });
});

describe.runIf(haveKeyring)('token renew', () => {
  it('by password: a new token with a full lifetime', async () => {
    const { realm, env, token } = await loggedIn({ tokenTtlSeconds: 600 });
    await sleep(1100);
    const before = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { expires_at: string };
    const result = await runCli(['token', 'renew'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Renewed at .* as alice \(domain Fiware\), project \/smartcity in domain Fiware \[profile default\], until /);
    const after = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { token: string; expires_at: string };
    expect(after.token).not.toBe(token);
    expect(Date.parse(after.expires_at)).toBeGreaterThan(Date.parse(before.expires_at));
    const body = JSON.parse((await realm.requests()).filter((r) => r.method === 'POST').at(-1)!.body) as { auth: { identity: { methods: string[] } } };
    expect(body.auth.identity.methods).toEqual(['password']);
  });

  it('without a password: from the current token, and says the expiry did not move', async () => {
    const { realm, bare, token } = await loggedIn();
    const before = JSON.parse((await runCli(['token', 'get', '--json'], { env: bare })).stdout) as { expires_at: string };
    const result = await runCli(['token', 'renew'], { env: bare });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`warning: renewed from the current token, so the expiry did not move (still ${before.expires_at}): Keystone never extends a token's lifetime`);
    const after = JSON.parse((await runCli(['token', 'get', '--json'], { env: bare })).stdout) as { token: string; expires_at: string };
    expect(after.token).not.toBe(token);
    expect(after.expires_at).toBe(before.expires_at);
    const request = (await realm.requests()).filter((r) => r.method === 'POST').at(-1)!;
    expect(request.headers['x-auth-token']).toBe(token);
    expect(JSON.parse(request.body)).toEqual({ auth: { identity: { methods: ['token'], token: { id: token } }, scope: { project: { name: '/smartcity', domain: { name: 'Fiware' } } } } });
  });

  it('rescopes on the way and the profile remembers the new scope', async () => {
    const { realm, bare } = await loggedIn();
    const result = await runCli(['token', 'renew', '--domain', 'Fiware'], { env: bare });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('domain Fiware');
    const config = JSON.parse(readFileSync(join(bare.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8')) as { profiles: { default: Record<string, unknown> } };
    expect(config.profiles.default).toMatchObject({ domain: 'Fiware' });
    expect(config.profiles.default).not.toHaveProperty('project');
    const posts = await realm.count('POST');
    const get = await runCli(['token', 'get', '--json'], { env: { ...bare, OS_PROJECT_NAME: undefined } });
    expect(JSON.parse(get.stdout)).toMatchObject({ scope: { domain: { name: 'Fiware' } } });
    expect(await realm.count('POST')).toBe(posts);
  });

  it('rescoping to a project without a role: exit 4, the old token kept', async () => {
    const { realm, env, token } = await loggedIn();
    const result = await runCli(['token', 'renew', '--project-id', realm.fixtures.otherProject.id], { env });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/was rejected \(401\)/);
    expect((await runCli(['token', 'get'], { env })).stdout.trim()).toBe(token);
  });

  it('with neither a password nor a token: exit 3', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), OS_PASSWORD: undefined });
    const result = await runCli(['token', 'renew'], { env });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^authctl: no password and no current token to renew profile default from\n/);
  });
});

describe.runIf(haveKeyring)('logout', () => {
  it('revokes the token at IAM and removes the profile secrets', async () => {
    const { realm, bare, token } = await loggedIn({}, {});
    await runCli(['login', '--save-password'], { env: { ...bare, OS_PASSWORD: realm.fixtures.user.password } });
    const current = (await runCli(['token', 'get'], { env: bare })).stdout.trim();
    expect(current).not.toBe(token);
    const result = await runCli(['logout'], { env: bare });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('Logged out of profile default: token revoked at IAM, secrets removed from the keychain\n');
    expect(await realm.count('DELETE')).toBe(1);
    expect(await headStatus(realm, current, current)).toBe(401);
    // The saved password went too: nothing can renew silently now.
    const get = await runCli(['token', 'get'], { env: bare });
    expect(get.code).toBe(3);
    expect(get.stderr).toContain('no token is cached for profile default');
  });

  it('removes the local copy even when IAM cannot be reached, then exits 5', async () => {
    const { realm, bare } = await loggedIn();
    await realm.fault({ method: 'DELETE', path: '/v3/auth/tokens', status: 503, times: 5 });
    const result = await runCli(['logout'], { env: { ...bare, AUTHCTL_RETRIES: '1' } });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^warning: profile default: could not revoke the token at IAM: /);
    expect(result.stderr).toMatch(/authctl: the token of profile default could not be revoked \(IAM unreachable\); it stays valid at IAM until it expires\n/);
    expect((await runCli(['token', 'get'], { env: bare })).code).toBe(3);
  });

  it('--all logs out of every profile; a single logout leaves the others alone', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    for (const profile of ['a', 'b', 'c']) expect((await runCli(['login', '--profile', profile], { env })).code).toBe(0);
    const bare = { ...env, OS_PASSWORD: undefined };
    expect((await runCli(['logout', '--profile', 'a'], { env: bare })).code).toBe(0);
    expect((await runCli(['token', 'get', '--profile', 'a'], { env: bare })).code).toBe(3);
    expect((await runCli(['token', 'get', '--profile', 'b'], { env: bare })).code).toBe(0);
    const all = await runCli(['logout', '--all'], { env: bare });
    expect(all.code).toBe(0);
    expect(all.stderr).toBe(
      'profile a was not logged in\nLogged out of profile b: token revoked at IAM, secrets removed from the keychain\nLogged out of profile c: token revoked at IAM, secrets removed from the keychain\n',
    );
    expect((await runCli(['token', 'get', '--profile', 'c'], { env: bare })).code).toBe(3);
  });
});

describe.runIf(haveKeyring)('client credentials', () => {
  it('logs in with the secret from the environment and serves the cached token', async () => {
    const realm = await newRealm({ clientTokenTtlSeconds: 1800 });
    const { client } = realm.fixtures;
    const env = isolatedEnv({ AUTHCTL_CLIENT_SECRET: client.secret });
    const login = await runCli(['login', '--client-id', client.id, '--auth-url', realm.base], { env });
    expect(login.stderr).toMatch(new RegExp(`^Logged in to ${realm.tokenUrl} as client ${client.id} \\[profile default\\], until .* \\(29m\\)\n$`));
    expect(login.code).toBe(0);
    const request = (await realm.requests())[0]!;
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(request.body))).toEqual({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret });

    const bare = { ...env, AUTHCTL_CLIENT_SECRET: undefined };
    const first = await runCli(['token', 'get'], { env: bare });
    const exported = await runCli(['export'], { env: bare });
    expect(first.code).toBe(0);
    expect(exported.stdout).toBe(`export Token='${first.stdout.trim()}'\n`);
    expect(await realm.count('POST', '/api/v2/tenant/token')).toBe(1);
  });

  it('reads the secret from stdin, saves it with --save-secret, and renews with it', async () => {
    const realm = await newRealm();
    const { client } = realm.fixtures;
    const env = isolatedEnv();
    const login = await runCli(['login', '--client-id', client.id, '--token-url', realm.tokenUrl, '--client-secret-stdin', '--save-secret'], { env, input: client.secret });
    expect(login.code).toBe(0);
    const before = (await runCli(['token', 'get'], { env })).stdout;
    const renew = await runCli(['token', 'renew'], { env });
    expect(renew.code).toBe(0);
    const after = (await runCli(['token', 'get'], { env })).stdout;
    expect(after).not.toBe(before);
    expect(await realm.count('POST', '/api/v2/tenant/token')).toBe(2);
    const logout = await runCli(['logout'], { env });
    expect(logout.stderr).toBe('Logged out of profile default: OAuth2 client credentials tokens cannot be revoked, so it was only forgotten, secrets removed from the keychain\n');
    expect((await runCli(['token', 'get'], { env })).code).toBe(3);
  });

  it('a rejected client: exit 4 with the server message', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ AUTHCTL_CLIENT_SECRET: 'wrong-secret' });
    const result = await runCli(['login', '--client-id', realm.fixtures.client.id, '--token-url', realm.tokenUrl], { env });
    expect(result.code).toBe(4);
    expect(result.stderr).toBe(
      `authctl: client-credentials login to ${realm.tokenUrl} was rejected (400): Incorrect app authentication information: client_id or client_secret is wrong (APIG.0301)\nhint: check the client id and secret (--client-id, AUTHCTL_CLIENT_SECRET)\n`,
    );
    expect(result.stderr).not.toContain('wrong-secret');
  });

  it('reads RFC 6749 errors too', async () => {
    const realm = await newRealm();
    await realm.fault({ path: '/api/v2/tenant/token', status: 401, body: JSON.stringify({ error: 'invalid_client', error_description: 'client authentication failed' }) });
    const result = await runCli(['login', '--client-id', 'x', '--token-url', realm.tokenUrl], { env: isolatedEnv({ AUTHCTL_CLIENT_SECRET: 'nope' }) });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/was rejected \(401\): invalid_client: client authentication failed \(the secret was sent in the form body\)\n/);
  });

  it('token check needs --offline for a client-credentials profile', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ AUTHCTL_CLIENT_SECRET: realm.fixtures.client.secret });
    await runCli(['login', '--client-id', realm.fixtures.client.id, '--token-url', realm.tokenUrl], { env });
    const online = await runCli(['token', 'check'], { env });
    expect(online.code).toBe(2);
    expect(online.stderr).toMatch(/uses OAuth2 client credentials, which have no validation endpoint/);
    const offline = await runCli(['token', 'check', '--offline'], { env });
    expect(offline.code).toBe(0);
    expect(offline.stdout).toMatch(/^valid: +yes/);
  });
});

describe.runIf(haveKeyring)('logintoken', () => {
  it('makes a login token from an access key, secret key and security token', async () => {
    const realm = await newRealm();
    const { accessKey } = realm.fixtures;
    const env = isolatedEnv({ OS_AUTH_URL: realm.authUrl, AUTHCTL_ACCESS_KEY: accessKey.access, AUTHCTL_SECRET_KEY: accessKey.secret, AUTHCTL_SECURITY_TOKEN: accessKey.securityToken });
    const result = await runCli(['logintoken', '--duration', '30m'], { env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^lt[\w-]+\n$/);
    expect(result.stderr).toMatch(/^Login token for alice \(domain id \w+\), valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
    const request = (await realm.requests()).at(-1)!;
    expect(request.path).toBe('/v3.0/OS-AUTH/securitytoken/logintokens');
    expect(request.headers['content-type']).toBe('application/json;charset=utf8');
    expect(JSON.parse(request.body)).toEqual({ auth: { securitytoken: { access: accessKey.access, secret: accessKey.secret, id: accessKey.securityToken, duration_seconds: 1800 } } });
    expect(result.stderr).not.toContain(accessKey.secret);
  });

  it("reads the Huawei SDK's variable names and the secret key from stdin; --json adds the logintoken object", async () => {
    const realm = await newRealm();
    const { accessKey } = realm.fixtures;
    const env = isolatedEnv({ OS_AUTH_URL: realm.authUrl, HUAWEICLOUD_SDK_AK: accessKey.access, HUAWEICLOUD_SDK_SECURITY_TOKEN: accessKey.securityToken });
    const result = await runCli(['logintoken', '--secret-key-stdin', '--json'], { env, input: `${accessKey.secret}\n` });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { token: string; logintoken: Record<string, unknown> };
    expect(json.token).toMatch(/^lt/);
    expect(json.logintoken).toMatchObject({ user_name: 'alice', method: 'token', domain_id: realm.fixtures.domain.id });
  });

  it('without an access key, buys a temporary one with the profile user token first', async () => {
    const { realm, bare, token } = await loggedIn();
    const result = await runCli(['logintoken'], { env: bare });
    expect(result.code).toBe(0);
    const [security, login] = (await realm.requests()).slice(-2);
    expect(security!.path).toBe('/v3.0/OS-CREDENTIAL/securitytokens');
    expect(security!.headers['x-auth-token']).toBe(token);
    expect(JSON.parse(security!.body)).toEqual({ auth: { identity: { methods: ['token'], token: { id: token, duration_seconds: 900 } } } });
    expect(login!.path).toBe('/v3.0/OS-AUTH/securitytoken/logintokens');
    expect(JSON.parse(login!.body)).toMatchObject({ auth: { securitytoken: { duration_seconds: 600 } } });
  });

  it.each(['5m', '599', '12h1s', '43201', 'soon'])('refuses --duration %s before any request', async (duration) => {
    const realm = await newRealm();
    const { accessKey } = realm.fixtures;
    const env = isolatedEnv({ OS_AUTH_URL: realm.authUrl, AUTHCTL_ACCESS_KEY: accessKey.access, AUTHCTL_SECRET_KEY: accessKey.secret, AUTHCTL_SECURITY_TOKEN: accessKey.securityToken });
    const result = await runCli(['logintoken', '--duration', duration], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`--duration "${duration}" is not between 600 seconds (10m) and 43200 seconds (12h)`);
    expect(await realm.requests()).toEqual([]);
  });

  it.each([
    [400, 2, 'was refused as malformed (400): bad request body'],
    [401, 4, 'was rejected (401): bad request body'],
    [403, 4, 'was rejected (403): bad request body'],
    [404, 4, 'failed: not found (404): bad request body'],
    [405, 2, 'failed: method not allowed (405): bad request body'],
    [413, 2, 'was refused as malformed (413): bad request body'],
    [500, 5, 'failed: IAM answered 500: bad request body'],
    [503, 5, 'failed: IAM answered 503: bad request body'],
  ])('IAM answering %i: exit %i and the server message', async (status, code, message) => {
    const realm = await newRealm();
    const { accessKey } = realm.fixtures;
    await realm.fault({ path: '/v3.0/OS-AUTH/securitytoken/logintokens', status, body: JSON.stringify({ error_code: 'IAM.0001', error_msg: 'bad request body' }), times: 3 });
    const env = isolatedEnv({ OS_AUTH_URL: realm.authUrl, AUTHCTL_ACCESS_KEY: accessKey.access, AUTHCTL_SECRET_KEY: accessKey.secret, AUTHCTL_SECURITY_TOKEN: accessKey.securityToken, AUTHCTL_RETRIES: '1' });
    const result = await runCli(['logintoken'], { env });
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`authctl: getting a login token from ${realm.base} ${message.replace('bad request body', 'bad request body (IAM.0001)')}\nhint: `);
  });
});

describe.runIf(haveKeyring)('login errors, status by status', () => {
  it.each([
    [400, 2, 'was refused as malformed (400)'],
    [401, 4, 'was rejected (401)'],
    [403, 4, 'was rejected (403)'],
    [404, 4, 'failed: not found (404)'],
    [405, 2, 'failed: method not allowed (405)'],
    [413, 2, 'was refused as malformed (413)'],
    [500, 5, 'failed: IAM answered 500'],
    [503, 5, 'failed: IAM answered 503'],
  ])('IAM answering %i: exit %i', async (status, code, message) => {
    const realm = await newRealm();
    await realm.fault({ method: 'POST', path: '/v3/auth/tokens', status, body: JSON.stringify({ error: { code: status, title: 'T', message: 'the server says no' } }), times: 3 });
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_RETRIES: '1' });
    const result = await runCli(['login'], { env });
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(new RegExp(`^authctl: login to ${realm.authUrl.replace(/[.]/g, '\\.')} ${message.replace(/[()]/g, '\\$&')}: the server says no\nhint: .+\n$`));
  });
});
