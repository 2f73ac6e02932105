/**
 * A token IAM no longer accepts is dropped wherever IAM says so, not only in `token check` and
 * `token renew`: `status --check` (404 for it, or 401 for it as the caller), `credentials` /
 * `export --aksk` and `logintoken` (401 from the security-token endpoint). The message says
 * "revoked or expired at IAM", the exit is 3, and the hint logs in again; where a saved secret
 * renews the token silently, the call is retried once with a new token.
 */
import { describe, expect, it } from 'vitest';
import { run } from '../../src/main.js';
import { NOW, testFactory, type TestHarness } from '../helpers/factory.js';
import { AUTH_URL, issued, jsonBody, keystoneError, keystoneTime, TOKENS_URL } from '../helpers/iam-responses.js';
import { entries, HOUR, loggedIn, OS_ENV } from '../helpers/steps.js';

const KEYS_URL = 'https://iam.example.com/v3.0/OS-CREDENTIAL/securitytokens';
const LOGINTOKENS_URL = 'https://iam.example.com/v3.0/OS-AUTH/securitytoken/logintokens';
const PASSWORD_ENV = { OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', OS_PASSWORD: 'pw-alice', OS_PROJECT_NAME: 'demo' };
const UNAUTHENTICATED = 'The request you have made requires authentication.';
const revokedLine = (profile: string, status: number) => `authctl: the token of profile ${profile} is revoked or expired at IAM (${status}), so it was removed from the cache\n`;

function credential(expiresAt: number) {
  return { status: 201, body: { credential: { access: 'AKTEMP1', secret: 'SK-temp-secret-1', securitytoken: 'ST-security-token-1', expires_at: keystoneTime(expiresAt) } } };
}

/** A profile `me` with a saved password, logged in with `gAAAA-user`. */
async function withSource(t: TestHarness, expiresAt = NOW + 10 * HOUR): Promise<void> {
  t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-user', issuedAt: NOW, expiresAt }));
  expect(await run(['--profile', 'me', 'login', '--save-password'], t.withEnv({ OS_AUTH_URL: AUTH_URL, ...PASSWORD_ENV }))).toBe(0);
  t.clearOutput();
}

/** The security-token endpoint refuses `token` as the caller. */
function keysRefuse(t: TestHarness, token: string): void {
  t.http.on('POST', KEYS_URL, (request) => {
    expect(request.headers?.['x-auth-token']).toBe(token);
    return keystoneError(401, UNAUTHENTICATED);
  });
}

/** The security-token endpoint sells keys for `token`. */
function keysFor(t: TestHarness, token: string): void {
  t.http.on('POST', KEYS_URL, (request) => {
    expect(request.headers?.['x-auth-token']).toBe(token);
    expect(jsonBody(request)).toMatchObject({ auth: { identity: { methods: ['token'], token: { id: token } } } });
    return credential(NOW + 900_000);
  });
}

/** The saved password renews `me` silently to `token`. */
function renewsTo(t: TestHarness, token: string): void {
  t.http.on('POST', TOKENS_URL, (request) => {
    expect(jsonBody(request)).toMatchObject({ auth: { identity: { methods: ['password'], password: { user: { password: 'pw-alice' } } } } });
    return issued({ token, issuedAt: NOW, expiresAt: NOW + 10 * HOUR });
  });
}

/** The token cached for the profile (an entry is `authctl1:` and its JSON). */
const tokenOf = (t: TestHarness, profile: string) => {
  const entry = entries(t)[`${profile}:token`];
  return entry === undefined ? undefined : (JSON.parse(entry.replace(/^authctl1:/, '')) as { token?: string }).token;
};

describe('status --check', () => {
  it('404 for the current profile\'s token: dropped, the row says so, exit 3 with the message and the login hint', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    t.http.on('HEAD', TOKENS_URL, { status: 404 });
    expect(await run(['status', '--check'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toMatch(/\n\* default .* revoked or expired at IAM \(404\), so it was removed from the cache\n$/);
    expect(t.stderr()).toBe(`${revokedLine('default', 404)}hint: run \`authctl login\`\n`);
    expect(entries(t)).toEqual({});
  });

  it('401 for it as the caller (--json): the same, and the report says why', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    t.http.on('HEAD', TOKENS_URL, { status: 401 });
    expect(await run(['status', '--check', '--json'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(JSON.parse(t.stdout())).toMatchObject([{ name: 'default', token: 'rejected', checked: 'iam', problem: 'revoked or expired at IAM (401), so it was removed from the cache' }]);
    expect(t.stderr()).toBe(`${revokedLine('default', 401)}hint: run \`authctl login\`\n`);
    expect(entries(t)).toEqual({});
  });

  it('another profile refused: only its token is dropped, and the exit is about the current one (0)', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    await loggedIn(t, 'gAAAA-work', ['--profile', 'work']);
    t.http.on('HEAD', TOKENS_URL, (request) => {
      expect(request.headers?.['x-subject-token']).toBe('gAAAA-first');
      return { status: 200 };
    });
    t.http.on('HEAD', TOKENS_URL, (request) => {
      expect(request.headers?.['x-subject-token']).toBe('gAAAA-work');
      return keystoneError(401, UNAUTHENTICATED);
    });
    expect(await run(['status', '--check'], t.withEnv({ ...OS_ENV }))).toBe(0);
    expect(t.stdout()).toMatch(/\n\* default .* \(checked at IAM\)\n {2}work .* revoked or expired at IAM \(401\), so it was removed from the cache\n$/);
    expect(t.stderr()).toBe('');
    expect(Object.keys(entries(t))).toEqual(['default:token']);
  });

  it('a 403 says nothing about the token: it stays', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    t.http.on('HEAD', TOKENS_URL, { status: 403 });
    expect(await run(['status', '--check'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stderr()).toMatch(/^authctl: IAM does not accept the token of profile default: /);
    expect(Object.keys(entries(t))).toEqual(['default:token']);
  });
});

describe('credentials and export --aksk: 401 for the profile token', () => {
  it('a saved password: the token is dropped, renewed silently, and the keys bought once more with the new one', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    keysRefuse(t, 'gAAAA-user');
    renewsTo(t, 'gAAAA-renewed');
    keysFor(t, 'gAAAA-renewed');
    expect(await run(['--profile', 'me', 'credentials'], t.factory)).toBe(0);
    expect(t.stdout()).toContain("export OS_ACCESS_KEY='AKTEMP1'\n");
    expect(t.stderr()).toBe('Temporary access key AKTEMP1, valid until 2026-12-01T12:15:00Z\n');
    expect(tokenOf(t, 'me')).toBe('gAAAA-renewed');
    expect(t.http.requests.map((request) => `${request.method} ${request.url}`)).toEqual([`POST ${TOKENS_URL}`, `POST ${KEYS_URL}`, `POST ${TOKENS_URL}`, `POST ${KEYS_URL}`]);
  });

  it('retried once only: the new token refused too is dropped as well, exit 3', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    keysRefuse(t, 'gAAAA-user');
    renewsTo(t, 'gAAAA-renewed');
    keysRefuse(t, 'gAAAA-renewed');
    expect(await run(['--profile', 'me', 'export', '--aksk'], t.factory)).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(`${revokedLine('me', 401)}hint: run \`authctl login --profile me\`\n`);
    expect(tokenOf(t, 'me')).toBeUndefined();
    expect(t.http.requests).toHaveLength(4);
  });

  it('no saved secret: the token is dropped, exit 3 with the message and the login hint, no renewal tried', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    keysRefuse(t, 'gAAAA-first');
    expect(await run(['credentials'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(`${revokedLine('default', 401)}hint: run \`authctl login\`\n`);
    expect(entries(t)).toEqual({});
    expect(t.http.requests).toHaveLength(2);
  });

  it('a 403 is no answer about the token: exit 4, the token stays', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    t.http.on('POST', KEYS_URL, keystoneError(403, 'no permission'));
    expect(await run(['credentials'], t.withEnv({ ...OS_ENV }))).toBe(4);
    expect(t.stderr()).toMatch(/^authctl: getting a temporary access key from https:\/\/iam\.example\.com was rejected \(403\)/);
    expect(Object.keys(entries(t))).toEqual(['default:token']);
  });
});

describe('logintoken from the profile token: 401 for it', () => {
  const loginTokenAnswer = {
    status: 201,
    headers: { 'X-Subject-LoginToken': 'lt-from-token' },
    body: { logintoken: { domain_id: 'd-0001', expires_at: '2026-12-01T12:10:00.000000Z', method: 'token', user_id: 'u-alice', user_name: 'alice' } },
  };

  it('a saved password: dropped, renewed silently, the access key bought once more, and the login token printed', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    keysRefuse(t, 'gAAAA-user');
    renewsTo(t, 'gAAAA-renewed');
    keysFor(t, 'gAAAA-renewed');
    t.http.on('POST', LOGINTOKENS_URL, (request) => {
      expect(jsonBody(request)).toMatchObject({ auth: { securitytoken: { access: 'AKTEMP1', id: 'ST-security-token-1' } } });
      return loginTokenAnswer;
    });
    expect(await run(['--profile', 'me', 'logintoken'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('lt-from-token\n');
    expect(tokenOf(t, 'me')).toBe('gAAAA-renewed');
  });

  it('--auth-url naming another IAM: the profile\'s token (and saved password) goes nowhere, exit 2', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    for (const other of ['http://127.0.0.1:46381/steal/v3', 'https://iam.example.com:8443/v3', 'https://iam.example.com/other/v3']) {
      t.clearOutput();
      expect(await run(['--profile', 'me', 'logintoken', '--auth-url', other, '--allow-http'], t.factory), other).toBe(2);
      expect(t.stderr()).toBe(
        "authctl: --auth-url names another IAM than the one that issued profile me's token (https://iam.example.com/v3), and the token is not sent there\n" +
          'hint: drop --auth-url to use https://iam.example.com/v3, or give --access-key with its secret key and security token for the other IAM\n',
      );
    }
    // The strict stub fails on any request it was not given; the login was the only one.
    expect(t.http.requests).toHaveLength(1);
    expect(tokenOf(t, 'me')).toBe('gAAAA-user');
  });

  it('--auth-url naming the same IAM, spelt otherwise, is that IAM', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    keysFor(t, 'gAAAA-user');
    t.http.on('POST', LOGINTOKENS_URL, loginTokenAnswer);
    expect(await run(['--profile', 'me', 'logintoken', '--auth-url', 'https://IAM.example.com:443/v3/'], t.factory), t.stderr()).toBe(0);
    expect(t.stdout()).toBe('lt-from-token\n');
  });

  it('no saved secret: dropped, exit 3 with the message and the login hint', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    keysRefuse(t, 'gAAAA-first');
    expect(await run(['logintoken'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(`${revokedLine('default', 401)}hint: run \`authctl login\`\n`);
    expect(entries(t)).toEqual({});
  });

  it('the renewed token refused too: dropped, exit 3, no third try', async () => {
    const t = testFactory({ env: {} });
    await withSource(t);
    keysRefuse(t, 'gAAAA-user');
    renewsTo(t, 'gAAAA-renewed');
    keysRefuse(t, 'gAAAA-renewed');
    expect(await run(['--profile', 'me', 'logintoken'], t.factory)).toBe(3);
    expect(t.stderr()).toBe(`${revokedLine('me', 401)}hint: run \`authctl login --profile me\`\n`);
    expect(tokenOf(t, 'me')).toBeUndefined();
    expect(t.http.requests).toHaveLength(4);
  });
});


describe('projects: 401 for the profile token', () => {
  const PROJECTS_URL = `${AUTH_URL}/auth/projects`;
  const DOMAINS_URL = `${AUTH_URL}/auth/domains`;

  it('no saved secret: dropped, exit 3 with the message and the login hint, and never served again', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    t.http.on('GET', PROJECTS_URL, keystoneError(401, UNAUTHENTICATED));
    t.http.on('GET', DOMAINS_URL, { status: 200, body: { domains: [] } });
    expect(await run(['projects'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(`${revokedLine('default', 401)}hint: run \`authctl login\`\n`);
    expect(entries(t)).toEqual({});
    t.clearOutput();
    expect(await run(['token', 'get'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('');
  });

  it('a 403 says nothing about the token: exit 4, the token stays', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    t.http.on('GET', PROJECTS_URL, keystoneError(403, 'You are not authorized to perform the requested action.'));
    t.http.on('GET', DOMAINS_URL, { status: 200, body: { domains: [] } });
    expect(await run(['projects'], t.withEnv({ ...OS_ENV }))).toBe(4);
    expect(t.stderr()).toMatch(/^authctl: listing your projects at .* was rejected \(403\)/);
    expect(Object.keys(entries(t))).toEqual(['default:token']);
  });
});
