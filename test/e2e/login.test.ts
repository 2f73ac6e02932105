/**
 * The foundation end to end: the built CLI, spawned, against the project's test IAM server, storing
 * into a real Secret Service (gnome-keyring on a private D-Bus session).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { privateKeyring } from '../helpers/private-keyring.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'login e2e (OS keychain)');

describe.runIf(haveKeyring)('login, token get and export through the OS keychain', () => {
  it('logs in from OS_* variables, keeps stdout empty and says who, what and until when on stderr', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    const login = await runCli(['login'], { env });
    expect(login.stderr).toMatch(/^Logged in to http:\/\/127\.0\.0\.1:\d+\/r\/\w+\/v3 as alice \(domain Fiware\), project \/smartcity in domain Fiware \[profile default\], until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(59m\)\n$/);
    expect(login.code).toBe(0);
    expect(login.stdout).toBe('');

    const config = readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8');
    expect(JSON.parse(config)).toEqual({
      profiles: { default: { kind: 'keystone', authUrl: realm.authUrl, username: 'alice', userDomain: 'Fiware', project: '/smartcity', projectDomain: 'Fiware', knownUserId: realm.fixtures.user.id } },
    });
    expect(config).not.toContain(realm.fixtures.user.password);

    const requests = await realm.requests();
    expect(requests).toHaveLength(1);
    expect(JSON.parse(requests[0]!.body)).toEqual({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'alice', domain: { name: 'Fiware' }, password: realm.fixtures.user.password } } },
        scope: { project: { name: '/smartcity', domain: { name: 'Fiware' } } },
      },
    });
  });

  it('serves the cached token from the keychain without asking IAM again', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    expect((await runCli(['login'], { env })).code).toBe(0);
    const withoutPassword = { ...env, OS_PASSWORD: undefined };
    const first = await runCli(['token', 'get'], { env: withoutPassword });
    const second = await runCli(['token', 'get'], { env: withoutPassword });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^gAAAAA[\w-]+\n$/);
    expect(second.stdout).toBe(first.stdout);
    expect(first.stderr + second.stderr).toBe('');
    expect(await realm.count('POST')).toBe(1);

    // The token really is in the Secret Service, under authctl's service name for this config dir.
    const lookup = spawnSync('secret-tool', ['search', '--all', 'username', 'default:token'], { env: { PATH: process.env.PATH, DBUS_SESSION_BUS_ADDRESS: env.DBUS_SESSION_BUS_ADDRESS }, encoding: 'utf8' });
    expect(lookup.stdout + lookup.stderr).toContain(first.stdout.trim());
  });

  it('exports $Token so that eval in a real shell sets exactly the token', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const token = (await runCli(['token', 'get'], { env })).stdout.trim();
    const exported = await runCli(['export'], { env });
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe(`export Token='${token}'\n`);
    const shell = spawnSync('sh', ['-c', 'eval "$(cat)"; printf %s "$Token"'], { input: exported.stdout, encoding: 'utf8' });
    expect(shell.stdout).toBe(token);
  });

  it('logs in with each kind of scope and with a user id', async () => {
    const realm = await newRealm();
    const { user, project, domain } = realm.fixtures;
    const base = { OS_AUTH_URL: realm.authUrl, OS_PASSWORD: user.password };
    const cases: [string[], Record<string, string>, unknown][] = [
      [['--username', 'alice', '--user-domain', 'Fiware', '--project-id', project.id], {}, { project: { id: project.id } }],
      [['--username', 'alice', '--user-domain', 'Fiware', '--domain', 'Fiware'], {}, { domain: { name: 'Fiware' } }],
      [['--user-id', user.id, '--domain-id', domain.id], {}, { domain: { id: domain.id } }],
      [['--username', 'alice', '--user-domain', 'Fiware', '--unscoped'], {}, undefined],
      [[], { OS_USER_ID: user.id, OS_PROJECT_ID: project.id }, { project: { id: project.id } }],
    ];
    for (const [args, extraEnv, scope] of cases) {
      const before = (await realm.requests()).length;
      const result = await runCli(['login', ...args], { env: isolatedEnv({ ...base, ...extraEnv }) });
      expect(result.stderr).toContain('Logged in');
      expect(result.code).toBe(0);
      const body = JSON.parse((await realm.requests())[before]!.body) as { auth: { scope?: unknown } };
      expect(body.auth.scope).toEqual(scope);
    }
  });

  it('prints the metadata as JSON with --json, never the password or token', async () => {
    const realm = await newRealm();
    const result = await runCli(['login', '--json'], { env: isolatedEnv(loginEnv(realm)) });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ profile: 'default', issuer: realm.authUrl, user: { name: 'alice' }, scope: { project: { name: '/smartcity' } }, roles: ['member'] });
    expect(json).not.toHaveProperty('token');
    expect(result.stdout).not.toContain(realm.fixtures.user.password);
  });

  it('reads the password from stdin with --password-stdin', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), OS_PASSWORD: undefined });
    const result = await runCli(['login', '--password-stdin'], { env, input: `${realm.fixtures.user.password}\n` });
    expect(result.stderr).toContain('Logged in');
    expect(result.code).toBe(0);
  });
});

describe.runIf(haveKeyring)('logins side by side', () => {
  it('three CI jobs logging in to one profile at once: each waits its turn and succeeds', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    const results = await Promise.all([1, 2, 3].map(() => runCli(['login'], { env })));
    expect(results.map((result) => [result.code, result.stdout])).toEqual([[0, ''], [0, ''], [0, '']]);
    for (const result of results) expect(result.stderr).toMatch(/^Logged in to /);
    expect(await realm.count('POST')).toBe(3);
    expect((await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } })).code).toBe(0);
  });
});

describe.runIf(haveKeyring)('renewal and the cache key', () => {
  it('renews an expired token with OS_PASSWORD, and exits 3 without one', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const old = (await runCli(['token', 'get'], { env })).stdout.trim();

    // A token with less than --min-ttl left counts as expired.
    const noPassword = await runCli(['token', 'get', '--min-ttl', '2h'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(noPassword.code).toBe(3);
    expect(noPassword.stdout).toBe('');
    expect(noPassword.stderr).toMatch(/^authctl: the token of profile default expires in 59m, within --min-ttl 2h 00m, and there is no saved secret to renew it\nhint: run `authctl login`/);

    const renewed = await runCli(['token', 'get', '--min-ttl', '2h'], { env });
    expect(renewed.code).toBe(0);
    expect(renewed.stdout.trim()).not.toBe(old);
    expect(await realm.count('POST')).toBe(2);
  });

  it('renews silently with a password saved by --save-password', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login', '--save-password'], { env });
    await realm.configure({ tokenTtlSeconds: 3 * 3600 }); // the 1 h token is due under --min-ttl 2h; the new one is not
    const bare = { ...env, OS_PASSWORD: undefined };
    const renewed = await runCli(['token', 'get', '--min-ttl', '2h'], { env: bare });
    expect(renewed.stderr).toBe('');
    expect(renewed.code).toBe(0);
    expect(await realm.count('POST')).toBe(2);
  });

  it('never serves a token to other settings than it was issued for', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const projectToken = (await runCli(['token', 'get'], { env })).stdout;
    // Same profile, but the environment now asks for the domain scope.
    const domainEnv = { ...env, OS_PROJECT_NAME: undefined, OS_DOMAIN_NAME: 'Fiware', OS_PASSWORD: undefined };
    const refused = await runCli(['token', 'get'], { env: domainEnv });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('was issued for other settings');
    const fresh = await runCli(['token', 'get'], { env: { ...domainEnv, OS_PASSWORD: realm.fixtures.user.password } });
    expect(fresh.code).toBe(0);
    expect(fresh.stdout).not.toBe(projectToken);
  });
});

describe.runIf(haveKeyring)('bad input loses nothing', () => {
  it('wrong password: exit 4 with the server message, nothing stored, the previous token still served', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const before = (await runCli(['token', 'get'], { env })).stdout;
    const configBefore = readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8');

    const wrong = await runCli(['login'], { env: { ...env, OS_PASSWORD: 'not-the-password' } });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toBe(
      `authctl: login to ${realm.authUrl} was rejected (401): The request you have made requires authentication.\n` +
        `hint: check what was sent: auth URL ${realm.authUrl} (from OS_AUTH_URL), user alice (from OS_USERNAME), user's domain Fiware (from OS_USER_DOMAIN_NAME), project /smartcity (from OS_PROJECT_NAME), project's domain Fiware (from profile default), password (from OS_PASSWORD)\n`,
    );
    expect(wrong.stdout).toBe('');
    expect((await runCli(['token', 'get'], { env })).stdout).toBe(before);
    expect(readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8')).toBe(configBefore);
  });

  it('a 201 without X-Subject-Token, or with a body that is not a token, stores nothing', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await realm.fault(
      { method: 'POST', path: '/v3/auth/tokens', status: 201, body: JSON.stringify({ token: { expires_at: '2099-01-01T00:00:00Z' } }) },
      { method: 'POST', path: '/v3/auth/tokens', status: 201, headers: { 'X-Subject-Token': 'gAAAAAbogus' }, body: '<html>hello</html>' },
    );
    const noHeader = await runCli(['login'], { env });
    expect(noHeader.code).toBe(5);
    expect(noHeader.stderr).toMatch(/answered 201 without a token in X-Subject-Token/);
    const notJson = await runCli(['login'], { env });
    expect(notJson.code).toBe(5);
    expect(notJson.stderr).toMatch(/answered 201 with a body that is not JSON/);
    const get = await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(get.code).toBe(3);
  });

  it('an unreachable auth URL: exit 5 within a bounded time', async () => {
    const env = isolatedEnv({ OS_AUTH_URL: 'http://127.0.0.1:9/v3', OS_USERNAME: 'u', OS_USER_DOMAIN_NAME: 'd', OS_PASSWORD: 'secret-pw', AUTHCTL_RETRIES: '1' });
    const started = Date.now();
    const result = await runCli(['login'], { env });
    expect(result.code).toBe(5);
    expect(result.stderr).toBe('authctl: cannot reach http://127.0.0.1:9: connection refused\nhint: check the URL, your network and any proxy settings\n');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a malformed auth URL: exit 2 before any request', async () => {
    for (const url of ['not a url', 'ftp://iam.example.com/v3', 'https://user:pw@iam.example.com/v3', 'http://iam.example.com/v3']) {
      const result = await runCli(['login', '--auth-url', url, '--username', 'u', '--user-domain', 'd'], { env: isolatedEnv({ OS_PASSWORD: 'secret-pw' }) });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^authctl: /);
      expect(result.stderr).not.toContain('secret-pw');
    }
  });

  it('names every missing value with its flag and variable when nobody can be asked', async () => {
    const result = await runCli(['login'], { env: isolatedEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'authctl: missing auth URL (--auth-url (or --vendor with --region), env OS_AUTH_URL); user name (--username or --user-id, env OS_USERNAME or OS_USER_ID); password (--password-stdin, env OS_PASSWORD)\n' +
        'hint: give them as flags or environment variables, or run `authctl login` at a terminal to be asked\n',
    );
  });

  it('refuses a password as a flag value', async () => {
    const result = await runCli(['login', '--password', 'hunter2'], { env: isolatedEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown option '--password'");
  });

  it('without a keychain: exit 6 naming the cause and the ways out, nothing else tried', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), DBUS_SESSION_BUS_ADDRESS: undefined });
    const result = await runCli(['login'], { env });
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/^authctl: keychain unavailable: no D-Bus session bus \(DBUS_SESSION_BUS_ADDRESS is not set\)/);
    expect(result.stderr).toMatch(/hint: start a Secret Service .* or keep tokens in an encrypted file with `--store file`/);
    const bogusBus = await runCli(['token', 'get'], { env: { ...env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' } });
    expect(bogusBus.code).toBe(6);
    expect(bogusBus.stderr).toContain('is not running');
  });
});

describe.runIf(haveKeyring)('login with a locked keychain', () => {
  const keyring = privateKeyring();
  beforeAll(() => keyring().lock());

  it('a new profile: exit 6 before the password is sent (a locked keychain reads a missing entry as a miss)', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), DBUS_SESSION_BUS_ADDRESS: keyring().busAddress });
    const result = await runCli(['login'], { env });
    expect(result.code, result.stderr).toBe(6);
    expect(result.stderr).toMatch(/^authctl: keychain unavailable: the keychain is locked and could not be unlocked\n/);
    expect(await realm.count('POST'), 'the password went to IAM').toBe(0);
  });
});
