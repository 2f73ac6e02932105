/** Application credentials, multi-factor receipts, trust and system scope, auth types: in-process, against the strict stub. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { authTypeNames } from '../../src/auth/registry.js';
import { run } from '../../src/main.js';
import { NOW, testFactory } from '../helpers/factory.js';
import { AUTH_URL, issued, jsonBody, keystoneError, TOKENS_URL } from '../helpers/iam-responses.js';

const HOUR = 3600_000;
const APP_SECRET = 'app-credential-secret-1234';
const APP_ENV = { OS_AUTH_URL: AUTH_URL, OS_APPLICATION_CREDENTIAL_ID: 'ac-1', OS_APPLICATION_CREDENTIAL_SECRET: APP_SECRET };
const APP_BODY = { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'ac-1', secret: APP_SECRET } } } };

describe('application credentials', () => {
  it('log in from OS_APPLICATION_CREDENTIAL_* alone: no scope sent, token cached, profile names the method', async () => {
    const t = testFactory({ env: APP_ENV });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toEqual(APP_BODY);
      return issued({ token: 'gAAAA-app', issuedAt: NOW, expiresAt: NOW + HOUR, methods: ['application_credential'] });
    });
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.stderr()).toBe(`Logged in to ${AUTH_URL} as alice (domain Default) via application credential ac-1, project demo in domain Default [profile default], until 2026-12-01T13:00:00Z (1h 00m)\n`);
    expect(JSON.parse(readFileSync(join(t.configDir, 'config.json'), 'utf8'))).toEqual({
      profiles: { default: { kind: 'keystone-application-credential', authUrl: AUTH_URL, applicationCredentialId: 'ac-1' } },
    });
    t.clearOutput();
    expect(await run(['profile', 'show'], t.factory)).toBe(0);
    expect(t.stdout()).toContain('kind:    Keystone application credential\n');
    expect(t.stdout()).not.toContain(APP_SECRET);
  });

  it('by name with its user, as --auth-type v3applicationcredential names it', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_APPLICATION_CREDENTIAL_SECRET: APP_SECRET } });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toEqual({
        auth: { identity: { methods: ['application_credential'], application_credential: { name: 'ci', user: { name: 'alice', domain: { name: 'Default' } }, secret: APP_SECRET } } },
      });
      return issued({ token: 'gAAAA-app', issuedAt: NOW, expiresAt: NOW + HOUR });
    });
    expect(await run(['login', '--auth-type', 'v3applicationcredential', '--application-credential-name', 'ci', '--username', 'alice', '--user-domain', 'Default'], t.factory)).toBe(0);
  });

  it('a scope given alongside: exit 2 saying the credential carries its own, nothing sent', async () => {
    const t = testFactory({ env: { ...APP_ENV, OS_PROJECT_NAME: 'demo' } });
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stderr()).toBe(
      'authctl: an application credential carries its own scope; a scope was given too (from OS_PROJECT_NAME)\n' +
        'hint: drop the project, domain, trust or system scope, or log in another way (--auth-type v3password)\n',
    );
    expect(t.store.entries.size).toBe(0);
  });

  it('renews with the secret only: token renew without one says so, exit 3, and sends nothing', async () => {
    const t = testFactory({ env: APP_ENV });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-app', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.factory)).toBe(0);
    t.clearOutput();
    const bare = t.withEnv({ OS_AUTH_URL: AUTH_URL, OS_APPLICATION_CREDENTIAL_ID: 'ac-1' });
    expect(await run(['token', 'renew'], bare)).toBe(3);
    expect(t.stderr()).toBe('authctl: no application credential secret to renew profile default with\nhint: set OS_APPLICATION_CREDENTIAL_SECRET, or log in with --save-secret, to renew without a current token\n');
  });

  it('export --openstack hands the OpenStack client the credential, not the bare token', async () => {
    const t = testFactory({ env: APP_ENV });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-app', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['export', '--openstack'], t.factory)).toBe(0);
    expect(t.stdout()).toBe(
      `export OS_AUTH_TYPE='v3applicationcredential'\nexport OS_AUTH_URL='${AUTH_URL}'\nexport OS_APPLICATION_CREDENTIAL_ID='ac-1'\nexport OS_APPLICATION_CREDENTIAL_SECRET='${APP_SECRET}'\n`,
    );
  });

  it('--save-secret keeps the secret, and a later token get renews with it silently', async () => {
    const t = testFactory({ env: APP_ENV });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-app', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login', '--save-secret'], t.factory)).toBe(0);
    expect(t.store.entries.get('default:application-credential-secret')).toBe(`authctl1:${APP_SECRET}`);
    t.clearOutput();
    const later = t.withEnv({});
    t.clock.advance(HOUR);
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toEqual(APP_BODY);
      return issued({ token: 'gAAAA-app-2', issuedAt: NOW + HOUR, expiresAt: NOW + 2 * HOUR });
    });
    expect(await run(['token', 'get'], later)).toBe(0);
    expect(t.stdout()).toBe('gAAAA-app-2\n');
  });
});

describe('auth types', () => {
  it('an unknown one: exit 2 listing the known ones', async () => {
    const t = testFactory({ env: { OS_AUTH_TYPE: 'v3samlpassword', OS_AUTH_URL: AUTH_URL } });
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stderr()).toBe(`authctl: unknown auth type "v3samlpassword" (from OS_AUTH_TYPE)\nhint: use one of: ${authTypeNames().join(', ')}\n`);
    expect(authTypeNames()).toEqual(expect.arrayContaining(['v3password', 'password', 'v3applicationcredential', 'v3totp', 'v3multifactor', 'v3token', 'v3oauth2clientcredential', 'agency']));
  });
});

const MFA_ENV = { OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_NAME: 'demo', OS_PASSWORD: 'pw-1234' };
const receipt = (expiresAt: string) => ({
  status: 401,
  headers: { 'Openstack-Auth-Receipt': 'receipt-abc' },
  body: { receipt: { expires_at: expiresAt, methods: ['password'] }, required_auth_methods: [['password', 'totp']], error: { code: 401, message: 'Additional authentications steps required.' } },
});
const RECEIPT = receipt('2026-12-01T12:05:00.000000Z');

describe('multi-factor rules (Keystone receipts)', () => {
  it('a password login answered with a receipt continues with OS_PASSCODE: the receipt header and a totp body', async () => {
    const t = testFactory({ env: { ...MFA_ENV, OS_PASSCODE: '123456' } });
    t.http.on('POST', TOKENS_URL, RECEIPT);
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(request.headers?.['openstack-auth-receipt']).toBe('receipt-abc');
      expect(jsonBody(request)).toEqual({
        auth: { identity: { methods: ['totp'], totp: { user: { name: 'alice', domain: { name: 'Default' }, passcode: '123456' } } }, scope: { project: { name: 'demo', domain: { name: 'Default' } } } },
      });
      return issued({ token: 'gAAAA-mfa', issuedAt: NOW, expiresAt: NOW + HOUR, methods: ['password', 'totp'] });
    });
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.stderr()).toMatch(/^Logged in to /);
  });

  it('takes the passcode from AUTHCTL_PASSCODE_COMMAND', async () => {
    const t = testFactory({ env: { ...MFA_ENV, AUTHCTL_PASSCODE_COMMAND: 'oathtool --totp -b SECRET' }, commands: { 'oathtool --totp -b SECRET': '654321\n' } });
    t.http.on('POST', TOKENS_URL, RECEIPT);
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(JSON.stringify(jsonBody(request))).toContain('"passcode":"654321"');
      return issued({ token: 'gAAAA-mfa', issuedAt: NOW, expiresAt: NOW + HOUR });
    });
    expect(await run(['login'], t.factory)).toBe(0);
  });

  it('asks "Passcode for ...:" at a terminal', async () => {
    const t = testFactory({ env: MFA_ENV, tty: true, answers: [['Passcode for alice (domain Default):', '111222']] });
    t.http.on('POST', TOKENS_URL, RECEIPT);
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-mfa', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.factory)).toBe(0);
  });

  it('with no way to give a passcode: exit 4, one line saying a second factor is required and how to give it', async () => {
    const t = testFactory({ env: MFA_ENV });
    t.http.on('POST', TOKENS_URL, RECEIPT);
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toBe(
      `authctl: login to ${AUTH_URL}: the account alice (domain Default) requires a second factor (a TOTP passcode)\n` +
        'hint: give the passcode in OS_PASSCODE, or a command that prints it in AUTHCTL_PASSCODE_COMMAND, or log in at a terminal to be asked\n',
    );
  });

  it('a wrong passcode is named as such, and the passcode never shows', async () => {
    const t = testFactory({ env: { ...MFA_ENV, OS_PASSCODE: '000000' } });
    t.http.on('POST', TOKENS_URL, RECEIPT);
    t.http.on('POST', TOKENS_URL, keystoneError(401, 'The request you have made requires authentication.'));
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toBe(`authctl: login to ${AUTH_URL}: the passcode was refused (wrong, or from another time window)\nhint: give a fresh code from your authenticator\n`);
  });

  it('an expired receipt is said to be one', async () => {
    const t = testFactory({ env: { ...MFA_ENV, OS_PASSCODE: '123456' }, now: '2026-12-01T12:10:00Z' });
    t.http.on('POST', TOKENS_URL, RECEIPT);
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toMatch(/the receipt for the second factor expired before the passcode was given\n/);
  });

  it('silent renewal cannot answer a second factor: token get exits 3 with that reason, no prompt', async () => {
    const t = testFactory({ env: { ...MFA_ENV, OS_PASSCODE: '123456' } });
    t.http.on('POST', TOKENS_URL, RECEIPT);
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-mfa', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.factory)).toBe(0);
    t.clearOutput();
    const later = t.withEnv(MFA_ENV);
    t.clock.advance(HOUR);
    t.http.on('POST', TOKENS_URL, receipt('2026-12-01T13:05:00.000000Z'));
    expect(await run(['token', 'get'], later)).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toMatch(/^authctl: the token of profile default has expired, and the account alice \(domain Default\) requires a second factor \(a TOTP passcode\), which a silent renewal cannot answer\nhint: .*AUTHCTL_PASSCODE_COMMAND/);
  });
});

describe('trust and system scope', () => {
  it('--trust-id scopes to the trust; --system-scope all to the system', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'bob', OS_USER_DOMAIN_NAME: 'Default', OS_PASSWORD: 'pw-1234' } });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect((jsonBody(request) as { auth: { scope: unknown } }).auth.scope).toEqual({ 'OS-TRUST:trust': { id: 'tr-1' } });
      return issued({ token: 'gAAAA-trust', issuedAt: NOW, expiresAt: NOW + HOUR });
    });
    expect(await run(['login', '--trust-id', 'tr-1'], t.factory)).toBe(0);
    t.http.on('POST', TOKENS_URL, (request) => {
      expect((jsonBody(request) as { auth: { scope: unknown } }).auth.scope).toEqual({ system: { all: true } });
      return issued({ token: 'gAAAA-system', issuedAt: NOW, expiresAt: NOW + HOUR, project: undefined });
    });
    expect(await run(['login', '--system-scope', 'all', '--profile', 'sys'], t.factory)).toBe(0);
  });

  it('a system scope other than all: exit 2', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'bob', OS_USER_DOMAIN_NAME: 'Default', OS_PASSWORD: 'pw-1234', OS_SYSTEM_SCOPE: 'some' } });
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stderr()).toBe('authctl: system scope "some" (from OS_SYSTEM_SCOPE) is not "all"\nhint: Keystone has one system scope: --system-scope all\n');
  });
});

const USER_ENV = { OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_NAME: 'demo' };
const ALICE = { name: 'alice', domain: { name: 'Default' } };
const DEMO = { project: { name: 'demo', domain: { name: 'Default' } } };

describe('v3totp, v3multifactor, v3token', () => {
  it('v3totp: methods ["totp"] with the passcode, which is never saved', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_AUTH_TYPE: 'v3totp', OS_PASSCODE: '246810' } });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toEqual({ auth: { identity: { methods: ['totp'], totp: { user: { ...ALICE, passcode: '246810' } } }, scope: DEMO } });
      return issued({ token: 'gAAAA-totp', issuedAt: NOW, expiresAt: NOW + HOUR, methods: ['totp'] });
    });
    expect(await run(['login'], t.factory)).toBe(0);
    expect([...t.store.entries.keys()]).toEqual(['default:token']);
    expect(JSON.parse(readFileSync(join(t.configDir, 'config.json'), 'utf8')).profiles.default.kind).toBe('keystone-totp');
  });

  it('v3totp renews with AUTHCTL_PASSCODE_COMMAND, and without one exits 3 naming it', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_AUTH_TYPE: 'v3totp', OS_PASSCODE: '246810' }, commands: { 'print-code': '135790\n' } });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-totp', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.factory)).toBe(0);
    t.clearOutput();
    t.clock.advance(HOUR);
    expect(await run(['token', 'get'], t.withEnv({}))).toBe(3);
    expect(t.stderr()).toMatch(/^authctl: the token of profile default has expired, and there is no saved secret to renew it\nhint: .*AUTHCTL_PASSCODE_COMMAND/);
    t.clearOutput();
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(JSON.stringify(jsonBody(request))).toContain('"passcode":"135790"');
      return issued({ token: 'gAAAA-totp-2', issuedAt: NOW + HOUR, expiresAt: NOW + 2 * HOUR });
    });
    expect(await run(['token', 'get'], t.withEnv({ AUTHCTL_PASSCODE_COMMAND: 'print-code' }))).toBe(0);
    expect(t.stdout()).toBe('gAAAA-totp-2\n');
  });

  it('v3multifactor with OS_AUTH_METHODS=v3password,v3totp: both in one request', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_AUTH_TYPE: 'v3multifactor', OS_AUTH_METHODS: 'v3password,v3totp', OS_PASSWORD: 'pw-1234', OS_PASSCODE: '112233' } });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toEqual({
        auth: { identity: { methods: ['password', 'totp'], password: { user: { ...ALICE, password: 'pw-1234' } }, totp: { user: { ...ALICE, passcode: '112233' } } }, scope: DEMO },
      });
      return issued({ token: 'gAAAA-mf', issuedAt: NOW, expiresAt: NOW + HOUR, methods: ['password', 'totp'] });
    });
    expect(await run(['login'], t.factory)).toBe(0);
  });

  it('v3multifactor refuses a method it cannot send', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_AUTH_TYPE: 'v3multifactor', OS_AUTH_METHODS: 'v3password,v3oidc', OS_PASSWORD: 'pw-1234' } });
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stderr()).toBe('authctl: OS_AUTH_METHODS lists v3oidc; v3multifactor combines v3password and v3totp\nhint: e.g. OS_AUTH_METHODS=v3password,v3totp\n');
  });

  it('v3token: rescopes OS_TOKEN with the token method; the given token is not saved without --save-secret', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_AUTH_TYPE: 'v3token', OS_TOKEN: 'gAAAA-given', OS_PROJECT_ID: 'p-demo' } });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(request.headers?.['x-auth-token']).toBe('gAAAA-given');
      expect(jsonBody(request)).toEqual({ auth: { identity: { methods: ['token'], token: { id: 'gAAAA-given' } }, scope: { project: { id: 'p-demo' } } } });
      return issued({ token: 'gAAAA-rescoped', issuedAt: NOW, expiresAt: NOW + HOUR, methods: ['token', 'password'] });
    });
    expect(await run(['login'], t.factory)).toBe(0);
    expect([...t.store.entries.keys()]).toEqual(['default:token']);
    expect(t.stderr()).not.toContain('gAAAA-given');
  });
});

describe('v3oauth2clientcredential', () => {
  it("asks Keystone's /OS-OAUTH2/token with HTTP Basic, as Keystone wants", async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_AUTH_TYPE: 'v3oauth2clientcredential', OS_OAUTH2_CLIENT_ID: 'ac-1', OS_OAUTH2_CLIENT_SECRET: APP_SECRET } });
    t.http.on('POST', `${AUTH_URL}/OS-OAUTH2/token`, (request) => {
      expect(request.headers?.authorization).toBe(`Basic ${Buffer.from(`ac-1:${APP_SECRET}`).toString('base64')}`);
      expect(request.body).toBe('grant_type=client_credentials');
      return { status: 200, body: { access_token: 'gAAAA-oauth2', token_type: 'Bearer', expires_in: 3600 } };
    });
    expect(await run(['token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('gAAAA-oauth2\n');
  });
});

describe('a shell after export --openstack (OS_AUTH_TYPE=token, OS_TOKEN)', () => {
  it('login keeps the profile a password login; only --auth-type v3token makes it a token one', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', OS_PASSWORD: 'pw-1234' } });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-first', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.factory)).toBe(0);
    const shell = t.withEnv({ OS_AUTH_URL: AUTH_URL, OS_AUTH_TYPE: 'token', OS_TOKEN: 'gAAAA-first', OS_PASSWORD: 'pw-1234' });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect((jsonBody(request) as { auth: { identity: { methods: string[] } } }).auth.identity.methods).toEqual(['password']);
      return issued({ token: 'gAAAA-second', issuedAt: NOW, expiresAt: NOW + HOUR });
    });
    expect(await run(['login'], shell)).toBe(0);
    expect(JSON.parse(readFileSync(join(t.configDir, 'config.json'), 'utf8')).profiles.default.kind).toBe('keystone');
  });
});

describe('AUTHCTL_PASSCODE_COMMAND', () => {
  it('runs without authctl\'s secrets in its environment', async () => {
    const t = testFactory({ env: { ...MFA_ENV, AUTHCTL_PASSCODE_COMMAND: 'print-code', AUTHCTL_CLIENT_SECRET: 'client-secret-9876' }, commands: { 'print-code': '654321\n' } });
    t.http.on('POST', TOKENS_URL, RECEIPT);
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-mfa', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.commandEnvs).toHaveLength(1);
    expect(t.commandEnvs[0]).toMatchObject({ OS_USERNAME: 'alice', AUTHCTL_PASSCODE_COMMAND: 'print-code' });
    expect(t.commandEnvs[0]).not.toHaveProperty('OS_PASSWORD');
    expect(t.commandEnvs[0]).not.toHaveProperty('AUTHCTL_CLIENT_SECRET');
  });

  it.each([
    ['prints something that is not a code', { 'print-code': 'Enter PIN:\n' }, 'authctl: AUTHCTL_PASSCODE_COMMAND did not print a passcode (6 to 8 digits)\nhint: run it by hand: it must print the current code and nothing else on stdout\n'],
    ['fails', {}, 'authctl: AUTHCTL_PASSCODE_COMMAND failed (127)\nhint: run it by hand: it must print the current code on stdout\n'],
  ])('that %s: exit 2 with the reason, the password never shown, nothing more sent', async (_, commands, stderr) => {
    const t = testFactory({ env: { ...MFA_ENV, AUTHCTL_PASSCODE_COMMAND: 'print-code' }, commands });
    t.http.on('POST', TOKENS_URL, RECEIPT);
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stderr()).toBe(stderr);
    expect(t.store.entries.size).toBe(0);
  });
});
