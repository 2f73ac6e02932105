import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/main.js';
import { fingerprint } from '../../src/io/redact.js';
import { NOW, testFactory, type TestHarness } from '../helpers/factory.js';
import { jsonBody, keystoneError } from '../helpers/iam-responses.js';

const CLOUD_BASE = 'https://iam.cloud.example.com';
const KEY_ENV = { AUTHCTL_ACCESS_KEY: 'AK-TEST-0001', AUTHCTL_SECRET_KEY: 'sk-secret-value-0001', AUTHCTL_SECURITY_TOKEN: 'st-security-token-0001' };

/** A clouds.yaml in the test's home, and the variables that point at it (and at no secure.yaml). */
function cloudsYaml(t: TestHarness, authUrl: string): Record<string, string> {
  const path = join(t.home, 'clouds.yaml');
  writeFileSync(
    path,
    ['clouds:', '  huawei:', '    auth:', `      auth_url: ${authUrl}`, '      username: alice', '      user_domain_name: Default', '      project_name: demo', '    region_name: eu-west-0', ''].join('\n'),
  );
  return { OS_CLIENT_CONFIG_FILE: path, OS_CLIENT_SECURE_FILE: join(t.home, 'no-secure.yaml') };
}

function loginTokenAnswer(token: string, durationSeconds: number) {
  return {
    status: 201,
    headers: { 'X-Subject-LoginToken': token },
    body: { logintoken: { domain_id: 'd-0001', expires_at: new Date(NOW + durationSeconds * 1000).toISOString().replace('Z', '000Z'), method: 'token', user_id: 'u-alice', user_name: 'alice', session_id: 'abcdef0123456789' } },
  };
}

describe('logintoken', () => {
  it('--os-cloud NAME takes the entry\'s auth_url', async () => {
    const t = testFactory();
    const env = { ...cloudsYaml(t, `${CLOUD_BASE}/v3`), ...KEY_ENV };
    t.http.on('POST', `${CLOUD_BASE}/v3.0/OS-AUTH/securitytoken/logintokens`, (request) => {
      expect(request.headers?.['content-type']).toBe('application/json;charset=utf8');
      expect(jsonBody(request)).toEqual({ auth: { securitytoken: { access: 'AK-TEST-0001', secret: 'sk-secret-value-0001', id: 'st-security-token-0001', duration_seconds: 600 } } });
      return loginTokenAnswer('lt-cloud-token', 600);
    });
    expect(await run(['logintoken', '--os-cloud', 'huawei'], t.withEnv(env))).toBe(0);
    expect(t.stdout()).toBe('lt-cloud-token\n');
    expect(t.stderr()).toBe('Login token for alice (domain id d-0001), valid until 2026-12-01T12:10:00Z\n');
  });

  it('OS_CLOUD does the same, and --duration is sent in seconds', async () => {
    const t = testFactory();
    const env = { ...cloudsYaml(t, `${CLOUD_BASE}/v3`), ...KEY_ENV, OS_CLOUD: 'huawei' };
    t.http.on('POST', `${CLOUD_BASE}/v3.0/OS-AUTH/securitytoken/logintokens`, (request) => {
      expect(jsonBody(request)).toMatchObject({ auth: { securitytoken: { duration_seconds: 3600 } } });
      return loginTokenAnswer('lt-cloud-token', 3600);
    });
    expect(await run(['logintoken', '--duration', '1h', '--json'], t.withEnv(env))).toBe(0);
    expect(JSON.parse(t.stdout())).toMatchObject({ token: 'lt-cloud-token', logintoken: { user_name: 'alice', expires_at: '2026-12-01T13:00:00.000000Z' } });
    expect(t.stderr()).toBe('Login token for alice (domain id d-0001), valid until 2026-12-01T13:00:00Z\n');
  });

  it('--auth-url beats the cloud entry', async () => {
    const t = testFactory();
    const env = { ...cloudsYaml(t, `${CLOUD_BASE}/v3`), ...KEY_ENV };
    t.http.on('POST', 'https://iam.other.example.com/v3.0/OS-AUTH/securitytoken/logintokens', loginTokenAnswer('lt-other', 600));
    expect(await run(['logintoken', '--os-cloud', 'huawei', '--auth-url', 'https://iam.other.example.com/v3'], t.withEnv(env))).toBe(0);
    expect(t.stdout()).toBe('lt-other\n');
  });

  it('an unknown cloud is exit 2 and nothing is sent', async () => {
    const t = testFactory();
    const env = { ...cloudsYaml(t, `${CLOUD_BASE}/v3`), ...KEY_ENV };
    expect(await run(['logintoken', '--os-cloud', 'nope'], t.withEnv(env))).toBe(2);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toMatch(/^authctl: .*nope/);
  });

  it('without a security token: exit 2 naming where to give it, nothing sent', async () => {
    const t = testFactory();
    const env = { ...cloudsYaml(t, `${CLOUD_BASE}/v3`), AUTHCTL_ACCESS_KEY: 'AK-TEST-0001', AUTHCTL_SECRET_KEY: 'sk-secret-value-0001' };
    expect(await run(['logintoken', '--os-cloud', 'huawei'], t.withEnv(env))).toBe(2);
    expect(t.stderr()).toBe(
      'authctl: missing security token (--security-token-stdin, env AUTHCTL_SECURITY_TOKEN or HUAWEICLOUD_SDK_SECURITY_TOKEN)\n' +
        'hint: a login token is made from an access key, its secret key and a security token\n',
    );
  });

  it('a refused key is exit 4, and IAM echoing the secret key does not print it', async () => {
    const t = testFactory();
    const env = { ...cloudsYaml(t, `${CLOUD_BASE}/v3`), ...KEY_ENV };
    t.http.on('POST', `${CLOUD_BASE}/v3.0/OS-AUTH/securitytoken/logintokens`, keystoneError(401, `The security token is invalid (secret ${KEY_ENV.AUTHCTL_SECRET_KEY}).`));
    expect(await run(['logintoken', '--os-cloud', 'huawei'], t.withEnv(env))).toBe(4);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(
      `authctl: getting a login token from ${CLOUD_BASE} was rejected (401): The security token is invalid (secret <${fingerprint(KEY_ENV.AUTHCTL_SECRET_KEY)}>).\n` +
        'hint: check the access key, secret key and security token (a security token expires; get a new one)\n',
    );
  });
});
