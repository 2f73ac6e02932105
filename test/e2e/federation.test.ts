/**
 * Federation into IAM through OpenID Connect, end to end: the real CLI, a real provider
 * (oidc-provider) whose device sign-in a real browser (chromium) completes, and the test IAM
 * server's federation endpoint (iam-api.md §10), which checks the bearer at the provider's
 * userinfo endpoint (Keystone behind mod_auth_openidc) or, OTC's way, as an ID token signed with
 * the provider's keys. The unscoped token is then scoped with the token method.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { haveChromium, launchBrowser, type HarnessBrowser } from '../harness/browser.js';
import { startOidcProvider, type OidcProviderHarness } from '../harness/oidc-provider-harness.js';
import { deviceLogin as deviceLoginThrough, isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { newRealm, type Realm } from '../helpers/realm.js';

const keyring = inject('keyring');
const ready = requireOrSkip(haveChromium(), 'federation e2e (Chromium)') && requireOrSkip(keyring.ok ? undefined : keyring.reason, 'federation e2e (OS keychain)');

let provider: OidcProviderHarness;
let browser: HarnessBrowser;

beforeAll(async () => {
  if (!ready) return;
  provider = await startOidcProvider({ accessTokenTtlSeconds: 600 });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await provider?.stop();
});

const deviceLogin = (env: Record<string, string | undefined>, user = 'alice') => deviceLoginThrough(env, (url) => browser.completeDevice(url, { user }));

function federationEnv(realm: Realm, extra: Record<string, string> = {}) {
  return isolatedEnv({
    OS_AUTH_TYPE: 'v3oidcdeviceauthz',
    OS_AUTH_URL: realm.authUrl,
    OS_IDENTITY_PROVIDER: 'corp',
    OS_PROTOCOL: 'oidc',
    OS_CLIENT_ID: provider.clients.public.id,
    OS_DISCOVERY_ENDPOINT: provider.endpoints.discovery,
    OS_PROJECT_ID: realm.fixtures.project.id,
    ...extra,
  });
}

describe.runIf(ready)('federation through OpenID Connect', () => {
  it('v3oidcdeviceauthz at a Keystone-style IAM: the access token checked at userinfo, scoped with the token method; renewal refreshes without a browser', async () => {
    const realm = await newRealm();
    await realm.registerIdp({ id: 'corp', idp_url: provider.issuer, client_id: provider.clients.public.id, userinfo_endpoint: provider.endpoints.userinfo, protocol_id: 'oidc' });
    const env = federationEnv(realm);
    const login = await deviceLogin(env);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toMatch(/Logged in to .* via corp, project \/smartcity \[profile default\]/);
    const requests = await realm.requests();
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /v3/OS-FEDERATION/identity_providers/corp/protocols/oidc/auth', 'POST /v3/auth/tokens']);
    const token = (await runCli(['token', 'get'], { env })).stdout.trim();
    const check = await runCli(['token', 'check'], { env });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('/smartcity');

    const refreshes = provider.tokensIssued('refresh_token');
    await realm.expire(token);
    const renewed = await runCli(['token', 'get', '--min-ttl', '2h'], { env });
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(renewed.stdout.trim()).not.toBe(token);
    expect(provider.tokensIssued('refresh_token')).toBe(refreshes + 1);
  });

  it("OTC's way (--vendor given): the ID token is the bearer, checked with the provider's signing keys", async () => {
    const realm = await newRealm();
    await realm.registerIdp({ id: 'corp', idp_url: provider.issuer, client_id: provider.clients.public.id, signing_key: provider.jwks, protocol_id: 'oidc' });
    // The vendor names the IAM's style; the explicit auth URL still says where it is.
    const login = await deviceLogin(federationEnv(realm, { AUTHCTL_VENDOR: 'otc' }));
    expect(login.code, login.stderr).toBe(0);
    const federation = (await realm.requests()).find((request) => request.path.includes('OS-FEDERATION'))!;
    expect(federation.headers.authorization).toMatch(/^Bearer eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it('an identity provider IAM does not know: exit 2 or 4 with its words, nothing stored', async () => {
    const realm = await newRealm();
    const env = federationEnv(realm, { OS_IDENTITY_PROVIDER: 'nobody' });
    const login = await deviceLogin(env);
    expect(login.code).toBe(2);
    expect(login.stderr).toMatch(/federated login to .* \(identity provider nobody, protocol oidc\) was refused as malformed \(400\): Request parameter 'idp id' is invalid\./);
    const get = await runCli(['token', 'get'], { env });
    expect(get.code, get.stderr).toBe(3);
  });
});
