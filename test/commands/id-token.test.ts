/** OTC / Huawei Cloud: a CI job's OpenID Connect ID token exchanged for an IAM token (iam-api.md §9). In-process, against the strict stub. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/main.js';
import type { HttpRequest } from '../../src/iam/http.js';
import { NOW, testFactory, type TestHarness } from '../helpers/factory.js';
import { jsonBody, keystoneTime } from '../helpers/iam-responses.js';

const HOUR = 3600_000;
const IAM = 'https://iam.eu-de.otc.t-systems.com';
const OTC_EU_DE = `${IAM}/v3`;
const EXCHANGE_URL = `${IAM}/v3.0/OS-AUTH/id-token/tokens`;
const ISSUER = 'https://token.actions.githubusercontent.com';
const AUDIENCE = 'otc-ci';
const PROJECT = { id: 'p-ci-1', name: 'eu-de_ci', domain: { id: 'd-acme', name: 'acme' } };

let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
beforeAll(async () => {
  ({ privateKey } = await generateKeyPair('RS256'));
});

/** An ID token as GitHub Actions issues one, signed by a real key; `exp` in seconds. */
async function ciToken(options: { exp?: number; audience?: string; job?: string } = {}): Promise<string> {
  return new SignJWT({ repository: 'acme/app', job_workflow_ref: options.job ?? 'acme/app/.github/workflows/deploy.yml@refs/heads/main' })
    .setProtectedHeader({ alg: 'RS256', kid: 'ci-key-1' })
    .setIssuer(ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject('repo:acme/app:ref:refs/heads/main')
    .setIssuedAt(Math.floor(NOW / 1000) - 10)
    .setExpirationTime(options.exp ?? Math.floor(NOW / 1000) + 300)
    .sign(privateKey);
}

/** IAM's 201 for an exchange (§9): a federated user's token, scoped to the project. */
function federated(token: string, expiresAt: number, scope: 'project' | 'none' = 'project') {
  const body: Record<string, unknown> = {
    methods: ['mapped'],
    expires_at: keystoneTime(expiresAt),
    issued_at: keystoneTime(NOW),
    user: {
      'OS-FEDERATION': { identity_provider: { id: 'github' }, protocol: { id: 'oidc' }, groups: [{ id: 'g-1', name: 'ci' }] },
      domain: PROJECT.domain,
      id: 'fed-user-1',
      name: 'FederationUser',
    },
  };
  if (scope === 'project') Object.assign(body, { project: PROJECT, roles: [{ id: 'r-1', name: 'te_admin' }], catalog: [] });
  return { status: 201, headers: { 'X-Subject-Token': token, 'X-Request-Id': 'req-1' }, body: { token: body } };
}

const vendorError = (status: number, code: string, message: string) => ({ status, body: { error_code: code, error_msg: message } });
const UNAUTHENTICATED = vendorError(401, 'IAM.0001', 'The request you have made requires authentication.');

/** A harness whose ID token file (in its home) holds `jwt`; the environment as a CI job sets it. */
function ciJob(jwt: string | undefined, env: Record<string, string> = {}, options: Parameters<typeof testFactory>[0] = {}): { t: TestHarness; file: string } {
  const t = testFactory({ ...options, env: { AUTHCTL_VENDOR: 'otc', OS_REGION_NAME: 'eu-de', ...env } });
  const file = join(t.home, 'ci-id-token');
  if (jwt !== undefined) writeFileSync(file, `${jwt}\n`);
  return { t, file };
}

const envFor = (file: string) => ({ HUAWEICLOUD_SDK_IDP_ID: 'github', HUAWEICLOUD_SDK_ID_TOKEN_FILE: file, OS_PROJECT_NAME: 'eu-de_ci' });

function config(t: TestHarness): { profiles: Record<string, Record<string, unknown>> } {
  return JSON.parse(readFileSync(join(t.configDir, 'config.json'), 'utf8'));
}

const sentJwt = (request: HttpRequest) => (jsonBody(request) as { auth: { id_token: { id: string } } }).auth.id_token.id;

describe('login with an ID token', () => {
  it('from the environment alone (no terminal): the request §9 describes, scope by project name alone, the path saved', async () => {
    const jwt = await ciToken();
    const { t, file } = ciJob(jwt);
    const job = t.withEnv({ AUTHCTL_VENDOR: 'otc', OS_REGION_NAME: 'eu-de', ...envFor(file) });
    t.http.on('POST', EXCHANGE_URL, (request) => {
      expect(request.headers).toEqual({ 'content-type': 'application/json;charset=utf8', accept: 'application/json', 'x-idp-id': 'github' });
      expect(jsonBody(request)).toEqual({ auth: { id_token: { id: jwt }, scope: { project: { name: 'eu-de_ci' } } } });
      return federated('MIIfederated-1', NOW + 24 * HOUR);
    });
    expect(await run(['login'], job)).toBe(0);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(`Logged in to ${OTC_EU_DE} as FederationUser (identity provider github), project eu-de_ci [profile default], until 2026-12-02T12:00:00Z (1d 0h)\n`);
    expect(config(t).profiles.default).toEqual({ kind: 'id-token', authUrl: OTC_EU_DE, vendor: 'otc', region: 'eu-de', idTokenFile: file, idpId: 'github', project: 'eu-de_ci' });
    expect(readFileSync(join(t.configDir, 'config.json'), 'utf8')).not.toContain(jwt);
    expect([...t.store.entries.keys()]).toEqual(['default:token']);
    expect([...t.store.entries.values()].join('')).not.toContain(jwt);

    t.clearOutput();
    expect(await run(['token', 'get'], job)).toBe(0);
    expect(t.stdout()).toBe('MIIfederated-1\n');
  });

  it('scopes by project id, by domain, or not at all, as the flags say', async () => {
    const jwt = await ciToken();
    const { t, file } = ciJob(jwt, { HUAWEICLOUD_SDK_IDP_ID: 'github' });
    const cases: [string[], unknown][] = [
      [['--project-id', 'p-ci-1'], { project: { id: 'p-ci-1' } }],
      [['--domain', 'acme'], { domain: { name: 'acme' } }],
      [['--domain-id', 'd-acme'], { domain: { id: 'd-acme' } }],
      [['--unscoped'], undefined],
    ];
    for (const [flags, scope] of cases) {
      t.http.on('POST', EXCHANGE_URL, (request) => {
        expect((jsonBody(request) as { auth: { scope?: unknown } }).auth.scope).toEqual(scope);
        return federated('MIIfederated-s', NOW + HOUR, 'none');
      });
      expect(await run(['--profile', flags[0]!.slice(2), 'login', '--id-token-file', file, ...flags], t.factory)).toBe(0);
    }
  });

  it('a relative path is saved absolute', async () => {
    const { t, file } = ciJob(await ciToken(), { HUAWEICLOUD_SDK_IDP_ID: 'github' });
    t.http.on('POST', EXCHANGE_URL, federated('MIIfederated-1', NOW + HOUR));
    expect(await run(['login', '--id-token-file', relative(process.cwd(), file)], t.factory)).toBe(0);
    expect(config(t).profiles.default!.idTokenFile).toBe(file);
  });

  it('--id-token-file with no --idp-id at a terminal asks for the identity provider', async () => {
    const { t, file } = ciJob(await ciToken(), {}, { tty: true, answers: [['Identity provider id (in IAM):', 'github']] });
    t.http.on('POST', EXCHANGE_URL, (request) => {
      expect(request.headers?.['x-idp-id']).toBe('github');
      return federated('MIIfederated-1', NOW + HOUR, 'none');
    });
    expect(await run(['login', '--id-token-file', file], t.factory)).toBe(0);
  });
});

describe('renewal', () => {
  it('token get reads the file again: the rotated ID token is the one sent', async () => {
    const first = await ciToken({ job: 'first' });
    const { t, file } = ciJob(first);
    t.http.on('POST', EXCHANGE_URL, federated('MIIfederated-1', NOW + HOUR));
    expect(await run(['login', '--idp-id', 'github', '--id-token-file', file, '--project', 'eu-de_ci'], t.factory)).toBe(0);

    // The CI platform writes a new token into the same file; the profile alone renews.
    const rotated = await ciToken({ job: 'second', exp: Math.floor((NOW + HOUR) / 1000) + 300 });
    writeFileSync(file, rotated);
    t.clock.advance(HOUR);
    t.clearOutput();
    t.http.on('POST', EXCHANGE_URL, (request) => {
      expect(sentJwt(request)).toBe(rotated);
      return federated('MIIfederated-2', NOW + 2 * HOUR);
    });
    expect(await run(['token', 'get'], t.withEnv({}))).toBe(0);
    expect(t.stdout()).toBe('MIIfederated-2\n');
    expect(t.stderr()).toBe('');
    expect(t.http.requests.map(sentJwt)).toEqual([first, rotated]);
  });

  it('a token cached for one identity provider is not served for another', async () => {
    const jwt = await ciToken();
    const { t, file } = ciJob(jwt);
    t.http.on('POST', EXCHANGE_URL, federated('MIIfederated-github', NOW + HOUR));
    expect(await run(['login'], t.withEnv({ AUTHCTL_VENDOR: 'otc', ...envFor(file) }))).toBe(0);
    t.http.on('POST', EXCHANGE_URL, (request) => {
      expect(request.headers?.['x-idp-id']).toBe('gitlab');
      return federated('MIIfederated-gitlab', NOW + HOUR);
    });
    t.clearOutput();
    expect(await run(['token', 'get'], t.withEnv({ ...envFor(file), HUAWEICLOUD_SDK_IDP_ID: 'gitlab' }))).toBe(0);
    expect(t.stdout()).toBe('MIIfederated-gitlab\n');
  });
});

describe('refusals', () => {
  it('an expired ID token (IAM 401): exit 3 saying the CI token expired and when; the cached token stays', async () => {
    const { t, file } = ciJob(await ciToken(), { HUAWEICLOUD_SDK_IDP_ID: 'github' });
    t.http.on('POST', EXCHANGE_URL, federated('MIIfederated-1', NOW + HOUR));
    expect(await run(['login', '--id-token-file', file], t.factory)).toBe(0);
    const cached = t.store.entries.get('default:token');

    writeFileSync(file, await ciToken({ exp: Math.floor(NOW / 1000) - 60 }));
    t.clearOutput();
    t.http.on('POST', EXCHANGE_URL, UNAUTHENTICATED);
    expect(await run(['login', '--id-token-file', file], t.factory)).toBe(3);
    const expired =
      `authctl: IAM refused the CI ID token in ${file}: it expired at 2026-12-01T11:59:00Z\n` +
      'hint: request a fresh ID token in the job and write it to the file before this step (CI ID tokens live minutes; the file is read again at each renewal)\n';
    expect(t.stderr()).toBe(expired);
    expect(t.store.entries.get('default:token')).toBe(cached);

    // A renewal once the cached token has expired says the same.
    t.clock.advance(HOUR);
    t.clearOutput();
    t.http.on('POST', EXCHANGE_URL, UNAUTHENTICATED);
    expect(await run(['token', 'get'], t.factory)).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(expired);
    expect(t.store.entries.get('default:token')).toBe(cached);
  });

  it('an unexpired ID token IAM refuses (IAM 401): exit 4 naming what must match, with the token\'s issuer and audience', async () => {
    const { t, file } = ciJob(await ciToken({ audience: 'sts.amazonaws.com' }));
    t.http.on('POST', EXCHANGE_URL, UNAUTHENTICATED);
    expect(await run(['login'], t.withEnv({ AUTHCTL_VENDOR: 'otc', ...envFor(file) }))).toBe(4);
    expect(t.stderr()).toBe(
      `authctl: IAM refused the ID token in ${file} (issuer, audience/client id or signature do not match the configuration of identity provider github); ` +
        `the token's issuer ${ISSUER}, audience sts.amazonaws.com (IAM: The request you have made requires authentication. (IAM.0001))\n` +
        "hint: the identity provider's idp_url must be the token's issuer (iss), its client_id among the token's audience (aud) and its signing_key the issuer's keys; its mapping must also give the user a role in the scope asked for\n",
    );
    expect(t.store.entries.size).toBe(0);
  });

  it('an unknown identity provider (IAM 404): exit 4 naming it and its variable', async () => {
    const { t, file } = ciJob(await ciToken());
    t.http.on('POST', EXCHANGE_URL, vendorError(404, 'IAM.0004', 'Could not find identity provider: github.'));
    expect(await run(['login'], t.withEnv({ AUTHCTL_VENDOR: 'otc', ...envFor(file) }))).toBe(4);
    expect(t.stderr()).toBe(
      `authctl: exchanging the ID token at ${IAM} failed: IAM knows no identity provider github (IAM: Could not find identity provider: github. (IAM.0004))\n` +
        "hint: check --idp-id (HUAWEICLOUD_SDK_IDP_ID): the identity provider's id in IAM, and the region's IAM (--vendor with --region, or --auth-url)\n",
    );
  });

  it('a 404 that is not the vendor\'s (no such endpoint): exit 4 about the URL, not the identity provider', async () => {
    const { t, file } = ciJob(await ciToken());
    t.http.on('POST', EXCHANGE_URL, { status: 404, body: { error: { code: 404, title: 'Not Found', message: 'The resource could not be found.' } } });
    expect(await run(['login'], t.withEnv({ AUTHCTL_VENDOR: 'otc', ...envFor(file) }))).toBe(4);
    expect(t.stderr()).toBe(
      `authctl: exchanging the ID token at ${IAM} failed: not found (404): The resource could not be found.\n` +
        'hint: the ID-token endpoint is not there (plain Keystone has none): check the IAM URL (--vendor with --region, or --auth-url)\n',
    );
  });

  it('a malformed request (IAM 400): exit 2', async () => {
    const { t, file } = ciJob(await ciToken());
    t.http.on('POST', EXCHANGE_URL, vendorError(400, 'IAM.0011', 'Request body is invalid.'));
    expect(await run(['login'], t.withEnv({ AUTHCTL_VENDOR: 'otc', ...envFor(file) }))).toBe(2);
    expect(t.stderr()).toMatch(/^authctl: exchanging the ID token at \S+ was refused as malformed \(400\): Request body is invalid\. \(IAM\.0011\)\n/);
  });
});

describe('what is checked before anything is sent', () => {
  it('only one of the two variables: exit 2 naming the missing one, nothing sent', async () => {
    const { t, file } = ciJob(await ciToken());
    expect(await run(['login'], t.withEnv({ AUTHCTL_VENDOR: 'otc', HUAWEICLOUD_SDK_IDP_ID: 'github' }))).toBe(2);
    expect(t.stderr()).toBe('authctl: HUAWEICLOUD_SDK_IDP_ID is set but HUAWEICLOUD_SDK_ID_TOKEN_FILE is not: the two go together\nhint: set HUAWEICLOUD_SDK_ID_TOKEN_FILE (or --id-token-file) too, or unset HUAWEICLOUD_SDK_IDP_ID\n');
    t.clearOutput();
    // token get in a job that never logged in: the same rule, the same exit code.
    expect(await run(['token', 'get'], t.withEnv({ AUTHCTL_VENDOR: 'otc', HUAWEICLOUD_SDK_ID_TOKEN_FILE: file }))).toBe(2);
    expect(t.stderr()).toBe('authctl: HUAWEICLOUD_SDK_ID_TOKEN_FILE is set but HUAWEICLOUD_SDK_IDP_ID is not: the two go together\nhint: set HUAWEICLOUD_SDK_IDP_ID (or --idp-id) too, or unset HUAWEICLOUD_SDK_ID_TOKEN_FILE\n');
    expect(t.http.requests).toEqual([]);
  });

  it('only one of the two flags, no terminal: exit 2 naming the missing one, nothing sent', async () => {
    const { t, file } = ciJob(await ciToken());
    expect(await run(['login', '--id-token-file', file], t.factory)).toBe(2);
    expect(t.stderr()).toBe(
      'authctl: missing identity provider id (--idp-id, env HUAWEICLOUD_SDK_IDP_ID)\nhint: give them as flags or environment variables, or run `authctl login` at a terminal to be asked\n',
    );
    expect(t.http.requests).toEqual([]);
  });

  it('an empty or missing file: exit 2 saying which, nothing sent, nothing stored', async () => {
    const { t, file } = ciJob(' \n');
    const job = t.withEnv({ AUTHCTL_VENDOR: 'otc', ...envFor(file) });
    expect(await run(['login'], job)).toBe(2);
    expect(t.stderr()).toBe(`authctl: the ID token file ${file} is empty\nhint: the CI platform did not write the token: check the job asks for an ID token\n`);
    rmSync(file);
    t.clearOutput();
    expect(await run(['token', 'get'], job)).toBe(2);
    expect(t.stderr()).toBe(`authctl: cannot read the ID token file ${file}: no such file\nhint: check the path; a CI platform writes the file only in the job that asks for it\n`);
    expect(t.http.requests).toEqual([]);
    expect(t.store.entries.size).toBe(0);
  });
});

describe('the ID token is a secret', () => {
  it('never in stdout, stderr (--debug too, and when IAM echoes it back) or the config file', async () => {
    const jwt = await ciToken();
    const { t, file } = ciJob(jwt);
    const job = t.withEnv({ AUTHCTL_VENDOR: 'otc', ...envFor(file) });
    t.http.on('POST', EXCHANGE_URL, federated('MIIfederated-1', NOW + HOUR));
    expect(await run(['login', '--debug'], job)).toBe(0);
    expect(t.stderr()).toContain(`idTokenFile ${file} (from HUAWEICLOUD_SDK_ID_TOKEN_FILE)`);
    t.http.on('POST', EXCHANGE_URL, vendorError(400, 'IAM.0011', `Request body is invalid: ${jwt}`));
    expect(await run(['token', 'renew', '--debug'], job)).toBe(2);
    expect(t.stderr()).toMatch(/Request body is invalid: <hmac:[0-9a-f]{12}>/);
    expect(await run(['token', 'get', '--debug', '--output', 'json'], job)).toBe(0);
    expect(await run(['profile', 'show'], job)).toBe(0);
    expect(t.stdout()).toContain(`ID token from ${file}, identity provider github`);
    for (const text of [t.stdout(), t.stderr(), readFileSync(join(t.configDir, 'config.json'), 'utf8')]) {
      expect(text).not.toContain(jwt);
      for (const part of jwt.split('.')) expect(text).not.toContain(part);
    }
  });
});
