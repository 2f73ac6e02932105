/** Open Telekom Cloud and Huawei Cloud: vendor URLs, virtual MFA, agencies, temporary access keys. In-process, against the strict stub. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/main.js';
import { NOW, testFactory } from '../helpers/factory.js';
import { AUTH_URL, issued, jsonBody, keystoneError, keystoneTime, TOKENS_URL, USER } from '../helpers/iam-responses.js';

const HOUR = 3600_000;
const OTC_EU_DE = 'https://iam.eu-de.otc.t-systems.com/v3';
const PASSWORD_ENV = { OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', OS_PASSWORD: 'pw-alice', OS_PROJECT_NAME: 'demo' };
const KEYS_URL = 'https://iam.example.com/v3.0/OS-CREDENTIAL/securitytokens';

function credential(expiresAt: number, fields: Record<string, string> = {}) {
  return { status: 201, body: { credential: { access: 'AKTEMP1', secret: 'SK-temp-secret-1', securitytoken: 'ST-security-token-1', expires_at: keystoneTime(expiresAt), ...fields } } };
}

function config(t: { configDir: string }): { profiles: Record<string, Record<string, unknown>> } {
  return JSON.parse(readFileSync(join(t.configDir, 'config.json'), 'utf8'));
}

describe('IAM URL from a vendor and a region', () => {
  it('--vendor otc without a region: eu-de, shown with --debug, and saved with the profile', async () => {
    const t = testFactory({ env: PASSWORD_ENV });
    t.http.on('POST', `${OTC_EU_DE}/auth/tokens`, issued({ token: 'gAAAA-otc', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login', '--vendor', 'otc', '--debug'], t.factory)).toBe(0);
    expect(t.stderr()).toContain(`authUrl ${OTC_EU_DE} (from --vendor otc, its default region)`);
    expect(config(t).profiles.default).toMatchObject({ vendor: 'otc', authUrl: OTC_EU_DE });
  });

  it('AUTHCTL_VENDOR with OS_REGION_NAME, and the region a later run names wins over the saved URL', async () => {
    const t = testFactory({ env: { ...PASSWORD_ENV, AUTHCTL_VENDOR: 'otc', OS_REGION_NAME: 'eu-nl' } });
    t.http.on('POST', 'https://iam.eu-nl.otc.t-systems.com/v3/auth/tokens', issued({ token: 'gAAAA-nl', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.stderr()).toMatch(/^Logged in to https:\/\/iam\.eu-nl\.otc\.t-systems\.com\/v3 as alice/);
  });

  it('huaweicloud eu-west-101 is served from the .eu domain; otc-swiss has one URL', async () => {
    const t = testFactory({ env: PASSWORD_ENV });
    t.http.on('POST', 'https://iam.eu-west-101.myhuaweicloud.eu/v3/auth/tokens', issued({ token: 'gAAAA-hw', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login', '--vendor', 'huaweicloud', '--region', 'eu-west-101'], t.factory)).toBe(0);
    t.http.on('POST', 'https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3/auth/tokens', issued({ token: 'gAAAA-ch', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['--profile', 'swiss', 'login', '--vendor', 'otc-swiss'], t.factory)).toBe(0);
  });

  it('an explicit auth URL wins over the vendor', async () => {
    const t = testFactory({ env: { ...PASSWORD_ENV, AUTHCTL_VENDOR: 'otc', OS_AUTH_URL: AUTH_URL } });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-own', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.factory)).toBe(0);
  });

  it('an unknown region: exit 2 naming the valid ones, nothing sent', async () => {
    const t = testFactory({ env: PASSWORD_ENV });
    expect(await run(['login', '--vendor', 'otc', '--region', 'us-east-1'], t.factory)).toBe(2);
    expect(t.stderr()).toBe('authctl: Open Telekom Cloud has no region "us-east-1"\nhint: use one of: eu-de, eu-nl; or give the IAM URL with --auth-url\n');
    expect(t.http.requests).toEqual([]);
  });

  it('an unknown vendor: exit 2, the choices named', async () => {
    const t = testFactory({ env: { ...PASSWORD_ENV, AUTHCTL_VENDOR: 'aws' } });
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stderr()).toBe('authctl: unknown vendor "aws" (from AUTHCTL_VENDOR)\nhint: use one of: otc, otc-swiss, huaweicloud\n');
  });

  it('clouds.yaml `profile: otc` with region_name gives the URL', async () => {
    const t = testFactory({ env: { OS_CLOUD: 'otc-nl', OS_PASSWORD: 'pw-alice' } });
    const file = join(t.home, 'clouds.yaml');
    writeFileSync(file, 'clouds:\n  otc-nl:\n    profile: otc\n    region_name: eu-nl\n    auth:\n      username: alice\n      user_domain_name: Default\n      project_name: demo\n');
    const withFile = t.withEnv({ OS_CLOUD: 'otc-nl', OS_PASSWORD: 'pw-alice', OS_CLIENT_CONFIG_FILE: file });
    t.http.on('POST', 'https://iam.eu-nl.otc.t-systems.com/v3/auth/tokens', issued({ token: 'gAAAA-cloud', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], withFile)).toBe(0);
  });
});

const MFA_REQUIRED = keystoneError(401, 'mfa totp code verify fail');

describe('virtual MFA (OTC, Huawei Cloud): password and passcode in one request, checked against the user id', () => {
  it('IAM says MFA is needed: the passcode goes with the password, totp.user by id (OS_USER_ID)', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_USER_ID: 'u-alice', OS_PASSWORD: 'pw-alice', OS_PROJECT_ID: 'p-demo', OS_PASSCODE: '123456' } });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toEqual({ auth: { identity: { methods: ['password'], password: { user: { id: 'u-alice', password: 'pw-alice' } } }, scope: { project: { id: 'p-demo' } } } });
      return MFA_REQUIRED;
    });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toEqual({
        auth: {
          identity: { methods: ['password', 'totp'], password: { user: { id: 'u-alice', password: 'pw-alice' } }, totp: { user: { id: 'u-alice', passcode: '123456' } } },
          scope: { project: { id: 'p-demo' } },
        },
      });
      return issued({ token: 'gAAAA-mfa', issuedAt: NOW, expiresAt: NOW + HOUR, methods: ['password', 'totp'] });
    });
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.stderr()).not.toContain('123456');
  });

  it('a user by name: the user id the profile learnt at an earlier login; a renewal answers with AUTHCTL_PASSCODE_COMMAND', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, ...PASSWORD_ENV }, commands: { 'oathtool --totp -b SECRET': '654321\n' } });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-first', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login', '--save-password'], t.factory)).toBe(0);
    expect(config(t).profiles.default).toMatchObject({ knownUserId: USER.id });
    t.clock.advance(2 * HOUR);
    t.http.on('POST', TOKENS_URL, MFA_REQUIRED);
    t.http.on('POST', TOKENS_URL, (request) => {
      const body = jsonBody(request) as { auth: { identity: Record<string, unknown> } };
      expect(body.auth.identity.password).toEqual({ user: { name: 'alice', domain: { name: 'Default' }, password: 'pw-alice' } });
      expect(body.auth.identity.totp).toEqual({ user: { id: USER.id, passcode: '654321' } });
      return issued({ token: 'gAAAA-second', issuedAt: NOW + 2 * HOUR, expiresAt: NOW + 3 * HOUR, methods: ['password', 'totp'] });
    });
    const renew = t.withEnv({ AUTHCTL_PASSCODE_COMMAND: 'oathtool --totp -b SECRET' });
    expect(await run(['token', 'get'], renew)).toBe(0);
    expect(t.stdout()).toBe('gAAAA-second\n');
  });

  it('no user id known: exit 2 saying that it is needed and where to find it, after one request', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, ...PASSWORD_ENV, OS_PASSCODE: '123456' } });
    t.http.on('POST', TOKENS_URL, MFA_REQUIRED);
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stderr()).toBe(
      `authctl: login to ${AUTH_URL} needs the account's virtual MFA passcode (IAM said: mfa totp code verify fail); it checks the passcode against the user's id, which authctl does not know yet\n` +
        'hint: set OS_USER_ID (or --user-id) to your IAM user id (console: My Credentials), then log in again\n',
    );
  });

  it('at a terminal the passcode is asked for; a wrong one: exit 4 saying so, the old token kept', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_USER_ID: 'u-alice', OS_PASSWORD: 'pw-alice', OS_PROJECT_ID: 'p-demo' }, tty: true, answers: [['Virtual MFA passcode for user id u-alice:', '111111']] });
    t.store.entries.set('default:token', 'kept');
    t.http.on('POST', TOKENS_URL, MFA_REQUIRED);
    t.http.on('POST', TOKENS_URL, keystoneError(401, 'The username or password is wrong.'));
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toContain('the passcode was wrong or from another time window');
    expect(t.store.entries.get('default:token')).toBe('kept');
  });

  it('a wrong password is not taken for MFA: one request, the usual rejection', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_USER_ID: 'u-alice', OS_PASSWORD: 'bad-pw-1', OS_PASSCODE: '123456' } });
    t.http.on('POST', TOKENS_URL, keystoneError(401, 'The username or password is wrong.'));
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toMatch(/^authctl: login to .* was rejected \(401\): The username or password is wrong\./);
  });
});

/** A source profile `me` with a saved password, logged in. */
async function withSource(t: ReturnType<typeof testFactory>, expiresAt = NOW + HOUR): Promise<void> {
  t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-user', issuedAt: NOW, expiresAt }));
  expect(await run(['--profile', 'me', 'login', '--save-password'], t.withEnv({ OS_AUTH_URL: AUTH_URL, ...PASSWORD_ENV }))).toBe(0);
  t.clearOutput();
}

const AGENCY_URL = `${TOKENS_URL}?nocatalog=true`;
const AGENCY_FLAGS = ['--profile', 'ops', 'login', '--agency', 'ops-agency', '--agency-domain', 'acme', '--source-profile', 'me', '--project', 'eu-de_ops'];
const AGENCY_BODY = { auth: { identity: { methods: ['assume_role'], assume_role: { domain_name: 'acme', agency_name: 'ops-agency' } }, scope: { project: { name: 'eu-de_ops' } } } };
const agencyToken = (token: string, expiresAt: number) =>
  issued({ token, issuedAt: NOW, expiresAt, methods: ['assume_role'], user: { id: 'ag-1', name: 'acme/ops-agency', domain: { id: 'd-acme', name: 'acme' } }, project: { id: 'p-ops', name: 'eu-de_ops', domain: { id: 'd-acme', name: 'acme' } } });

describe('agencies: a token of another account, signed with the source profile\'s user token', () => {
  it('logs in with assume_role, caches the agency token in its own profile, and profile show says which', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    t.http.on('POST', AGENCY_URL, (request) => {
      expect(request.headers?.['x-auth-token']).toBe('gAAAA-user');
      expect(jsonBody(request)).toEqual(AGENCY_BODY);
      return agencyToken('gAAAA-agency', NOW + HOUR);
    });
    expect(await run(AGENCY_FLAGS, t.factory)).toBe(0);
    expect(t.stderr()).toBe(`Logged in to ${AUTH_URL} as agency ops-agency of domain acme (acme/ops-agency), via profile me, project eu-de_ops [profile ops], until 2026-12-01T13:00:00Z (1h 00m)\n`);
    expect(config(t).profiles.ops).toEqual({ kind: 'agency', agency: 'ops-agency', agencyDomain: 'acme', sourceProfile: 'me', project: 'eu-de_ops' });
    t.clearOutput();
    expect(await run(['--profile', 'ops', 'token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('gAAAA-agency\n');
    t.clearOutput();
    expect(await run(['profile', 'show', 'ops'], t.factory)).toBe(0);
    expect(t.stdout()).toContain('agency ops-agency of domain acme, via profile me');
  });

  it('renewal: the source near expiry is re-logged with its saved password first, then the agency token', async () => {
    const t = testFactory({ env: {} });
    await withSource(t, NOW + HOUR);
    t.http.on('POST', AGENCY_URL, agencyToken('gAAAA-agency', NOW + HOUR));
    expect(await run(AGENCY_FLAGS, t.factory)).toBe(0);
    t.clock.advance(HOUR - 60_000);
    t.http.on('POST', TOKENS_URL, (request) => {
      expect((jsonBody(request) as { auth: { identity: { methods: string[] } } }).auth.identity.methods).toEqual(['password']);
      return issued({ token: 'gAAAA-user-2', issuedAt: NOW + HOUR, expiresAt: NOW + 3 * HOUR });
    });
    t.http.on('POST', AGENCY_URL, (request) => {
      expect(request.headers?.['x-auth-token']).toBe('gAAAA-user-2');
      return agencyToken('gAAAA-agency-2', NOW + 3 * HOUR);
    });
    t.clearOutput();
    expect(await run(['--profile', 'ops', 'token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('gAAAA-agency-2\n');
  });

  it('IAM refuses the source token before its time: one fresh source token, then the agency token', async () => {
    const t = testFactory({ env: {} });
    await withSource(t, NOW + 10 * HOUR);
    t.http.on('POST', AGENCY_URL, keystoneError(401, 'The X-Auth-Token is invalid!'));
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-user-2', issuedAt: NOW, expiresAt: NOW + 10 * HOUR }));
    t.http.on('POST', AGENCY_URL, (request) => {
      expect(request.headers?.['x-auth-token']).toBe('gAAAA-user-2');
      return agencyToken('gAAAA-agency', NOW + HOUR);
    });
    expect(await run(AGENCY_FLAGS, t.factory)).toBe(0);
  });

  it('a refused source that cannot renew silently: exit 3 naming the profile to log in again', async () => {
    const t = testFactory({ env: {} });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-user', issuedAt: NOW, expiresAt: NOW + 10 * HOUR }));
    expect(await run(['--profile', 'me', 'login'], t.withEnv({ OS_AUTH_URL: AUTH_URL, ...PASSWORD_ENV }))).toBe(0);
    t.clearOutput();
    t.http.on('POST', AGENCY_URL, keystoneError(401, 'The X-Auth-Token is invalid!'));
    expect(await run(AGENCY_FLAGS, t.factory)).toBe(3);
    expect(t.stderr()).toBe('authctl: IAM refused the token of profile me (revoked or expired at IAM), and it cannot be renewed without asking\nhint: run `authctl login --profile me` (to renew silently: log in with --save-password)\n');
  });

  it('an unknown agency (404) and a user without Agent Operator (403): exit 4 saying which, nothing stored', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    t.http.on('POST', AGENCY_URL, keystoneError(404, 'Could not find agency: ops-agency'));
    expect(await run(AGENCY_FLAGS, t.factory)).toBe(4);
    expect(t.stderr()).toMatch(/^authctl: assuming agency ops-agency of domain acme at .* failed: IAM knows no agency ops-agency of domain acme \(IAM: Could not find agency: ops-agency\)\nhint: check --agency and --agency-domain/);
    t.clearOutput();
    t.http.on('POST', AGENCY_URL, { status: 403, body: { error: { code: 403, title: 'Forbidden', message: 'You have no right to do this action' } } });
    expect(await run(AGENCY_FLAGS, t.factory)).toBe(4);
    expect(t.stderr()).toContain('hint: the user needs the Agent Operator role');
    expect(t.store.entries.has('ops:token')).toBe(false);
    expect(config(t).profiles.ops).toBeUndefined();
  });

  it('OS_AGENCY_* and OS_DELEGATED_PROJECT from the environment (the Terraform providers\' names), by domain id', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    t.http.on('POST', AGENCY_URL, (request) => {
      expect(jsonBody(request)).toEqual({ auth: { identity: { methods: ['assume_role'], assume_role: { domain_id: 'd-acme', agency_name: 'ops-agency' } }, scope: { project: { name: 'eu-de_ops' } } } });
      return agencyToken('gAAAA-agency', NOW + HOUR);
    });
    const env = { OS_AGENCY_NAME: 'ops-agency', OS_AGENCY_DOMAIN_ID: 'd-acme', OS_DELEGATED_PROJECT: 'eu-de_ops', OS_PROJECT_NAME: 'demo', AUTHCTL_SOURCE_PROFILE: 'me' };
    expect(await run(['--profile', 'ops', 'login'], t.withEnv(env))).toBe(0);
  });

  it('missing values and a source that is the profile itself: exit 2, nothing sent', async () => {
    const t = testFactory({ env: {} });
    expect(await run(['--profile', 'ops', 'login', '--agency', 'ops-agency'], t.factory)).toBe(2);
    expect(t.stderr()).toBe(
      'authctl: missing the account that created the agency (--agency-domain or --agency-domain-id, env OS_AGENCY_DOMAIN_NAME or OS_AGENCY_DOMAIN_ID); the profile whose token signs for it (--source-profile, env AUTHCTL_SOURCE_PROFILE)\n' +
        'hint: give them as flags or environment variables, or run `authctl login` at a terminal to be asked\n',
    );
    t.clearOutput();
    expect(await run(['--profile', 'ops', 'login', '--agency', 'a', '--agency-domain', 'acme', '--source-profile', 'ops'], t.factory)).toBe(2);
    expect(t.stderr()).toMatch(/^authctl: profile ops would sign with its own token/);
    expect(t.http.requests).toEqual([]);
  });
});

describe('temporary access keys: credentials, export --aksk', () => {
  it('buys keys with the profile token, prints every name SDKs and Terraform read, and serves them from the keychain next time', async () => {
    const t = testFactory({ env: {} });
    await withSource(t, NOW + 10 * HOUR);
    t.http.on('POST', KEYS_URL, (request) => {
      expect(request.headers?.['x-auth-token']).toBe('gAAAA-user');
      expect(jsonBody(request)).toEqual({ auth: { identity: { methods: ['token'], token: { id: 'gAAAA-user', duration_seconds: 900 } } } });
      return credential(NOW + 900_000);
    });
    expect(await run(['--profile', 'me', 'credentials'], t.factory)).toBe(0);
    expect(t.stdout()).toBe(
      [
        "export OS_ACCESS_KEY='AKTEMP1'",
        "export HUAWEICLOUD_SDK_AK='AKTEMP1'",
        "export OS_SECRET_KEY='SK-temp-secret-1'",
        "export HUAWEICLOUD_SDK_SK='SK-temp-secret-1'",
        "export OS_SECURITY_TOKEN='ST-security-token-1'",
        "export HUAWEICLOUD_SDK_SECURITY_TOKEN='ST-security-token-1'",
        '',
      ].join('\n'),
    );
    expect(t.stderr()).toBe('Temporary access key AKTEMP1, valid until 2026-12-01T12:15:00Z\n');
    t.clearOutput();
    t.clock.advance(5 * 60_000);
    expect(await run(['--profile', 'me', 'credentials', '--aws', '--shell', 'json'], t.factory)).toBe(0);
    expect(JSON.parse(t.stdout())).toMatchObject({ AWS_ACCESS_KEY_ID: 'AKTEMP1', AWS_SECRET_ACCESS_KEY: 'SK-temp-secret-1', AWS_SESSION_TOKEN: 'ST-security-token-1', OS_ACCESS_KEY: 'AKTEMP1' });
    expect(t.http.requests).toHaveLength(2);
  });

  it('export --aksk --aws: the token and the keys; --duration buys keys of that lifetime', async () => {
    const t = testFactory({ env: {} });
    await withSource(t, NOW + 10 * HOUR);
    t.http.on('POST', KEYS_URL, (request) => {
      expect((jsonBody(request) as { auth: { identity: { token: { duration_seconds: number } } } }).auth.identity.token.duration_seconds).toBe(3600);
      return credential(NOW + HOUR);
    });
    expect(await run(['--profile', 'me', 'export', '--aksk', '--aws', '--duration', '1h'], t.factory)).toBe(0);
    expect(t.stdout()).toContain("export Token='gAAAA-user'\n");
    expect(t.stdout()).toContain("export AWS_SESSION_TOKEN='ST-security-token-1'\n");
    t.clearOutput();
    expect(await run(['--profile', 'me', 'export', '--aksk', '--aws', '--unset'], t.factory)).toBe(0);
    expect(t.stdout()).toContain('unset OS_SECURITY_TOKEN\n');
    expect(t.stdout()).toContain('unset AWS_SESSION_TOKEN\n');
  });

  it('a duration out of range: exit 2, no request', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    for (const duration of ['10m', '25h', '30d']) {
      t.clearOutput();
      expect(await run(['--profile', 'me', 'credentials', '--duration', duration], t.factory)).toBe(2);
      expect(t.stderr()).toBe(`authctl: --duration "${duration}" is not between 900 seconds (15m) and 86400 seconds (24h)\nhint: e.g. --duration 1h; temporary access keys live 15 minutes to 24 hours\n`);
    }
    expect(t.http.requests).toHaveLength(1);
  });

  it('an answer missing the security token: exit 5, nothing printed or cached', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    t.http.on('POST', KEYS_URL, { status: 201, body: { credential: { access: 'AKTEMP1', secret: 'SK-temp-secret-1', expires_at: keystoneTime(NOW + 900_000) } } });
    expect(await run(['--profile', 'me', 'credentials'], t.factory)).toBe(5);
    expect(t.stderr()).toBe('authctl: https://iam.example.com answered without a complete credential (missing securitytoken)\nhint: nothing was cached; check that the URL points at the IAM service\n');
    expect(t.stdout()).toBe('');
    expect(t.store.entries.has('me:access-keys')).toBe(false);
  });

  it('from an agency profile: agency keys, asked for with assume_role and the user\'s own token', async () => {
    const t = testFactory({ env: {} });
    await withSource(t, NOW + 10 * HOUR);
    t.http.on('POST', AGENCY_URL, agencyToken('gAAAA-agency', NOW + 10 * HOUR));
    expect(await run(AGENCY_FLAGS, t.factory)).toBe(0);
    t.clearOutput();
    t.http.on('POST', KEYS_URL, (request) => {
      expect(request.headers?.['x-auth-token']).toBe('gAAAA-user');
      expect(jsonBody(request)).toEqual({ auth: { identity: { methods: ['assume_role'], assume_role: { domain_name: 'acme', agency_name: 'ops-agency', duration_seconds: 900 } } } });
      return credential(NOW + 900_000);
    });
    expect(await run(['--profile', 'ops', 'credentials'], t.factory)).toBe(0);
    expect(t.stdout()).toContain("export OS_ACCESS_KEY='AKTEMP1'\n");
  });

  it('the file store never keeps them: each run buys keys; logout removes keychain keys', async () => {
    const t = testFactory({ env: {} });
    await withSource(t, NOW + 10 * HOUR);
    const file = t.withEnv({ AUTHCTL_STORE: 'file', AUTHCTL_FILE_PASSPHRASE: 'correct horse battery' });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-file', issuedAt: NOW, expiresAt: NOW + 10 * HOUR }));
    expect(await run(['--profile', 'f', 'login', '--auth-url', AUTH_URL, '--username', 'alice', '--user-domain', 'Default', '--unscoped'], t.withEnv({ AUTHCTL_STORE: 'file', AUTHCTL_FILE_PASSPHRASE: 'correct horse battery', OS_PASSWORD: 'pw-alice' }))).toBe(0);
    t.http.on('POST', KEYS_URL, credential(NOW + 900_000));
    t.http.on('POST', KEYS_URL, credential(NOW + 900_000));
    expect(await run(['--profile', 'f', 'credentials'], file)).toBe(0);
    expect(await run(['--profile', 'f', 'credentials'], file)).toBe(0);
    expect([...t.store.entries.keys()].filter((account) => account.endsWith(':access-keys'))).toEqual([]);

    t.http.on('POST', KEYS_URL, credential(NOW + 900_000));
    expect(await run(['--profile', 'me', 'credentials'], t.factory)).toBe(0);
    expect(t.store.entries.has('me:access-keys')).toBe(true);
    t.http.on('DELETE', TOKENS_URL, { status: 204 });
    expect(await run(['--profile', 'me', 'logout'], t.factory)).toBe(0);
    expect(t.store.entries.has('me:access-keys')).toBe(false);
  });

  it('an OAuth2 profile has no access keys: exit 2 saying so', async () => {
    const t = testFactory({ env: { AUTHCTL_TOKEN_URL: 'https://auth.example.com/token', AUTHCTL_CLIENT_ID: 'app', AUTHCTL_CLIENT_SECRET: 'client-secret-1' } });
    t.http.on('POST', 'https://auth.example.com/token', { status: 200, body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 1800 } });
    expect(await run(['credentials'], t.factory)).toBe(2);
    expect(t.stderr()).toMatch(/^authctl: OAuth2 client credentials tokens cannot be exchanged for access keys\n/);
  });
});
