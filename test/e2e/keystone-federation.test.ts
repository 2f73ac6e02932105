/**
 * authctl's Keystone federation (v3oidc*) against a real Keystone behind a real Apache whose
 * mod_auth_openidc checks the provider's access token by introspection at a real oidc-provider
 * (test/harness/keystone-federation.ts): the provider's token goes as `Authorization: Bearer` to
 * the federation endpoint, Keystone maps the introspected claims to an ephemeral user in a group
 * with the member role on /smartcity, and authctl scopes the unscoped token with the token method.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { haveChromium, launchBrowser, type HarnessBrowser } from '../harness/browser.js';
import { federationMissing, IDP_ID, PROTOCOL_ID, startFederation, type FederationHarness } from '../harness/keystone-federation.js';
import { deviceLogin as deviceLoginThrough, isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';

const keyring = inject('keyring');
const ready =
  requireOrSkip(federationMissing(), 'Keystone federation (Apache mod_auth_openidc)') &&
  requireOrSkip(keyring.ok ? undefined : keyring.reason, 'Keystone federation (OS keychain)');
/** Only the device sign-in needs it. */
const withBrowser = ready && requireOrSkip(haveChromium(), 'Keystone federation, device sign-in (Chromium)');

let federation: FederationHarness;
let browser: HarnessBrowser;

function federatedEnv(extra: Record<string, string | undefined>): Record<string, string | undefined> {
  const { project, domain } = federation.keystone.fixtures;
  return isolatedEnv({
    OS_AUTH_URL: federation.authUrl,
    OS_IDENTITY_PROVIDER: IDP_ID,
    OS_PROTOCOL: PROTOCOL_ID,
    OS_PROJECT_NAME: project.name,
    OS_PROJECT_DOMAIN_NAME: domain.name,
    ...extra,
  });
}

/** A device sign-in completed in the browser, which must have signed in. */
async function deviceLogin(env: Record<string, string | undefined>, user: string): Promise<{ code: number | null; stderr: string }> {
  const result = await deviceLoginThrough(env, (url) => browser.completeDevice(url, { user }));
  expect(result.signedIn, result.trail.join('\n')).toBe(true);
  return result;
}

describe.runIf(ready)('Keystone federation behind Apache mod_auth_openidc', () => {
  beforeAll(async () => {
    const started = await startFederation();
    if (!started.ok) throw new Error(started.reason);
    federation = started.federation;
    if (withBrowser) browser = await launchBrowser();
    process.stderr.write(`keystone-federation harness ready: ${JSON.stringify(federation.timings)} ms\n`);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await federation?.stop();
  });

  it('v3oidcclientcredentials: the access token through mod_auth_openidc, the unscoped token scoped to the mapped project; token check says valid', async () => {
    const { project } = federation.keystone.fixtures;
    const env = federatedEnv({
      OS_AUTH_TYPE: 'v3oidcclientcredentials',
      OS_DISCOVERY_ENDPOINT: federation.discovery,
      OS_CLIENT_ID: federation.client.id,
      OS_CLIENT_SECRET: federation.client.secret,
    });
    const before = (await federation.accessLog()).length;
    const login = await runCli(['login'], { env, timeoutMs: 60_000 });
    expect(login.code, `${login.stderr}\n--- apache ---\n${await federation.apacheLog()}`).toBe(0);
    expect(login.stderr).toMatch(/^Logged in to http:\/\/127\.0\.0\.1:\d+\/v3 as cli-confidential via oidc-provider, project \/smartcity /);
    // Both requests went through Apache: the federation endpoint (past mod_auth_openidc), then the token method.
    expect((await federation.accessLog()).slice(before).split('\n').filter(Boolean)).toEqual([
      `127.0.0.1 POST /v3/OS-FEDERATION/identity_providers/${IDP_ID}/protocols/${PROTOCOL_ID}/auth HTTP/1.1 201`,
      '127.0.0.1 POST /v3/auth/tokens HTTP/1.1 201',
    ]);
    const check = await runCli(['token', 'check', '--json'], { env: { ...env, OS_CLIENT_SECRET: undefined } });
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      valid: true,
      user: { name: federation.client.id },
      scope: { project: { id: project.id, name: project.name } },
      roles: expect.arrayContaining(['member']) as string[],
    });
  });

  it.runIf(withBrowser)('v3oidcdeviceauthz: a person signs in in the browser; Keystone maps the introspected sub to an ephemeral user', async () => {
    const { project } = federation.keystone.fixtures;
    const env = federatedEnv({ OS_AUTH_TYPE: 'v3oidcdeviceauthz', OS_DISCOVERY_ENDPOINT: federation.discovery, OS_CLIENT_ID: federation.publicClient.id });
    const login = await deviceLogin(env, 'alice');
    expect(login.code, `${login.stderr}\n--- apache ---\n${await federation.apacheLog()}`).toBe(0);
    expect(login.stderr).toMatch(/Logged in to http:\/\/127\.0\.0\.1:\d+\/v3 as alice via oidc-provider, project \/smartcity /);
    const check = await runCli(['token', 'check', '--json'], { env });
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ valid: true, user: { name: 'alice' }, scope: { project: { id: project.id } } });
  });

  it('v3oidcaccesstoken with a bogus access token: mod_auth_openidc refuses it, exit 4', async () => {
    const env = federatedEnv({ OS_AUTH_TYPE: 'v3oidcaccesstoken', OS_ACCESS_TOKEN: 'bogus-access-token' });
    const login = await runCli(['login'], { env, timeoutMs: 60_000 });
    expect(login.code, login.stderr).toBe(4);
    expect(login.stderr).toMatch(/^authctl: federated login to http:\/\/127\.0\.0\.1:\d+\/v3 \(identity provider oidc-provider, protocol openid\) was rejected \(401\)/);
  });

  it('the refusal is mod_auth_openidc\'s, and Keystone alone lets nobody in without its headers', async () => {
    const federationPath = `/OS-FEDERATION/identity_providers/${IDP_ID}/protocols/${PROTOCOL_ID}/auth`;
    const post = (base: string, headers: Record<string, string>) => fetch(`${base}${federationPath}`, { method: 'POST', headers });
    const none = await post(federation.authUrl, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_request", error_description="No bearer token found in the request"/);
    const bogus = await post(federation.authUrl, { authorization: 'Bearer bogus' });
    expect(bogus.status).toBe(401);
    expect(bogus.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    // A client's own claim headers are scrubbed: with a client-credentials token (no sub), a sub
    // smuggled in would otherwise name the user (the sub rule comes first).
    const issued = await fetch(`${federation.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${federation.client.id}:${federation.client.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const { access_token: accessToken } = (await issued.json()) as { access_token: string };
    for (const smuggled of ['OIDC_CLAIM_sub', 'OIDC-CLAIM-sub', 'oidc_claim_SUB']) {
      const answer = await post(federation.authUrl, { authorization: `Bearer ${accessToken}`, [smuggled]: 'mallory' });
      expect(answer.status, smuggled).toBe(201);
      expect(((await answer.json()) as { token: { user: { name: string } } }).token.user.name, smuggled).toBe(federation.client.id);
    }
    // Straight at Keystone, without Apache: no issuer attribute, so no identity provider matches.
    expect((await post(federation.directUrl, {})).status).toBe(401);
  });
});
