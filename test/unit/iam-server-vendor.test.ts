/**
 * The test IAM server's Open Telekom Cloud / Huawei Cloud emulation (iam-api.md §6-10), driven
 * directly over HTTP: password + virtual MFA, agency tokens, temporary access keys, ID tokens, federation.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIamServer, type IamServer, type RealmInfo, type RealmOptions } from '../helpers/iam-server.js';
import { newRealm as newSharedRealm } from '../helpers/realm.js';
import { totp } from '../helpers/totp.js';

let server: IamServer;
beforeAll(async () => {
  server = await startIamServer();
});
afterAll(async () => {
  await server.close();
});

const JSON_UTF8 = { 'content-type': 'application/json;charset=utf8' };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/;
const SECURITY_TOKENS = '/v3.0/OS-CREDENTIAL/securitytokens';
const ID_TOKENS = '/v3.0/OS-AUTH/id-token/tokens';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

async function send(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { method, headers: { ...JSON_UTF8, ...headers }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}

const post = (url: string, body: unknown, headers?: Record<string, string>) => send('POST', url, body, headers);

function realm(options: RealmOptions = {}): RealmInfo {
  return server.createRealm(options);
}

const tokens = (r: RealmInfo, query = '') => `${r.base}/v3/auth/tokens${query}`;

async function passwordToken(r: RealmInfo, who: 'user' | 'admin' = 'user'): Promise<string> {
  const { id, password } = r.fixtures[who];
  const answer = await post(tokens(r), { auth: { identity: { methods: ['password'], password: { user: { id, password } } } } });
  expect(answer.status).toBe(201);
  return answer.headers.get('x-subject-token')!;
}

const control = (r: RealmInfo, path: string, body: unknown) => fetch(`${r.base}${path}`, { method: 'POST', body: JSON.stringify(body) });

/** Waits out the last second of a TOTP step, so a code computed here is judged in the same step. */
async function awayFromStepEdge(): Promise<void> {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 1500) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

const keystoneError = (code: number, title: string, message: string) => ({ error: { code, title, message } });
const vendorError = (code: string, message: string) => ({ error_code: code, error_msg: message });

describe('password + virtual MFA (§7)', () => {
  const mfaBody = (r: RealmInfo, passcode: string, extra: { userId?: string; byId?: boolean; password?: string; scope?: unknown } = {}) => {
    const { mfaUser } = r.fixtures;
    const user = extra.byId ? { id: mfaUser.id, password: extra.password ?? mfaUser.password } : { name: mfaUser.name, password: extra.password ?? mfaUser.password, domain: { name: mfaUser.domain } };
    return {
      auth: {
        identity: { methods: ['password', 'totp'], password: { user }, totp: { user: { id: extra.userId ?? mfaUser.id, passcode } } },
        ...(extra.scope === undefined ? { scope: { project: { id: r.fixtures.project.id } } } : extra.scope === null ? {} : { scope: extra.scope }),
      },
    };
  };

  it('refuses a password-only login of the MFA user with the vendor message', async () => {
    const r = realm();
    const { mfaUser } = r.fixtures;
    const answer = await post(tokens(r), { auth: { identity: { methods: ['password'], password: { user: { name: mfaUser.name, password: mfaUser.password, domain: { name: mfaUser.domain } } } } } });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual(keystoneError(401, 'Unauthorized', 'mfa totp code verify fail'));
  });

  it('issues a token for password and a valid passcode: methods, mfa_authn_at, project scope, catalog', async () => {
    const r = realm();
    await awayFromStepEdge();
    const answer = await post(tokens(r), mfaBody(r, totp(r.fixtures.mfaUser.totpSecret)));
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-subject-token')).toMatch(/^gAAAAA/);
    const { token } = answer.body;
    expect(token).toMatchObject({
      methods: ['password', 'totp'],
      user: { id: r.fixtures.mfaUser.id, name: r.fixtures.mfaUser.name, domain: { id: r.fixtures.domain.id, name: r.fixtures.domain.name } },
      project: { id: r.fixtures.project.id, name: r.fixtures.project.name, domain: { id: r.fixtures.domain.id } },
      roles: [{ name: 'member' }],
      catalog: [],
    });
    expect(token.mfa_authn_at).toMatch(ISO);
    expect(token.issued_at).toMatch(ISO);
    expect(Date.parse(token.expires_at) - Date.parse(token.issued_at)).toBe(3600_000);
  });

  it('takes the user by id, the previous step, ?nocatalog=true, a project by name alone; no scope is the domain', async () => {
    const r = realm();
    await awayFromStepEdge();
    const previous = totp(r.fixtures.mfaUser.totpSecret, Date.now() - 30_000);
    const byName = await post(tokens(r, '?nocatalog=true'), mfaBody(r, previous, { byId: true, scope: { project: { name: r.fixtures.project.name } } }));
    expect(byName.status).toBe(201);
    expect(byName.body.token.project.id).toBe(r.fixtures.project.id);
    expect(byName.body.token).not.toHaveProperty('catalog');
    expect(server.requests(r.id).at(-1)).toMatchObject({ method: 'POST', path: '/v3/auth/tokens', query: '?nocatalog=true' });

    const unscoped = await post(tokens(r), mfaBody(r, totp(r.fixtures.mfaUser.totpSecret), { scope: null }));
    expect(unscoped.status).toBe(201);
    expect(unscoped.body.token.domain).toEqual(r.fixtures.domain);
    expect(unscoped.body.token).not.toHaveProperty('project');
  });

  it('answers a wrong passcode, a wrong password, a foreign totp user id or a user without MFA with the generic 401', async () => {
    const r = realm();
    await awayFromStepEdge();
    const code = totp(r.fixtures.mfaUser.totpSecret);
    const wrong = code === '000000' ? '111111' : '000000';
    const tooOld = totp(r.fixtures.mfaUser.totpSecret, Date.now() - 60_000);
    const { user } = r.fixtures;
    const noMfa = { auth: { identity: { methods: ['password', 'totp'], password: { user: { id: user.id, password: user.password } }, totp: { user: { id: user.id, passcode: code } } } } };
    for (const body of [mfaBody(r, wrong), mfaBody(r, tooOld), mfaBody(r, code, { password: 'nope' }), mfaBody(r, code, { userId: user.id }), noMfa]) {
      const answer = await post(tokens(r), body);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(keystoneError(401, 'Unauthorized', 'The username or password is wrong.'));
    }
  });

  it('answers a totp without user id or passcode with 400', async () => {
    const r = realm();
    const withoutId = mfaBody(r, '123456');
    delete (withoutId.auth.identity.totp.user as { id?: string }).id;
    const withoutPasscode = mfaBody(r, '');
    for (const body of [withoutId, withoutPasscode]) {
      const answer = await post(tokens(r), body);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual(keystoneError(400, 'Bad Request', 'The request body is invalid'));
    }
  });

  it('validates the MFA token with GET and HEAD', async () => {
    const r = realm();
    await awayFromStepEdge();
    const token = (await post(tokens(r), mfaBody(r, totp(r.fixtures.mfaUser.totpSecret)))).headers.get('x-subject-token')!;
    const got = await send('GET', tokens(r), undefined, { 'x-auth-token': token, 'x-subject-token': token });
    expect(got.status).toBe(200);
    expect(got.body.token.methods).toEqual(['password', 'totp']);
    expect(got.body.token.mfa_authn_at).toMatch(ISO);
  });
});

describe('agency tokens (§8)', () => {
  const assume = (r: RealmInfo, assumeRole: Record<string, unknown> = {}, scope?: unknown) => ({
    auth: { identity: { methods: ['assume_role'], assume_role: { domain_name: r.fixtures.agency.domain.name, agency_name: r.fixtures.agency.name, ...assumeRole } }, ...(scope === undefined ? {} : { scope }) },
  });

  it('issues an agency token scoped to a project of account A by name alone, known to GET and HEAD', async () => {
    const r = realm();
    const { agency, user, domain } = r.fixtures;
    const caller = await passwordToken(r);
    const answer = await post(tokens(r), assume(r, {}, { project: { name: agency.project.name } }), { 'x-auth-token': caller });
    expect(answer.status).toBe(201);
    const token = answer.headers.get('x-subject-token')!;
    expect(token).toMatch(/^gAAAAA/);
    expect(token).not.toBe(caller);
    expect(answer.body).toEqual({
      token: {
        methods: ['assume_role'],
        issued_at: expect.stringMatching(ISO),
        expires_at: expect.stringMatching(ISO),
        audit_ids: [expect.any(String)],
        user: { id: agency.id, name: `${agency.domain.name}/${agency.name}`, domain: agency.domain },
        project: { ...agency.project, domain: agency.domain },
        roles: [{ id: expect.any(String), name: 'te_admin' }],
        catalog: [],
        assumed_by: { user: { id: user.id, name: user.name, domain, password_expires_at: '' } },
      },
    });
    const { token: body } = answer.body;
    expect(Date.parse(body.expires_at) - Date.parse(body.issued_at)).toBe(3600_000);

    const got = await send('GET', tokens(r), undefined, { 'x-auth-token': token, 'x-subject-token': token });
    expect(got.status).toBe(200);
    expect(got.headers.get('x-subject-token')).toBe(token);
    expect(got.body).toEqual(answer.body);
    const head = await fetch(tokens(r), { method: 'HEAD', headers: { 'x-auth-token': token, 'x-subject-token': token } });
    expect(head.status).toBe(200);
  });

  it('takes domain_id and xrole_name; no scope is a domain token of A; project by id; ?nocatalog', async () => {
    const r = realm();
    const { agency } = r.fixtures;
    const caller = await passwordToken(r);
    const xrole = { auth: { identity: { methods: ['assume_role'], assume_role: { domain_id: agency.domain.id, xrole_name: agency.name } } } };
    const global = await post(tokens(r), xrole, { 'x-auth-token': caller });
    expect(global.status).toBe(201);
    expect(global.body.token.domain).toEqual(agency.domain);
    expect(global.body.token).not.toHaveProperty('project');
    expect(global.body.token.roles).toEqual([{ id: expect.any(String), name: 'te_admin' }]);

    const byId = await post(tokens(r, '?nocatalog=true'), assume(r, {}, { project: { id: agency.project.id } }), { 'x-auth-token': caller });
    expect(byId.status).toBe(201);
    expect(byId.body.token.project.id).toBe(agency.project.id);
    expect(byId.body.token).not.toHaveProperty('catalog');

    const byDomainName = await post(tokens(r), assume(r, {}, { domain: { name: agency.domain.name } }), { 'x-auth-token': caller });
    expect(byDomainName.body.token.domain).toEqual(agency.domain);
  });

  it('leaves earlier agency tokens valid; /_tokens expires and revokes them', async () => {
    const r = realm();
    const caller = await passwordToken(r);
    const first = (await post(tokens(r), assume(r), { 'x-auth-token': caller })).headers.get('x-subject-token')!;
    const second = (await post(tokens(r), assume(r), { 'x-auth-token': caller })).headers.get('x-subject-token')!;
    expect(first).not.toBe(second);
    const check = (t: string) => fetch(tokens(r), { method: 'HEAD', headers: { 'x-auth-token': caller, 'x-subject-token': t } }).then((a) => a.status);
    const own = (t: string) => fetch(tokens(r), { method: 'HEAD', headers: { 'x-auth-token': t, 'x-subject-token': t } }).then((a) => a.status);
    expect([await own(first), await own(second)]).toEqual([200, 200]);
    expect((await control(r, '/_tokens', { token: first, expire: true })).status).toBe(204);
    expect((await control(r, '/_tokens', { token: second, revoke: true })).status).toBe(204);
    expect([await check(first), await check(second)]).toEqual([404, 404]);
  });

  it('lives 24 h at most, less when tokenTtlSeconds says so', async () => {
    const long = realm({ tokenTtlSeconds: 200_000 });
    const a = await post(tokens(long), assume(long), { 'x-auth-token': await passwordToken(long) });
    expect(Date.parse(a.body.token.expires_at) - Date.parse(a.body.token.issued_at)).toBe(86_400_000);
    const short = realm({ tokenTtlSeconds: 60 });
    const b = await post(tokens(short), assume(short), { 'x-auth-token': await passwordToken(short) });
    expect(Date.parse(b.body.token.expires_at) - Date.parse(b.body.token.issued_at)).toBe(60_000);
  });

  it('answers a missing, unknown, expired or revoked caller token with 401', async () => {
    const r = realm();
    const expired = await passwordToken(r);
    await control(r, '/_tokens', { token: expired, expire: true });
    const revoked = await passwordToken(r);
    await control(r, '/_tokens', { token: revoked, revoke: true });
    const callers: Record<string, string>[] = [{}, { 'x-auth-token': 'gAAAAAbogus' }, { 'x-auth-token': expired }, { 'x-auth-token': revoked }];
    for (const headers of callers) {
      const answer = await post(tokens(r), assume(r), headers);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(keystoneError(401, 'Unauthorized', 'The X-Auth-Token is invalid!'));
    }
  });

  it('answers a caller without Agent Operator, an agency token as caller, or a scope outside A with 403', async () => {
    const r = realm();
    const forbidden = keystoneError(403, 'Forbidden', 'You have no right to do this action');
    const admin = await post(tokens(r), assume(r), { 'x-auth-token': await passwordToken(r, 'admin') });
    expect(admin.status).toBe(403);
    expect(admin.body).toEqual(forbidden);
    const caller = await passwordToken(r);
    const agencyToken = (await post(tokens(r), assume(r), { 'x-auth-token': caller })).headers.get('x-subject-token')!;
    expect((await post(tokens(r), assume(r), { 'x-auth-token': agencyToken })).body).toEqual(forbidden);
    for (const scope of [{ project: { id: r.fixtures.project.id } }, { project: { name: r.fixtures.project.name } }, { domain: { id: r.fixtures.domain.id } }]) {
      const answer = await post(tokens(r), assume(r, {}, scope), { 'x-auth-token': caller });
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual(forbidden);
    }
  });

  it('answers an unknown agency or account with 404', async () => {
    const r = realm();
    const caller = await passwordToken(r);
    const unknown = await post(tokens(r), assume(r, { agency_name: 'no-such-agency' }), { 'x-auth-token': caller });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(keystoneError(404, 'Not Found', 'Could not find agency: no-such-agency'));
    const account = await post(tokens(r), assume(r, { domain_name: 'no-such-account' }), { 'x-auth-token': caller });
    expect(account.body).toEqual(keystoneError(404, 'Not Found', `Could not find agency: ${r.fixtures.agency.name}`));
  });

  it('answers a body without agency_name or account with 400', async () => {
    const r = realm();
    const caller = await passwordToken(r);
    for (const assumeRole of [{ domain_name: r.fixtures.agency.domain.name }, { agency_name: r.fixtures.agency.name }]) {
      const answer = await post(tokens(r), { auth: { identity: { methods: ['assume_role'], assume_role: assumeRole } } }, { 'x-auth-token': caller });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual(keystoneError(400, 'Bad Request', 'The request body is invalid'));
    }
  });
});

describe('security tokens (§6, §8a)', () => {
  const byToken = (token: string, durationSeconds?: number) => ({ auth: { identity: { methods: ['token'], token: { id: token, ...(durationSeconds === undefined ? {} : { duration_seconds: durationSeconds }) } } } });
  const byAgency = (r: RealmInfo, extra: Record<string, unknown> = {}) => ({
    auth: { identity: { methods: ['assume_role'], assume_role: { domain_id: r.fixtures.agency.domain.id, agency_name: r.fixtures.agency.name, ...extra } } },
  });

  function expectCredential(answer: Answer, seconds: number): void {
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.keys(answer.body)).toEqual(['credential']);
    expect(Object.keys(answer.body.credential).sort()).toEqual(['access', 'expires_at', 'secret', 'securitytoken']);
    expect(answer.body.credential.expires_at).toMatch(ISO);
    expect(Date.parse(answer.body.credential.expires_at) - Date.now()).toBeGreaterThan(seconds * 1000 - 10_000);
    expect(Date.parse(answer.body.credential.expires_at) - Date.now()).toBeLessThanOrEqual(seconds * 1000);
  }

  it('token method: from a user token (default 900 s), an agency token, a duration; the key buys a login token', async () => {
    const r = realm();
    const caller = await passwordToken(r);
    const answer = await post(`${r.base}${SECURITY_TOKENS}`, byToken(caller), { 'x-auth-token': caller });
    expectCredential(answer, 900);
    const { access, secret, securitytoken } = answer.body.credential;
    const login = await post(`${r.base}/v3.0/OS-AUTH/securitytoken/logintokens`, { auth: { securitytoken: { access, secret, id: securitytoken } } });
    expect(login.status).toBe(201);
    expect(login.headers.get('x-request-id')).toBeTruthy();

    const agencyToken = (await post(tokens(r), { auth: { identity: { methods: ['assume_role'], assume_role: { domain_name: r.fixtures.agency.domain.name, agency_name: r.fixtures.agency.name } } } }, { 'x-auth-token': caller })).headers.get('x-subject-token')!;
    expectCredential(await post(`${r.base}${SECURITY_TOKENS}`, byToken(agencyToken, 3600), { 'x-auth-token': agencyToken }), 3600);
  });

  it('assume_role method: from the delegated user token, with a duration and a session user', async () => {
    const r = realm();
    const caller = await passwordToken(r);
    expectCredential(await post(`${r.base}${SECURITY_TOKENS}`, byAgency(r), { 'x-auth-token': caller }), 900);
    expectCredential(await post(`${r.base}${SECURITY_TOKENS}`, byAgency(r, { duration_seconds: 86400, session_user: { name: 'SessionUser' } }), { 'x-auth-token': caller }), 86400);
  });

  it('answers a duration out of 900..86400 or a malformed body with 400 IAM.0011', async () => {
    const r = realm();
    const caller = await passwordToken(r);
    const bodies = [byToken(caller, 899), byToken(caller, 86401), byToken(caller, 1000.5), byAgency(r, { duration_seconds: 100_000 }), byAgency(r, { agency_name: undefined }), byAgency(r, { session_user: { name: '1bad' } }), { auth: {} }, '{not json'];
    for (const body of bodies) {
      const answer = await post(`${r.base}${SECURITY_TOKENS}`, body, { 'x-auth-token': caller });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual(vendorError('IAM.0011', 'Request body is invalid.'));
      expect(answer.headers.get('x-request-id')).toBeTruthy();
    }
  });

  it('answers a bad caller token with 401 IAM.0001', async () => {
    const r = realm();
    const callers: Record<string, string>[] = [{}, { 'x-auth-token': 'gAAAAAbogus' }];
    for (const headers of callers) {
      const answer = await post(`${r.base}${SECURITY_TOKENS}`, byToken('gAAAAAbogus'), headers);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(vendorError('IAM.0001', 'The request you have made requires authentication.'));
    }
  });

  it('answers assume_role with an agency token or without Agent Operator with 403 IAM.0003, an unknown agency with 404 IAM.0004', async () => {
    const r = realm();
    const caller = await passwordToken(r);
    const agencyToken = (await post(tokens(r), { auth: { identity: { methods: ['assume_role'], assume_role: { domain_id: r.fixtures.agency.domain.id, agency_name: r.fixtures.agency.name } } } }, { 'x-auth-token': caller })).headers.get('x-subject-token')!;
    for (const token of [agencyToken, await passwordToken(r, 'admin')]) {
      const answer = await post(`${r.base}${SECURITY_TOKENS}`, byAgency(r), { 'x-auth-token': token });
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual(vendorError('IAM.0003', 'You have no right to do this action.'));
    }
    const unknown = await post(`${r.base}${SECURITY_TOKENS}`, byAgency(r, { agency_name: 'nope' }), { 'x-auth-token': caller });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(vendorError('IAM.0004', 'Could not find agency: nope.'));
  });
});

describe('ID-token exchange (§9)', () => {
  const ISSUER = 'https://ci.example.com';
  const CLIENT = 'iam-client';
  let privateKey: CryptoKey;
  let jwk: JWK;
  let otherKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    otherKey = (await generateKeyPair('RS256')).privateKey;
  });

  const jwt = (claims: { iss?: string; aud?: string | string[]; sub?: string; exp?: number } = {}, key = privateKey) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(claims.iss ?? ISSUER)
      .setAudience(claims.aud ?? CLIENT)
      .setSubject(claims.sub ?? 'repo:acme/app:ref:refs/heads/main')
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(key);

  async function idpRealm(): Promise<RealmInfo> {
    const r = realm();
    const registered = await control(r, '/_idps', { id: 'ci-idp', idp_url: ISSUER, client_id: CLIENT, signing_key: JSON.stringify({ keys: [jwk] }) });
    expect(registered.status).toBe(204);
    return r;
  }

  const exchange = (r: RealmInfo, body: unknown, idp: string | null = 'ci-idp') => post(`${r.base}${ID_TOKENS}`, body, idp === null ? {} : { 'x-idp-id': idp });

  it('exchanges a signed ID token for a project-scoped token that GET validates', async () => {
    const r = await idpRealm();
    const { domain, project } = r.fixtures;
    const answer = await exchange(r, { auth: { id_token: { id: await jwt({ aud: ['other', CLIENT] }) }, scope: { project: { id: project.id } } } });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
    const token = answer.headers.get('x-subject-token')!;
    expect(token).toMatch(/^gAAAAA/);
    expect(answer.body).toEqual({
      token: {
        methods: ['mapped'],
        issued_at: expect.stringMatching(ISO),
        expires_at: expect.stringMatching(ISO),
        audit_ids: [expect.any(String)],
        user: {
          'OS-FEDERATION': { identity_provider: { id: 'ci-idp' }, protocol: { id: 'oidc' }, groups: [{ id: expect.any(String), name: expect.any(String) }] },
          domain,
          id: expect.stringMatching(/^[0-9a-f]{32}$/),
          name: 'FederationUser',
        },
        project: { ...project, domain },
        roles: [{ id: expect.any(String), name: 'member' }],
        catalog: [],
      },
    });
    const got = await send('GET', tokens(r), undefined, { 'x-auth-token': token, 'x-subject-token': token });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(answer.body);

    // The same subject maps to the same user; the realm's log has the request.
    const again = await exchange(r, { auth: { id_token: { id: await jwt() } } });
    expect(again.body.token.user.id).toBe(answer.body.token.user.id);
    expect(server.requests(r.id).at(-1)).toMatchObject({ method: 'POST', path: ID_TOKENS, headers: { 'x-idp-id': 'ci-idp' } });
  });

  it('scopes by project name (alone or with domain) or domain; no scope is unscoped', async () => {
    const r = await idpRealm();
    const { domain, project } = r.fixtures;
    const id = await jwt();
    for (const scope of [{ project: { name: project.name } }, { project: { name: project.name, domain: { name: domain.name } } }]) {
      const answer = await exchange(r, { auth: { id_token: { id }, scope } });
      expect(answer.status).toBe(201);
      expect(answer.body.token.project.id).toBe(project.id);
    }
    const byDomain = await exchange(r, { auth: { id_token: { id }, scope: { domain: { id: domain.id } } } });
    expect(byDomain.body.token.domain).toEqual(domain);
    const unscoped = await exchange(r, { auth: { id_token: { id } } });
    expect(unscoped.status).toBe(201);
    expect(unscoped.body.token).not.toHaveProperty('project');
    expect(unscoped.body.token).not.toHaveProperty('domain');
    expect(unscoped.body.token).not.toHaveProperty('roles');
  });

  it('answers an expired token, a wrong audience or issuer, a foreign signature or a scope without roles with 401 IAM.0001', async () => {
    const r = await idpRealm();
    const ids = [
      await jwt({ exp: Math.floor(Date.now() / 1000) - 1 }),
      await jwt({ aud: 'someone-else' }),
      await jwt({ iss: 'https://evil.example.com' }),
      await jwt({}, otherKey),
      'not.a.jwt',
    ];
    for (const id of ids) {
      const answer = await exchange(r, { auth: { id_token: { id } } });
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(vendorError('IAM.0001', 'The request you have made requires authentication.'));
    }
    const noRole = await exchange(r, { auth: { id_token: { id: await jwt() }, scope: { project: { id: r.fixtures.otherProject.id } } } });
    expect(noRole.status).toBe(401);
  });

  it('answers an unknown or missing X-Idp-Id with 404 IAM.0004 and a malformed body with 400 IAM.0011', async () => {
    const r = await idpRealm();
    const unknown = await exchange(r, { auth: { id_token: { id: await jwt() } } }, 'nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(vendorError('IAM.0004', 'Could not find identity provider: nope.'));
    expect((await exchange(r, { auth: { id_token: { id: await jwt() } } }, null)).body).toEqual(vendorError('IAM.0004', 'Could not find identity provider: .'));
    for (const body of [{ auth: { id_token: {} } }, { auth: {} }, '{broken', { auth: { id_token: { id: await jwt() }, scope: 'project' } }]) {
      const answer = await exchange(r, body);
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual(vendorError('IAM.0011', 'Request body is invalid.'));
    }
  });

  it("registers an identity provider through the realm client's registerIdp (JWKS as an object)", async () => {
    const shared = await newSharedRealm();
    await shared.registerIdp({ id: 'gitlab', idp_url: ISSUER, client_id: CLIENT, signing_key: { keys: [jwk] } });
    const answer = await post(`${shared.base}${ID_TOKENS}`, { auth: { id_token: { id: await jwt() } } }, { 'x-idp-id': 'gitlab' });
    expect(answer.status).toBe(201);
    expect(answer.body.token.user['OS-FEDERATION'].identity_provider).toEqual({ id: 'gitlab' });
  });
});

describe('federation endpoint (§10)', () => {
  const ISSUER = 'https://idp.example.com';
  const CLIENT = 'cli-public';
  const GOOD_ACCESS_TOKEN = 'opaque-access-token-of-dora';
  let privateKey: CryptoKey;
  let jwk: JWK;
  let userinfo: Server;
  let userinfoUrl: string;
  const userinfoCalls: { method: string; authorization: string | undefined }[] = [];

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    // The identity provider's userinfo endpoint: one access token is valid.
    userinfo = createServer((req, res) => {
      userinfoCalls.push({ method: req.method ?? '', authorization: req.headers.authorization });
      if (req.headers.authorization === `Bearer ${GOOD_ACCESS_TOKEN}`) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: 'dora' }));
      else res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
    });
    await new Promise<void>((resolve) => userinfo.listen(0, '127.0.0.1', resolve));
    userinfoUrl = `http://127.0.0.1:${(userinfo.address() as AddressInfo).port}/me`;
  });
  afterAll(async () => {
    userinfo.closeAllConnections();
    await new Promise<void>((resolve) => userinfo.close(() => resolve()));
  });

  const idToken = (claims: { aud?: string; exp?: number; sub?: string } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setAudience(claims.aud ?? CLIENT)
      .setSubject(claims.sub ?? 'dora')
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 600)
      .sign(privateKey);

  async function federationRealm(registration: Record<string, unknown>): Promise<RealmInfo> {
    const r = realm();
    const registered = await control(r, '/_idps', { id: 'corp', idp_url: ISSUER, client_id: CLIENT, ...registration });
    expect(registered.status).toBe(204);
    return r;
  }

  const federate = (r: RealmInfo, bearer: string | undefined, idp = 'corp', protocol = 'oidc', headers: Record<string, string> = {}) =>
    send('POST', `${r.base}/v3/OS-FEDERATION/identity_providers/${idp}/protocols/${protocol}/auth`, undefined, { ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }), ...headers });

  const rescope = (r: RealmInfo, token: string, scope: unknown) => post(tokens(r), { auth: { identity: { methods: ['token'], token: { id: token } }, scope } });

  const unscopedBody = (r: RealmInfo, protocol = 'oidc') => ({
    token: {
      methods: ['mapped'],
      issued_at: expect.stringMatching(ISO),
      expires_at: expect.stringMatching(ISO),
      audit_ids: [expect.any(String)],
      user: {
        'OS-FEDERATION': { identity_provider: { id: 'corp' }, protocol: { id: protocol }, groups: [{ id: expect.any(String), name: expect.any(String) }] },
        domain: r.fixtures.domain,
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        name: 'FederationUser',
      },
    },
  });

  it('takes an ID token signed with signing_key: an unscoped token that the token method scopes to the project', async () => {
    const r = await federationRealm({ signing_key: { keys: [jwk] } });
    const { domain, project } = r.fixtures;
    const answer = await federate(r, await idToken());
    expect(answer.status).toBe(201);
    expect(answer.headers.get('x-request-id')).toBeNull();
    const unscoped = answer.headers.get('x-subject-token')!;
    expect(unscoped).toMatch(/^gAAAAA/);
    expect(answer.body).toEqual(unscopedBody(r));

    // Keystone's next step (§10): the token method with a scope; the federated user is member of /smartcity.
    for (const scope of [{ project: { id: project.id } }, { project: { name: project.name, domain: { name: domain.name } } }]) {
      const scoped = await rescope(r, unscoped, scope);
      expect(scoped.status).toBe(201);
      expect(scoped.body.token).toMatchObject({
        methods: ['mapped', 'token'],
        user: { id: answer.body.token.user.id, name: 'FederationUser', 'OS-FEDERATION': { identity_provider: { id: 'corp' } } },
        project: { ...project, domain },
        roles: [{ id: expect.any(String), name: 'member' }],
        catalog: [],
      });
      expect(scoped.body.token.expires_at).toBe(answer.body.token.expires_at);
      const token = scoped.headers.get('x-subject-token')!;
      const got = await send('GET', tokens(r), undefined, { 'x-auth-token': token, 'x-subject-token': token });
      expect(got.status).toBe(200);
      expect(got.body).toEqual(scoped.body);
      expect((await fetch(tokens(r), { method: 'HEAD', headers: { 'x-auth-token': token, 'x-subject-token': token } })).status).toBe(200);
    }
    const noRole = await rescope(r, unscoped, { project: { id: r.fixtures.otherProject.id } });
    expect(noRole.status).toBe(401);

    // The unscoped token validates too; the same subject through §9 is the same user.
    const head = await fetch(tokens(r), { method: 'HEAD', headers: { 'x-auth-token': unscoped, 'x-subject-token': unscoped } });
    expect(head.status).toBe(200);
    const viaIdToken = await post(`${r.base}${ID_TOKENS}`, { auth: { id_token: { id: await idToken() } } }, { 'x-idp-id': 'corp' });
    expect(viaIdToken.body.token.user.id).toBe(answer.body.token.user.id);
  });

  it('takes an opaque access token that the userinfo endpoint accepts (GET, the bearer), its sub the subject', async () => {
    const r = await federationRealm({ userinfo_endpoint: userinfoUrl });
    userinfoCalls.length = 0;
    const answer = await federate(r, GOOD_ACCESS_TOKEN);
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual(unscopedBody(r));
    expect(userinfoCalls).toEqual([{ method: 'GET', authorization: `Bearer ${GOOD_ACCESS_TOKEN}` }]);
    const scoped = await rescope(r, answer.headers.get('x-subject-token')!, { project: { id: r.fixtures.project.id } });
    expect(scoped.status).toBe(201);
    expect(scoped.body.token.roles).toEqual([{ id: expect.any(String), name: 'member' }]);
    // An ID token of `dora` would have been the same user.
    const both = await federationRealm({ signing_key: { keys: [jwk] }, userinfo_endpoint: userinfoUrl });
    const [viaUserinfo, viaJwt] = [await federate(both, GOOD_ACCESS_TOKEN), await federate(both, await idToken())];
    expect(viaUserinfo.body.token.user.id).toBe(viaJwt.body.token.user.id);
  });

  it('answers an unknown identity provider with 400, Keystone-shaped', async () => {
    const r = await federationRealm({ signing_key: { keys: [jwk] } });
    const answer = await federate(r, await idToken(), 'nope');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual(keystoneError(400, 'Bad Request', "Request parameter 'idp id' is invalid."));
  });

  it('answers a missing or foreign bearer, a bad ID token, a refused access token or another protocol with 401', async () => {
    const r = await federationRealm({ signing_key: { keys: [jwk] }, userinfo_endpoint: userinfoUrl });
    const good = await idToken();
    const answers = [
      await federate(r, undefined),
      await federate(r, undefined, 'corp', 'oidc', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }),
      await federate(r, await idToken({ exp: Math.floor(Date.now() / 1000) - 1 })),
      await federate(r, await idToken({ aud: 'someone-else' })),
      await federate(r, 'not-an-access-token'),
      await federate(r, good, 'corp', 'saml2'),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(keystoneError(401, 'Unauthorized', 'The request you have made requires authentication.'));
      expect(answer.headers.get('www-authenticate')).toBe(`Keystone uri="${r.base}/v3"`);
    }
    expect((await federate(r, good)).status).toBe(201);
  });

  it('uses the registered protocol_id; registering needs signing_key or userinfo_endpoint', async () => {
    const r = await federationRealm({ userinfo_endpoint: userinfoUrl, protocol_id: 'openid' });
    const answer = await federate(r, GOOD_ACCESS_TOKEN, 'corp', 'openid');
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual(unscopedBody(r, 'openid'));
    expect((await federate(r, GOOD_ACCESS_TOKEN)).status).toBe(401);

    const plain = realm();
    for (const registration of [{}, { userinfo_endpoint: 'not a url' }, { signing_key: '{broken' }]) {
      const refused = await control(plain, '/_idps', { id: 'corp', idp_url: ISSUER, client_id: CLIENT, ...registration });
      expect(refused.status).toBe(400);
    }
  });

  it("registers a userinfo identity provider through the realm client's registerIdp", async () => {
    const shared = await newSharedRealm();
    await shared.registerIdp({ id: 'corp', idp_url: ISSUER, client_id: CLIENT, userinfo_endpoint: userinfoUrl });
    const answer = await federate(shared, GOOD_ACCESS_TOKEN);
    expect(answer.status).toBe(201);
    expect(answer.body.token.user['OS-FEDERATION']).toMatchObject({ identity_provider: { id: 'corp' }, protocol: { id: 'oidc' } });
  });
});
