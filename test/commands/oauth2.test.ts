import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFast } from '../../src/fast.js';
import { run } from '../../src/main.js';
import { NOW, testFactory } from '../helpers/factory.js';
import { formBody } from '../helpers/iam-responses.js';
import { MINUTE } from '../helpers/steps.js';

const BASE = 'https://auth.example.com';
const DEFAULT_TOKEN_URL = `${BASE}/api/v2/tenant/token`;
const SECRET = 'client-secret-0123456789';
const CLIENT_ENV = { AUTHCTL_CLIENT_ID: 'svc-app', AUTHCTL_CLIENT_SECRET: SECRET };

const granted = (token: string, expiresIn = 1800) => ({ status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: 'default' } });

describe('OAuth2 client credentials from the environment only', () => {
  it('`token get` asks {OS_AUTH_URL}/api/v2/tenant/token with a client_credentials form and prints the token', async () => {
    const t = testFactory({ env: { ...CLIENT_ENV, OS_AUTH_URL: BASE } });
    t.http.on('POST', DEFAULT_TOKEN_URL, (request) => {
      expect(request.headers?.['content-type']).toBe('application/x-www-form-urlencoded');
      expect(formBody(request)).toEqual({ grant_type: 'client_credentials', client_id: 'svc-app', client_secret: SECRET });
      return granted('at-from-env');
    });
    expect(await run(['token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('at-from-env\n');
    expect(t.stderr()).toBe('');
    // No profile was saved, but the token is cached for the next call, which sends nothing.
    t.clearOutput();
    t.clock.advance(10 * MINUTE);
    expect(await runFast(['token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('at-from-env\n');
    expect(t.http.requests).toHaveLength(1);
  });

  it('the fast door gets the same token the same way', async () => {
    const t = testFactory({ env: { ...CLIENT_ENV, OS_AUTH_URL: `${BASE}/` } });
    t.http.on('POST', DEFAULT_TOKEN_URL, granted('at-fast'));
    expect(await runFast(['token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('at-fast\n');
    expect(t.stderr()).toBe('');
  });

  it('AUTHCTL_TOKEN_URL names the endpoint itself', async () => {
    const tokenUrl = 'https://idp.example.org/oauth2/token';
    const t = testFactory({ env: { ...CLIENT_ENV, AUTHCTL_TOKEN_URL: tokenUrl, OS_AUTH_URL: BASE } });
    t.http.on('POST', tokenUrl, (request) => {
      expect(formBody(request).grant_type).toBe('client_credentials');
      return granted('at-idp');
    });
    expect(await run(['token', 'get', '--json'], t.factory)).toBe(0);
    expect(JSON.parse(t.stdout())).toEqual({
      token: 'at-idp',
      expires_at: '2026-12-01T12:30:00Z',
      issued_at: '2026-12-01T12:00:00Z',
      profile: 'default',
      issuer: tokenUrl,
      user: null,
      scope: null,
      roles: [],
    });
  });

  it('renews when the cached token is within --min-ttl', async () => {
    const t = testFactory({ env: { ...CLIENT_ENV, OS_AUTH_URL: BASE } });
    t.http.on('POST', DEFAULT_TOKEN_URL, granted('at-1'));
    t.http.on('POST', DEFAULT_TOKEN_URL, granted('at-2'));
    expect(await run(['token', 'get'], t.factory)).toBe(0);
    t.clock.advance(26 * MINUTE);
    expect(await run(['token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('at-1\nat-2\n');
  });

  it('without the secret, exit 3 naming AUTHCTL_CLIENT_SECRET and nothing sent', async () => {
    const t = testFactory({ env: { AUTHCTL_CLIENT_ID: 'svc-app', OS_AUTH_URL: BASE } });
    expect(await run(['token', 'get'], t.factory)).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(
      'authctl: no token is cached for profile default, and there is no saved secret to renew it\n' +
        'hint: run `authctl login` (to renew silently: AUTHCTL_CLIENT_SECRET or `authctl login --save-secret`)\n',
    );
  });

  it.each([
    ['AUTHCTL_TOKEN_URL', { AUTHCTL_TOKEN_URL: 'https://127.0.0.1:99999/t' }],
    ['OS_AUTH_URL', { OS_AUTH_URL: 'https://127.0.0.1:99999/v3' }],
  ])('a token URL that does not parse (%s with port 99999): exit 2 naming it, on both doors, nothing sent', async (_, urlEnv) => {
    for (const door of ['fast', 'full'] as const) {
      const t = testFactory({ env: { ...CLIENT_ENV, ...urlEnv } });
      const code = door === 'fast' ? await runFast(['token', 'get'], t.factory) : await run(['token', 'get'], t.factory);
      expect(code, door).toBe(2);
      expect(t.stderr()).toMatch(/^authctl: token URL "https:\/\/127\.0\.0\.1:99999\/[^"]*" is not a URL\nhint: give a full https:\/\/ URL with --token-url\n$/);
    }
  });

  it('a rejected client is exit 4 with the server\'s words and the client hint; the secret never shows', async () => {
    const t = testFactory({ env: { ...CLIENT_ENV, OS_AUTH_URL: BASE } });
    t.http.on('POST', DEFAULT_TOKEN_URL, { status: 401, body: { error: 'invalid_client', error_description: `bad secret ${SECRET}` } });
    expect(await run(['token', 'get'], t.factory)).toBe(4);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toMatch(/^authctl: client-credentials login to https:\/\/auth\.example\.com\/api\/v2\/tenant\/token was rejected \(401\): invalid_client: bad secret <hmac:[0-9a-f]{12}> \(the secret was sent in the form body\)\n/);
    expect(t.stderr()).toContain('hint: check the client id and secret (--client-id, AUTHCTL_CLIENT_SECRET); if the server wants HTTP Basic, log in with --client-auth basic\n');
    expect(t.stderr()).not.toContain(SECRET);
  });

  it('login --client-id with the secret on stdin saves an oauth2 profile', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: BASE }, stdin: `${SECRET}\n` });
    t.http.on('POST', DEFAULT_TOKEN_URL, (request) => {
      expect(formBody(request)).toEqual({ grant_type: 'client_credentials', client_id: 'svc-app', client_secret: SECRET });
      return granted('at-login');
    });
    expect(await run(['login', '--client-id', 'svc-app', '--client-secret-stdin', '--save-secret'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(`Logged in to ${DEFAULT_TOKEN_URL} as client svc-app [profile default], until 2026-12-01T12:30:00Z (30m)\n`);
    expect(JSON.parse(readFileSync(join(t.configDir, 'config.json'), 'utf8'))).toEqual({ profiles: { default: { kind: 'oauth2', clientId: 'svc-app', tokenUrl: DEFAULT_TOKEN_URL } } });
    expect(t.store.entries.get('default:client-secret')).toBe(`authctl1:${SECRET}`);
    expect(NOW).toBe(t.clock.now());
  });
});

describe('client authentication', () => {
  const OTHER_URL = 'https://idp.example.com/oauth2/token';

  it('uses HTTP Basic for any endpoint but the vendor one: id and secret form-encoded, nothing secret in the body', async () => {
    const t = testFactory({ env: { ...CLIENT_ENV, AUTHCTL_TOKEN_URL: OTHER_URL, AUTHCTL_OAUTH2_SCOPE: 'read write', AUTHCTL_OAUTH2_AUDIENCE: 'api://x' } });
    t.http.on('POST', OTHER_URL, (request) => {
      expect(request.headers?.authorization).toBe(`Basic ${Buffer.from(`svc-app:${SECRET}`).toString('base64')}`);
      expect(formBody(request)).toEqual({ grant_type: 'client_credentials', scope: 'read write', audience: 'api://x' });
      return granted('at-basic');
    });
    expect(await run(['token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('at-basic\n');
  });

  it('--client-auth post sends the secret in the form body and is saved in the profile', async () => {
    const t = testFactory({ env: { AUTHCTL_CLIENT_SECRET: SECRET } });
    t.http.on('POST', OTHER_URL, (request) => {
      expect(request.headers?.authorization).toBeUndefined();
      expect(formBody(request)).toEqual({ grant_type: 'client_credentials', client_id: 'svc-app', client_secret: SECRET });
      return granted('at-post');
    });
    expect(await run(['login', '--client-id', 'svc-app', '--token-url', OTHER_URL, '--client-auth', 'post'], t.factory)).toBe(0);
    expect(JSON.parse(readFileSync(join(t.configDir, 'config.json'), 'utf8'))).toEqual({ profiles: { default: { kind: 'oauth2', clientId: 'svc-app', tokenUrl: OTHER_URL, clientAuth: 'post' } } });
  });

  it('a client id and secret with characters Basic must encode', async () => {
    const t = testFactory({ env: { AUTHCTL_CLIENT_ID: 'svc:app', AUTHCTL_CLIENT_SECRET: 'p ss:w%rd', AUTHCTL_TOKEN_URL: OTHER_URL } });
    t.http.on('POST', OTHER_URL, (request) => {
      expect(request.headers?.authorization).toBe(`Basic ${Buffer.from('svc%3Aapp:p+ss%3Aw%25rd').toString('base64')}`);
      return granted('at-encoded');
    });
    expect(await run(['token', 'get'], t.factory)).toBe(0);
  });
});
