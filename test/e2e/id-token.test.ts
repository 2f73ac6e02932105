/**
 * A CI job's OpenID Connect ID token exchanged for an IAM token (iam-api.md §9), end to end: the
 * built CLI against the test IAM server's emulation, with an identity provider whose keys sign
 * the JWTs. Secrets go to the encrypted file store, as in CI (no keychain needed).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { newRealm, type Realm } from '../helpers/realm.js';

const ISSUER = 'https://token.actions.githubusercontent.com';
const AUDIENCE = 'otc-ci';
const EXCHANGE_PATH = '/v3.0/OS-AUTH/id-token/tokens';

let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let publicJwk: Record<string, unknown>;
beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'ci-key-1', alg: 'RS256', use: 'sig' };
});

const seconds = () => Math.floor(Date.now() / 1000);

async function ciToken(options: { audience?: string; expiresIn?: number; sha?: string } = {}): Promise<string> {
  return new SignJWT({ repository: 'acme/app', sha: options.sha ?? 'a1b2c3' })
    .setProtectedHeader({ alg: 'RS256', kid: 'ci-key-1' })
    .setIssuer(ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject('repo:acme/app:ref:refs/heads/main')
    .setIssuedAt(seconds() - 30)
    .setExpirationTime(seconds() + (options.expiresIn ?? 300))
    .sign(privateKey);
}

/** A realm with identity provider `github`, and a job's environment: the two variables, a project by name, the file store. */
async function ciJob(jwt: string): Promise<{ realm: Realm; env: Record<string, string | undefined>; file: string }> {
  const realm = await newRealm();
  await realm.registerIdp({ id: 'github', idp_url: ISSUER, client_id: AUDIENCE, signing_key: { keys: [publicJwk] } });
  const base = isolatedEnv();
  const file = join(base.HOME!, 'ci-id-token');
  writeFileSync(file, `${jwt}\n`);
  const env = {
    ...base,
    OS_AUTH_URL: realm.authUrl,
    HUAWEICLOUD_SDK_IDP_ID: 'github',
    HUAWEICLOUD_SDK_ID_TOKEN_FILE: file,
    OS_PROJECT_NAME: realm.fixtures.project.name,
    AUTHCTL_STORE: 'file',
    AUTHCTL_FILE_KEY: randomBytes(32).toString('base64'),
    DBUS_SESSION_BUS_ADDRESS: undefined,
  };
  return { realm, env, file };
}

const exchanges = async (realm: Realm) => (await realm.requests()).filter((request) => request.method === 'POST' && request.path === EXCHANGE_PATH);

describe('OIDC ID token login (OTC, Huawei Cloud)', () => {
  it('logs in with a signed ID token; token get serves it; token check finds it valid; a renewal sends the rotated file', async () => {
    const jwt = await ciToken();
    const { realm, env, file } = await ciJob(jwt);
    const login = await runCli(['login', '--debug'], { env });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toMatch(
      new RegExp(`Logged in to ${realm.authUrl.replace(/[.?]/g, '\\$&')} as FederationUser \\(identity provider github\\), project /smartcity \\[profile default\\], until \\S+ \\(59m\\)\n$`),
    );
    const [sent] = await exchanges(realm);
    expect(sent!.headers).toMatchObject({ 'content-type': 'application/json;charset=utf8', 'x-idp-id': 'github' });
    expect(sent!.headers['x-auth-token']).toBeUndefined();
    expect(JSON.parse(sent!.body)).toEqual({ auth: { id_token: { id: jwt }, scope: { project: { name: '/smartcity' } } } });

    const get = await runCli(['token', 'get'], { env });
    expect([get.code, get.stderr]).toEqual([0, '']);
    expect(get.stdout).toMatch(/^gAAAAA\S+\n$/);
    expect(await exchanges(realm)).toHaveLength(1);

    const check = await runCli(['token', 'check', '--json'], { env });
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ valid: true, checked: 'iam', user: { name: 'FederationUser' }, scope: { project: { name: '/smartcity' } } });

    const rotated = await ciToken({ sha: 'd4e5f6' });
    writeFileSync(file, rotated);
    const renew = await runCli(['token', 'renew'], { env: { ...env, HUAWEICLOUD_SDK_ID_TOKEN_FILE: undefined, HUAWEICLOUD_SDK_IDP_ID: undefined, OS_PROJECT_NAME: undefined } });
    expect(renew.code, renew.stderr).toBe(0);
    const sentAgain = await exchanges(realm);
    expect(sentAgain).toHaveLength(2);
    expect(JSON.parse(sentAgain[1]!.body).auth.id_token.id).toBe(rotated);
    const renewed = await runCli(['token', 'get'], { env });
    expect(renewed.stdout).not.toBe(get.stdout);

    const config = readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8');
    expect(JSON.parse(config).profiles.default).toMatchObject({ kind: 'id-token', authUrl: realm.authUrl, idTokenFile: file, idpId: 'github', project: '/smartcity' });
    for (const text of [login.stdout, login.stderr, get.stderr, check.stdout, renew.stderr, config]) {
      for (const secret of [jwt, rotated]) expect(text).not.toContain(secret.split('.')[1]);
    }
  });

  it('an expired ID token: IAM refuses it, and authctl says the CI token expired (exit 3); nothing is stored', async () => {
    const { realm, env, file } = await ciJob(await ciToken({ expiresIn: -60 }));
    const login = await runCli(['login'], { env });
    expect(login.code).toBe(3);
    expect(login.stderr).toMatch(new RegExp(`^authctl: IAM refused the CI ID token in ${file}: it expired at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\nhint: request a fresh ID token in the job`));
    expect(await exchanges(realm)).toHaveLength(1);
    // token get in a job that never logged in (the cached path's front door) says the same.
    const get = await runCli(['token', 'get'], { env });
    expect([get.code, get.stdout, get.stderr]).toEqual([3, '', login.stderr]);
    expect(await exchanges(realm)).toHaveLength(2);
    expect(existsSync(join(env.AUTHCTL_CONFIG_DIR!, 'secrets', 'default%3atoken'))).toBe(false);
  });

  it('an ID token for another audience: IAM refuses it (exit 4), and the message names the audience it had', async () => {
    const { realm, env, file } = await ciJob(await ciToken({ audience: 'sts.amazonaws.com' }));
    const login = await runCli(['login'], { env });
    expect(login.code).toBe(4);
    expect(login.stderr).toContain(
      `authctl: IAM refused the ID token in ${file} (issuer, audience/client id or signature do not match the configuration of identity provider github); the token's issuer ${ISSUER}, audience sts.amazonaws.com (IAM: The request you have made requires authentication. (IAM.0001))\n`,
    );
    expect(await exchanges(realm)).toHaveLength(1);
  });

  it('an identity provider IAM does not know: exit 4 naming it', async () => {
    const { env } = await ciJob(await ciToken());
    const login = await runCli(['login'], { env: { ...env, HUAWEICLOUD_SDK_IDP_ID: 'gitlab' } });
    expect(login.code).toBe(4);
    expect(login.stderr).toMatch(/^authctl: exchanging the ID token at \S+ failed: IAM knows no identity provider gitlab \(IAM: Could not find identity provider: gitlab\. \(IAM\.0004\)\)\n/);
  });
});
