/** clouds.yaml end to end: found where OpenStack's tools look, merged with secure.yaml, below flags and OS_*. */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { newRealm, type Realm } from '../helpers/realm.js';

const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'clouds.yaml e2e (OS keychain)');

function writeClouds(home: string, realm: Realm, extra = ''): void {
  const dir = join(home, '.config', 'openstack');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'clouds.yaml'),
    `clouds:
  smartcity:
    auth:
      auth_url: ${realm.authUrl}
      username: alice
      user_domain_name: Fiware
      project_name: /smartcity
      project_domain_name: Fiware
    region_name: eu-west-0
${extra}`,
  );
  writeFileSync(join(dir, 'secure.yaml'), `clouds:\n  smartcity:\n    auth:\n      password: "${realm.fixtures.user.password}"\n`);
}

describe.runIf(haveKeyring)('clouds.yaml', () => {
  it('logs in from ~/.config/openstack/clouds.yaml with the password from secure.yaml', async () => {
    const realm = await newRealm();
    const env = isolatedEnv();
    writeClouds(env.HOME!, realm);
    const login = await runCli(['login', '--os-cloud', 'smartcity'], { env });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('as alice (domain Fiware), project /smartcity in domain Fiware');
    const config = readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8');
    expect(config).not.toContain(realm.fixtures.user.password);
    expect(JSON.parse(config)).toMatchObject({ profiles: { default: { authUrl: realm.authUrl, username: 'alice', project: '/smartcity', region: 'eu-west-0' } } });
    // OS_CLOUD alone serves the cached token; --openstack carries the cloud's region.
    const exported = await runCli(['export', '--openstack', '--shell', 'json'], { env: { ...env, OS_CLOUD: 'smartcity' } });
    expect(JSON.parse(exported.stdout)).toMatchObject({ OS_REGION_NAME: 'eu-west-0', OS_AUTH_URL: realm.authUrl });
    expect(await realm.count('POST')).toBe(1);
  });

  it('OS_* variables win over the cloud entry; the cloud entry renews silently with its password', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ OS_CLOUD: 'smartcity', OS_PROJECT_ID: realm.fixtures.project.id });
    writeClouds(env.HOME!, realm);
    const get = await runCli(['token', 'get', '--json'], { env });
    expect(get.code, get.stderr).toBe(0);
    const body = JSON.parse((await realm.requests())[0]!.body) as { auth: { scope: unknown } };
    expect(body.auth.scope).toEqual({ project: { id: realm.fixtures.project.id } });
  });

  it('OS_CLIENT_CONFIG_FILE points at another file', async () => {
    const realm = await newRealm();
    const env = isolatedEnv();
    writeClouds(env.HOME!, realm);
    const other = join(env.HOME!, 'elsewhere.yaml');
    writeFileSync(other, `clouds:\n  other:\n    auth:\n      auth_url: ${realm.authUrl}\n      user_id: ${realm.fixtures.user.id}\n      password: "${realm.fixtures.user.password}"\n      domain_name: Fiware\n`);
    const login = await runCli(['login', '--os-cloud', 'other'], { env: { ...env, OS_CLIENT_CONFIG_FILE: other } });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('domain Fiware');
  });

  it('OS_CLOUD leaves an OAuth2 profile alone; --os-cloud on one is refused', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ AUTHCTL_CLIENT_SECRET: realm.fixtures.client.secret });
    writeClouds(env.HOME!, realm);
    expect((await runCli(['login', '--client-id', realm.fixtures.client.id, '--token-url', realm.tokenUrl], { env })).code).toBe(0);
    const bare = { ...env, AUTHCTL_CLIENT_SECRET: undefined };
    const before = (await runCli(['token', 'get'], { env: bare })).stdout;
    const withCloud = await runCli(['token', 'get'], { env: { ...bare, OS_CLOUD: 'smartcity' } });
    expect([withCloud.code, withCloud.stdout]).toEqual([0, before]);
    const explicit = await runCli(['token', 'get', '--os-cloud', 'smartcity'], { env: bare });
    expect(explicit.code).toBe(2);
    expect(explicit.stderr).toContain('uses OAuth2 client credentials; --os-cloud names a Keystone login');
  });

  it('an unknown cloud or a broken file: exit 2 naming the file, never the password', async () => {
    const realm = await newRealm();
    const env = isolatedEnv();
    writeClouds(env.HOME!, realm);
    const unknown = await runCli(['login', '--os-cloud', 'nope'], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/nope/);
    expect(unknown.stderr).toMatch(/smartcity/);
    writeFileSync(join(env.HOME!, '.config', 'openstack', 'clouds.yaml'), 'clouds:\n  smartcity: [unclosed\n');
    const broken = await runCli(['token', 'get', '--os-cloud', 'smartcity'], { env });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('clouds.yaml');
    expect(broken.stderr + unknown.stderr).not.toContain(realm.fixtures.user.password);
  });
});

/** Runs in a child whose heap is capped: a file that needed more would end it with an out-of-memory abort. */
describe('a large clouds.yaml, in bounded memory', () => {
  const HEAP_MB = 256;
  const capped = () => isolatedEnv({ NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}` });
  const entry = (i: number) =>
    `  project-${i}:\n    auth_type: password\n    auth:\n      auth_url: https://iam.eu-west-0.example.com/v3\n      username: deploy-bot\n` +
    `      user_domain_name: Fiware\n      project_name: /smartcity/tenant-${i}\n      project_domain_name: Fiware\n` +
    `    region_name: eu-west-0\n    interface: public\n    identity_api_version: 3\n`;

  it('refuses 290,000 clouds (3.9 MB) with one line and a hint, exit 2', async () => {
    const env = capped();
    const file = join(env.HOME!, 'clouds.yaml');
    writeFileSync(file, `clouds:\n${Array.from({ length: 290_000 }, (_, i) => `  c${i}: {}\n`).join('')}`);
    const run = await runCli(['token', 'get', '--os-cloud', 'missing'], { env: { ...env, OS_CLIENT_CONFIG_FILE: file } });
    expect([run.code, run.signal, run.stdout]).toEqual([2, null, '']);
    expect(run.stderr).toBe(
      `authctl: ${file} is too large for a clouds.yaml: more than 300,000 YAML tokens (authctl reads about 3,500 typical cloud entries)\n` +
        'hint: keep the clouds you use in a smaller file, and point OS_CLIENT_CONFIG_FILE (or OS_CLIENT_SECURE_FILE) at it\n',
    );
  });

  it('reads a file just under the limit in its costliest layout (a long list of empty mappings)', async () => {
    const env = capped();
    const file = join(env.HOME!, 'clouds.yaml');
    writeFileSync(file, `clouds:\n${Array.from({ length: 1000 }, (_, i) => entry(i)).join('')}extra: [${Array(70_000).fill('{}').join(',')}]\n`);
    const run = await runCli(['token', 'get', '--os-cloud', 'missing'], { env: { ...env, OS_CLIENT_CONFIG_FILE: file } });
    expect([run.code, run.signal]).toEqual([2, null]);
    expect(run.stderr).toBe(
      `authctl: cloud "missing" is not in ${file}\nhint: clouds there: ${Array.from({ length: 8 }, (_, i) => `"project-${i}"`).join(', ')}, and 992 more\n`,
    );
  });
});
