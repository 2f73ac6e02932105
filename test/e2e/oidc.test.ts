/**
 * OpenID Connect sign-in end to end: the built CLI (bin/authctl), spawned, against a real
 * provider (oidc-provider, test/harness/oidc-provider-harness.ts) and a real browser (Debian
 * Chromium, headless, test/harness/browser.ts), storing into the test Secret Service.
 *
 * The code flow: `$BROWSER` is a small script in the test's directory that appends the URL it is
 * given to a file in the user's HOME; the test waits for that line and hands the URL to Chromium,
 * which signs in and follows the provider's redirect to authctl's loopback listener. With
 * `--no-browser`, the URL is read from the CLI's stderr while it runs. The device flow's
 * `verification_uri_complete` is read from stderr the same way.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { haveChromium, launchBrowser, type HarnessBrowser } from '../harness/browser.js';
import { startOidcProvider, type OidcProviderHarness } from '../harness/oidc-provider-harness.js';
import { BIN, isolatedEnv, runCli, type CliResult } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';

const keyring = inject('keyring');
// Both are checked (and, under CI=true, both fail the file when missing).
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'OIDC sign-in e2e (OS keychain)');
const haveBrowser = requireOrSkip(haveChromium(), 'OIDC sign-in e2e (Chromium)');

type Env = Record<string, string | undefined>;

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const PUBLIC = 'cli-public';
const CONFIDENTIAL = 'cli-confidential';

// ---------------------------------------------------------------------------------------------
// The CLI, spawned, with its stderr readable while it runs

interface Running {
  child: ChildProcess;
  pid: number;
  stderr(): string;
  /** Resolves with the first match of `re` in stderr; rejects if the CLI exits first or time runs out. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<CliResult>;
}

/** Every child started here; afterEach kills what is still running (by its own pid). */
const children = new Set<ChildProcess>();

function startCli(args: readonly string[], env: Env): Running {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const child = spawn(process.execPath, [BIN, ...args], { env: clean, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of [...listeners]) listener();
  };
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    changed();
  });
  let closed = false;
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', (error) => {
      closed = true;
      reject(error);
      changed();
    });
    child.on('close', (code, signal) => {
      closed = true;
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
      changed();
    });
  });
  exited.catch(() => {});
  child.stdin!.end('');
  return {
    child,
    pid: child.pid!,
    stderr: () => stderr,
    exited,
    waitForStderr: (re, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = re.exec(stderr);
          if (match) return finish(() => resolve(match));
          if (closed) return finish(() => reject(new Error(`authctl exited before printing ${re}; stderr:\n${stderr}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`authctl did not print ${re} within ${timeoutMs} ms; stderr:\n${stderr}`))), timeoutMs);
        const finish = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
  };
}

afterEach(async () => {
  const left = [...children];
  for (const child of left) child.kill('SIGKILL');
  await Promise.all(left.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(undefined) : child.once('close', resolve)))));
  children.clear();
});

// ---------------------------------------------------------------------------------------------
// $BROWSER: a script that writes down the URL it was asked to open

let scripts: string;
let openScript: string;

/** The browser log of `env`'s user: one line per URL authctl asked $BROWSER to open. */
const browserLog = (env: Env) => join(env.HOME!, 'browser.log');
const browsed = (env: Env): string[] => (existsSync(browserLog(env)) ? readFileSync(browserLog(env), 'utf8').split('\n').filter(Boolean) : []);

/** `$BROWSER` for `env`'s user: the first entry, words split on spaces, `%s` replaced by the URL. */
function withBrowser(env: Env): Env {
  return { ...env, BROWSER: `${process.execPath} ${openScript} ${browserLog(env)} %s` };
}

/** Waits for the `n`-th URL given to $BROWSER (1-based); rejects when the CLI exits first. */
async function browserUrl(env: Env, cli: Running, n = 1, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let done = false;
  void cli.exited.then(() => (done = true));
  for (;;) {
    const urls = browsed(env);
    if (urls.length >= n) return urls[n - 1]!;
    if (done) throw new Error(`authctl exited without opening a browser; stderr:\n${cli.stderr()}`);
    if (Date.now() > deadline) throw new Error(`authctl did not open a browser within ${timeoutMs} ms; stderr:\n${cli.stderr()}`);
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** The profile's refresh-token entry in the Secret Service, as authctl's store keeps it. */
async function savedRefreshToken(env: Env, profile = 'default'): Promise<string | undefined> {
  const { stdout } = await promisify(execFile)('secret-tool', ['lookup', 'service', `authctl:${env.AUTHCTL_CONFIG_DIR}`, 'username', `${profile}:refresh-token`], {
    env: { PATH: process.env.PATH, DBUS_SESSION_BUS_ADDRESS: env.DBUS_SESSION_BUS_ADDRESS },
    encoding: 'utf8',
  }).catch(() => ({ stdout: '' }));
  if (!stdout) return undefined;
  const entry = JSON.parse(stdout.replace(/^authctl1:/, '')) as { refreshToken?: string };
  return entry.refreshToken;
}

const configText = (env: Env): string => {
  const path = join(env.AUTHCTL_CONFIG_DIR!, 'config.json');
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
};

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const loopbackPort = (authorizationUrl: string): number => Number(new URL(new URL(authorizationUrl).searchParams.get('redirect_uri')!).port);

/** The authorization URL printed on the line after "Open this URL in a browser to sign in:". */
const PRINTED_URL = /Open this URL in a browser to sign in:\n {2}(\S+)\n/;
const DEVICE_URL = /To sign in, open (\S+) on any device \(code ([A-Z-]+)\)\n/;

const loginArgs = (provider: OidcProviderHarness, ...more: string[]) => ['login', '--oidc-issuer', provider.issuer, '--client-id', PUBLIC, ...more];

/** Nothing was stored for the profile: no token to get (exit 3), no refresh token, no profile in the config. */
async function expectNothingStored(env: Env): Promise<void> {
  const get = await runCli(['token', 'get'], { env });
  expect(get.code, get.stderr).toBe(3);
  expect(get.stdout).toBe('');
  expect(await savedRefreshToken(env)).toBeUndefined();
  expect(configText(env)).not.toContain('oidcIssuer');
}

/**
 * An HTTP proxy for authctl (HTTP_PROXY) in front of `provider` that drops `id_token` from the
 * answers to refresh_token grants, as providers may (OIDC Core §12.2). authctl's proxy client
 * (undici) tunnels with CONNECT even to http:// targets, so each tunnel is handed to an HTTP server
 * here that forwards to the provider. Only the provider's own address is tunnelled.
 */
async function startIdTokenStrippingProxy(provider: OidcProviderHarness): Promise<{ url: string; requests(): number; stripped(): number; close(): Promise<void> }> {
  const target = new URL(provider.issuer);
  let requests = 0;
  let stripped = 0;
  const inner = createServer(async (req, res) => {
    requests += 1;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string' && !['host', 'connection', 'content-length', 'keep-alive', 'transfer-encoding'].includes(name)) headers[name] = value;
    }
    try {
      const upstream = await fetch(new URL(req.url ?? '/', target.origin), { method: req.method, headers, ...(body.length ? { body } : {}) });
      let answer = Buffer.from(await upstream.arrayBuffer());
      if (new URLSearchParams(body.toString()).get('grant_type') === 'refresh_token' && upstream.ok) {
        const json = JSON.parse(answer.toString()) as Record<string, unknown>;
        if ('id_token' in json) {
          delete json.id_token;
          stripped += 1;
        }
        answer = Buffer.from(JSON.stringify(json));
      }
      const out: Record<string, string> = {};
      upstream.headers.forEach((value, name) => {
        if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive'].includes(name)) out[name] = value;
      });
      res.writeHead(upstream.status, out).end(answer);
    } catch (error) {
      res.writeHead(502).end(String(error));
    }
  });
  const proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (req.url !== target.host) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) socket.unshift(head);
    inner.emit('connection', socket);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    requests: () => requests,
    stripped: () => stripped,
    close: async () => {
      proxy.closeAllConnections();
      inner.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------

describe.runIf(haveKeyring && haveBrowser)('OpenID Connect sign-in: authctl, oidc-provider and Chromium', () => {
  let browser: HarnessBrowser;
  /** Hour-long access tokens. */
  let provider: OidcProviderHarness;
  /** Access tokens of 60 s: `--min-ttl 2m` renews at once. */
  let short: OidcProviderHarness;
  /** Device codes of 3 s, access tokens of 2 s. */
  let brief: OidcProviderHarness;

  beforeAll(async () => {
    scripts = mkdtempSync(join(tmpdir(), 'authctl-oidc-e2e-'));
    openScript = join(scripts, 'open.mjs');
    writeFileSync(openScript, "import { appendFileSync } from 'node:fs';\nappendFileSync(process.argv[2], `${process.argv[3]}\\n`);\n");
    [browser, provider, short, brief] = await Promise.all([
      launchBrowser(),
      startOidcProvider(),
      startOidcProvider({ accessTokenTtlSeconds: 60 }),
      startOidcProvider({ deviceCodeTtlSeconds: 3, accessTokenTtlSeconds: 2 }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([browser?.close(), provider?.stop(), short?.stop(), brief?.stop()]);
    if (scripts) rmSync(scripts, { recursive: true, force: true });
  });

  /** `login` with the code flow through $BROWSER, Chromium playing `user`: the result, the URL, where the browser landed. */
  async function browserLogin(at: OidcProviderHarness, env: Env, options: { user: string; deny?: 'consent' | 'login' } = { user: 'alice' }) {
    const cli = startCli(loginArgs(at), withBrowser(env));
    const url = await browserUrl(env, cli);
    const landed = await browser.completeLogin(url, options);
    const result = await cli.exited;
    return { result, url, landed, cli };
  }

  it('code flow with the public client in Chromium: says who and until when, token get prints the access and ID tokens, no secret on stderr or in the config', async () => {
    const env = isolatedEnv();
    const codesBefore = provider.tokensIssued('authorization_code');
    const { result: login, url, landed } = await browserLogin(provider, env, { user: 'alice' });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('');

    // What authctl asked for: code + PKCE S256 to its loopback, a refresh token (offline_access, prompt=consent).
    const auth = new URL(url);
    expect(auth.origin + auth.pathname).toBe(provider.endpoints.authorization);
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({ response_type: 'code', client_id: PUBLIC, code_challenge_method: 'S256', prompt: 'consent', scope: 'openid profile offline_access' });
    expect(auth.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(landed.status).toBe(200);
    expect(landed.text).toContain('You can close this tab');
    expect(provider.tokensIssued('authorization_code')).toBe(codesBefore + 1);

    expect(login.stderr).toContain(`Opened the sign-in page of ${provider.issuer} in your browser; if nothing appeared, open:\n  ${url}\n`);
    expect(login.stderr).toMatch(new RegExp(`Logged in to ${provider.issuer.replaceAll('.', '\\.')} as alice \\[profile default\\], until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\((59m|1h)\\)\\n$`));

    const get = await runCli(['token', 'get'], { env });
    expect(get.code, get.stderr).toBe(0);
    const accessToken = get.stdout.trim();
    expect(accessToken).toMatch(/^\S{20,}$/);
    // It is the provider's: userinfo accepts it.
    const me = await fetch(provider.endpoints.userinfo, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ sub: 'alice' });

    const id = await runCli(['token', 'get', '--output', 'id-token'], { env });
    expect(id.code, id.stderr).toBe(0);
    const idToken = id.stdout.trim();
    expect(idToken).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = decodeJwt(idToken);
    expect(claims).toMatchObject({ aud: PUBLIC, iss: provider.issuer, sub: 'alice', nonce: auth.searchParams.get('nonce') });

    const refreshToken = await savedRefreshToken(env);
    expect(refreshToken).toMatch(/^\S{20,}$/);
    const stderr = login.stderr + get.stderr + id.stderr;
    for (const secret of [accessToken, idToken, refreshToken!]) {
      expect(stderr).not.toContain(secret);
    }
    const config = configText(env);
    expect(JSON.parse(config)).toMatchObject({ profiles: { default: { kind: 'oidc', oidcIssuer: provider.issuer, clientId: PUBLIC } } });
    for (const secret of [accessToken, idToken, refreshToken!]) expect(config).not.toContain(secret);
    // Nor anything that looks like one of the provider's tokens.
    expect(config).not.toMatch(/eyJ[\w-]{10,}\./);
  });
  it('refresh: token get near expiry renews with the saved refresh token, without a browser; the rotated one is saved, so a second renewal works too', async () => {
    const env = isolatedEnv();
    const { result: login } = await browserLogin(short, env, { user: 'bob' });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toMatch(/as bob \[profile default\], until .* \((59s|1m)\)\n$/);
    const authPath = new URL(short.endpoints.authorization).pathname;
    const authorizations = short.requests(authPath);
    const refreshes = short.tokensIssued('refresh_token');

    // 60 s left, more than --min-ttl 10s: the cached one, nothing asked.
    const cached = await runCli(['token', 'get', '--min-ttl', '10s'], { env });
    expect(cached.code, cached.stderr).toBe(0);
    const t0 = cached.stdout.trim();
    expect(short.tokensIssued('refresh_token')).toBe(refreshes);
    const rt0 = await savedRefreshToken(env);
    expect(rt0).toBeDefined();

    const first = await runCli(['token', 'get', '--min-ttl', '2m'], { env });
    expect(first.code, first.stderr).toBe(0);
    const t1 = first.stdout.trim();
    expect(t1).toMatch(/^\S{20,}$/);
    expect(t1).not.toBe(t0);
    expect(short.tokensIssued('refresh_token')).toBe(refreshes + 1);
    const rt1 = await savedRefreshToken(env);
    expect(rt1).toBeDefined();
    expect(rt1).not.toBe(rt0);

    const second = await runCli(['token', 'get', '--min-ttl', '2m'], { env });
    expect(second.code, second.stderr).toBe(0);
    const t2 = second.stdout.trim();
    expect(t2).not.toBe(t1);
    expect(short.tokensIssued('refresh_token')).toBe(refreshes + 2);
    const rt2 = await savedRefreshToken(env);
    expect(rt2).not.toBe(rt1);
    expect(short.tokenErrors('invalid_grant')).toBe(0);

    // The new access token is the one cached now, and it is good at the provider.
    expect((await runCli(['token', 'get', '--min-ttl', '10s'], { env })).stdout.trim()).toBe(t2);
    expect((await fetch(short.endpoints.userinfo, { headers: { authorization: `Bearer ${t2}` } })).status).toBe(200);
    // The ID token came along with the refresh.
    const id = await runCli(['token', 'get', '--min-ttl', '10s', '--output', 'id-token'], { env });
    expect(decodeJwt(id.stdout.trim())).toMatchObject({ sub: 'bob', aud: PUBLIC, iss: short.issuer });

    // No person was involved: no browser, no authorization request, no sign-in prompt.
    expect(browsed(env)).toHaveLength(1);
    expect(short.requests(authPath)).toBe(authorizations);
    for (const run of [first, second]) {
      expect(run.stderr).not.toMatch(/sign-in|sign in|Open/i);
      for (const secret of [t0, t1, t2, rt0!, rt1!, rt2!]) expect(run.stderr).not.toContain(secret);
    }
  });

  it('a refresh token the provider refuses (revoked): token get exits 3, saying so and to sign in again', async () => {
    const env = isolatedEnv();
    const { result: login } = await browserLogin(short, env, { user: 'carol' });
    expect(login.code, login.stderr).toBe(0);
    expect(short.revokeRefreshTokens()).toBeGreaterThanOrEqual(1);
    const errors = short.tokenErrors('invalid_grant');

    const get = await runCli(['token', 'get', '--min-ttl', '2m'], { env });
    expect(get.code).toBe(3);
    expect(get.stdout).toBe('');
    expect(get.stderr).toMatch(new RegExp(`^authctl: ${short.issuer.replaceAll('.', '\\.')} refused the refresh token \\(invalid_grant[^\\n]*\\)\\nhint: sign in again: run \`authctl login\`\\n$`));
    expect(short.tokenErrors('invalid_grant')).toBe(errors + 1);
    expect(browsed(env)).toHaveLength(1);
  });

  it('the provider down during a refresh while the cached token is still valid: token get serves it, exit 0, with a warning', async () => {
    const env = isolatedEnv();
    const { result: login } = await browserLogin(short, env, { user: 'dave' });
    expect(login.code, login.stderr).toBe(0);
    const cached = (await runCli(['token', 'get', '--min-ttl', '10s'], { env })).stdout.trim();
    const refreshes = short.tokensIssued('refresh_token');
    await short.down();
    try {
      const get = await runCli(['token', 'get', '--min-ttl', '2m'], { env: { ...env, AUTHCTL_RETRIES: '1' } });
      expect(get.code, get.stderr).toBe(0);
      expect(get.stdout).toBe(`${cached}\n`);
      expect(get.stderr).toMatch(new RegExp(`^warning: cannot reach ${short.issuer.replaceAll('.', '\\.')}: connection refused; serving the cached token, which expires in \\d+s\\n$`));
      expect(get.stderr).not.toContain(cached);
    } finally {
      await short.up();
    }
    // Back up: the refresh token was not spent, so the next renewal works.
    expect(short.tokensIssued('refresh_token')).toBe(refreshes);
    const again = await runCli(['token', 'get', '--min-ttl', '2m'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim()).not.toBe(cached);
    expect(short.tokensIssued('refresh_token')).toBe(refreshes + 1);
  });

  it('device flow (no $BROWSER, no display: the rule picks it), completed in Chromium: login exit 0, token get works', async () => {
    const env = isolatedEnv();
    const issued = provider.tokensIssued(DEVICE_CODE);
    const cli = startCli(loginArgs(provider), env);
    const [, verification, userCode] = await cli.waitForStderr(DEVICE_URL);
    expect(verification).toBe(`${provider.issuer}/device?user_code=${userCode}`);
    const done = await browser.completeDevice(verification!, { user: 'erin' });
    expect(done.signedIn, done.trail.join(' -> ')).toBe(true);
    const login = await cli.exited;
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toBe('');
    expect(login.stderr).toContain('Waiting for the sign-in (up to 5m; Ctrl-C to stop)...\n');
    expect(login.stderr).toMatch(/Logged in to .* as erin \[profile default\], until .*\n$/);
    expect(login.stderr).not.toContain('Open this URL');
    expect(provider.tokensIssued(DEVICE_CODE)).toBe(issued + 1);

    const get = await runCli(['token', 'get'], { env });
    expect(get.code, get.stderr).toBe(0);
    const token = get.stdout.trim();
    expect((await fetch(provider.endpoints.userinfo, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(decodeJwt((await runCli(['token', 'get', '--output', 'id-token'], { env })).stdout.trim())).toMatchObject({ sub: 'erin', aud: PUBLIC });
    const refreshToken = await savedRefreshToken(env);
    expect(refreshToken).toMatch(/^\S{20,}$/);
    for (const secret of [token, refreshToken!]) expect(login.stderr + get.stderr).not.toContain(secret);
  });

  it('consent denied in the browser: login exits 4 with the provider\'s words, nothing exchanged or stored', async () => {
    const env = isolatedEnv();
    const codes = provider.tokensIssued('authorization_code');
    const { result: login, landed } = await browserLogin(provider, env, { user: 'frank', deny: 'consent' });
    expect(new URL(landed.url).searchParams.get('error')).toBe('access_denied');
    expect(landed.status).toBe(400);
    expect(landed.text).toContain('Sign-in failed');
    expect(login.code, login.stderr).toBe(4);
    expect(login.stdout).toBe('');
    expect(login.stderr).toMatch(new RegExp(`authctl: sign-in at ${provider.issuer.replaceAll('.', '\\.')} was refused \\(access_denied[^\\n]*\\)\\nhint: nothing was stored`));
    expect(provider.tokensIssued('authorization_code')).toBe(codes);
    await expectNothingStored(env);
  });

  it('device flow denied on the confirmation page: login exits 4, nothing stored', async () => {
    // --device wins over a browser that could open.
    const env = withBrowser(isolatedEnv());
    const cli = startCli(loginArgs(provider, '--device'), env);
    const [, verification] = await cli.waitForStderr(DEVICE_URL);
    const done = await browser.completeDevice(verification!, { user: 'gina', deny: 'device' });
    expect(done.signedIn).toBe(false);
    const login = await cli.exited;
    expect(login.code, login.stderr).toBe(4);
    expect(login.stderr).toContain(`authctl: the sign-in was denied at ${provider.issuer}`);
    expect(browsed(env)).toEqual([]);
    await expectNothingStored(env);
  });

  it('device code expired with nobody signing in: login exits 3 within its lifetime, nothing stored', async () => {
    const env = isolatedEnv();
    const started = Date.now();
    const login = await runCli(loginArgs(brief, '--device'), { env, timeoutMs: 15_000 });
    const elapsed = Date.now() - started;
    expect(login.code, login.stderr).toBe(3);
    expect(login.stderr).toMatch(DEVICE_URL);
    // Whichever comes first: authctl's own deadline (the code's expires_in) or the provider's expired_token.
    expect(login.stderr).toMatch(/authctl: (the sign-in on the second device did not finish before the device code expired; nothing was stored|the device code expired before the sign-in was finished)/);
    expect(elapsed).toBeLessThan(8_000);
    await expectNothingStored(env);
  });

  it('--login-timeout 2s with --no-browser and nobody signing in: exit 3 in a few seconds, and the loopback port is closed after', async () => {
    // A browser could open ($BROWSER): the code flow, but --no-browser only prints the URL.
    const env = withBrowser(isolatedEnv());
    const started = Date.now();
    const cli = startCli(loginArgs(provider, '--no-browser', '--login-timeout', '2s'), env);
    const [, url] = await cli.waitForStderr(PRINTED_URL);
    const port = loopbackPort(url!);
    expect(await accepts(port)).toBe(true);
    const login = await cli.exited;
    const elapsed = Date.now() - started;
    expect(login.code, login.stderr).toBe(3);
    expect(elapsed).toBeGreaterThanOrEqual(2_000);
    expect(elapsed).toBeLessThan(6_000);
    expect(login.stderr).toMatch(/^Open this URL in a browser to sign in:\n {2}http:\/\/127\.0\.0\.1:\d+\/auth\?/);
    expect(login.stderr).toContain('authctl: the sign-in in the browser did not finish within 2s; nothing was stored\n');
    expect(browsed(env)).toEqual([]);
    expect(await accepts(port)).toBe(false);
    await expectNothingStored(env);
  });

  it('Ctrl-C while waiting for the browser: exit 130 (or death by SIGINT), nothing stored, port and login lock released', async () => {
    const env = isolatedEnv();
    const cli = startCli(loginArgs(provider, '--grant', 'code', '--no-browser'), env);
    const [, url] = await cli.waitForStderr(PRINTED_URL);
    const port = loopbackPort(url!);
    expect(await accepts(port)).toBe(true);
    cli.child.kill('SIGINT');
    const login = await cli.exited;
    expect(login.code === 130 || login.signal === 'SIGINT', `code ${login.code}, signal ${login.signal}; stderr:\n${login.stderr}`).toBe(true);
    expect(await accepts(port)).toBe(false);
    expect(existsSync(join(env.AUTHCTL_CONFIG_DIR!, 'locks', 'default.login.lock'))).toBe(false);
    expect(existsSync(join(env.AUTHCTL_CONFIG_DIR!, 'locks', 'default.login.lock.person'))).toBe(false);
    await expectNothingStored(env);
  });

  it('a second login for the same profile while the first waits: exit 2 naming the first\'s pid; the first goes on waiting', async () => {
    const env = isolatedEnv();
    const first = startCli(loginArgs(provider, '--grant', 'code', '--no-browser'), env);
    const [, url] = await first.waitForStderr(PRINTED_URL);
    const second = await runCli(loginArgs(provider, '--grant', 'code', '--no-browser'), { env });
    expect(second.code, second.stderr).toBe(2);
    expect(second.stdout).toBe('');
    expect(second.stderr).toContain(`another \`authctl login\` for profile default is running (pid ${first.pid})`);
    expect(second.stderr).not.toContain('Open this URL');
    // The first was not disturbed: its loopback still listens.
    expect(await accepts(loopbackPort(url!))).toBe(true);
    first.child.kill('SIGINT');
    const stopped = await first.exited;
    expect(stopped.code === 130 || stopped.signal === 'SIGINT').toBe(true);
  });

  it('a confidential client with AUTHCTL_CLIENT_SECRET: client credentials, no browser; token get after expiry renews without a person', async () => {
    const secret = brief.clients.confidential.secret!;
    const env = withBrowser(isolatedEnv({ AUTHCTL_CLIENT_SECRET: secret }));
    const grants = brief.tokensIssued('client_credentials');
    const login = await runCli(['login', '--oidc-issuer', brief.issuer, '--client-id', CONFIDENTIAL], { env });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toMatch(new RegExp(`^Logged in to ${brief.issuer.replaceAll('.', '\\.')} as client ${CONFIDENTIAL} \\[profile default\\], until .*\\n$`));
    expect(brief.tokensIssued('client_credentials')).toBe(grants + 1);
    expect(brief.tokensIssued('authorization_code') + brief.tokensIssued(DEVICE_CODE)).toBe(0);
    expect(browsed(env)).toEqual([]);
    const first = (await runCli(['token', 'get', '--min-ttl', '0s'], { env })).stdout.trim();
    expect(first).toMatch(/^\S{20,}$/);

    await sleep(2_200); // the 2-second token has expired
    const get = await runCli(['token', 'get'], { env });
    expect(get.code, get.stderr).toBe(0);
    const renewed = get.stdout.trim();
    expect(renewed).toMatch(/^\S{20,}$/);
    expect(renewed).not.toBe(first);
    expect(brief.tokensIssued('client_credentials')).toBe(grants + 2);
    expect(browsed(env)).toEqual([]);
    for (const text of [login.stderr, get.stderr, configText(env)]) {
      for (const value of [secret, first, renewed]) expect(text).not.toContain(value);
    }
  });

  /** Starts a code-flow login with --no-browser, sends `query` to its loopback redirect URI itself, and returns the outcome. */
  async function forgedRedirect(query: (issuer: string) => string) {
    const env = isolatedEnv();
    const codes = provider.tokensIssued('authorization_code');
    const tokenPath = new URL(provider.endpoints.token).pathname;
    const tokenRequests = provider.requests(tokenPath);
    const cli = startCli(loginArgs(provider, '--grant', 'code', '--no-browser'), env);
    const [, url] = await cli.waitForStderr(PRINTED_URL);
    const redirectUri = new URL(url!).searchParams.get('redirect_uri')!;
    const answer = await fetch(`${redirectUri}?${query(provider.issuer)}`);
    const page = await answer.text();
    const login = await cli.exited;
    const nothingExchanged = () => {
      expect(provider.requests(tokenPath)).toBe(tokenRequests);
      expect(provider.tokensIssued('authorization_code')).toBe(codes);
    };
    return { env, url: url!, login, page, nothingExchanged };
  }

  it("a redirect with the wrong state (and the provider's iss) reaching the loopback first: exit 4, no code exchanged; the real redirect then finds the port closed", async () => {
    // The provider announces authorization_response_iss_parameter_supported, so its redirects carry
    // `iss`; this forged one does too, to reach the state check (without it, see the next test).
    const { env, url, login, nothingExchanged } = await forgedRedirect((issuer) => `code=x&state=wrong&iss=${encodeURIComponent(issuer)}`);
    expect(login.code, login.stderr).toBe(4);
    expect(login.stderr).toMatch(new RegExp(`authctl: sign-in at ${provider.issuer.replaceAll('.', '\\.')}: the redirect does not belong to this sign-in \\([^\\n]*state[^\\n]*\\)\\nhint: nothing was exchanged; start the sign-in again\\n$`));
    nothingExchanged();

    // The person signs in after all: the provider redirects to a port nobody listens on any more.
    const landed = await browser.completeLogin(url, { user: 'hank' });
    expect(landed.status).toBeUndefined();
    nothingExchanged();
    expect(await accepts(loopbackPort(url))).toBe(false);
    await expectNothingStored(env);
  });

  // oauth4webapi checks `iss` before `state` (the provider announces authorization_response_iss_parameter_supported): either gives the forgery away.
  it('a forged redirect `?code=x&state=wrong` (no iss, or a foreign one) reaching the loopback first: exit 4, no code exchanged', async () => {
    for (const query of [() => 'code=x&state=wrong', () => `code=x&state=wrong&iss=${encodeURIComponent('http://attacker.example')}`]) {
      const { env, url, login, nothingExchanged } = await forgedRedirect(query);
      expect(login.code, login.stderr).toBe(4);
      expect(login.stderr).toContain('the redirect does not belong to this sign-in');
      expect(login.stderr).toContain('nothing was exchanged');
      nothingExchanged();
      expect(await accepts(loopbackPort(url))).toBe(false);
      await expectNothingStored(env);
    }
  });

  it('concurrent token gets sharing one rotating refresh token: all get a token, none spends a rotated-away one', async () => {
    const env = isolatedEnv();
    const { result: login } = await browserLogin(short, env, { user: 'ivan' });
    expect(login.code, login.stderr).toBe(0);
    const refreshes = short.tokensIssued('refresh_token');
    const errors = short.tokenErrors();
    const runs = await Promise.all([1, 2, 3].map(() => runCli(['token', 'get', '--min-ttl', '2m'], { env })));
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^\S{20,}\n$/);
    }
    expect(short.tokenErrors()).toBe(errors);
    expect(short.tokensIssued('refresh_token') - refreshes).toBeGreaterThanOrEqual(1);
    // Whatever happened, the refresh token saved last is the live one.
    const next = await runCli(['token', 'get', '--min-ttl', '2m'], { env });
    expect(next.code, next.stderr).toBe(0);
    expect(short.tokenErrors()).toBe(errors);
  });

  // OIDC Core §12.2 lets a refresh answer omit the ID token; oidc-provider always sends one, so a
  // proxy (HTTP_PROXY) in front of it drops it from refresh answers, as other providers do.
  it('a refresh answer without an ID token: token get --output id-token still prints the one from the sign-in', async () => {
    const proxy = await startIdTokenStrippingProxy(short);
    try {
      const env = isolatedEnv({ HTTP_PROXY: proxy.url, NO_PROXY: '' });
      const { result: login } = await browserLogin(short, env, { user: 'judy' });
      expect(login.code, login.stderr).toBe(0);
      expect(proxy.requests()).toBeGreaterThan(0); // authctl went through the proxy
      const signedIn = await runCli(['token', 'get', '--min-ttl', '10s', '--output', 'id-token'], { env });
      expect(signedIn.code, signedIn.stderr).toBe(0);
      const idToken = signedIn.stdout.trim();

      const refreshed = await runCli(['token', 'get', '--min-ttl', '2m'], { env });
      expect(refreshed.code, refreshed.stderr).toBe(0);
      expect(proxy.stripped()).toBe(1);

      const after = await runCli(['token', 'get', '--min-ttl', '10s', '--output', 'id-token'], { env });
      expect(after.code, after.stderr).toBe(0);
      expect(after.stdout.trim()).toBe(idToken);
    } finally {
      await proxy.close();
    }
  });
});
