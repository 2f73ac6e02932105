/**
 * Proof that secrets never leak. Every command runs its success and failure paths (wrong
 * password, IAM failing, unreachable, hanging or answering nonsense, no keychain, bad flags) with
 * known secret values and `--debug` (some with AUTHCTL_DEBUG=1), and everything observable is
 * scanned for them:
 *
 * - stderr, debug lines included: no secret at all; the secret headers of each logged request
 *   appear only as fingerprints (`hmac:` and 12 hex digits) of the values IAM actually received,
 *   the same value alike and different values apart within a run, and none an unkeyed hash;
 * - stdout: a token only where printing it is the command's job, never any other secret;
 * - every file under HOME and AUTHCTL_CONFIG_DIR: no secret (with the keychain: no token either);
 * - /proc/<pid>/cmdline of a running authctl and of anything it started: no secret.
 *
 * Secrets are recognised two ways: by value (the realm's fixtures, the wrong values the tests
 * supply, and whatever authctl sent to IAM, read back from the realm's request log), as it is or
 * encoded (base64, base64url, hex, percent-encoded, JSON-escaped), and by shape (the test IAM
 * server's tokens, keys and passwords each have a distinctive form), so a token issued during a
 * run is caught even though the test never learns its value.
 *
 * A person's OpenID Connect sign-in (device flow at a real oidc-provider, finished in Chromium)
 * brings the provider's refresh token, access token and ID token: the refresh token and the access
 * token have no distinctive shape, so they are known by value, read back from the file store
 * through authctl's own FileStore after every run, rotated-away ones included.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ChunkedStore } from '../../src/store/chunked.js';
import { FileStore } from '../../src/store/file-store.js';
import { haveChromium, launchBrowser, type HarnessBrowser } from '../harness/browser.js';
import { startOidcProvider, type OidcProviderHarness } from '../harness/oidc-provider-harness.js';
import { BIN, isolatedEnv, runCli, type CliResult } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { totp } from '../helpers/totp.js';
import type { Fault, LoggedRequest } from '../helpers/iam-server.js';
import { loginEnv, newRealm, type Realm } from '../helpers/realm.js';

const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'secrets e2e (OS keychain)');
const haveBrowser = requireOrSkip(haveChromium(), 'secrets e2e (OpenID Connect sign-in in Chromium)');

// ---------------------------------------------------------------------------------------------
// Recognising secrets

type Kind = 'password' | 'passcode' | 'client secret' | 'secret key' | 'security token' | 'passphrase' | 'token' | 'login token' | 'id token' | 'refresh token' | 'access token';
interface Secret {
  kind: Kind;
  value: string;
  /** How it was written where it was found, when not as it is (`base64`, `hex`, ...). */
  encoding?: string;
}
type Env = Record<string, string | undefined>;

/**
 * The shapes of the test IAM server's secrets (test/helpers/iam-server.ts) and of the wrong
 * values below. The security-token and login-token shapes are plain base64url, which an
 * encrypted file's base64 could contain by chance, so files are checked for those by value only.
 */
const SHAPES: readonly { kind: Kind; re: RegExp; inFiles: boolean }[] = [
  { kind: 'password', re: /(?<![\w-])pw-[0-9a-f]{12}(?![\w-])/g, inFiles: true },
  { kind: 'client secret', re: /(?<![\w-])cs-[0-9a-f]{16}(?![\w-])/g, inFiles: true },
  { kind: 'secret key', re: /(?<![\w-])SK[0-9a-f]{24}(?![\w-])/g, inFiles: true },
  { kind: 'security token', re: /(?<![\w-])ST[\w-]{32}(?![\w-])/g, inFiles: false },
  { kind: 'passphrase', re: /(?<![\w-])pp-[0-9a-f]{16}(?![\w-])/g, inFiles: true },
  { kind: 'token', re: /(?<![\w-])gAAAAA[\w-]{20,}/g, inFiles: true },
  { kind: 'login token', re: /(?<![\w-])lt[\w-]{128}(?![\w-])/g, inFiles: false },
  // A JWT (a CI job's OIDC ID token, or the provider's ID token of a person's sign-in): header
  // and payload are base64url JSON, so they start with eyJ.
  { kind: 'id token', re: /(?<![\w-])eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{20,}/g, inFiles: true },
  // No shape for the OpenID Connect provider's refresh tokens and access tokens: oidc-provider's
  // are 43 random base64url characters, like the state, nonce and PKCE challenge in a sign-in URL,
  // so they are known by value only, read back from the store after every run (see learnStored).
];

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** Wrong values a user might supply: secrets all the same, so they must not leak either. */
const WRONG = {
  password: `pw-${hex(6)}`,
  clientSecret: `cs-${hex(8)}`,
  secretKey: `SK${hex(12)}`,
  passphrase: `pp-${hex(8)}`,
};
const SECRET_HEADERS = ['x-auth-token', 'x-subject-token', 'x-subject-logintoken', 'authorization'] as const;

/** A fingerprint as authctl shows one: keyed with a key made afresh in each run, so not computable here. */
const FINGERPRINT = /^hmac:[0-9a-f]{12}$/;
/** What a fingerprint must never be: the first 12 hex digits of an unkeyed SHA-256, checkable offline. */
const unkeyedHash = (secret: string) => `hmac:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
/** Stand-ins shaped like authctl's fingerprints, for the scanner's own test (keyed here, as authctl keys its own). */
const SCANNER_KEY = randomBytes(32);
const fingerprint = (secret: string) => `hmac:${createHmac('sha256', SCANNER_KEY).update(secret).digest('hex').slice(0, 12)}`;

class Secrets {
  readonly #byValue = new Map<string, Kind>();
  add(kind: Kind, value: string | undefined): void {
    if (value && !this.#byValue.has(value)) this.#byValue.set(value, kind);
  }
  get all(): Secret[] {
    return [...this.#byValue].map(([value, kind]) => ({ kind, value }));
  }
}

/**
 * A known secret as a leak may write it: as it is, and encoded as a header, a file, a URL or a
 * JSON string would carry it (base64 without its padding also matches the padded form).
 */
function encodings(value: string): { encoding?: string; text: string }[] {
  const bytes = Buffer.from(value, 'utf8');
  const all = [
    { text: value },
    { encoding: 'base64', text: bytes.toString('base64').replace(/=+$/, '') },
    { encoding: 'base64url', text: bytes.toString('base64url') },
    { encoding: 'hex', text: bytes.toString('hex') },
    { encoding: 'percent-encoded', text: encodeURIComponent(value) },
    { encoding: 'JSON-escaped', text: JSON.stringify(value).slice(1, -1) },
  ];
  return all.filter((e, i) => all.findIndex((other) => other.text === e.text) === i);
}

/** The secrets in `text`, known by value (in any of its encodings) or recognised by shape. */
function findSecrets(text: string, known: readonly Secret[], where: 'text' | 'file'): Secret[] {
  const found = new Map<string, Secret>();
  for (const secret of known) {
    if (found.has(secret.value)) continue;
    const shown = encodings(secret.value).find((e) => text.includes(e.text));
    if (shown) found.set(secret.value, { kind: secret.kind, value: secret.value, ...(shown.encoding ? { encoding: shown.encoding } : {}) });
  }
  for (const shape of SHAPES) {
    if (where === 'file' && !shape.inFiles) continue;
    for (const match of text.matchAll(shape.re)) if (!found.has(match[0])) found.set(match[0], { kind: shape.kind, value: match[0] });
  }
  return [...found.values()];
}

/** "<where>: <kind> in line <the line>", for a failure message that says exactly what leaked. */
function describeLeaks(where: string, text: string, leaks: readonly Secret[]): string[] {
  return leaks.map(({ kind, value, encoding }) => {
    const shown = encodings(value).find((e) => e.encoding === encoding)?.text ?? value;
    const line = text.split('\n').find((l) => l.includes(shown)) ?? text;
    return `${where}: ${kind} ${value.slice(0, 12)}…${encoding ? ` (${encoding})` : ''} in line ${JSON.stringify(line.length > 400 ? `${line.slice(0, 400)}…` : line)}`;
  });
}

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

/** Everything secret that authctl sent to IAM, read back from the realm's request log. */
function harvest(requests: readonly LoggedRequest[], secrets: Secrets): void {
  for (const request of requests) {
    secrets.add('token', request.headers['x-auth-token']);
    secrets.add('token', request.headers['x-subject-token']);
    if (request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
      secrets.add('client secret', new URLSearchParams(request.body).get('client_secret') ?? undefined);
      continue;
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      continue;
    }
    secrets.add('password', str(at(body, 'auth', 'identity', 'password', 'user', 'password')));
    secrets.add('passcode', str(at(body, 'auth', 'identity', 'totp', 'user', 'passcode')));
    secrets.add('token', str(at(body, 'auth', 'identity', 'token', 'id')));
    secrets.add('secret key', str(at(body, 'auth', 'securitytoken', 'secret')));
    secrets.add('security token', str(at(body, 'auth', 'securitytoken', 'id')));
  }
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isDirectory()) return walk(path);
    return stat.isFile() ? [path] : [];
  });
}

// ---------------------------------------------------------------------------------------------
// Debug lines

interface DebugRequest {
  line: string;
  method: string;
  url: string;
  headers: Map<string, string>;
  outcome: string;
}

/** `debug: METHOD URL [name: value, ...] -> STATUS-or-error (N ms)`, as src/iam/http.ts writes it. */
const DEBUG_REQUEST = /^debug: (GET|HEAD|POST|DELETE) (\S+) (?:\[(.*)\] )?-> (.+) \((\d+) ms\)$/;

function debugRequests(stderr: string): DebugRequest[] {
  return stderr.split('\n').flatMap((line) => {
    const match = DEBUG_REQUEST.exec(line);
    if (!match) return [];
    const headers = new Map<string, string>();
    for (const part of (match[3] ?? '').split(', ').filter(Boolean)) {
      const colon = part.indexOf(': ');
      headers.set(part.slice(0, colon).toLowerCase(), part.slice(colon + 2));
    }
    return [{ line, method: match[1]!, url: match[2]!, headers, outcome: match[4]! }];
  });
}

// ---------------------------------------------------------------------------------------------
// The cases

type Store = 'keychain' | 'file' | 'file-plain';

interface Setup {
  realm: Realm;
  /** The user's environment for the case: the login settings, no password, the store's passphrase. */
  env: Env;
  /** The profile's token after the setup's login (user and client setups). */
  token: string;
  /** A second valid token of the same user, for `token check --token-stdin`. */
  other: string;
  secrets: Secrets;
  deadUrl: string;
  configDir: string;
  home: string;
}

interface Case {
  name: string;
  /** none: a fresh user with the login settings in the environment; user/client: logged in first. */
  setup?: 'none' | 'user' | 'client';
  store?: Store;
  args: (s: Setup) => string[];
  env?: (s: Setup) => Env;
  input?: (s: Setup) => string;
  /** Runs after the setup, before the case (e.g. revoke the token at IAM). */
  before?: (s: Setup) => Promise<void>;
  faults?: (s: Setup) => Fault[];
  code: number;
  /** What the command's job is to print on stdout: only those kinds of secret may appear there. */
  prints?: Kind | readonly Kind[];
  /** Some logged request must carry a token, shown as a fingerprint. */
  sendsToken?: boolean;
  /** IAM is at a closed port: the debug lines say so and the realm sees nothing. */
  unreachable?: boolean;
  /** AUTHCTL_DEBUG=1 instead of --debug. */
  debugEnv?: boolean;
  /** Further text stderr must contain: what the secret became (a fingerprint), a warning. */
  stderr?: (s: Setup) => (string | RegExp)[];
}

const args =
  (...list: string[]) =>
  (): string[] =>
    list;
const withPassword = (s: Setup): Env => ({ OS_PASSWORD: s.realm.fixtures.user.password });
const noKeychain = (s: Setup): Env => ({ ...withPassword(s), DBUS_SESSION_BUS_ADDRESS: undefined });
const password = (s: Setup) => s.realm.fixtures.user.password;
const clientLogin = (s: Setup, ...extra: string[]) => ['login', '--client-id', s.realm.fixtures.client.id, '--token-url', s.realm.tokenUrl, ...extra];
const accessKeyEnv = (s: Setup): Env => {
  const { accessKey } = s.realm.fixtures;
  return { OS_AUTH_URL: s.realm.authUrl, AUTHCTL_ACCESS_KEY: accessKey.access, AUTHCTL_SECRET_KEY: accessKey.secret, AUTHCTL_SECURITY_TOKEN: accessKey.securityToken };
};
/** An IAM that echoes secrets back in its error message: authctl must redact them. */
const echoing = (status: number, method: string, path: string, ...secrets: string[]): Fault => ({
  method,
  path,
  status,
  times: 3,
  body: JSON.stringify({ error: { code: status, title: 'Error', message: `internal error while handling ${secrets.join(' and ')}` } }),
});
/** What echoed secrets become in stderr: a fingerprint each (which one, authctl's per-run key decides). */
const redacted = (...secrets: string[]): RegExp[] => secrets.map(() => /<hmac:[0-9a-f]{12}>/);
/** stderr holds `text`: a string as it is, a pattern somewhere. */
const expectInStderr = (stderr: string, text: string | RegExp) => (typeof text === 'string' ? expect(stderr).toContain(text) : expect(stderr).toMatch(text));
/** The virtual-MFA user signing in with a TOTP passcode from OS_PASSCODE (or a wrong one), known to the scan: one per case. */
const passcodes = new WeakMap<Setup, string>();
function passcodeOf(s: Setup, wrong: boolean): string {
  let passcode = passcodes.get(s);
  if (passcode === undefined) {
    const right = totp(s.realm.fixtures.mfaUser.totpSecret);
    passcode = wrong ? String((Number(right) + 500_000) % 1_000_000).padStart(6, '0') : right;
    passcodes.set(s, passcode);
    s.secrets.add('passcode', passcode);
  }
  return passcode;
}
const withPasscode =
  (wrong = false) =>
  (s: Setup): Env => {
    const { mfaUser } = s.realm.fixtures;
    return { OS_USERNAME: undefined, OS_USER_DOMAIN_NAME: undefined, OS_PROJECT_NAME: undefined, OS_PROJECT_ID: s.realm.fixtures.project.id, OS_USER_ID: mfaUser.id, OS_PASSWORD: mfaUser.password, OS_PASSCODE: passcodeOf(s, wrong) };
  };
const TOKENS = '/v3/auth/tokens';
const CLIENT_TOKENS = '/api/v2/tenant/token';
const LOGIN_TOKENS = '/v3.0/OS-AUTH/securitytoken/logintokens';
const SECURITY_TOKENS = '/v3.0/OS-CREDENTIAL/securitytokens';
const fakeToken = () => `gAAAAA${randomBytes(120).toString('base64url')}`.slice(0, 183);
const fakeLoginToken = () => `lt${randomBytes(96).toString('base64url')}`;
const fakeJwt = () => `${Buffer.from('{"alg":"RS256","kid":"k1"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'alice', n: hex(4) })).toString('base64url')}.${randomBytes(64).toString('base64url')}`;


/** An identity provider registered in the case's realm and a CI job's ID token for it in a file: the environment of an ID-token login (§9). */
const idTokenJobs = new WeakMap<Setup, Env>();
const jobDirs: string[] = [];
afterAll(() => {
  for (const dir of jobDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
async function idTokenJob(s: Setup, expiresIn = 300): Promise<void> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  await s.realm.registerIdp({ id: 'ci', idp_url: 'https://ci.example.com', client_id: 'otc-ci', signing_key: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] } });
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ repository: 'acme/app' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://ci.example.com').setAudience('otc-ci').setSubject('repo:acme/app').setIssuedAt(now - 600).setExpirationTime(now + expiresIn).sign(privateKey);
  s.secrets.add('id token', jwt);
  // Where the CI platform puts it: outside the home the scan reads (that file is the token's own place).
  const dir = mkdtempSync(join(tmpdir(), 'authctl-ci-job-'));
  jobDirs.push(dir);
  const file = join(dir, 'id-token');
  writeFileSync(file, `${jwt}\n`);
  idTokenJobs.set(s, { OS_USERNAME: undefined, OS_USER_DOMAIN_NAME: undefined, HUAWEICLOUD_SDK_IDP_ID: 'ci', HUAWEICLOUD_SDK_ID_TOKEN_FILE: file });
}
const idTokenEnv = (s: Setup): Env => idTokenJobs.get(s) ?? {};
const ID_TOKENS = '/v3.0/OS-AUTH/id-token/tokens';

const CASES: Case[] = [
  // login, password
  { name: 'login: password from OS_PASSWORD', args: args('login'), env: withPassword, code: 0 },
  { name: 'login: AUTHCTL_DEBUG=1', args: args('login'), env: withPassword, debugEnv: true, code: 0 },
  { name: 'login --password-stdin', args: args('login', '--password-stdin'), input: password, code: 0 },
  { name: 'login --json (metadata, never the token)', args: args('login', '--json'), env: withPassword, code: 0 },
  { name: 'login --save-password (keychain)', args: args('login', '--save-password'), env: withPassword, code: 0 },
  { name: 'login --store file --save-password, with a passphrase', store: 'file', args: args('login', '--store', 'file', '--save-password'), env: withPassword, code: 0 },
  {
    name: 'login --store file, no passphrase',
    store: 'file-plain',
    args: args('login', '--store', 'file'),
    env: withPassword,
    code: 0,
    stderr: () => ['warning: secrets are stored in plain text'],
  },
  { name: 'login: wrong password (401)', args: args('login'), env: () => ({ OS_PASSWORD: WRONG.password }), code: 4 },
  { name: 'login --password-stdin: wrong password (401)', args: args('login', '--password-stdin'), input: () => WRONG.password, code: 4 },
  {
    name: 'login: IAM 500 echoing the password',
    args: args('login'),
    env: withPassword,
    faults: (s) => [echoing(500, 'POST', TOKENS, password(s))],
    code: 5,
    stderr: (s) => redacted(password(s)),
  },
  // virtual MFA: a TOTP passcode, sent once and never kept
  { name: 'login: virtual MFA, passcode from OS_PASSCODE', args: args('login'), env: withPasscode(), code: 0 },
  { name: 'login: virtual MFA, a wrong passcode (401)', args: args('login'), env: withPasscode(true), code: 4 },
  {
    name: 'login: IAM 500 echoing the passcode',
    args: args('login'),
    env: withPasscode(),
    faults: (s) => [echoing(500, 'POST', TOKENS, passcodeOf(s, false))],
    code: 5,
    stderr: () => [/<hmac:[0-9a-f]{12}>/],
  },
  { name: 'login: IAM unreachable (retried)', args: args('login'), env: (s) => ({ ...withPassword(s), OS_AUTH_URL: s.deadUrl, AUTHCTL_RETRIES: '2' }), unreachable: true, code: 5 },
  {
    name: 'login: malformed answer (201, a token, a body that is not JSON)',
    args: args('login'),
    env: withPassword,
    faults: () => [{ method: 'POST', path: TOKENS, status: 201, headers: { 'X-Subject-Token': fakeToken() }, body: '<html>hello</html>' }],
    code: 5,
  },
  {
    name: 'login: answer cut off mid-body',
    args: args('login'),
    env: withPassword,
    faults: () => [{ method: 'POST', path: TOKENS, status: 201, headers: { 'X-Subject-Token': fakeToken() }, cutBody: true }],
    code: 5,
  },
  { name: 'login: IAM never answers (--timeout 1s)', args: args('login', '--timeout', '1s'), env: withPassword, faults: () => [{ method: 'POST', path: TOKENS, hang: true }], code: 5 },
  { name: 'login: keychain missing', args: args('login'), env: noKeychain, code: 6 },
  { name: 'login --password-stdin: keychain missing', args: args('login', '--password-stdin'), input: password, env: () => ({ DBUS_SESSION_BUS_ADDRESS: undefined }), code: 6 },
  { name: 'login --password-stdin: unknown flag', args: args('login', '--password-stdin', '--no-such-flag'), input: password, code: 2 },
  { name: 'login: file store, wrong passphrase', setup: 'user', store: 'file', args: args('login'), env: (s) => ({ ...withPassword(s), AUTHCTL_FILE_PASSPHRASE: WRONG.passphrase }), code: 6 },

  // login, client credentials
  { name: 'login --client-id: AUTHCTL_CLIENT_SECRET', setup: 'none', args: (s) => clientLogin(s), env: (s) => ({ AUTHCTL_CLIENT_SECRET: s.realm.fixtures.client.secret }), code: 0 },
  { name: 'login --client-id --client-secret-stdin --save-secret', args: (s) => clientLogin(s, '--client-secret-stdin', '--save-secret'), input: (s) => s.realm.fixtures.client.secret, code: 0 },
  { name: 'login --client-id: wrong secret (400)', args: (s) => clientLogin(s), env: () => ({ AUTHCTL_CLIENT_SECRET: WRONG.clientSecret }), code: 4 },
  { name: 'login --client-secret-stdin: wrong secret (400)', args: (s) => clientLogin(s, '--client-secret-stdin'), input: () => WRONG.clientSecret, code: 4 },
  {
    name: 'login --client-id: IAM 500 echoing the secret',
    args: (s) => clientLogin(s),
    env: (s) => ({ AUTHCTL_CLIENT_SECRET: s.realm.fixtures.client.secret }),
    faults: (s) => [echoing(500, 'POST', CLIENT_TOKENS, s.realm.fixtures.client.secret)],
    code: 5,
    stderr: (s) => redacted(s.realm.fixtures.client.secret),
  },
  {
    name: 'login --client-id: IAM unreachable',
    args: (s) => ['login', '--client-id', s.realm.fixtures.client.id, '--token-url', `${s.deadUrl.replace(/\/v3$/, '')}${CLIENT_TOKENS}`],
    env: (s) => ({ AUTHCTL_CLIENT_SECRET: s.realm.fixtures.client.secret }),
    unreachable: true,
    code: 5,
  },
  {
    name: 'login --client-id: malformed answer (a token, expires_in "soon")',
    args: (s) => clientLogin(s),
    env: (s) => ({ AUTHCTL_CLIENT_SECRET: s.realm.fixtures.client.secret }),
    faults: () => [{ method: 'POST', path: CLIENT_TOKENS, status: 200, body: JSON.stringify({ access_token: fakeToken(), expires_in: 'soon' }) }],
    code: 5,
  },
  { name: 'login --client-secret-stdin: keychain missing', args: (s) => clientLogin(s, '--client-secret-stdin'), input: (s) => s.realm.fixtures.client.secret, env: () => ({ DBUS_SESSION_BUS_ADDRESS: undefined }), code: 6 },
  { name: 'login --client-secret-stdin --save-password: conflicting flags', args: (s) => clientLogin(s, '--client-secret-stdin', '--save-password'), input: (s) => s.realm.fixtures.client.secret, code: 2 },

  // token get
  { name: 'token get (cached)', setup: 'user', args: args('token', 'get'), code: 0, prints: 'token' },
  { name: 'token get: AUTHCTL_DEBUG=1', setup: 'user', args: args('token', 'get'), debugEnv: true, code: 0, prints: 'token' },
  { name: 'token get --json', setup: 'user', args: args('token', 'get', '--json'), code: 0, prints: 'token' },
  { name: 'token get --output exec-credential', setup: 'user', args: args('token', 'get', '--output', 'exec-credential'), code: 0, prints: 'token' },
  { name: 'token get: renewed with OS_PASSWORD (--min-ttl 2h)', setup: 'user', args: args('token', 'get', '--min-ttl', '2h'), env: withPassword, code: 0, prints: 'token' },
  { name: 'token get: logs in with OS_PASSWORD, AUTHCTL_DEBUG=1', args: args('token', 'get'), env: withPassword, debugEnv: true, code: 0, prints: 'token' },
  { name: 'token get: renewing with a wrong password (401)', setup: 'user', args: args('token', 'get', '--min-ttl', '2h'), env: () => ({ OS_PASSWORD: WRONG.password }), code: 4 },
  {
    name: 'token get: IAM 500 echoing the password, cached token served with a warning',
    setup: 'user',
    args: args('token', 'get', '--min-ttl', '2h'),
    env: withPassword,
    faults: (s) => [echoing(500, 'POST', TOKENS, password(s))],
    code: 0,
    prints: 'token',
    stderr: (s) => ['warning: ', ...redacted(password(s))],
  },
  { name: 'token get: not logged in, IAM 500', args: args('token', 'get'), env: withPassword, faults: (s) => [echoing(500, 'POST', TOKENS, password(s))], code: 5, stderr: (s) => redacted(password(s)) },
  { name: 'token get: not logged in, IAM unreachable', args: args('token', 'get'), env: (s) => ({ ...withPassword(s), OS_AUTH_URL: s.deadUrl }), unreachable: true, code: 5 },
  { name: 'token get: IAM never answers (--timeout 1s)', args: args('token', 'get', '--timeout', '1s'), env: withPassword, faults: () => [{ method: 'POST', path: TOKENS, hang: true }], code: 5 },
  {
    name: 'token get --json: malformed answer',
    args: args('token', 'get', '--json'),
    env: withPassword,
    faults: () => [{ method: 'POST', path: TOKENS, status: 201, headers: { 'X-Subject-Token': fakeToken() }, body: '{"token": {"expires_at": "never"}}' }],
    code: 5,
  },
  { name: 'token get: keychain missing', setup: 'user', args: args('token', 'get'), env: noKeychain, code: 6 },
  { name: 'token get --min-ttl soon: bad flag value', setup: 'user', args: args('token', 'get', '--min-ttl', 'soon'), env: withPassword, code: 2 },
  { name: 'token get --bogus: unknown flag', setup: 'user', args: args('token', 'get', '--bogus'), env: withPassword, code: 2 },
  { name: 'token get: not logged in, no password', args: args('token', 'get'), code: 3 },
  { name: 'token get: file store with a passphrase', setup: 'user', store: 'file', args: args('token', 'get'), code: 0, prints: 'token' },
  { name: 'token get --json: file store with a passphrase, renewed', setup: 'user', store: 'file', args: args('token', 'get', '--json', '--min-ttl', '2h'), env: withPassword, code: 0, prints: 'token' },
  { name: 'token get: file store, wrong passphrase', setup: 'user', store: 'file', args: args('token', 'get'), env: () => ({ AUTHCTL_FILE_PASSPHRASE: WRONG.passphrase }), code: 6 },
  { name: 'token get: file store without a passphrase', setup: 'user', store: 'file-plain', args: args('token', 'get'), code: 0, prints: 'token' },
  { name: 'token get (client profile): renewed with AUTHCTL_CLIENT_SECRET', setup: 'client', args: args('token', 'get', '--min-ttl', '1h'), env: (s) => ({ AUTHCTL_CLIENT_SECRET: s.realm.fixtures.client.secret }), code: 0, prints: 'token' },
  {
    name: 'token get (client profile): wrong secret',
    setup: 'client',
    args: args('token', 'get', '--min-ttl', '1h'),
    env: () => ({ AUTHCTL_CLIENT_SECRET: WRONG.clientSecret }),
    code: 4,
  },

  // token check
  { name: 'token check', setup: 'user', args: args('token', 'check'), code: 0, sendsToken: true },
  { name: 'token check: AUTHCTL_DEBUG=1', setup: 'user', args: args('token', 'check'), debugEnv: true, code: 0, sendsToken: true },
  { name: 'token check --json', setup: 'user', args: args('token', 'check', '--json'), code: 0, sendsToken: true },
  { name: 'token check --quiet', setup: 'user', args: args('token', 'check', '--quiet'), code: 0, sendsToken: true },
  { name: 'token check --token-stdin: another valid token', setup: 'user', args: args('token', 'check', '--token-stdin'), input: (s) => s.other, code: 0, sendsToken: true },
  { name: 'token check --token-stdin: a token IAM does not know', setup: 'user', args: args('token', 'check', '--token-stdin'), input: (s) => s.other, before: (s) => s.realm.revoke(s.other), code: 3, sendsToken: true },
  {
    name: 'token check --token-stdin --json: a token IAM does not know',
    setup: 'user',
    args: args('token', 'check', '--token-stdin', '--json'),
    input: (s) => s.other,
    before: (s) => s.realm.revoke(s.other),
    code: 3,
    sendsToken: true,
  },
  { name: 'token check: revoked token', setup: 'user', args: args('token', 'check'), before: (s) => s.realm.revoke(s.token), code: 3, sendsToken: true },
  { name: 'token check: IAM 500 echoing the token', setup: 'user', args: args('token', 'check'), faults: (s) => [echoing(500, 'GET', TOKENS, s.token)], code: 5, sendsToken: true, stderr: (s) => redacted(s.token) },
  // The token is only ever sent to the IAM that issued it: other settings in the environment get exit 3, no request.
  { name: 'token check: the environment names another IAM', setup: 'user', args: args('token', 'check'), env: (s) => ({ OS_AUTH_URL: s.deadUrl }), code: 3 },
  { name: 'token check: malformed answer (200, not JSON)', setup: 'user', args: args('token', 'check'), faults: () => [{ method: 'GET', path: TOKENS, status: 200, body: 'oops' }], code: 5, sendsToken: true },
  { name: 'token check: keychain missing', setup: 'user', args: args('token', 'check'), env: noKeychain, code: 6 },
  { name: 'token check --token-stdin: keychain missing', setup: 'user', args: args('token', 'check', '--token-stdin'), input: (s) => s.other, env: noKeychain, code: 6 },
  { name: 'token check --quiet --json: conflicting flags', setup: 'user', args: args('token', 'check', '--quiet', '--json'), code: 2 },

  // token renew
  { name: 'token renew: by password', setup: 'user', args: args('token', 'renew'), env: withPassword, code: 0 },
  { name: 'token renew: from the current token', setup: 'user', args: args('token', 'renew'), code: 0, sendsToken: true },
  { name: 'token renew --json: AUTHCTL_DEBUG=1', setup: 'user', args: args('token', 'renew', '--json'), debugEnv: true, code: 0, sendsToken: true },
  {
    name: 'token renew: revoked token, IAM echoes it in its 404',
    setup: 'user',
    args: args('token', 'renew'),
    before: (s) => s.realm.revoke(s.token),
    code: 3,
    sendsToken: true,
    // IAM's words are not repeated at all now: the message says revoked or expired at IAM.
    stderr: () => ['revoked or expired at IAM (404)'],
  },
  { name: 'token renew: wrong password (401)', setup: 'user', args: args('token', 'renew'), env: () => ({ OS_PASSWORD: WRONG.password }), code: 4 },
  { name: 'token renew: IAM 500 echoing the password', setup: 'user', args: args('token', 'renew'), env: withPassword, faults: (s) => [echoing(500, 'POST', TOKENS, password(s))], code: 5, stderr: (s) => redacted(password(s)) },
  { name: 'token renew: IAM unreachable', setup: 'user', args: args('token', 'renew'), env: (s) => ({ ...withPassword(s), OS_AUTH_URL: s.deadUrl }), unreachable: true, code: 5 },
  { name: 'token renew: keychain missing', setup: 'user', args: args('token', 'renew'), env: noKeychain, code: 6 },
  { name: 'token renew --project --domain: conflicting flags', setup: 'user', args: args('token', 'renew', '--project', '/other', '--domain', 'Fiware'), env: withPassword, code: 2 },
  { name: 'token renew (client profile): AUTHCTL_CLIENT_SECRET', setup: 'client', args: args('token', 'renew'), env: (s) => ({ AUTHCTL_CLIENT_SECRET: s.realm.fixtures.client.secret }), code: 0 },

  // export
  ...(['sh', 'fish', 'powershell', 'cmd', 'dotenv', 'json'] as const).map(
    (shell): Case => ({ name: `export --shell ${shell}`, setup: 'user', args: args('export', '--shell', shell), code: 0, prints: 'token' }),
  ),
  { name: 'export --openstack --expiry: renewed, AUTHCTL_DEBUG=1', setup: 'user', args: args('export', '--openstack', '--expiry', '--min-ttl', '2h'), env: withPassword, debugEnv: true, code: 0, prints: 'token' },
  { name: 'export --unset (no token)', setup: 'user', args: args('export', '--unset'), code: 0 },
  { name: 'export: renewing with a wrong password (401)', setup: 'user', args: args('export', '--min-ttl', '2h'), env: () => ({ OS_PASSWORD: WRONG.password }), code: 4 },
  { name: 'export: not logged in, IAM 500', args: args('export'), env: withPassword, faults: (s) => [echoing(500, 'POST', TOKENS, password(s))], code: 5 },
  { name: 'export: not logged in, no password', args: args('export', '--shell', 'fish'), code: 3 },
  { name: 'export: keychain missing', setup: 'user', args: args('export'), env: noKeychain, code: 6 },
  { name: 'export --shell nosuch: bad flag value', setup: 'user', args: args('export', '--shell', 'nosuch'), env: withPassword, code: 2 },

  // exec
  { name: "exec -- sh -c 'true'", setup: 'user', args: args('exec', '--', 'sh', '-c', 'true'), code: 0 },
  { name: "exec -- sh -c 'exit 7'", setup: 'user', args: args('exec', '--', 'sh', '-c', 'exit 7'), code: 7 },
  { name: 'exec: renewed with OS_PASSWORD, AUTHCTL_DEBUG=1', setup: 'user', args: args('exec', '--min-ttl', '2h', '--', 'sh', '-c', 'true'), env: withPassword, debugEnv: true, code: 0 },
  { name: 'exec: renewing with a wrong password (401)', setup: 'user', args: args('exec', '--min-ttl', '2h', '--', 'sh', '-c', 'true'), env: () => ({ OS_PASSWORD: WRONG.password }), code: 4 },
  { name: 'exec: not logged in, IAM unreachable', args: args('exec', '--', 'sh', '-c', 'true'), env: (s) => ({ ...withPassword(s), OS_AUTH_URL: s.deadUrl }), unreachable: true, code: 5 },
  { name: 'exec: keychain missing', setup: 'user', args: args('exec', '--', 'sh', '-c', 'true'), env: noKeychain, code: 6 },
  { name: 'exec: not logged in, no password', args: args('exec', '--', 'sh', '-c', 'true'), code: 3 },
  { name: 'exec with no command: bad usage', setup: 'user', args: args('exec', '--'), env: withPassword, code: 2 },

  // logout
  { name: 'logout', setup: 'user', args: args('logout'), env: withPassword, code: 0, sendsToken: true },
  { name: 'logout --all: AUTHCTL_DEBUG=1', setup: 'user', args: args('logout', '--all'), debugEnv: true, code: 0, sendsToken: true },
  { name: 'logout: file store with a passphrase', setup: 'user', store: 'file', args: args('logout'), code: 0, sendsToken: true },
  { name: 'logout (client profile)', setup: 'client', args: args('logout'), env: (s) => ({ AUTHCTL_CLIENT_SECRET: s.realm.fixtures.client.secret }), code: 0 },
  { name: 'logout: IAM 500 echoing the token', setup: 'user', args: args('logout'), faults: (s) => [echoing(500, 'DELETE', TOKENS, s.token)], code: 5, sendsToken: true, stderr: (s) => redacted(s.token) },
  { name: 'logout: IAM 503, retried', setup: 'user', args: args('logout'), env: () => ({ AUTHCTL_RETRIES: '2' }), faults: () => [{ method: 'DELETE', path: TOKENS, status: 503, times: 2 }], code: 5, sendsToken: true },
  { name: 'logout: keychain missing', setup: 'user', args: args('logout'), env: noKeychain, code: 6 },
  { name: 'logout --bogus: unknown flag', setup: 'user', args: args('logout', '--bogus'), env: withPassword, code: 2 },

  // temporary access keys
  { name: 'credentials: the keys as shell code, bought with the profile token', setup: 'user', args: args('credentials'), code: 0, prints: ['secret key', 'security token'], sendsToken: true },
  { name: 'credentials --aws --shell json', setup: 'user', args: args('credentials', '--aws', '--shell', 'json'), code: 0, prints: ['secret key', 'security token'] },
  { name: 'export --aksk: the token and the keys', setup: 'user', args: args('export', '--aksk'), code: 0, prints: ['token', 'secret key', 'security token'] },
  { name: 'credentials: --duration out of range', setup: 'user', args: args('credentials', '--duration', '1m'), code: 2 },
  {
    name: 'credentials: IAM 500 echoing the user token',
    setup: 'user',
    args: args('credentials'),
    faults: (s) => [echoing(500, 'POST', SECURITY_TOKENS, s.token)],
    code: 5,
    stderr: (s) => redacted(s.token),
  },

  // a CI job's OIDC ID token (OTC / Huawei Cloud)
  { name: 'login: an ID token file', args: args('login'), before: (s) => idTokenJob(s), env: idTokenEnv, code: 0 },
  { name: 'login: an expired ID token (IAM 401)', args: args('login'), before: (s) => idTokenJob(s, -60), env: idTokenEnv, code: 3 },
  {
    name: 'login: IAM 500 echoing the ID token',
    args: args('login'),
    before: (s) => idTokenJob(s),
    env: idTokenEnv,
    faults: (s) => [echoing(500, 'POST', ID_TOKENS, [...s.secrets.all].find((secret) => secret.kind === 'id token')!.value)],
    code: 5,
  },

  // logintoken
  { name: 'logintoken: AK, SK and ST from the environment', args: args('logintoken'), env: accessKeyEnv, code: 0, prints: 'login token' },
  { name: 'logintoken: AUTHCTL_DEBUG=1', args: args('logintoken', '--duration', '1h'), env: accessKeyEnv, debugEnv: true, code: 0, prints: 'login token' },
  { name: 'logintoken --secret-key-stdin', args: args('logintoken', '--secret-key-stdin'), env: (s) => ({ ...accessKeyEnv(s), AUTHCTL_SECRET_KEY: undefined }), input: (s) => s.realm.fixtures.accessKey.secret, code: 0, prints: 'login token' },
  {
    name: 'logintoken --security-token-stdin, Huawei SDK variables',
    args: args('logintoken', '--security-token-stdin'),
    env: (s) => ({ OS_AUTH_URL: s.realm.authUrl, HUAWEICLOUD_SDK_AK: s.realm.fixtures.accessKey.access, HUAWEICLOUD_SDK_SK: s.realm.fixtures.accessKey.secret }),
    input: (s) => s.realm.fixtures.accessKey.securityToken,
    code: 0,
    prints: 'login token',
  },
  { name: 'logintoken --json', args: args('logintoken', '--json'), env: accessKeyEnv, code: 0, prints: 'login token' },
  { name: "logintoken: from the profile's token", setup: 'user', args: args('logintoken'), code: 0, prints: 'login token', sendsToken: true },
  { name: 'logintoken: wrong secret key (401)', args: args('logintoken'), env: (s) => ({ ...accessKeyEnv(s), AUTHCTL_SECRET_KEY: WRONG.secretKey }), code: 4 },
  {
    name: 'logintoken: IAM 500 echoing the secret key and security token',
    args: args('logintoken'),
    env: accessKeyEnv,
    faults: (s) => [echoing(500, 'POST', LOGIN_TOKENS, s.realm.fixtures.accessKey.secret, s.realm.fixtures.accessKey.securityToken)],
    code: 5,
    stderr: (s) => redacted(s.realm.fixtures.accessKey.secret, s.realm.fixtures.accessKey.securityToken),
  },
  { name: 'logintoken: IAM unreachable', args: args('logintoken'), env: (s) => ({ ...accessKeyEnv(s), OS_AUTH_URL: s.deadUrl }), unreachable: true, code: 5 },
  {
    name: 'logintoken: malformed answer (a login token, a body that is not JSON)',
    args: args('logintoken'),
    env: accessKeyEnv,
    faults: () => [{ method: 'POST', path: LOGIN_TOKENS, status: 201, headers: { 'X-Subject-LoginToken': fakeLoginToken() }, body: 'oops' }],
    code: 5,
  },
  {
    name: "logintoken from the profile's token: IAM 500 echoing it",
    setup: 'user',
    args: args('logintoken'),
    faults: (s) => [echoing(500, 'POST', SECURITY_TOKENS, s.token)],
    code: 5,
    sendsToken: true,
    stderr: (s) => redacted(s.token),
  },
  {
    name: "logintoken from the profile's token: incomplete credential",
    setup: 'user',
    args: args('logintoken'),
    faults: () => [{ method: 'POST', path: SECURITY_TOKENS, status: 201, body: JSON.stringify({ credential: { access: 'AKFFFF', secret: `SK${hex(12)}` } }) }],
    code: 5,
    sendsToken: true,
  },
  { name: "logintoken from the profile's token: keychain missing", setup: 'user', args: args('logintoken'), env: noKeychain, code: 6 },
  { name: 'logintoken --duration soon: bad flag value', args: args('logintoken', '--duration', 'soon'), env: accessKeyEnv, code: 2 },
  { name: 'logintoken --secret-key-stdin --security-token-stdin: conflicting flags', args: args('logintoken', '--secret-key-stdin', '--security-token-stdin'), env: accessKeyEnv, input: (s) => s.realm.fixtures.accessKey.secret, code: 2 },
];

// ---------------------------------------------------------------------------------------------
// Running a case

let deadPort: Promise<number> | undefined;
/** A port on 127.0.0.1 that nothing listens on: connection refused. */
function closedPort(): Promise<number> {
  deadPort ??= new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
  return deadPort;
}

async function issueOwnToken(realm: Realm): Promise<string> {
  const response = await fetch(`${realm.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { id: realm.fixtures.user.id, password: realm.fixtures.user.password } } } } }),
  });
  const token = response.headers.get('x-subject-token');
  if (response.status !== 201 || !token) throw new Error(`could not get a second token: ${response.status}`);
  return token;
}

async function prepare(c: Case): Promise<Setup> {
  const realm = await newRealm();
  const secrets = new Secrets();
  const { user, admin, client, accessKey, mfaUser } = realm.fixtures;
  secrets.add('password', user.password);
  secrets.add('password', mfaUser.password);
  secrets.add('password', admin.password);
  secrets.add('client secret', client.secret);
  secrets.add('secret key', accessKey.secret);
  secrets.add('security token', accessKey.securityToken);
  secrets.add('password', WRONG.password);
  secrets.add('client secret', WRONG.clientSecret);
  secrets.add('secret key', WRONG.secretKey);
  secrets.add('passphrase', WRONG.passphrase);
  const passphrase = `pp-${hex(8)}`;
  secrets.add('passphrase', passphrase);

  const setup = c.setup ?? 'none';
  const userSettings = setup === 'client' ? {} : { ...loginEnv(realm), OS_PASSWORD: undefined };
  const env = isolatedEnv({ ...userSettings, AUTHCTL_RETRIES: '1', ...(c.store === 'file' ? { AUTHCTL_FILE_PASSPHRASE: passphrase } : {}) });
  const storeFlags = c.store === 'file' || c.store === 'file-plain' ? ['--store', 'file'] : [];
  let token = '';
  if (setup === 'user' || setup === 'client') {
    const login =
      setup === 'user'
        ? await runCli(['login', ...storeFlags], { env: { ...env, OS_PASSWORD: user.password } })
        : await runCli(['login', '--client-id', client.id, '--token-url', realm.tokenUrl, ...storeFlags], { env: { ...env, AUTHCTL_CLIENT_SECRET: client.secret } });
    expect(login.code, login.stderr).toBe(0);
    const get = await runCli(['token', 'get'], { env });
    expect(get.code, get.stderr).toBe(0);
    token = get.stdout.trim();
    secrets.add('token', token);
  }
  const other = setup === 'user' ? await issueOwnToken(realm) : '';
  secrets.add('token', other);
  return { realm, env, token, other, secrets, deadUrl: `http://127.0.0.1:${await closedPort()}/v3`, configDir: env.AUTHCTL_CONFIG_DIR!, home: env.HOME! };
}

/** --debug goes before a `--` (exec's command), else at the end. */
function withDebug(argv: string[]): string[] {
  const dashes = argv.indexOf('--');
  return dashes < 0 ? [...argv, '--debug'] : [...argv.slice(0, dashes), '--debug', ...argv.slice(dashes)];
}

/** Every file under HOME and the config dir, scanned. `tokensAllowedUnder` is the plain-text file store. */
function fileLeaks(dirs: { home: string; configDir: string }, known: readonly Secret[], tokensAllowedUnder: string | undefined): string[] {
  const files = new Set([...walk(dirs.home), ...walk(dirs.configDir)]);
  return [...files].flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const leaks = findSecrets(text, known, 'file').filter((leak) => !(tokensAllowedUnder !== undefined && file.startsWith(`${tokensAllowedUnder}/`) && leak.kind === 'token'));
    return describeLeaks(`file ${file}`, text, leaks);
  });
}

/** Any mention of a secret header with a value, anywhere in stderr, must show a fingerprint. */
function headerValueProblems(stderr: string): string[] {
  const problems: string[] = [];
  for (const match of stderr.matchAll(/\b(x-auth-token|x-subject-token|x-subject-logintoken|authorization): ([^,\]\s]+)/gi)) {
    if (!FINGERPRINT.test(match[2]!)) problems.push(`stderr: ${match[1]} shown as ${JSON.stringify(match[2])}, not a fingerprint`);
  }
  return problems;
}

function checkDebugLines(c: Case, s: Setup, stderr: string, sent: readonly LoggedRequest[]): void {
  const logged = debugRequests(stderr);
  if (c.unreachable) {
    expect(sent).toEqual([]);
    expect(logged.length, stderr).toBeGreaterThanOrEqual(1);
    for (const line of logged) expect(line.outcome, line.line).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:\d+: connection refused$/);
    return;
  }
  // One debug line per request IAM received, in order, with its method, URL and outcome; each
  // secret header shown as a fingerprint of the value IAM received: the same value always the
  // same fingerprint in this run, different values different ones, and never an unkeyed hash.
  expect(logged.map((l) => `${l.method} ${l.url}`), stderr).toEqual(sent.map((r) => `${r.method} ${s.realm.base}${r.path}`));
  const shownAs = new Map<string, string>();
  const standsFor = new Map<string, string>();
  sent.forEach((request, i) => {
    const line = logged[i]!;
    expect(line.outcome, line.line).toMatch(/^(\d{3}|no answer from \S+ within \d+s|the connection to \S+ was cut off( while reading the answer)?)$/);
    for (const name of SECRET_HEADERS) {
      const value = request.headers[name];
      if (value === undefined) continue;
      const shown = line.headers.get(name);
      expect(shown, line.line).toMatch(FINGERPRINT);
      expect(shown, line.line).not.toBe(unkeyedHash(value));
      expect(shown, `${line.line}: the value shown before as ${shownAs.get(value)}`).toBe(shownAs.get(value) ?? shown);
      expect(standsFor.get(shown!) ?? value, `${line.line}: ${shown} stood for another value before`).toBe(value);
      shownAs.set(value, shown!);
      standsFor.set(shown!, value);
    }
    for (const [name, value] of line.headers) if ((SECRET_HEADERS as readonly string[]).includes(name)) expect(value, line.line).toMatch(FINGERPRINT);
  });
  if (c.sendsToken) {
    expect(
      logged.some((l) => FINGERPRINT.test(l.headers.get('x-auth-token') ?? '')),
      `no debug line shows x-auth-token: secret:…\n${stderr}`,
    ).toBe(true);
  }
}

async function runCase(c: Case): Promise<void> {
  const s = await prepare(c);
  await c.before?.(s);
  if (c.faults) await s.realm.fault(...c.faults(s));
  const before = (await s.realm.requests()).length;
  const env: Env = { ...s.env, ...c.env?.(s), ...(c.debugEnv ? { AUTHCTL_DEBUG: '1' } : {}) };
  const argv = c.debugEnv ? c.args(s) : withDebug(c.args(s));
  const result: CliResult = await runCli(argv, { env, ...(c.input ? { input: c.input(s) } : {}) });
  const log = await s.realm.requests();
  // What authctl sent is known by value from here on; what IAM sent back (tokens, an echoed
  // password, a token in a malformed answer) is caught by shape.
  harvest(log, s.secrets);

  expect(result.code, `exit code of authctl ${argv.join(' ')}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(c.code);
  const known = s.secrets.all;

  const problems: string[] = [];
  problems.push(...describeLeaks('stderr', result.stderr, findSecrets(result.stderr, known, 'text')));
  problems.push(...headerValueProblems(result.stderr));
  const onStdout = findSecrets(result.stdout, known, 'text');
  const printed: readonly Kind[] = c.prints === undefined ? [] : typeof c.prints === 'string' ? [c.prints] : c.prints;
  problems.push(...describeLeaks('stdout', result.stdout, onStdout.filter((leak) => !printed.includes(leak.kind))));
  // What the command printed is a secret wherever else it shows up (files included).
  for (const leak of onStdout) s.secrets.add(leak.kind, leak.value);
  // The plain-text file store legitimately holds the token in its token file (that is what it
  // is for, and login warns about it); only there, and only without a passphrase, is a token
  // allowed in a file. With a passphrase, no secret may be in clear anywhere.
  problems.push(...fileLeaks(s, s.secrets.all, c.store === 'file-plain' ? join(s.configDir, 'secrets') : undefined));
  expect(problems, `authctl ${argv.join(' ')}${c.debugEnv ? ' (AUTHCTL_DEBUG=1)' : ''}`).toEqual([]);

  if (c.code === 0) {
    for (const kind of printed) expect(onStdout.some((found) => found.kind === kind), `stdout holds no ${kind}: ${result.stdout}`).toBe(true);
  }
  // Served from the cache: exactly the token the setup's login stored.
  if (c.setup === 'user' && c.prints === 'token' && !c.env && c.code === 0) expect(result.stdout).toContain(s.token);
  for (const text of c.stderr?.(s) ?? []) expectInStderr(result.stderr, text);
  checkDebugLines(c, s, result.stderr, log.slice(before));
}

// ---------------------------------------------------------------------------------------------
// /proc/<pid>/cmdline of a running authctl

interface HeldCase {
  name: string;
  setup?: 'none' | 'user';
  args: (s: Setup) => string[];
  env?: (s: Setup) => Env;
  /** Written to stdin once the first look at cmdline is done; stdin stays open until then. */
  stdin?: (s: Setup) => string;
  /** The request authctl is kept waiting on (the realm never answers it). */
  hang?: { method: string; path: string };
}

const HELD: HeldCase[] = [
  { name: 'login, password in OS_PASSWORD', args: args('login'), env: withPassword, hang: { method: 'POST', path: TOKENS } },
  { name: 'login --password-stdin', args: args('login', '--password-stdin'), stdin: password, hang: { method: 'POST', path: TOKENS } },
  { name: 'login --client-secret-stdin', args: (s) => clientLogin(s, '--client-secret-stdin'), stdin: (s) => s.realm.fixtures.client.secret, hang: { method: 'POST', path: CLIENT_TOKENS } },
  { name: 'token get, renewing with OS_PASSWORD', setup: 'user', args: args('token', 'get', '--min-ttl', '2h'), env: withPassword, hang: { method: 'POST', path: TOKENS } },
  { name: 'token check --token-stdin', setup: 'user', args: args('token', 'check', '--token-stdin'), stdin: (s) => s.other, hang: { method: 'GET', path: TOKENS } },
  { name: 'token renew from the current token', setup: 'user', args: args('token', 'renew'), hang: { method: 'POST', path: TOKENS } },
  { name: 'export, renewing with OS_PASSWORD', setup: 'user', args: args('export', '--min-ttl', '2h'), env: withPassword, hang: { method: 'POST', path: TOKENS } },
  { name: 'logout', setup: 'user', args: args('logout'), hang: { method: 'DELETE', path: TOKENS } },
  { name: 'logintoken, AK/SK/ST from the environment', args: args('logintoken'), env: accessKeyEnv, hang: { method: 'POST', path: LOGIN_TOKENS } },
  {
    name: 'logintoken --secret-key-stdin',
    args: args('logintoken', '--secret-key-stdin'),
    env: (s) => ({ ...accessKeyEnv(s), AUTHCTL_SECRET_KEY: undefined }),
    stdin: (s) => s.realm.fixtures.accessKey.secret,
    hang: { method: 'POST', path: LOGIN_TOKENS },
  },
  { name: "logintoken from the profile's token", setup: 'user', args: args('logintoken'), hang: { method: 'POST', path: SECURITY_TOKENS } },
  // No hang: authctl waits for its child, which holds the token in its environment (its job).
  { name: 'exec -- sh -c (authctl and its child)', setup: 'user', args: args('exec', '--', 'sh', '-c', 'sleep 30; true') },
];

function procCmdline(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`).toString('utf8').split('\0').slice(0, -1);
}

/** The processes below `pid`, from /proc/<n>/stat (field 4 is the parent; comm may hold spaces). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walkFrom = (parent: number) => {
    for (const [child, ppid] of parents) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child);
        walkFrom(child);
      }
    }
  };
  walkFrom(pid);
  return found;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function runHeld(h: HeldCase): Promise<void> {
  const s = await prepare({ name: h.name, setup: h.setup ?? 'none', args: h.args, code: 0 });
  if (h.hang) await s.realm.fault({ ...h.hang, hang: true });
  const hung = h.hang;
  const earlier = hung ? await s.realm.count(hung.method, hung.path) : 0; // the setup's own requests
  const argv = withDebug(h.args(s));
  const env = Object.fromEntries(Object.entries({ ...s.env, ...h.env?.(s), AUTHCTL_TIMEOUT: '30s' }).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const child = spawn(process.execPath, [BIN, ...argv], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  const pid = child.pid!;
  const seen: string[][] = [];

  const look = (moment: string) => {
    const pids = [pid, ...descendants(pid)];
    for (const p of pids) {
      let cmdline: string[];
      try {
        cmdline = procCmdline(p);
      } catch {
        continue; // exited between the listing and the read
      }
      seen.push(cmdline);
      const text = cmdline.join(' ');
      const leaks = findSecrets(text, s.secrets.all, 'text');
      expect(describeLeaks(`/proc/${p}/cmdline ${moment}`, text, leaks)).toEqual([]);
    }
  };

  try {
    // Running, secrets in the environment (or stdin still open): the first look.
    await until('authctl to start', () => (existsSync(`/proc/${pid}/cmdline`) && procCmdline(pid).includes(BIN) ? true : undefined));
    await sleep(150);
    look('at start');
    if (h.stdin) child.stdin.end(h.stdin(s));
    else child.stdin.end();
    if (hung) {
      // IAM has the request: authctl holds every secret it needed and waits for an answer.
      await s.realm.waitForRequests(hung.method, earlier + 1, hung.path);
      harvest(await s.realm.requests(), s.secrets);
    } else {
      await until('the child process', () => (descendants(pid).length > 0 ? true : undefined));
    }
    expect(child.exitCode, output).toBeNull();
    look('while waiting');
    expect(seen[0]).toContain(BIN);
    expect(seen.some((cmdline) => cmdline.includes(argv[0]!)), 'the command is on the command line').toBe(true);
  } finally {
    for (const p of descendants(pid).reverse()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    child.kill('SIGKILL');
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------
// A person's OpenID Connect sign-in: the provider's refresh, access and ID tokens
//
// A device-flow login at a real provider (oidc-provider, test/harness/oidc-provider-harness.ts),
// finished in Chromium, into a file store encrypted with AUTHCTL_FILE_KEY; then the case's
// command. Both run with --debug and both are scanned. The provider's tokens have no shape of
// their own (see SHAPES), so they are learnt by value: read back from the store, through authctl's
// own FileStore, before and after each run. A rotated-away refresh token is a secret all the same.

interface OidcSetup {
  provider: OidcProviderHarness;
  /** The user's environment: the issuer, the public client, the file store and its key. */
  env: Env;
  secrets: Secrets;
  home: string;
  configDir: string;
  /** The profile's entries, opened as authctl opens them (AUTHCTL_FILE_KEY, no chunking on Linux). */
  store: ChunkedStore;
  /** The sign-in's tokens, as the store held them after the login. */
  signedIn: Stored;
}

interface Stored {
  accessToken?: string;
  idToken?: string;
  refreshToken?: string;
}

interface OidcCase {
  name: string;
  args: string[];
  /** After the sign-in, before the command: refuse the grant at the provider, alter the store. */
  before?: (s: OidcSetup) => Promise<void>;
  code: number;
  /** What the command's job is to print on stdout. */
  prints?: Kind;
  /** Some debug line must show the refresh: POST to the token endpoint, with the given outcome. */
  refresh?: string;
  /** Further text stderr must contain. */
  stderr?: (s: OidcSetup) => string[];
  /** Further checks once nothing leaked: `after` is what the store holds after the command. */
  check?: (s: OidcSetup, run: CliResult, after: Stored) => void;
}

const DEVICE_PROMPT = /To sign in, open (\S+) on any device \(code [A-Z-]+\)\n/;
const PUBLIC_CLIENT = 'cli-public';
const cleanEnv = (env: Env): Record<string, string> => Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));

/** The profile's cached token and refresh token as the store holds them; each is a secret from here on. */
async function learnStored(s: Pick<OidcSetup, 'store' | 'secrets'>): Promise<Stored> {
  const token = (await s.store.read('default:token')).value;
  const refresh = (await s.store.read('default:refresh-token')).value;
  const cached = token === undefined ? {} : (JSON.parse(token) as { token?: string; idToken?: string });
  const saved = refresh === undefined ? {} : (JSON.parse(refresh) as { refreshToken?: string });
  const stored: Stored = {
    ...(cached.token ? { accessToken: cached.token } : {}),
    ...(cached.idToken ? { idToken: cached.idToken } : {}),
    ...(saved.refreshToken ? { refreshToken: saved.refreshToken } : {}),
  };
  s.secrets.add('access token', stored.accessToken);
  s.secrets.add('id token', stored.idToken);
  s.secrets.add('refresh token', stored.refreshToken);
  return stored;
}

/** `authctl login --device --debug`, the device URL taken from stderr and the sign-in finished in Chromium as `user`. */
async function deviceSignIn(browser: HarnessBrowser, env: Env, user: string): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, 'login', '--device', '--debug'], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let closed = false;
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      closed = true;
      resolve({ code, signal, stdout, stderr });
    });
  });
  child.stdin.end('');
  try {
    const url = await until('the device URL on stderr', () => {
      const found = DEVICE_PROMPT.exec(stderr)?.[1];
      if (found === undefined && closed) throw new Error(`login exited before printing a device URL:\n${stderr}`);
      return found;
    });
    const done = await browser.completeDevice(url, { user });
    expect(done.signedIn, done.trail.join(' -> ')).toBe(true);
    return await exited;
  } finally {
    if (!closed) child.kill('SIGKILL');
  }
}

/** Everything one run left where a person could see it: stdout beyond its job, stderr, every file. */
function oidcRunProblems(label: string, s: OidcSetup, run: CliResult, prints: readonly Kind[]): string[] {
  const known = s.secrets.all;
  const problems = [
    ...describeLeaks(`${label} stderr`, run.stderr, findSecrets(run.stderr, known, 'text')),
    ...headerValueProblems(run.stderr).map((problem) => `${label} ${problem}`),
  ];
  const onStdout = findSecrets(run.stdout, known, 'text');
  problems.push(...describeLeaks(`${label} stdout`, run.stdout, onStdout.filter((leak) => !prints.includes(leak.kind))));
  for (const leak of onStdout) s.secrets.add(leak.kind, leak.value);
  // With a key, the file store holds no secret in clear: no token is excused anywhere.
  problems.push(...fileLeaks(s, s.secrets.all, undefined).map((problem) => `after ${label}: ${problem}`));
  return problems;
}

/** Every request of the run went to the provider (a refresh token is for its issuer only), each logged with an outcome. */
function checkProviderDebugLines(label: string, s: OidcSetup, stderr: string, asks: boolean): DebugRequest[] {
  const logged = debugRequests(stderr);
  if (asks) expect(logged.length, `${label}: no debug lines\n${stderr}`).toBeGreaterThan(0);
  for (const line of logged) {
    expect(line.url.startsWith(`${s.provider.issuer}/`), `${label}: ${line.line}`).toBe(true);
    expect(line.outcome, `${label}: ${line.line}`).toMatch(/^\d{3}$/);
  }
  return logged;
}

const refreshesWith = (s: OidcSetup, logged: readonly DebugRequest[], outcome: string): boolean => logged.some((l) => l.method === 'POST' && l.url === s.provider.endpoints.token && l.outcome === outcome);

async function runOidcCase(browser: HarnessBrowser, c: OidcCase): Promise<void> {
  // Access tokens of 60 s: `--min-ttl 2m` renews through the refresh token at once. One provider
  // per case, so that refusing its grants refuses only this case's.
  const provider = await startOidcProvider({ accessTokenTtlSeconds: 60 });
  try {
    const secrets = new Secrets();
    const fileKey = randomBytes(32).toString('base64');
    secrets.add('passphrase', fileKey);
    secrets.add('passphrase', WRONG.passphrase);
    const env = isolatedEnv({ AUTHCTL_OIDC_ISSUER: provider.issuer, AUTHCTL_CLIENT_ID: PUBLIC_CLIENT, AUTHCTL_STORE: 'file', AUTHCTL_FILE_KEY: fileKey, AUTHCTL_RETRIES: '1' });
    const configDir = env.AUTHCTL_CONFIG_DIR!;
    const store = new ChunkedStore(new FileStore(join(configDir, 'secrets'), { key: Buffer.from(fileKey, 'base64') }), Number.MAX_SAFE_INTEGER);

    const login = await deviceSignIn(browser, env, 'alice');
    expect(login.code, `login: ${login.stderr}`).toBe(0);
    const signedIn = await learnStored({ store, secrets });
    // The sign-in stored all three, so the scan knows what to look for.
    expect(signedIn.accessToken).toMatch(/^\S{20,}$/);
    expect(signedIn.idToken).toMatch(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(signedIn.refreshToken).toMatch(/^\S{20,}$/);
    const s: OidcSetup = { provider, env, secrets, home: env.HOME!, configDir, store, signedIn };
    checkProviderDebugLines('login', s, login.stderr, true);
    const problems = oidcRunProblems('login', s, login, []);

    await c.before?.(s);
    const argv = withDebug(c.args);
    const run = await runCli(argv, { env });
    expect(run.code, `exit code of authctl ${argv.join(' ')}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`).toBe(c.code);
    const after = await learnStored(s);
    const printed: readonly Kind[] = c.prints ? [c.prints] : [];
    problems.push(...oidcRunProblems(c.args.join(' '), s, run, printed));
    expect(problems, `authctl ${argv.join(' ')}`).toEqual([]);

    // The scan covered the store's own files: the entries are there, encrypted.
    const entries = walk(join(configDir, 'secrets')).filter((file) => !file.endsWith('.kdf.json'));
    if (after.refreshToken !== undefined) {
      expect(entries.length).toBeGreaterThanOrEqual(2);
      for (const file of entries) expect(JSON.parse(readFileSync(file, 'utf8')), file).toMatchObject({ v: 2, alg: 'aes-256-gcm', kdf: 'none' });
    }
    if (c.prints) expect(findSecrets(run.stdout, s.secrets.all, 'text').some((found) => found.kind === c.prints), `stdout holds no ${c.prints}: ${run.stdout}`).toBe(true);
    const logged = checkProviderDebugLines(c.args.join(' '), s, run.stderr, c.refresh !== undefined);
    if (c.refresh) expect(refreshesWith(s, logged, c.refresh), `no debug line POST ${provider.endpoints.token} -> ${c.refresh}\n${run.stderr}`).toBe(true);
    for (const text of c.stderr?.(s) ?? []) expectInStderr(run.stderr, text);
    c.check?.(s, run, after);
  } finally {
    await provider.stop();
  }
}

/** Replaces the saved refresh token with one the provider never issued, keeping the entry authctl's. */
async function tamperRefreshToken(s: OidcSetup): Promise<void> {
  const entry = JSON.parse((await s.store.read('default:refresh-token')).value!) as { refreshToken: string };
  const forged = `${entry.refreshToken.slice(0, -8)}${randomBytes(6).toString('base64url')}`;
  s.secrets.add('refresh token', forged);
  await s.store.write('default:refresh-token', JSON.stringify({ ...entry, refreshToken: forged }));
}

const OIDC_CASES: OidcCase[] = [
  {
    name: 'token get: renewed through the refresh token (--min-ttl 2m), which rotates',
    args: ['token', 'get', '--min-ttl', '2m'],
    code: 0,
    prints: 'access token',
    refresh: '200',
    check: (s, run, after) => {
      expect(s.provider.tokensIssued('refresh_token')).toBe(1);
      expect(after.refreshToken).toBeDefined();
      expect(after.refreshToken).not.toBe(s.signedIn.refreshToken);
      expect(after.accessToken).not.toBe(s.signedIn.accessToken);
      expect(run.stdout).toBe(`${after.accessToken}\n`);
      // The scan does look for both: the same run with the rotated one on stderr and the spent one,
      // base64, on stdout would be two leaks.
      const planted = { ...run, stderr: `${run.stderr}authctl: ${after.refreshToken}\n`, stdout: `${run.stdout}${Buffer.from(s.signedIn.refreshToken!).toString('base64')}\n` };
      const found = oidcRunProblems('planted', s, planted, ['access token']);
      expect(found, found.join('\n')).toHaveLength(2);
      for (const problem of found) expect(problem).toMatch(/^planted std(err|out): refresh token /);
    },
  },
  {
    name: 'token get --json: renewed through the refresh token',
    args: ['token', 'get', '--json', '--min-ttl', '2m'],
    code: 0,
    prints: 'access token',
    refresh: '200',
    check: (s) => expect(s.provider.tokensIssued('refresh_token')).toBe(1),
  },
  {
    name: 'token get: the grant revoked at the provider, the refresh refused (invalid_grant)',
    args: ['token', 'get', '--min-ttl', '2m'],
    before: async (s) => {
      expect(s.provider.revokeRefreshTokens()).toBeGreaterThanOrEqual(1);
    },
    code: 3,
    refresh: '400',
    stderr: (s) => [`authctl: ${s.provider.issuer} refused the refresh token (invalid_grant`],
    check: (s, run) => {
      expect(run.stdout).toBe('');
      expect(s.provider.tokenErrors('invalid_grant')).toBe(1);
    },
  },
  {
    name: 'token get: the refresh token tampered in the store, the refresh refused (invalid_grant)',
    args: ['token', 'get', '--min-ttl', '2m'],
    before: tamperRefreshToken,
    code: 3,
    refresh: '400',
    stderr: (s) => [`authctl: ${s.provider.issuer} refused the refresh token (invalid_grant`],
    check: (s, run) => {
      expect(run.stdout).toBe('');
      expect(s.provider.tokenErrors('invalid_grant')).toBe(1);
      expect(s.provider.tokensIssued('refresh_token')).toBe(0);
    },
  },
  {
    // The default --min-ttl (5m) is more than the 60 s access token has: 10s serves the cached one.
    name: 'token get --output id-token: the cached ID token, on stdout only',
    args: ['token', 'get', '--output', 'id-token', '--min-ttl', '10s'],
    code: 0,
    prints: 'id token',
    check: (s, run) => {
      expect(run.stdout).toBe(`${s.signedIn.idToken}\n`);
      expect(s.provider.tokensIssued('refresh_token')).toBe(0);
    },
  },
  {
    name: "token get --output id-token: renewed, the refresh's ID token, on stdout only",
    args: ['token', 'get', '--output', 'id-token', '--min-ttl', '2m'],
    code: 0,
    prints: 'id token',
    refresh: '200',
    check: (s, run, after) => {
      expect(s.provider.tokensIssued('refresh_token')).toBe(1);
      // The refresh's ID token (the same text as the sign-in's when both fall in one second: RS256 is deterministic).
      expect(run.stdout).toBe(`${after.idToken}\n`);
      expect(after.accessToken).not.toBe(s.signedIn.accessToken);
    },
  },
  {
    name: 'export: renewed through the refresh token, the access token as shell code',
    args: ['export', '--min-ttl', '2m'],
    code: 0,
    prints: 'access token',
    refresh: '200',
  },
  { name: "exec -- sh -c 'true': renewed through the refresh token", args: ['exec', '--min-ttl', '2m', '--', 'sh', '-c', 'true'], code: 0, refresh: '200' },
  { name: 'status --json', args: ['status', '--json'], code: 0 },
  {
    name: 'logout: the refresh token forgotten with the rest',
    args: ['logout'],
    code: 0,
    check: (_s, _run, after) => expect(after).toEqual({}),
  },
];

// ---------------------------------------------------------------------------------------------

describe('the leak scanner itself', () => {
  it('finds each kind of secret by value and by shape, in text and in files, and spares fingerprints', () => {
    const planted: Secret[] = [
      { kind: 'password', value: `pw-${hex(6)}` },
      { kind: 'passcode', value: String(randomBytes(4).readUInt32BE() % 1_000_000).padStart(6, '0') },
      { kind: 'client secret', value: `cs-${hex(8)}` },
      { kind: 'secret key', value: `SK${hex(12)}` },
      { kind: 'security token', value: `ST${randomBytes(24).toString('base64url')}` },
      { kind: 'passphrase', value: `pp-${hex(8)}` },
      { kind: 'token', value: fakeToken() },
      { kind: 'login token', value: fakeLoginToken() },
      { kind: 'id token', value: fakeJwt() },
      // oidc-provider's refresh and access tokens: 256 random bits in base64url, no shape of their own.
      { kind: 'refresh token', value: randomBytes(32).toString('base64url') },
      { kind: 'access token', value: randomBytes(32).toString('base64url') },
    ];
    const hasShape = (kind: Kind, inFiles = false) => SHAPES.some((shape) => shape.kind === kind && (!inFiles || shape.inFiles));
    for (const secret of planted) {
      const text = `debug: POST x [content-type: a, x-auth-token: ${fingerprint(secret.value)}] -> 201 (3 ms)\nauthctl: oops "${secret.value}"\n`;
      expect(findSecrets(text, [], 'text').map((f) => f.kind), secret.kind).toEqual(hasShape(secret.kind) ? [secret.kind] : []);
      expect(findSecrets(text, planted, 'text').map((f) => f.kind), secret.kind).toEqual([secret.kind]);
      expect(findSecrets(fingerprint(secret.value), planted, 'text')).toEqual([]);
      // Encoded, it is still found by value, and the message says how it was written.
      for (const { encoding, text: encoded } of encodings(secret.value).slice(1)) {
        const line = `authctl: header ${encoded}\n`;
        const found = findSecrets(line, planted, 'text').find((f) => f.value === secret.value);
        expect(found?.kind, `${secret.kind} ${encoding}`).toBe(secret.kind);
        expect(describeLeaks('stderr', line, [found!])[0], `${secret.kind} ${encoding}`).toContain(`(${found!.encoding ?? 'as it is'}) in line "authctl: header`);
      }
    }
    expect(encodings('a "b"/c').map((e) => e.encoding ?? 'as it is')).toEqual(expect.arrayContaining(['as it is', 'base64', 'hex', 'percent-encoded', 'JSON-escaped']));
    const home = mkdtempSync(join(tmpdir(), 'authctl-scan-'));
    mkdirSync(join(home, 'config', 'secrets'), { recursive: true });
    planted.forEach((secret, i) => writeFileSync(join(home, 'config', `f${i}`), JSON.stringify({ v: 1, value: secret.value })));
    const token = planted.find((secret) => secret.kind === 'token')!.value;
    writeFileSync(join(home, 'config', 'secrets', 'default%3Atoken'), JSON.stringify({ v: 1, value: JSON.stringify({ token }) }));
    const dirs = { home, configDir: join(home, 'config') };
    expect(fileLeaks(dirs, planted, undefined)).toHaveLength(planted.length + 1);
    // By shape alone, files are not searched for security tokens and login tokens (see SHAPES),
    // and the provider's refresh and access tokens and a TOTP passcode (six digits) have no shape.
    expect(fileLeaks(dirs, [], undefined)).toHaveLength(planted.filter((secret) => hasShape(secret.kind, true)).length + 1);
    expect(planted.filter((secret) => hasShape(secret.kind, true)).length).toBe(planted.length - 5);
    // Only a token, and only in the plain-text store's directory, is excused.
    expect(fileLeaks(dirs, planted, join(home, 'config', 'secrets'))).toHaveLength(planted.length);
    expect(headerValueProblems('debug: GET u [x-auth-token: gAAAAAabc] -> 200 (1 ms)')).toHaveLength(1);
    expect(headerValueProblems(`debug: GET u [x-auth-token: ${fingerprint('a')}] -> 200 (1 ms)`)).toEqual([]);
  });
});

describe.runIf(haveKeyring).concurrent('no secret leaks from any command, success or failure', () => {
  it.for(CASES)('$name', async (c) => {
    await runCase(c);
  });
});

describe.runIf(haveKeyring).concurrent('/proc/<pid>/cmdline of a running authctl holds no secret', () => {
  it.for(HELD)('$name', async (h) => {
    await runHeld(h);
  });
});

// One at a time: each case is a provider start and a browser sign-in, CPU-bound on a 2-core
// machine, so running ten at once gained nothing and made each case as long as all ten (past
// the 30 s timeout on a busy CI machine).
describe.runIf(haveBrowser)("no refresh token, nor the provider's access and ID tokens, leaks from an OpenID Connect sign-in and its renewals", { timeout: 60_000 }, () => {
  let browser: HarnessBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  it.for(OIDC_CASES)('$name', async (c) => {
    await runOidcCase(browser, c);
  });
});
