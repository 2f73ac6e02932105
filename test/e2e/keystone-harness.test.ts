/**
 * The Keystone harness's sign-in fixtures against the real Keystone, with plain fetch (no
 * authctl): application credentials, TOTP, multi-factor receipts, trust and system scope, OAuth2
 * client credentials. Later CLI suites rely on these fixtures; this file proves each one works and
 * pins what Keystone answers. One Keystone for the whole file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keystoneMissing, startKeystone, type KeystoneFixtures, type KeystoneHarness } from '../harness/keystone.js';
import { requireOrSkip } from '../helpers/env.js';
import { totp } from '../helpers/totp.js';

const ready = requireOrSkip(keystoneMissing(), 'Keystone harness fixtures');

let keystone: KeystoneHarness;
let fixtures: KeystoneFixtures;
let startMs = 0;

type Json = Record<string, any>;

interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}

/** Every answer, in order: printed after the file so a run shows what Keystone said. */
const answers: Array<{ what: string; status: number }> = [];

async function send(what: string, path: string, init: RequestInit): Promise<Answer> {
  const response = await fetch(`${keystone.url}${path}`, init);
  const text = await response.text();
  answers.push({ what, status: response.status });
  let body: Json = {};
  try {
    body = text === '' ? {} : (JSON.parse(text) as Json);
  } catch {
    body = { text };
  }
  return { status: response.status, headers: response.headers, body };
}

function authTokens(what: string, auth: Json, headers: Record<string, string> = {}): Promise<Answer> {
  return send(what, '/auth/tokens', { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ auth }) });
}

function oauth2Token(what: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  return send(what, '/OS-OAUTH2/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

function subjectToken(answer: Answer): string {
  const token = answer.headers.get('x-subject-token');
  expect(token, JSON.stringify(answer.body)).toBeTruthy();
  return token!;
}

/** The user's own token checked with itself in both headers: 200 if Keystone accepts it. */
async function selfCheck(what: string, token: string): Promise<number> {
  return (await send(what, '/auth/tokens', { method: 'HEAD', headers: { 'X-Auth-Token': token, 'X-Subject-Token': token } })).status;
}

function totpUserRef(user: KeystoneFixtures['totpUser']): Json {
  return { name: user.name, domain: { name: user.domain } };
}

/** A 6-digit code Keystone rejects: not the code of this window, nor of the one before or after. */
function wrongCode(secret: string): string {
  const now = Date.now();
  const valid = new Set([totp(secret, now - 30_000), totp(secret, now), totp(secret, now + 30_000)]);
  let code = Number(totp(secret, now));
  for (;;) {
    code = (code + 1) % 1_000_000;
    const candidate = String(code).padStart(6, '0');
    if (!valid.has(candidate)) return candidate;
  }
}

describe.runIf(ready)('the Keystone harness fixtures, against the real Keystone', () => {
  beforeAll(async () => {
    const started = performance.now();
    const start = await startKeystone();
    startMs = performance.now() - started;
    if (!start.ok) throw new Error(start.reason);
    keystone = start.keystone;
    fixtures = keystone.fixtures;
  }, 180_000);

  afterAll(async () => {
    await keystone?.stop();
    const lines = answers.map(({ what, status }) => `  ${status}  ${what}`);
    process.stderr.write(`\nKeystone with fixtures started in ${(startMs / 1000).toFixed(2)} s; answers:\n${lines.join('\n')}\n\n`);
  });

  describe('application credentials', () => {
    it('by id: 201, methods ["application_credential"], scoped to the credential\'s project', async () => {
      for (const credential of [fixtures.appCredential, fixtures.restrictedAppCredential]) {
        const answer = await authTokens(`app credential ${credential.name} by id`, {
          identity: { methods: ['application_credential'], application_credential: { id: credential.id, secret: credential.secret } },
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(201);
        expect(answer.body.token).toMatchObject({
          methods: ['application_credential'],
          user: { id: credential.userId, name: credential.userName, domain: { name: credential.userDomain } },
          project: { id: credential.projectId, name: fixtures.project.name },
          application_credential: { id: credential.id, name: credential.name, restricted: !credential.unrestricted },
        });
        expect(credential.projectId).toBe(fixtures.project.id);
        expect(await selfCheck(`HEAD of ${credential.name}'s token with itself`, subjectToken(answer))).toBe(200);
      }
    });

    it('by name and user (name + domain, or id): 201', async () => {
      const credential = fixtures.appCredential;
      for (const [how, user] of [
        ['user name + domain', { name: credential.userName, domain: { name: credential.userDomain } }],
        ['user id', { id: credential.userId }],
      ] as const) {
        const answer = await authTokens(`app credential by name and ${how}`, {
          identity: { methods: ['application_credential'], application_credential: { name: credential.name, secret: credential.secret, user } },
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(201);
        expect(answer.body.token.methods).toEqual(['application_credential']);
      }
    });

    it('a scope in the request: 401; a wrong secret: 401', async () => {
      const credential = fixtures.appCredential;
      const scoped = await authTokens('app credential with a scope', {
        identity: { methods: ['application_credential'], application_credential: { id: credential.id, secret: credential.secret } },
        scope: { project: { id: fixtures.project.id } },
      });
      expect(scoped.status).toBe(401);
      expect(scoped.body.error.message).toMatch(/cannot request a scope/i);
      const flipped = `${credential.secret[0] === 'A' ? 'B' : 'A'}${credential.secret.slice(1)}`;
      const wrong = await authTokens('app credential with a wrong secret', {
        identity: { methods: ['application_credential'], application_credential: { id: credential.id, secret: flipped } },
      });
      expect(wrong.status).toBe(401);
    });

    it('a secret with characters appended still logs in: bcrypt reads only the first 72 bytes (secrets are 86)', async () => {
      // So a "wrong secret" test must change the secret's start, not add to its end.
      const credential = fixtures.appCredential;
      expect(credential.secret.length).toBeGreaterThan(72);
      const answer = await authTokens('app credential, secret + "x"', {
        identity: { methods: ['application_credential'], application_credential: { id: credential.id, secret: `${credential.secret}x` } },
      });
      expect(answer.status).toBe(201);
    });

    it('the deleted one: 404', async () => {
      const { id, secret } = fixtures.deletedAppCredential;
      const answer = await authTokens('deleted app credential', { identity: { methods: ['application_credential'], application_credential: { id, secret } } });
      expect(answer.status).toBe(404);
    });

    it('the token method on an application-credential token: 403 (restricted or not)', async () => {
      for (const credential of [fixtures.appCredential, fixtures.restrictedAppCredential]) {
        const login = await authTokens(`app credential ${credential.name} (for the token method)`, {
          identity: { methods: ['application_credential'], application_credential: { id: credential.id, secret: credential.secret } },
        });
        const token = subjectToken(login);
        const rescope = await authTokens(`token method on ${credential.name}'s token`, { identity: { methods: ['token'], token: { id: token } } });
        expect(rescope.status, JSON.stringify(rescope.body)).toBe(403);
      }
    });
  });

  describe('TOTP', () => {
    it('totpUser: TOTP alone with a computed code: 201, methods ["totp"]; its password alone also 201 (no MFA rules)', async () => {
      const user = fixtures.totpUser;
      const byCode = await authTokens('totpUser: totp only', { identity: { methods: ['totp'], totp: { user: { ...totpUserRef(user), passcode: totp(user.totpSecret) } } } });
      expect(byCode.status, JSON.stringify(byCode.body)).toBe(201);
      expect(byCode.body.token).toMatchObject({ methods: ['totp'], user: { id: user.id, name: user.name } });
      const byId = await authTokens('totpUser: totp only, user by id, project-scoped', {
        identity: { methods: ['totp'], totp: { user: { id: user.id, passcode: totp(user.totpSecret) } } },
        scope: { project: { id: fixtures.project.id } },
      });
      expect(byId.status, JSON.stringify(byId.body)).toBe(201);
      expect(byId.body.token.project.id).toBe(fixtures.project.id);
      const byPassword = await authTokens('totpUser: password only', { identity: { methods: ['password'], password: { user: { ...totpUserRef(user), password: user.password } } } });
      expect(byPassword.status).toBe(201);
    });

    it('totpUser: a wrong passcode: 401, no receipt', async () => {
      const user = fixtures.totpUser;
      const answer = await authTokens('totpUser: wrong passcode', { identity: { methods: ['totp'], totp: { user: { ...totpUserRef(user), passcode: wrongCode(user.totpSecret) } } } });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('openstack-auth-receipt')).toBeNull();
    });
  });

  describe('multi-factor (mfaUser: rule [["password","totp"]])', () => {
    const password = () => ({ user: { ...totpUserRef(fixtures.mfaUser), password: fixtures.mfaUser.password } });
    const passcode = (code = totp(fixtures.mfaUser.totpSecret)) => ({ user: { ...totpUserRef(fixtures.mfaUser), passcode: code } });
    const scope = () => ({ project: { id: fixtures.project.id } });

    async function receipt(): Promise<Answer> {
      const answer = await authTokens('mfaUser: password only', { identity: { methods: ['password'], password: password() }, scope: scope() });
      expect(answer.status).toBe(401);
      return answer;
    }

    it('password only: 401 with an Openstack-Auth-Receipt header, top-level required_auth_methods, no error member', async () => {
      const answer = await receipt();
      expect(answer.headers.get('openstack-auth-receipt')).toMatch(/^\S{20,}$/);
      // Each rule is a Python set turned into a list: its order changes from one Keystone process to the next.
      expect((answer.body.required_auth_methods as string[][]).map((rule) => [...rule].sort())).toEqual([['password', 'totp']]);
      expect(answer.body.receipt).toMatchObject({ methods: ['password'], user: { id: fixtures.mfaUser.id } });
      // Unlike every other 401: no `error` member and no WWW-Authenticate header.
      expect(Object.keys(answer.body).sort()).toEqual(['receipt', 'required_auth_methods']);
      expect(answer.headers.get('www-authenticate')).toBeNull();
    });

    it('the receipt header back with methods ["totp"]: 201, methods password and totp', async () => {
      const first = await receipt();
      const header = first.headers.get('openstack-auth-receipt')!;
      const answer = await authTokens('mfaUser: receipt + totp', { identity: { methods: ['totp'], totp: passcode() }, scope: scope() }, { 'Openstack-Auth-Receipt': header });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      expect([...(answer.body.token.methods as string[])].sort()).toEqual(['password', 'totp']);
      expect(answer.body.token.project.id).toBe(fixtures.project.id);
    });

    it('both methods in one request: 201', async () => {
      const answer = await authTokens('mfaUser: password + totp in one request', { identity: { methods: ['password', 'totp'], password: password(), totp: passcode() }, scope: scope() });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      expect([...(answer.body.token.methods as string[])].sort()).toEqual(['password', 'totp']);
    });

    it('a wrong passcode: 401, with the receipt and in one request', async () => {
      const first = await receipt();
      const header = first.headers.get('openstack-auth-receipt')!;
      const code = wrongCode(fixtures.mfaUser.totpSecret);
      const withReceipt = await authTokens('mfaUser: receipt + wrong passcode', { identity: { methods: ['totp'], totp: passcode(code) }, scope: scope() }, { 'Openstack-Auth-Receipt': header });
      expect(withReceipt.status).toBe(401);
      expect(withReceipt.body.required_auth_methods).toBeUndefined();
      const together = await authTokens('mfaUser: password + wrong passcode', { identity: { methods: ['password', 'totp'], password: password(), totp: passcode(code) }, scope: scope() });
      expect(together.status).toBe(401);
      expect(together.body.required_auth_methods).toBeUndefined();
    });

    it('totp alone without a receipt: 401 with a receipt (the password is still missing)', async () => {
      const answer = await authTokens('mfaUser: totp only, no receipt', { identity: { methods: ['totp'], totp: passcode() }, scope: scope() });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('openstack-auth-receipt')).toBeTruthy();
      expect(answer.body.receipt).toMatchObject({ methods: ['totp'] });
    });
  });

  describe('trust and system scope', () => {
    it('the trustee, scoped to the trust: 201 with OS-TRUST:trust, on /smartcity, with the member role', async () => {
      const { trust } = fixtures;
      const answer = await authTokens('trustee: trust scope', {
        identity: { methods: ['password'], password: { user: { name: trust.trusteeName, domain: { name: trust.trusteeDomain }, password: trust.trusteePassword } } },
        scope: { 'OS-TRUST:trust': { id: trust.id } },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      expect(answer.body.token).toMatchObject({
        user: { id: trust.trusteeId },
        project: { id: fixtures.project.id },
        'OS-TRUST:trust': { id: trust.id, impersonation: false, trustor_user: { id: fixtures.member.id }, trustee_user: { id: trust.trusteeId } },
      });
      expect((answer.body.token.roles as Array<{ name: string }>).map((role) => role.name)).toContain('member');
      const rescope = await authTokens('token method on a trust-scoped token', { identity: { methods: ['token'], token: { id: subjectToken(answer) } } });
      expect(rescope.status).toBe(403);
    });

    it('the trustee on the project directly: 401 (it has no role of its own)', async () => {
      const { trust } = fixtures;
      const answer = await authTokens('trustee: project scope', {
        identity: { methods: ['password'], password: { user: { id: trust.trusteeId, password: trust.trusteePassword } } },
        scope: { project: { id: fixtures.project.id } },
      });
      expect(answer.status).toBe(401);
    });

    it('the admin, system scope: 201 with token.system.all', async () => {
      const { admin } = fixtures;
      const answer = await authTokens('admin: system scope', {
        identity: { methods: ['password'], password: { user: { name: admin.name, domain: { name: admin.domainName }, password: admin.password } } },
        scope: { system: { all: true } },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      expect(answer.body.token.system).toEqual({ all: true });
      expect(answer.body.token.project).toBeUndefined();
    });
  });

  describe('OAuth2 client credentials (/v3/OS-OAUTH2/token)', () => {
    it('HTTP Basic with an application credential: 200, a Bearer access_token Keystone accepts', async () => {
      const credential = fixtures.appCredential;
      const answer = await oauth2Token('OAuth2: HTTP Basic', { grant_type: 'client_credentials' }, { authorization: basic(credential.id, credential.secret) });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toEqual({ access_token: expect.any(String) as string, token_type: 'Bearer', expires_in: 3600 });
      expect(await selfCheck('HEAD of the OAuth2 access token with itself', answer.body.access_token as string)).toBe(200);
    });

    it('the secret in the form body: 401 invalid_client; a wrong secret over Basic: 401 invalid_client', async () => {
      const credential = fixtures.appCredential;
      const inBody = await oauth2Token('OAuth2: secret in the form body', { grant_type: 'client_credentials', client_id: credential.id, client_secret: credential.secret });
      expect(inBody.status).toBe(401);
      expect(inBody.body.error).toBe('invalid_client');
      const wrong = await oauth2Token('OAuth2: wrong secret over Basic', { grant_type: 'client_credentials' }, { authorization: basic(credential.id, 'wrong') });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid_client');
    });
  });
});
