/**
 * Hostile networks and hostile servers: TLS with a private CA, a real proxy, timeouts, retries,
 * malformed answers, clock skew. Each case states what the user should see.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTinyproxy, tinyproxyMissing, type ProxyHarness } from '../harness/tinyproxy.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { IamServer, startIamServer, type RealmInfo } from '../helpers/iam-server.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'network e2e (OS keychain)');
const haveOpenssl = requireOrSkip(execFileSync('sh', ['-c', 'command -v openssl || true']).toString().trim() ? undefined : 'openssl is missing: apt-get install -y openssl', 'TLS e2e');
const haveProxy = requireOrSkip(tinyproxyMissing(), 'proxy e2e');

/** A private CA and a certificate for 127.0.0.1 signed by it, made with the openssl command. */
function makeCertificates(): { dir: string; ca: string; key: string; cert: string; otherCa: string } {
  const dir = mkdtempSync(join(tmpdir(), 'authctl-tls-'));
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=authctl test CA']);
  run(['req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=some other CA']);
  run(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.cnf']);
  return { dir, ca: join(dir, 'ca.pem'), key: readFileSync(join(dir, 'server.key'), 'utf8'), cert: readFileSync(join(dir, 'server.pem'), 'utf8'), otherCa: join(dir, 'other.pem') };
}

function envFor(realm: RealmInfo, extra: Record<string, string | undefined> = {}) {
  return isolatedEnv({ ...loginEnv(realm), ...extra });
}

describe.runIf(haveKeyring && haveOpenssl)('TLS with a private CA', () => {
  let server: IamServer;
  let certs: ReturnType<typeof makeCertificates>;
  beforeAll(async () => {
    certs = makeCertificates();
    server = await startIamServer({ tls: { key: certs.key, cert: certs.cert } });
  });
  afterAll(async () => server?.close());

  it('refuses a certificate it cannot verify, naming the way out', async () => {
    const realm = server.createRealm();
    const result = await runCli(['login'], { env: envFor(realm) });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^authctl: the TLS certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted \(\w+\)\nhint: give the CA that signed it with --cacert FILE \(or OS_CACERT \/ AUTHCTL_CACERT\)\n$/);
    expect(server.requests(realm.id)).toHaveLength(0);
  });

  it('trusts the CA from --cacert, OS_CACERT, AUTHCTL_CACERT or NODE_EXTRA_CA_CERTS, and login remembers it', async () => {
    const realm = server.createRealm();
    const flag = envFor(realm);
    expect((await runCli(['login', '--cacert', certs.ca], { env: flag })).code).toBe(0);
    // Saved with the profile: a renewal needs no flag.
    const renewed = await runCli(['token', 'renew'], { env: flag });
    expect(renewed.code, renewed.stderr).toBe(0);
    expect(renewed.stderr).toMatch(/^Renewed at https:\/\/127\.0\.0\.1:/);
    expect(JSON.parse(readFileSync(join(flag.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8'))).toMatchObject({ profiles: { default: { cacert: certs.ca } } });
    for (const variable of ['OS_CACERT', 'AUTHCTL_CACERT', 'NODE_EXTRA_CA_CERTS']) {
      const result = await runCli(['login'], { env: envFor(realm, { [variable]: certs.ca }) });
      expect(result.code, `${variable}: ${result.stderr}`).toBe(0);
    }
  });

  it('a CA that did not sign the certificate does not help; a missing CA file is a usage error', async () => {
    const realm = server.createRealm();
    expect((await runCli(['login', '--cacert', certs.otherCa], { env: envFor(realm) })).code).toBe(5);
    const missing = await runCli(['login', '--cacert', join(certs.dir, 'nope.pem')], { env: envFor(realm) });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^authctl: cannot read the CA file .*nope\.pem: /);
  });

  it('each profile talks TLS with its own settings, also when one command goes through several', async () => {
    const realm = server.createRealm();
    const env = envFor(realm);
    for (const [profile, tls] of [['careless', ['--insecure']], ['wrongca', ['--insecure']], ['careful', ['--cacert', certs.ca]]] as const) {
      expect((await runCli(['login', '--profile', profile, ...tls], { env })).code).toBe(0);
    }
    // wrongca now trusts only a CA that did not sign the server's certificate.
    const config = join(env.AUTHCTL_CONFIG_DIR!, 'config.json');
    const data = JSON.parse(readFileSync(config, 'utf8')) as { profiles: Record<string, Record<string, unknown>> };
    data.profiles.wrongca = { ...data.profiles.wrongca, insecure: false, cacert: certs.otherCa };
    writeFileSync(config, JSON.stringify(data));
    const status = JSON.parse((await runCli(['status', '--check', '--json'], { env: { ...env, OS_PASSWORD: undefined } })).stdout) as { name: string; token: string; checked: string; problem?: string }[];
    expect(status.find((s) => s.name === 'careless')).toMatchObject({ token: 'valid', checked: 'iam' });
    // Checked after careless: it must not ride on careless's --insecure.
    expect(status.find((s) => s.name === 'wrongca')).toMatchObject({ token: 'unchecked', checked: 'iam' });
    expect(status.find((s) => s.name === 'wrongca')!.problem).toMatch(/TLS certificate .* is not trusted/);
    expect(status.find((s) => s.name === 'careful')).toMatchObject({ token: 'valid', checked: 'iam' });
  });

  it('--insecure works, with a warning every time it is used', async () => {
    const realm = server.createRealm();
    const env = envFor(realm);
    const login = await runCli(['login', '--insecure'], { env });
    expect(login.code).toBe(0);
    expect(login.stderr).toMatch(/^warning: --insecure: TLS certificates are not verified/);
    const renew = await runCli(['token', 'renew'], { env });
    expect(renew.code).toBe(0);
    expect(renew.stderr).toMatch(/^warning: --insecure: TLS certificates are not verified/);
  });
});

describe.runIf(haveKeyring && haveProxy)('through a real proxy (tinyproxy)', () => {
  let proxy: ProxyHarness;
  beforeAll(async () => {
    proxy = await startTinyproxy();
  });
  afterAll(async () => proxy?.stop());

  it.each(['HTTP_PROXY', 'http_proxy'])('%s sends the requests through the proxy', async (variable) => {
    const realm = await newRealm();
    const port = new URL(realm.authUrl).port;
    const before = proxy.log().length;
    const result = await runCli(['login'], { env: envFor(realm, { [variable]: proxy.url }) });
    expect(result.code, result.stderr).toBe(0);
    expect(proxy.log().slice(before)).toMatch(new RegExp(`CONNECT.*127\\.0\\.0\\.1:${port}`));
  });

  it('NO_PROXY goes direct', async () => {
    const realm = await newRealm();
    const before = proxy.log().length; // every realm shares the test IAM server's port
    const result = await runCli(['login'], { env: envFor(realm, { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }) });
    expect(result.code, result.stderr).toBe(0);
    expect(await realm.count('POST')).toBe(1);
    expect(proxy.log().slice(before)).not.toMatch(/CONNECT/);
  });

  it('a proxy that is down: exit 5', async () => {
    const realm = await newRealm();
    const result = await runCli(['login'], { env: envFor(realm, { HTTP_PROXY: 'http://127.0.0.1:9', AUTHCTL_RETRIES: '1' }) });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^authctl: cannot reach /);
  });
});

describe.runIf(haveKeyring)('timeouts and retries', () => {
  it('a server that never answers: exit 5 after --timeout', async () => {
    const realm = await newRealm();
    await realm.fault({ method: 'POST', path: '/v3/auth/tokens', hang: true });
    const started = Date.now();
    const result = await runCli(['login', '--timeout', '1s'], { env: envFor(realm, { AUTHCTL_RETRIES: '1' }) });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^authctl: no answer from http:\/\/127\.0\.0\.1:\d+ within 1s\n/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(8000);
  });

  it('retries 503 and 502, then succeeds', async () => {
    const realm = await newRealm();
    await realm.fault({ method: 'POST', path: '/v3/auth/tokens', status: 503 }, { method: 'POST', path: '/v3/auth/tokens', status: 502 });
    const result = await runCli(['login'], { env: envFor(realm) });
    expect(result.code, result.stderr).toBe(0);
    expect(await realm.count('POST')).toBe(3);
  });

  it('honours Retry-After on a 429', async () => {
    const realm = await newRealm();
    await realm.fault({ method: 'POST', path: '/v3/auth/tokens', status: 429, headers: { 'Retry-After': '1' } });
    const started = Date.now();
    const result = await runCli(['login'], { env: envFor(realm) });
    expect(result.code, result.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(await realm.count('POST')).toBe(2);
  });

  it('never retries 400, 401, 403, 404 or 500 (a 500 then a 201 is one request and exit 5)', async () => {
    for (const [status, code] of [[400, 2], [401, 4], [403, 4], [404, 4], [500, 5]] as const) {
      const realm = await newRealm();
      await realm.fault({ method: 'POST', path: '/v3/auth/tokens', status, body: '{"error": {"message": "no"}}' });
      const result = await runCli(['login'], { env: envFor(realm) });
      expect(result.code, `${status}`).toBe(code);
      expect(await realm.count('POST')).toBe(1);
    }
  });

  it('gives up after AUTHCTL_RETRIES attempts', async () => {
    const realm = await newRealm();
    await realm.fault({ method: 'POST', path: '/v3/auth/tokens', status: 503, times: 10 });
    const result = await runCli(['login'], { env: envFor(realm, { AUTHCTL_RETRIES: '2' }) });
    expect(result.code).toBe(5);
    expect(await realm.count('POST')).toBe(2);
  });
});

describe.runIf(haveKeyring)('hostile and broken servers: nothing stored, a clear exit 5', () => {
  const expires = () => new Date(Date.now() + 3_600_000).toISOString();
  const cases: [string, Parameters<Awaited<ReturnType<typeof newRealm>>['fault']>[0], RegExp][] = [
    ['malformed JSON', { status: 201, headers: { 'X-Subject-Token': 'gAAAAAx' }, body: '{"token": {' }, /with a body that is not JSON/],
    ['an HTML page (wrong content type)', { status: 201, headers: { 'X-Subject-Token': 'gAAAAAx', 'Content-Type': 'text/html' }, body: '<html>login</html>' }, /with a body that is not JSON/],
    ['no expires_at', { status: 201, headers: { 'X-Subject-Token': 'gAAAAAx' }, body: JSON.stringify({ token: { issued_at: new Date().toISOString() } }) }, /malformed token body: the token has no expires_at/],
    ['an unparseable expires_at', { status: 201, headers: { 'X-Subject-Token': 'gAAAAAx' }, body: JSON.stringify({ token: { expires_at: 'tomorrow' } }) }, /expires_at \("tomorrow"\) is not a time/],
    ['an expires_at in the past', { status: 201, headers: { 'X-Subject-Token': 'gAAAAAx' }, body: JSON.stringify({ token: { expires_at: '2001-01-01T00:00:00Z' } }) }, /issued a token that has already expired/],
    ['an empty X-Subject-Token', { status: 201, headers: { 'X-Subject-Token': '' }, body: JSON.stringify({ token: { expires_at: expires() } }) }, /without a token in X-Subject-Token/],
    ['a token with a space in it', { status: 201, headers: { 'X-Subject-Token': 'gAAAA has spaces' }, body: JSON.stringify({ token: { expires_at: expires() } }) }, /implausible token/],
    ['a 65 KiB token', { status: 201, headers: { 'X-Subject-Token': `MII${'A'.repeat(65 * 1024)}` }, body: JSON.stringify({ token: { expires_at: expires() } }) }, /implausible token/],
    ['a 2 MiB body', { status: 201, headers: { 'X-Subject-Token': 'gAAAAAx' }, body: `{"token": {"expires_at": "${expires()}", "x": "${'x'.repeat(2 * 1024 * 1024)}"}}` }, /response body over 1 MiB/],
    ['a connection cut mid-body', { status: 201, headers: { 'X-Subject-Token': 'gAAAAAx' }, cutBody: true, times: 5 }, /cut off/],
  ];

  it.each(cases)('%s', async (_, fault, message) => {
    const realm = await newRealm();
    const env = envFor(realm, { AUTHCTL_RETRIES: '1' });
    await runCli(['login'], { env });
    const before = (await runCli(['token', 'get'], { env })).stdout;
    await realm.fault({ method: 'POST', path: '/v3/auth/tokens', ...fault });
    const result = await runCli(['login'], { env });
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
    // The previous token is still the one served.
    expect((await runCli(['token', 'get'], { env: { ...env, OS_PASSWORD: undefined } })).stdout).toBe(before);
  });
});

describe.runIf(haveKeyring)('clock skew', () => {
  it('a server clock two hours behind: expiry is judged on the server clock, so the token is good', async () => {
    const realm = await newRealm({ clockOffsetMs: -2 * 3_600_000 });
    const env = envFor(realm);
    const login = await runCli(['login'], { env });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toMatch(/\((59m|1h 00m)\)\n$/); // the Date header's one-second steps: within half a second
    const bare = { ...env, OS_PASSWORD: undefined };
    expect((await runCli(['token', 'get'], { env: bare })).code).toBe(0);
    const offline = JSON.parse((await runCli(['token', 'check', '--offline', '--json'], { env: bare })).stdout) as { valid: boolean; seconds_left: number };
    expect(offline.valid).toBe(true);
    expect(offline.seconds_left).toBeGreaterThan(3500);
    expect(await realm.count('POST')).toBe(1);
  });

  it('a server clock ten minutes ahead: a token with 8 minutes left on its clock is renewed under --min-ttl 10m', async () => {
    const realm = await newRealm({ clockOffsetMs: 10 * 60_000, tokenTtlSeconds: 8 * 60 });
    const env = envFor(realm);
    await runCli(['login'], { env });
    // On the local clock the token seems to have 18 minutes left; on IAM's, 8.
    const result = await runCli(['token', 'get', '--min-ttl', '10m'], { env });
    expect(result.code).toBe(0);
    expect(await realm.count('POST')).toBe(2);
  });
});

describe('hostile input: refused before any request, exit 2', () => {
  it.each([
    [['login', '--auth-url', 'javascript:alert(1)', '--username', 'u', '--user-domain', 'd']],
    [['login', '--username', 'a\nb', '--auth-url', 'https://iam.example.com/v3']],
    [['token', 'get', '--min-ttl', '5 minutes']],
    [['token', 'get', '--min-ttl', '-1']],
    [['token', 'get', '--timeout', 'soon']],
    [['token', 'get', '--profile', '../../etc/passwd']],
    [['token', 'get', '--profile', 'a/b']],
    [['export', '--var', 'PATH;rm']],
    [['export', '--shell', 'tcsh']],
    [['logintoken', '--duration', '1y']],
    [['login', '--store', 'cloud']],
  ])('%j', async (args) => {
    const result = await runCli(args, { env: isolatedEnv({ OS_PASSWORD: 'pw-never-sent' }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^authctl: /);
    expect(result.stderr).not.toContain('pw-never-sent');
  });
});

describe('a proxy that is misconfigured or asks for credentials', () => {
  it('HTTPS_PROXY that is not a URL: exit 2 naming the variable, never its value', async () => {
    const result = await runCli(['login'], { env: isolatedEnv({ OS_AUTH_URL: 'https://127.0.0.1:9/v3', OS_USERNAME: 'u', OS_USER_DOMAIN_NAME: 'd', OS_PASSWORD: 'secret-pw', HTTPS_PROXY: 'proxy.example.com:3128?token=abc123' }) });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^authctl: HTTPS_PROXY "proxy\.example\.com:3128\?…" is not an http\(s\) proxy URL\n/);
    expect(result.stderr).not.toContain('abc123');
  });

  it('a proxy answering 407 to CONNECT: exit 5 naming proxy authentication, at once', async () => {
    const { createServer } = await import('node:net');
    const proxy = createServer((socket) => socket.once('data', () => socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\nContent-Length: 0\r\n\r\n')));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as { port: number };
    try {
      const result = await runCli(['login'], { env: isolatedEnv({ OS_AUTH_URL: 'https://127.0.0.1:9/v3', OS_USERNAME: 'u', OS_USER_DOMAIN_NAME: 'd', OS_PASSWORD: 'secret-pw', HTTPS_PROXY: `http://127.0.0.1:${port}` }) });
      expect(result.code).toBe(5);
      expect(result.stderr).toBe(
        'authctl: the proxy refused to connect to https://127.0.0.1:9: proxy authentication required (407)\nhint: give the proxy user and password in its URL (HTTPS_PROXY=http://user:password@proxy:3128)\n',
      );
    } finally {
      proxy.close();
    }
  });
});
