/**
 * The OpenID Connect sign-in harness, proven on its own (no authctl): a real provider
 * (test/harness/oidc-provider-harness.ts) and a real browser (test/harness/browser.ts) do the
 * authorization code flow with PKCE to a loopback redirect, refresh with rotation, the device flow,
 * refusals, an unreachable provider, and the test IAM server's federation endpoint (iam-api.md §10).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, launchBrowser, type HarnessBrowser } from '../harness/browser.js';
import { startOidcProvider, type OidcClient, type OidcProviderHarness } from '../harness/oidc-provider-harness.js';
import { requireOrSkip } from '../helpers/env.js';
import { newRealm } from '../helpers/realm.js';

const ready = requireOrSkip(haveChromium(), 'OIDC sign-in harness e2e (Chromium)');

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

interface TokenAnswer {
  status: number;
  body: Record<string, any>;
}

/** What authctl's loopback listener would be: 127.0.0.1, a random port, /callback. */
interface Loopback {
  redirectUri: string;
  received: URL[];
  close(): Promise<void>;
}

async function startLoopback(): Promise<Loopback> {
  const received: URL[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') return void res.writeHead(404).end();
    received.push(url);
    res.writeHead(200, { 'content-type': 'text/plain' }).end(url.searchParams.has('code') ? 'test loopback: signed in, you may close this window' : `test loopback: ${url.searchParams.get('error')}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    redirectUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

async function tokenRequest(provider: OidcProviderHarness, client: OidcClient, params: Record<string, string>): Promise<TokenAnswer> {
  const headers: Record<string, string> = {};
  const body = new URLSearchParams(params);
  if (client.secret) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
  else body.set('client_id', client.id);
  const response = await fetch(provider.endpoints.token, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe.runIf(ready)('the OIDC sign-in harness (oidc-provider + Chromium)', () => {
  let provider: OidcProviderHarness;
  let browser: HarnessBrowser;
  let loopback: Loopback;
  beforeAll(async () => {
    [provider, browser, loopback] = await Promise.all([startOidcProvider(), launchBrowser(), startLoopback()]);
  });
  afterAll(async () => {
    await Promise.all([provider?.stop(), browser?.close(), loopback?.close()]);
  });

  /** Signs in `user` in Chromium and exchanges the code: the token answer and what the loopback got. */
  async function signIn(user: string, client: OidcClient = provider.clients.public, scope = 'openid offline_access profile') {
    const { verifier, challenge } = pkce();
    const state = randomBytes(8).toString('hex');
    const nonce = randomBytes(8).toString('hex');
    const url = new URL(provider.endpoints.authorization);
    for (const [key, value] of Object.entries({ client_id: client.id, response_type: 'code', redirect_uri: loopback.redirectUri, scope, prompt: 'consent', state, nonce, code_challenge: challenge, code_challenge_method: 'S256' })) {
      url.searchParams.set(key, value);
    }
    const landed = await browser.completeLogin(url.href, { user });
    const callback = new URL(landed.url);
    expect(callback.searchParams.get('state')).toBe(state);
    const code = callback.searchParams.get('code');
    expect(code, landed.text).toBeTruthy();
    const tokens = await tokenRequest(provider, client, { grant_type: 'authorization_code', code: code!, redirect_uri: loopback.redirectUri, code_verifier: verifier });
    return { landed, tokens, nonce };
  }

  const refresh = (refreshToken: string, client: OidcClient = provider.clients.public) => tokenRequest(provider, client, { grant_type: 'refresh_token', refresh_token: refreshToken });

  it('publishes discovery: authorization, token and device endpoints, PKCE S256', async () => {
    const response = await fetch(`${provider.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Record<string, any>;
    expect(doc).toMatchObject({
      issuer: provider.issuer,
      authorization_endpoint: provider.endpoints.authorization,
      token_endpoint: provider.endpoints.token,
      device_authorization_endpoint: provider.endpoints.deviceAuthorization,
      userinfo_endpoint: provider.endpoints.userinfo,
    });
    expect(doc.code_challenge_methods_supported).toContain('S256');
    expect(doc.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', DEVICE_CODE]));
    expect(doc.scopes_supported).toContain('offline_access');
  });

  it('code + PKCE through the browser to a loopback port: access, ID (with nonce) and refresh tokens; refresh rotates', async () => {
    const before = loopback.received.length;
    const { landed, tokens, nonce } = await signIn('alice');
    expect(landed.status).toBe(200);
    expect(landed.text).toBe('test loopback: signed in, you may close this window');
    expect(landed.trail.map((step) => step.split(' <')[0])).toEqual(['Sign-in', 'Authorize', '']);
    expect(loopback.received.length).toBe(before + 1);
    expect(loopback.received.at(-1)!.searchParams.get('iss')).toBe(provider.issuer);

    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    expect(tokens.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'openid offline_access profile' });
    expect(tokens.body.access_token).toEqual(expect.any(String));
    expect(tokens.body.refresh_token).toEqual(expect.any(String));
    const { payload } = await jwtVerify(tokens.body.id_token, createLocalJWKSet(provider.jwks), { issuer: provider.issuer, audience: 'cli-public' });
    expect(payload).toMatchObject({ sub: 'alice', nonce });

    // The access token is good at userinfo.
    const me = await fetch(provider.endpoints.userinfo, { headers: { authorization: `Bearer ${tokens.body.access_token}` } });
    expect(await me.json()).toMatchObject({ sub: 'alice', preferred_username: 'alice' });

    const first = await refresh(tokens.body.refresh_token);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.refresh_token).toEqual(expect.any(String));
    expect(first.body.refresh_token).not.toBe(tokens.body.refresh_token);
    expect(first.body.access_token).not.toBe(tokens.body.access_token);
    expect(decodeJwt(first.body.id_token).sub).toBe('alice');
    const second = await refresh(first.body.refresh_token);
    expect(second.status).toBe(200);
    // Rotation consumed the first one: a client that did not save the new one is out.
    const stale = await refresh(tokens.body.refresh_token);
    expect(stale.status).toBe(400);
    expect(stale.body.error).toBe('invalid_grant');
  });

  it('the confidential client (client_secret_basic) signs in too; PKCE is optional for it', async () => {
    const { tokens } = await signIn('bob', provider.clients.confidential);
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    expect(decodeJwt(tokens.body.id_token).aud).toBe('cli-confidential');
    expect((await refresh(tokens.body.refresh_token, provider.clients.confidential)).status).toBe(200);
    const credentials = await tokenRequest(provider, provider.clients.confidential, { grant_type: 'client_credentials' });
    expect(credentials.status).toBe(200);
  });

  it('the authorization endpoint refuses the public client without PKCE S256, and a redirect URI other than the loopback /callback', async () => {
    const authorize = (params: Record<string, string>) => {
      const url = new URL(provider.endpoints.authorization);
      for (const [key, value] of Object.entries({ client_id: 'cli-public', response_type: 'code', redirect_uri: loopback.redirectUri, scope: 'openid', state: 's', ...params })) url.searchParams.set(key, value);
      return fetch(url, { redirect: 'manual' });
    };
    for (const params of [{}, { code_challenge: pkce().verifier, code_challenge_method: 'plain' }] as Record<string, string>[]) {
      const response = await authorize(params);
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get('location')!);
      expect(location.origin + location.pathname).toBe(loopback.redirectUri);
      expect(location.searchParams.get('error')).toBe('invalid_request');
    }
    // Any port of http://127.0.0.1/callback, but only that: no redirect at all to anything else.
    const { challenge } = pkce();
    for (const redirectUri of [loopback.redirectUri.replace('/callback', '/other'), 'http://localhost/callback', 'http://example.com/callback']) {
      const response = await authorize({ redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256' });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('redirect_uri did not match any of the client');
    }
  });

  it('revokeRefreshTokens: the next refresh fails with invalid_grant', async () => {
    const { tokens } = await signIn('carol');
    expect(provider.revokeRefreshTokens(provider.lastGrantId())).toBe(1);
    const refused = await refresh(tokens.body.refresh_token);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('invalid_grant');
  });

  it('down() makes the provider unreachable, up() brings it back with its state', async () => {
    const { tokens } = await signIn('dave');
    await provider.down();
    const failure = await refresh(tokens.body.refresh_token).then(
      () => undefined,
      (err: unknown) => (err as { cause?: { code?: string } }).cause?.code,
    );
    expect(failure).toMatch(/^(ECONNREFUSED|UND_ERR_SOCKET)$/);
    expect(await fetch(provider.endpoints.discovery).then(() => 'answered', (err: unknown) => (err as { cause?: { code?: string } }).cause?.code)).toBe('ECONNREFUSED');
    await provider.up();
    const again = await refresh(tokens.body.refresh_token);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
  });

  it('deny at consent: the loopback gets error=access_denied', async () => {
    const { challenge } = pkce();
    const url = new URL(provider.endpoints.authorization);
    for (const [key, value] of Object.entries({ client_id: 'cli-public', response_type: 'code', redirect_uri: loopback.redirectUri, scope: 'openid', state: 'deny-me', code_challenge: challenge, code_challenge_method: 'S256' })) {
      url.searchParams.set(key, value);
    }
    const landed = await browser.completeLogin(url.href, { user: 'erin', deny: true });
    const callback = new URL(landed.url);
    expect(callback.origin + callback.pathname).toBe(loopback.redirectUri);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe('deny-me');
    expect(callback.searchParams.has('code')).toBe(false);
    expect(landed.text).toBe('test loopback: access_denied');
  });

  async function startDevice(scope = 'openid offline_access'): Promise<Record<string, any>> {
    const response = await fetch(provider.endpoints.deviceAuthorization, { method: 'POST', body: new URLSearchParams({ client_id: 'cli-public', scope }) });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, any>;
  }

  it('device flow: pending until the user confirms in the browser, then tokens with a refresh token', async () => {
    const device = await startDevice();
    expect(device).toMatchObject({ device_code: expect.any(String), user_code: expect.stringMatching(/^[A-Z]{4}-[A-Z]{4}$/), verification_uri: `${provider.issuer}/device`, expires_in: 600, interval: 1 });
    expect(device.verification_uri_complete).toBe(`${provider.issuer}/device?user_code=${device.user_code}`);
    const poll = () => tokenRequest(provider, provider.clients.public, { grant_type: DEVICE_CODE, device_code: device.device_code });

    const pending = await poll();
    expect(pending).toEqual({ status: 400, body: { error: 'authorization_pending', error_description: expect.any(String) } });
    const issuedBefore = provider.tokensIssued(DEVICE_CODE);
    const done = await browser.completeDevice(device.verification_uri_complete, { user: 'frank' });
    expect(done.signedIn, done.trail.join(' -> ')).toBe(true);
    expect(done.trail.map((step) => step.split(' <')[0])).toEqual(['Confirm device', 'Sign-in', 'Authorize', 'Sign-in success']);

    const tokens = await poll();
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    expect(decodeJwt(tokens.body.id_token).sub).toBe('frank');
    expect(tokens.body.refresh_token).toEqual(expect.any(String));
    expect(provider.tokensIssued(DEVICE_CODE)).toBe(issuedBefore + 1);
    const refreshed = await refresh(tokens.body.refresh_token);
    expect(refreshed.status).toBe(200);
    // A device code is good once; its replay also revokes what it gave (the refresh tokens).
    expect((await poll()).body.error).toBe('invalid_grant');
    expect((await refresh(refreshed.body.refresh_token)).body.error).toBe('invalid_grant');
  });

  it('device flow refused at consent or on the confirmation page: polling answers access_denied', async () => {
    for (const deny of [true, 'device'] as const) {
      const device = await startDevice();
      const done = await browser.completeDevice(device.verification_uri_complete, { user: 'gina', deny });
      expect(done.signedIn).toBe(false);
      expect(done.text).toContain('The sign-in request was interrupted');
      const polled = await tokenRequest(provider, provider.clients.public, { grant_type: DEVICE_CODE, device_code: device.device_code });
      expect(polled.body.error).toBe('access_denied');
    }
  });

  it('short lifetimes: the device code expires, the access token says so', async () => {
    const brief = await startOidcProvider({ deviceCodeTtlSeconds: 1, accessTokenTtlSeconds: 5, deviceIntervalSeconds: null });
    try {
      const response = await fetch(brief.endpoints.deviceAuthorization, { method: 'POST', body: new URLSearchParams({ client_id: 'cli-public', scope: 'openid' }) });
      const device = (await response.json()) as Record<string, any>;
      expect(device.expires_in).toBe(1);
      expect(device).not.toHaveProperty('interval');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const polled = await tokenRequest(brief, brief.clients.public, { grant_type: DEVICE_CODE, device_code: device.device_code });
      expect(polled.body.error).toBe('expired_token');
      const credentials = await tokenRequest(brief, brief.clients.confidential, { grant_type: 'client_credentials' });
      expect(credentials.body.expires_in).toBe(5);
    } finally {
      await brief.stop();
    }
  });

  it("the IAM federation endpoint takes the provider's access token via userinfo, and its ID token via the JWKS", async () => {
    const realm = await newRealm();
    const { tokens } = await signIn('hank');
    await realm.registerIdp({ id: 'corp', idp_url: provider.issuer, client_id: 'cli-public', userinfo_endpoint: provider.endpoints.userinfo, signing_key: provider.jwks });
    const federation = `${realm.base}/v3/OS-FEDERATION/identity_providers/corp/protocols/oidc/auth`;
    const subjects: string[] = [];
    for (const bearer of [tokens.body.access_token as string, tokens.body.id_token as string]) {
      const answer = await fetch(federation, { method: 'POST', headers: { authorization: `Bearer ${bearer}` } });
      expect(answer.status).toBe(201);
      const body = (await answer.json()) as { token: Record<string, any> };
      expect(body.token.methods).toEqual(['mapped']);
      expect(body.token.user['OS-FEDERATION'].identity_provider).toEqual({ id: 'corp' });
      subjects.push(body.token.user.id);

      const scoped = await fetch(`${realm.base}/v3/auth/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ auth: { identity: { methods: ['token'], token: { id: answer.headers.get('x-subject-token') } }, scope: { project: { id: realm.fixtures.project.id } } } }),
      });
      expect(scoped.status).toBe(201);
      expect(((await scoped.json()) as { token: Record<string, any> }).token).toMatchObject({ project: { name: '/smartcity' }, roles: [{ name: 'member' }] });
    }
    expect(subjects[0]).toBe(subjects[1]);

    const refused = await fetch(federation, { method: 'POST', headers: { authorization: 'Bearer not-a-token' } });
    expect(refused.status).toBe(401);
  });

  it('counts tokens by grant type', () => {
    expect(provider.tokensIssued('authorization_code')).toBeGreaterThanOrEqual(5);
    expect(provider.tokensIssued('refresh_token')).toBeGreaterThanOrEqual(4);
    expect(provider.tokensIssued()).toBe(['authorization_code', 'refresh_token', DEVICE_CODE, 'client_credentials'].reduce((sum, type) => sum + provider.tokensIssued(type), 0));
    expect(provider.tokenErrors('invalid_grant')).toBeGreaterThanOrEqual(3);
  });
});
