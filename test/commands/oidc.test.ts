/** OpenID Connect sign-in in-process: discovery, the code flow through the real loopback listener, the device flow, refresh. */
import { generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { HttpRequest } from '../../src/iam/http.js';
import { run } from '../../src/main.js';
import { NOW, testFactory } from '../helpers/factory.js';
import { issued } from '../helpers/iam-responses.js';

const ISSUER = 'https://idp.example.com';
const HOUR = 3600_000;
const DISCOVERY = `${ISSUER}/.well-known/openid-configuration`;
const TOKEN = `${ISSUER}/token`;
const DEVICE = `${ISSUER}/device`;
const METADATA = {
  issuer: ISSUER,
  authorization_endpoint: `${ISSUER}/auth`,
  token_endpoint: TOKEN,
  device_authorization_endpoint: DEVICE,
  jwks_uri: `${ISSUER}/jwks`,
  code_challenge_methods_supported: ['S256'],
  authorization_response_iss_parameter_supported: true,
};
const { privateKey } = await generateKeyPair('RS256');

async function idToken(claims: Record<string, unknown>, at = NOW): Promise<string> {
  return new SignJWT({ preferred_username: 'alice', ...claims })
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(ISSUER)
    .setAudience('cli')
    .setSubject('sub-alice')
    .setIssuedAt(Math.floor(at / 1000))
    .setExpirationTime(Math.floor(at / 1000) + 3600)
    .sign(privateKey);
}

/** Runs a command line and says what it printed on stderr when the exit code is not the one expected. */
async function exits(t: ReturnType<typeof testFactory>, argv: string[], factory = t.factory): Promise<{ toBe(code: number): void }> {
  const code = await run(argv, factory);
  return { toBe: (expected) => expect(code, t.stderr()).toBe(expected) };
}

/** The profile's refresh-token entry as the store keeps it (a single chunk: `authctl1:` then the value). */
const refreshEntry = (t: ReturnType<typeof testFactory>) => JSON.parse(t.store.entries.get('default:refresh-token')!.replace(/^authctl1:/, '')) as Record<string, unknown>;

const form = (request: HttpRequest) => Object.fromEntries(new URLSearchParams(request.body ?? ''));
const discovery = { status: 200, body: METADATA };

/** A browser that signs in at once: the provider redirects to authctl's loopback with a code and the state. */
function signingBrowser(answer: (state: string) => string = (state) => `code=the-code&state=${state}&iss=${encodeURIComponent(ISSUER)}`) {
  let authorization: URL | undefined;
  return {
    seen: () => authorization!,
    browser: async (url: string) => {
      authorization = new URL(url);
      const redirect = authorization.searchParams.get('redirect_uri')!;
      await fetch(`${redirect.replace('/callback', '/favicon.ico')}`);
      await fetch(`${redirect}?${answer(authorization.searchParams.get('state')!)}`);
    },
  };
}

describe('OpenID Connect: what the browser is given', () => {
  it("the browser starts without authctl's secret variables in its environment", async () => {
    const browser = signingBrowser();
    const t = testFactory({ env: { DISPLAY: ':0', OS_PASSWORD: 'pw-not-for-browsers', AUTHCTL_FILE_PASSPHRASE: 'pp-not-for-browsers', AUTHCTL_FILE_KEY: Buffer.alloc(32, 1).toString('base64'), KEEP_ME: 'yes' }, browser: browser.browser });
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', TOKEN, async () => ({ status: 200, body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 600, id_token: await idToken({ nonce: browser.seen().searchParams.get('nonce') }) } }));
    await run(['login', '--oidc-issuer', ISSUER, '--client-id', 'cli'], t.factory);
    expect(t.browserEnvs).toHaveLength(1);
    expect(t.browserEnvs[0]).toMatchObject({ DISPLAY: ':0', KEEP_ME: 'yes' });
    for (const name of ['OS_PASSWORD', 'AUTHCTL_FILE_PASSPHRASE', 'AUTHCTL_FILE_KEY']) expect(t.browserEnvs[0]).not.toHaveProperty(name);
  });

  it.each(['file:///tmp/evil.desktop', 'smb://attacker.example.com/share', 'javascript:alert(1)'])('an authorization endpoint %s is not opened: exit 5, nothing stored', async (endpoint) => {
    const t = testFactory({ env: { DISPLAY: ':0', NO_COLOR: '1' }, browser: async () => {} });
    t.http.on('GET', DISCOVERY, { status: 200, body: { ...METADATA, authorization_endpoint: endpoint } });
    expect(await run(['login', '--oidc-issuer', ISSUER, '--client-id', 'cli', '--grant', 'code'], t.factory)).toBe(5);
    expect(t.browsed).toEqual([]);
    expect(t.stderr()).toMatch(/^authctl: the sign-in page the provider named is not a web page \(\w+: URL\), so it was not opened\n/);
    expect([...t.store.entries.keys()]).toEqual([]);
  });
});

describe('OpenID Connect: the code flow with PKCE and a loopback redirect', () => {
  it('opens the browser, takes the redirect, exchanges the code with the verifier, checks the ID token, keeps the refresh token', async () => {
    const browser = signingBrowser();
    const t = testFactory({ env: { DISPLAY: ':0' }, browser: browser.browser });
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', TOKEN, async (request) => {
      const auth = browser.seen();
      const body = form(request);
      expect(body).toMatchObject({ grant_type: 'authorization_code', code: 'the-code', redirect_uri: auth.searchParams.get('redirect_uri'), client_id: 'cli' });
      expect(body.code_verifier).toMatch(/^[A-Za-z0-9_-]{43,}$/);
      return { status: 200, body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-1', id_token: await idToken({ nonce: auth.searchParams.get('nonce') }) } };
    });
    (await exits(t, ['login', '--oidc-issuer', ISSUER, '--client-id', 'cli'])).toBe(0);
    const auth = browser.seen();
    expect(auth.origin + auth.pathname).toBe(`${ISSUER}/auth`);
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({ response_type: 'code', client_id: 'cli', scope: 'openid profile offline_access', code_challenge_method: 'S256', prompt: 'consent' });
    expect(auth.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(t.stderr()).toContain('Opened the sign-in page of https://idp.example.com in your browser');
    expect(t.stderr()).toMatch(/Logged in to https:\/\/idp\.example\.com as alice \[profile default\], until .* \(10m\)\n$/);
    expect(refreshEntry(t)).toEqual({ v: 1, issuer: ISSUER, clientId: 'cli', refreshToken: 'rt-1' });

    t.clearOutput();
    (await exits(t, ['token', 'get'])).toBe(0);
    expect(t.stdout()).toBe('at-1\n');
    t.clearOutput();
    (await exits(t, ['token', 'get', '--output', 'id-token'])).toBe(0);
    expect(t.stdout()).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('token get near expiry refreshes silently, saving the rotated refresh token; a refused refresh says sign in again (exit 3)', async () => {
    const browser = signingBrowser();
    const t = testFactory({ env: { DISPLAY: ':0' }, browser: browser.browser });
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', TOKEN, async () => ({ status: 200, body: { access_token: 'at-1', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-1', id_token: await idToken({ nonce: browser.seen().searchParams.get('nonce') }) } }));
    (await exits(t, ['login', '--oidc-issuer', ISSUER, '--client-id', 'cli'])).toBe(0);
    t.clock.advance(9 * 60_000);
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', TOKEN, (request) => {
      expect(form(request)).toMatchObject({ grant_type: 'refresh_token', refresh_token: 'rt-1', client_id: 'cli' });
      return { status: 200, body: { access_token: 'at-2', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-2' } };
    });
    t.clearOutput();
    (await exits(t, ['token', 'get'])).toBe(0);
    expect(t.stdout()).toBe('at-2\n');
    expect(refreshEntry(t).refreshToken).toBe('rt-2');
    // The refresh answer had no ID token: the sign-in's is still the one printed.
    t.clearOutput();
    (await exits(t, ['token', 'get', '--output', 'id-token'])).toBe(0);
    expect(t.stdout()).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/);

    t.clock.advance(9 * 60_000);
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', TOKEN, { status: 400, body: { error: 'invalid_grant', error_description: 'grant request is invalid' } });
    t.clearOutput();
    (await exits(t, ['token', 'get'])).toBe(3);
    expect(t.stderr()).toBe('authctl: https://idp.example.com refused the refresh token (invalid_grant: grant request is invalid)\nhint: sign in again: run `authctl login`\n');
    expect(t.stdout()).toBe('');
  });

  it('a redirect with the wrong state: exit 4, nothing exchanged or stored; the port is closed', async () => {
    const browser = signingBrowser(() => `code=the-code&state=forged&iss=${encodeURIComponent(ISSUER)}`);
    const t = testFactory({ env: { DISPLAY: ':0' }, browser: browser.browser });
    t.http.on('GET', DISCOVERY, discovery);
    (await exits(t, ['login', '--oidc-issuer', ISSUER, '--client-id', 'cli'])).toBe(4);
    expect(t.stderr()).toMatch(/authctl: sign-in at https:\/\/idp\.example\.com: the redirect does not belong to this sign-in \(.*state.*\)\nhint: nothing was exchanged/);
    expect(t.store.entries.size).toBe(0);
    await expect(fetch(browser.seen().searchParams.get('redirect_uri')!)).rejects.toThrow();
  });

  it('denied at the provider: exit 4 with its words', async () => {
    const browser = signingBrowser((state) => `error=access_denied&error_description=${encodeURIComponent('End-User aborted interaction')}&state=${state}&iss=${encodeURIComponent(ISSUER)}`);
    const t = testFactory({ env: { DISPLAY: ':0' }, browser: browser.browser });
    t.http.on('GET', DISCOVERY, discovery);
    (await exits(t, ['login', '--oidc-issuer', ISSUER, '--client-id', 'cli'])).toBe(4);
    expect(t.stderr()).toMatch(/^authctl: sign-in at https:\/\/idp\.example\.com was refused \(access_denied: End-User aborted interaction\)\nhint: nothing was stored/m);
  });

  it('--no-browser prints the URL; nobody finishing within --login-timeout is exit 3; Ctrl-C is 130', async () => {
    const t = testFactory({ env: { DISPLAY: ':0' } });
    t.http.on('GET', DISCOVERY, discovery);
    (await exits(t, ['login', '--oidc-issuer', ISSUER, '--client-id', 'cli', '--no-browser', '--login-timeout', '1s'])).toBe(3);
    expect(t.browsed).toEqual([]);
    expect(t.stderr()).toMatch(/^Open this URL in a browser to sign in:\n  https:\/\/idp\.example\.com\/auth\?response_type=code&/);
    expect(t.stderr()).toContain('authctl: the sign-in in the browser did not finish within 1s; nothing was stored\n');

    t.clearOutput();
    t.http.on('GET', DISCOVERY, discovery);
    const running = run(['login', '--oidc-issuer', ISSUER, '--client-id', 'cli', '--no-browser'], t.factory);
    while (!t.stderr().includes('Waiting for the sign-in')) await new Promise((resolve) => setTimeout(resolve, 10));
    t.interrupt();
    expect(await running).toBe(130);
    expect(t.store.entries.size).toBe(0);
  });
});

describe('OpenID Connect: the device flow', () => {
  it('without a display: prints the verification URL, polls at the interval, honours slow_down, and stores the tokens', async () => {
    const t = testFactory({ env: {} });
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', DEVICE, (request) => {
      expect(form(request)).toMatchObject({ client_id: 'cli', scope: 'openid profile offline_access' });
      return { status: 200, body: { device_code: 'dc-1', user_code: 'WDJB-MJHT', verification_uri: `${ISSUER}/device`, verification_uri_complete: `${ISSUER}/device?user_code=WDJB-MJHT`, expires_in: 600, interval: 5 } };
    });
    const times: number[] = [];
    const poll = (body: object, status = 400) => (request: HttpRequest) => {
      expect(form(request)).toMatchObject({ grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: 'dc-1' });
      times.push(t.clock.now());
      return { status, body };
    };
    t.http.on('POST', TOKEN, poll({ error: 'authorization_pending' }));
    t.http.on('POST', TOKEN, poll({ error: 'slow_down' }));
    t.http.on('POST', TOKEN, poll({ access_token: 'at-dev', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-dev' }, 200));
    (await exits(t, ['login', '--oidc-issuer', ISSUER, '--client-id', 'cli', '--scope', 'openid profile offline_access'])).toBe(0);
    expect(t.stderr()).toContain(`To sign in, open ${ISSUER}/device?user_code=WDJB-MJHT on any device (code WDJB-MJHT)\n`);
    expect(times.map((time) => (time - NOW) / 1000)).toEqual([0, 5, 15]);
    expect(t.store.entries.has('default:refresh-token')).toBe(true);
  });

  it('expired_token: exit 3; access_denied: exit 4; nothing stored', async () => {
    for (const [error, code, words] of [
      ['expired_token', 3, 'the device code expired before the sign-in was finished'],
      ['access_denied', 4, 'the sign-in was denied at https://idp.example.com'],
    ] as const) {
      const t = testFactory({ env: {} });
      t.http.on('GET', DISCOVERY, discovery);
      t.http.on('POST', DEVICE, { status: 200, body: { device_code: 'dc-1', user_code: 'ABCD', verification_uri: `${ISSUER}/device`, expires_in: 600, interval: 5 } });
      t.http.on('POST', TOKEN, { status: 400, body: { error } });
      expect(await run(['login', '--oidc-issuer', ISSUER, '--device', '--client-id', 'cli'], t.factory)).toBe(code);
      expect(t.stderr()).toContain(words);
      expect(t.store.entries.size).toBe(0);
    }
  });
});

describe('OpenID Connect: client credentials with a secret', () => {
  it('a client secret means client credentials, HTTP Basic at the discovered token endpoint; renewals need no person', async () => {
    const t = testFactory({ env: { AUTHCTL_CLIENT_SECRET: 'cs-secret-1' } });
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', TOKEN, (request) => {
      // RFC 6749 §2.3.1: each part form-urlencoded, then base64.
      const [user, password] = Buffer.from(request.headers!.authorization!.replace(/^Basic /, ''), 'base64').toString().split(':').map(decodeURIComponent);
      expect([user, password]).toEqual(['svc', 'cs-secret-1']);
      expect(form(request)).toMatchObject({ grant_type: 'client_credentials' });
      return { status: 200, body: { access_token: 'at-cc', token_type: 'Bearer', expires_in: 600 } };
    });
    (await exits(t, ['login', '--oidc-issuer', ISSUER, '--client-id', 'svc', '--scope', 'api'])).toBe(0);
    expect(t.browsed).toEqual([]);
    t.clock.advance(9 * 60_000);
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', TOKEN, { status: 200, body: { access_token: 'at-cc-2', token_type: 'Bearer', expires_in: 600 } });
    t.clearOutput();
    (await exits(t, ['token', 'get'])).toBe(0);
    expect(t.stdout()).toBe('at-cc-2\n');
  });

  it('a public client in a silent renewal with no refresh token: exit 3, no request to the token endpoint', async () => {
    const t = testFactory({ env: { AUTHCTL_OIDC_ISSUER: ISSUER, AUTHCTL_CLIENT_ID: 'cli' } });
    t.http.on('GET', DISCOVERY, discovery);
    (await exits(t, ['token', 'get'])).toBe(3);
    expect(t.stderr()).toMatch(/^authctl: signing in at https:\/\/idp\.example\.com needs a person \(a second device\), and there is no refresh token to renew with\nhint: run `authctl login` at a terminal\n$/);
  });
});

describe('Keystone federation through OpenID Connect (keystoneauth\'s v3oidc* names)', () => {
  const AUTH = 'https://keystone.example.com/v3';
  const FEDERATION = `${AUTH}/OS-FEDERATION/identity_providers/corp/protocols/openid/auth`;
  const tokenBody = (project?: object) => ({ token: { methods: ['mapped', ...(project ? ['token'] : [])], expires_at: '2026-12-01T13:00:00.000000Z', issued_at: '2026-12-01T12:00:00.000000Z', user: { id: 'fed-1', name: 'alice', domain: { id: 'Federated', name: 'Federated' } }, ...(project ? { project } : {}) } });
  const env = { OS_AUTH_TYPE: 'v3oidcdeviceauthz', OS_AUTH_URL: AUTH, OS_IDENTITY_PROVIDER: 'corp', OS_PROTOCOL: 'openid', OS_CLIENT_ID: 'cli', OS_DISCOVERY_ENDPOINT: DISCOVERY, OS_PROJECT_ID: 'p-1' };

  it('v3oidcdeviceauthz: the device sign-in, the access token as the bearer, the unscoped token scoped with the token method; renewal refreshes and exchanges again', async () => {
    const t = testFactory({ env });
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', DEVICE, { status: 200, body: { device_code: 'dc-1', user_code: 'ABCD', verification_uri: `${ISSUER}/device`, expires_in: 600, interval: 5 } });
    t.http.on('POST', TOKEN, { status: 200, body: { access_token: 'at-fed', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-fed' } });
    t.http.on('POST', FEDERATION, (request) => {
      expect(request.headers?.authorization).toBe('Bearer at-fed');
      return { status: 201, headers: { 'X-Subject-Token': 'gAAAA-unscoped' }, body: tokenBody() };
    });
    t.http.on('POST', `${AUTH}/auth/tokens`, (request) => {
      expect(request.headers?.['x-auth-token']).toBe('gAAAA-unscoped');
      expect(JSON.parse(request.body!)).toEqual({ auth: { identity: { methods: ['token'], token: { id: 'gAAAA-unscoped' } }, scope: { project: { id: 'p-1' } } } });
      return { status: 201, headers: { 'X-Subject-Token': 'gAAAA-scoped' }, body: tokenBody({ id: 'p-1', name: 'demo' }) };
    });
    (await exits(t, ['login'])).toBe(0);
    expect(t.stderr()).toMatch(/Logged in to https:\/\/keystone\.example\.com\/v3 as alice via corp, project demo \[profile default\]/);

    t.clock.advance(56 * 60_000);
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', TOKEN, (request) => {
      expect(form(request)).toMatchObject({ grant_type: 'refresh_token', refresh_token: 'rt-fed' });
      return { status: 200, body: { access_token: 'at-fed-2', token_type: 'Bearer', expires_in: 600 } };
    });
    t.http.on('POST', FEDERATION, (request) => {
      expect(request.headers?.authorization).toBe('Bearer at-fed-2');
      return { status: 201, headers: { 'X-Subject-Token': 'gAAAA-unscoped-2' }, body: tokenBody() };
    });
    t.http.on('POST', `${AUTH}/auth/tokens`, { status: 201, headers: { 'X-Subject-Token': 'gAAAA-scoped-2' }, body: { token: { ...tokenBody({ id: 'p-1' }).token, expires_at: '2026-12-01T14:00:00.000000Z' } } });
    t.clearOutput();
    (await exits(t, ['token', 'get'])).toBe(0);
    expect(t.stdout()).toBe('gAAAA-scoped-2\n');
  });

  it('v3oidcaccesstoken: OS_ACCESS_TOKEN exchanged as it is; Keystone refusing it is exit 4 naming the identity provider', async () => {
    const t = testFactory({ env: { OS_AUTH_TYPE: 'v3oidcaccesstoken', OS_AUTH_URL: AUTH, OS_IDENTITY_PROVIDER: 'corp', OS_ACCESS_TOKEN: 'provider-access-token-1' } });
    t.http.on('POST', FEDERATION, { status: 401, body: { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } } });
    (await exits(t, ['login'])).toBe(4);
    expect(t.stderr()).toMatch(/^authctl: federated login to https:\/\/keystone\.example\.com\/v3 \(identity provider corp, protocol openid\) was rejected \(401\)/);
    expect(t.stderr()).not.toContain('provider-access-token-1');
  });

  it('a missing identity provider or discovery endpoint: exit 2 naming the variables, nothing sent', async () => {
    const t = testFactory({ env: { OS_AUTH_TYPE: 'v3oidcauthcode', OS_AUTH_URL: AUTH, OS_CLIENT_ID: 'cli' } });
    (await exits(t, ['login'])).toBe(2);
    expect(t.stderr()).toContain('identity provider (--identity-provider, env OS_IDENTITY_PROVIDER)');
    expect(t.stderr()).toContain("the provider's discovery endpoint (--discovery-endpoint, env OS_DISCOVERY_ENDPOINT)");
  });

  it('v3oidcpassword: the password grant at OS_ACCESS_TOKEN_ENDPOINT with the client secret beside it; v3oidcauthcode with OS_CODE exchanges it with its redirect URI, no browser', async () => {
    const t = testFactory({ env: { ...env, OS_AUTH_TYPE: 'v3oidcpassword', OS_USERNAME: 'alice', OS_PASSWORD: 'provider-pw-1', OS_CLIENT_SECRET: 'cs-1', OS_ACCESS_TOKEN_ENDPOINT: `${ISSUER}/other-token` } });
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', `${ISSUER}/other-token`, (request) => {
      expect(form(request)).toMatchObject({ grant_type: 'password', username: 'alice', password: 'provider-pw-1', scope: 'openid profile offline_access' });
      expect(request.headers?.authorization).toMatch(/^Basic /);
      return { status: 200, body: { access_token: 'at-pw', token_type: 'Bearer', expires_in: 600 } };
    });
    t.http.on('POST', FEDERATION, { status: 201, headers: { 'X-Subject-Token': 'gAAAA-unscoped' }, body: tokenBody() });
    t.http.on('POST', `${AUTH}/auth/tokens`, { status: 201, headers: { 'X-Subject-Token': 'gAAAA-scoped' }, body: tokenBody({ id: 'p-1' }) });
    (await exits(t, ['login'])).toBe(0);
    expect(t.stderr()).not.toContain('provider-pw-1');

    const c = testFactory({ env: { ...env, OS_AUTH_TYPE: 'v3oidcauthcode', OS_CODE: 'code-from-elsewhere', OS_REDIRECT_URI: 'https://app.example.com/cb', DISPLAY: ':0' } });
    c.http.on('GET', DISCOVERY, discovery);
    c.http.on('POST', TOKEN, (request) => {
      const body = form(request);
      expect(body).toMatchObject({ grant_type: 'authorization_code', code: 'code-from-elsewhere', redirect_uri: 'https://app.example.com/cb' });
      expect(body.code_verifier).toBeUndefined();
      return { status: 200, body: { access_token: 'at-code', token_type: 'Bearer', expires_in: 600 } };
    });
    c.http.on('POST', FEDERATION, { status: 201, headers: { 'X-Subject-Token': 'gAAAA-unscoped' }, body: tokenBody() });
    c.http.on('POST', `${AUTH}/auth/tokens`, { status: 201, headers: { 'X-Subject-Token': 'gAAAA-scoped' }, body: tokenBody({ id: 'p-1' }) });
    (await exits(c, ['login'])).toBe(0);
    expect(c.browsed).toEqual([]);
  });

  it('OS_CODE_CHALLENGE_METHOD other than S256: exit 2, nothing sent', async () => {
    const t = testFactory({ env: { ...env, OS_AUTH_TYPE: 'v3oidcauthcode', OS_CODE_CHALLENGE_METHOD: 'plain' } });
    (await exits(t, ['login'])).toBe(2);
    expect(t.stderr()).toContain('code challenge method "plain" (from OS_CODE_CHALLENGE_METHOD) is not S256');
  });
});

describe('OTC / Huawei Cloud: a sign-in\'s ID token exchanged in one step (--oidc-issuer with --idp-id)', () => {
  it('the device sign-in gives the ID token, IAM exchanges it with X-Idp-Id and the scope; renewal refreshes and exchanges again', async () => {
    const IAM = 'https://iam.eu-de.otc.t-systems.com';
    const t = testFactory({ env: {} });
    let nonceless = '';
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', DEVICE, { status: 200, body: { device_code: 'dc-1', user_code: 'ABCD', verification_uri: `${ISSUER}/device`, expires_in: 600, interval: 5 } });
    t.http.on('POST', TOKEN, async () => {
      nonceless = await idToken({});
      return { status: 200, body: { access_token: 'at-otc', token_type: 'Bearer', expires_in: 600, refresh_token: 'rt-otc', id_token: nonceless } };
    });
    t.http.on('POST', `${IAM}/v3.0/OS-AUTH/id-token/tokens`, (request) => {
      expect(request.headers?.['x-idp-id']).toBe('corp');
      expect(JSON.parse(request.body!)).toEqual({ auth: { id_token: { id: nonceless }, scope: { project: { id: 'p-1' } } } });
      return issued({ token: 'MIIotc', issuedAt: NOW, expiresAt: NOW + HOUR });
    });
    (await exits(t, ['login', '--vendor', 'otc', '--oidc-issuer', ISSUER, '--client-id', 'cli', '--idp-id', 'corp', '--project-id', 'p-1'])).toBe(0);
    expect(t.stderr()).not.toContain(nonceless);
    t.clock.advance(56 * 60_000);
    t.http.on('GET', DISCOVERY, discovery);
    t.http.on('POST', TOKEN, async () => ({ status: 200, body: { access_token: 'at-otc-2', token_type: 'Bearer', expires_in: 600, id_token: await idToken({}, NOW + 56 * 60_000) } }));
    t.http.on('POST', `${IAM}/v3.0/OS-AUTH/id-token/tokens`, issued({ token: 'MIIotc-2', issuedAt: NOW + 56 * 60_000, expiresAt: NOW + 2 * HOUR }));
    t.clearOutput();
    (await exits(t, ['token', 'get'])).toBe(0);
    expect(t.stdout()).toBe('MIIotc-2\n');
  });
});
