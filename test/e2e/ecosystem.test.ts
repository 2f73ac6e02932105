/** Profiles, status, and kubectl's exec credential, end to end. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'profiles e2e (OS keychain)');

async function twoProfiles() {
  const realm = await newRealm();
  const env = isolatedEnv(loginEnv(realm));
  expect((await runCli(['login'], { env })).code).toBe(0);
  const client = { AUTHCTL_CLIENT_SECRET: realm.fixtures.client.secret };
  expect((await runCli(['login', '--profile', 'app', '--store', 'file', '--client-id', realm.fixtures.client.id, '--token-url', realm.tokenUrl], { env: { ...env, ...client, AUTHCTL_FILE_PASSPHRASE: 'a long passphrase' } })).code).toBe(0);
  const bare: Record<string, string | undefined> = { ...env, OS_PASSWORD: undefined, AUTHCTL_FILE_PASSPHRASE: 'a long passphrase' };
  return { realm, env: bare };
}

describe.runIf(haveKeyring)('profile list, show, use, remove', () => {
  it('lists what is configured, which is the default, and the store of each', async () => {
    const { realm, env } = await twoProfiles();
    const list = await runCli(['profile', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ {2}PROFILE +KIND +STORE +IAM +USER +SCOPE$/);
    expect(list.stdout).toMatch(/^\* default +keystone +keychain +http:\/\/127\.0\.0\.1:\d+\/r\/\w+\/v3 +alice \(domain Fiware\) +project \/smartcity in domain Fiware$/m);
    expect(list.stdout).toMatch(new RegExp(`^ {2}app +oauth2 +file +${realm.tokenUrl.replace(/[./]/g, '\\$&')} +client ${realm.fixtures.client.id} +-$`, 'm'));
    const json = JSON.parse((await runCli(['profile', 'list', '--json'], { env })).stdout) as { name: string; default: boolean; store: string }[];
    expect(json.map((p) => [p.name, p.default, p.store])).toEqual([
      ['default', true, 'keychain'],
      ['app', false, 'file'],
    ]);
  });

  it('shows one profile, never a secret', async () => {
    const { realm, env } = await twoProfiles();
    const show = await runCli(['profile', 'show', 'app'], { env });
    expect(show.code).toBe(0);
    expect(show.stdout).toContain('kind:    OAuth2 client credentials');
    expect(show.stdout).toContain('store:   file');
    expect(show.stdout).not.toContain(realm.fixtures.client.secret);
    const missing = await runCli(['profile', 'show', 'nope'], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('authctl: there is no profile "nope"\nhint: profiles: default, app\n');
  });

  it('use makes another profile the default for every command', async () => {
    const { env } = await twoProfiles();
    expect((await runCli(['profile', 'use', 'app'], { env })).code).toBe(0);
    const config = JSON.parse(readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8')) as { defaultProfile: string };
    expect(config.defaultProfile).toBe('app');
    const json = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { profile: string };
    expect(json.profile).toBe('app');
    // AUTHCTL_PROFILE and --profile still win.
    expect(JSON.parse((await runCli(['token', 'get', '--json'], { env: { ...env, AUTHCTL_PROFILE: 'default' } })).stdout)).toMatchObject({ profile: 'default' });
  });

  it('remove revokes, forgets the secrets and the settings', async () => {
    const { realm, env } = await twoProfiles();
    const removed = await runCli(['profile', 'remove', 'default'], { env });
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stderr).toBe('Logged out of profile default: token revoked at IAM, secrets removed from the keychain\nprofile default removed\n');
    expect(await realm.count('DELETE')).toBe(1);
    const list = JSON.parse((await runCli(['profile', 'list', '--json'], { env })).stdout) as { name: string }[];
    expect(list.map((p) => p.name)).toEqual(['app']);
    expect((await runCli(['token', 'get', '--profile', 'app'], { env })).code).toBe(0);
  });
});

describe.runIf(haveKeyring)('status', () => {
  it('every profile without network: who, scope, store, time left', async () => {
    const { realm, env } = await twoProfiles();
    await runCli(['login', '--profile', 'old'], { env: { ...env, ...loginEnv(realm) } });
    const before = (await realm.requests()).length;
    const status = await runCli(['status'], { env });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^\* default +keychain +alice \(domain Fiware\) +project \/smartcity in domain Fiware +valid, 59m left$/m);
    expect(status.stdout).toMatch(/^ {2}app +file +client app-\w+ +- +valid, 29m left$/m);
    expect((await realm.requests()).length).toBe(before);

    const json = JSON.parse((await runCli(['status', '--json'], { env })).stdout) as { name: string; token: string; seconds_left: number }[];
    expect(json.map((s) => [s.name, s.token])).toEqual([
      ['default', 'valid'],
      ['app', 'valid'],
      ['old', 'valid'],
    ]);
  });

  it('--check asks IAM, and a revoked token shows as refused', async () => {
    const { realm, env } = await twoProfiles();
    const token = (await runCli(['token', 'get'], { env })).stdout.trim();
    await realm.revoke(token);
    const status = JSON.parse((await runCli(['status', '--check', '--json'], { env })).stdout) as { name: string; token: string; checked: string }[];
    expect(status.find((s) => s.name === 'default')).toMatchObject({ token: 'rejected', checked: 'iam' });
    expect(status.find((s) => s.name === 'app')).toMatchObject({ token: 'valid', checked: 'offline' });
    expect(await realm.count('HEAD')).toBe(1);
  });

  it('one broken profile does not hide the others', async () => {
    const { env } = await twoProfiles();
    const status = JSON.parse((await runCli(['status', '--json'], { env: { ...env, AUTHCTL_FILE_PASSPHRASE: 'wrong passphrase' } })).stdout) as { name: string; token: string; problem?: string }[];
    expect(status.find((s) => s.name === 'app')).toMatchObject({ token: 'unreadable' });
    expect(status.find((s) => s.name === 'app')!.problem).toMatch(/cannot decrypt/);
    expect(status.find((s) => s.name === 'default')).toMatchObject({ token: 'valid' });
  });
});

describe.runIf(haveKeyring)('kubectl exec credential', () => {
  it('prints a client.authentication.k8s.io/v1 ExecCredential from the cache', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const bare = { ...env, OS_PASSWORD: undefined };
    const json = JSON.parse((await runCli(['token', 'get', '--json'], { env: bare })).stdout) as { token: string; expires_at: string };
    const result = await runCli(['token', 'get', '--output', 'exec-credential'], { env: bare });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token: json.token, expirationTimestamp: json.expires_at },
    });
    // kubectl calls it for every command: no IAM request.
    expect(await realm.count('POST')).toBe(1);
    const conflict = await runCli(['token', 'get', '--json', '--output', 'exec-credential'], { env: bare });
    expect(conflict.code).toBe(2);
  });
});
