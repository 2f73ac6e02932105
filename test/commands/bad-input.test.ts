import { describe, expect, it } from 'vitest';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runFast } from '../../src/fast.js';
import { run } from '../../src/main.js';
import { testFactory, type TestHarness } from '../helpers/factory.js';
import { entries, loggedIn, OS_ENV, PASSWORD } from '../helpers/steps.js';

/** Runs a bad command line after a login; it must exit 2, print nothing on stdout, send nothing and change nothing. */
async function refused(t: TestHarness, argv: string[], env: Record<string, string> = { ...OS_ENV, OS_PASSWORD: PASSWORD }): Promise<string> {
  const before = entries(t);
  const requests = t.http.requests.length;
  const code = await run(argv, t.withEnv(env));
  expect({ code, stdout: t.stdout() }).toEqual({ code: 2, stdout: '' });
  expect(entries(t)).toEqual(before);
  expect(t.http.requests).toHaveLength(requests);
  const stderr = t.stderr();
  t.clearOutput();
  return stderr;
}

describe('bad input: exit 2, one error line and a hint, the stored token unchanged', () => {
  it('an unknown --store value', async () => {
    const t = testFactory();
    await loggedIn(t);
    const said = await refused(t, ['token', 'get', '--store', 'vault']);
    expect(said).toBe("authctl: option '--store <kind>' argument 'vault' is invalid\nhint: use one of: keychain, file\n");
    // The fast door does not take it; the full CLI explains.
    expect(await runFast(['token', 'get', '--store', 'vault'], t.factory)).toBeUndefined();
  });

  it('an unknown AUTHCTL_STORE value', async () => {
    const t = testFactory();
    await loggedIn(t);
    const said = await refused(t, ['token', 'get'], { ...OS_ENV, AUTHCTL_STORE: 'vault' });
    expect(said).toBe('authctl: unknown store "vault"\nhint: use one of: keychain, file\n');
    expect(await runFast(['token', 'get'], t.withEnv({ ...OS_ENV, AUTHCTL_STORE: 'vault' }))).toBe(2);
    expect(t.stderr()).toBe(said);
  });

  it.each([
    [['login'], { AUTHCTL_LOGIN_TIMEOUT: 'abc' }, 'authctl: AUTHCTL_LOGIN_TIMEOUT "abc" is not a duration\nhint: give seconds (300) or a number with a unit: 90s, 5m, 2h, 1d\n'],
    [['login', '--login-timeout', 'abc'], {}, 'authctl: --login-timeout "abc" is not a duration\nhint: give seconds (300) or a number with a unit: 90s, 5m, 2h, 1d\n'],
    [['login'], { AUTHCTL_LOCK_TIMEOUT: '-1' }, 'authctl: AUTHCTL_LOCK_TIMEOUT "-1" is not a duration\nhint: give seconds (300) or a number with a unit: 90s, 5m, 2h, 1d\n'],
    [['token', 'get'], { AUTHCTL_LOCK_TIMEOUT: 'abc' }, 'authctl: AUTHCTL_LOCK_TIMEOUT "abc" is not a duration\nhint: give seconds (300) or a number with a unit: 90s, 5m, 2h, 1d\n'],
    [['login'], { AUTHCTL_KEYCHAIN_CHUNK_SIZE: 'abc' }, 'authctl: AUTHCTL_KEYCHAIN_CHUNK_SIZE "abc" is not a number of characters of at least 256\nhint: e.g. AUTHCTL_KEYCHAIN_CHUNK_SIZE=1200, or unset it\n'],
    [['token', 'get'], { AUTHCTL_KEYCHAIN_CHUNK_SIZE: '-5' }, 'authctl: AUTHCTL_KEYCHAIN_CHUNK_SIZE "-5" is not a number of characters of at least 256\nhint: e.g. AUTHCTL_KEYCHAIN_CHUNK_SIZE=1200, or unset it\n'],
    [['status'], { AUTHCTL_KEYCHAIN_CHUNK_SIZE: '1' }, 'authctl: AUTHCTL_KEYCHAIN_CHUNK_SIZE "1" is not a number of characters of at least 256\nhint: e.g. AUTHCTL_KEYCHAIN_CHUNK_SIZE=1200, or unset it\n'],
    [['token', 'get'], { AUTHCTL_TIMEOUT: '0' }, 'authctl: AUTHCTL_TIMEOUT must be more than 0\nhint: e.g. AUTHCTL_TIMEOUT=10s\n'],
    [['token', 'get', '--timeout', '0s'], {}, 'authctl: --timeout must be more than 0\nhint: e.g. --timeout 10s\n'],
    [['token', 'get'], { AUTHCTL_KEYCHAIN_TIMEOUT: '0' }, 'authctl: AUTHCTL_KEYCHAIN_TIMEOUT must be more than 0\nhint: e.g. AUTHCTL_KEYCHAIN_TIMEOUT=10s\n'],
  ])('%j with %j: refused whatever the command uses, naming what was given', async (argv, env, said) => {
    const t = testFactory();
    await loggedIn(t);
    expect(await refused(t, argv, { ...OS_ENV, OS_PASSWORD: PASSWORD, ...env })).toBe(said);
  });

  it('--min-ttl garbage, through either door', async () => {
    const t = testFactory();
    await loggedIn(t);
    const said = await refused(t, ['token', 'get', '--min-ttl', 'soon']);
    expect(said).toBe('authctl: --min-ttl "soon" is not a duration\nhint: give seconds (300) or a number with a unit: 90s, 5m, 2h, 1d\n');
    expect(await runFast(['token', 'get', '--min-ttl', 'soon'], t.withEnv({ ...OS_ENV }))).toBe(2);
    expect(t.stderr()).toBe(said);
    t.clearOutput();
    expect(await refused(t, ['export', '--min-ttl', '8d'])).toBe('authctl: --min-ttl 8d is over 7 days\nhint: tokens live hours, not weeks; e.g. --min-ttl 10m\n');
    t.clearOutput();
    // Past what any timer could wait, the same words: one limit per setting, not two.
    expect(await refused(t, ['export', '--min-ttl', '30d'])).toBe('authctl: --min-ttl 30d is over 7 days\nhint: tokens live hours, not weeks; e.g. --min-ttl 10m\n');
  });

  it('AUTHCTL_MIN_TTL garbage names the variable', async () => {
    const t = testFactory();
    await loggedIn(t);
    expect(await refused(t, ['token', 'get'], { ...OS_ENV, AUTHCTL_MIN_TTL: '5 minutes' })).toBe(
      'authctl: AUTHCTL_MIN_TTL "5 minutes" is not a duration\nhint: give seconds (300) or a number with a unit: 90s, 5m, 2h, 1d\n',
    );
  });

  it('--username and --user-id together', async () => {
    const t = testFactory();
    await loggedIn(t);
    expect(await refused(t, ['login', '--username', 'bob', '--user-id', 'u-bob'])).toBe('authctl: --username and --user-id cannot be used together\nhint: give one way of naming it\n');
  });

  it('two scopes on the command line', async () => {
    const t = testFactory();
    await loggedIn(t);
    expect(await refused(t, ['login', '--project', 'demo', '--domain', 'Default'])).toBe('authctl: --project and --domain cannot be used together\nhint: give one way of naming it\n');
  });

  it('an http:// auth URL to a remote host', async () => {
    const t = testFactory();
    await loggedIn(t);
    const said = await refused(t, ['login', '--auth-url', 'http://iam.example.com/v3']);
    expect(said).toBe('authctl: refusing plain http:// for iam.example.com: credentials would cross the network unencrypted\nhint: use https://, or pass --allow-http if you really mean it\n');
  });

  it('an unknown flag, its value not echoed', async () => {
    const t = testFactory();
    await loggedIn(t);
    expect(await refused(t, ['token', 'get', '--pasword=hunter2hunter2'])).toBe("authctl: unknown option '--pasword=…'\nhint: `authctl token get --help` lists the options\n");
  });

  it('AUTHCTL_RETRIES out of range fails every command', async () => {
    const t = testFactory();
    await loggedIn(t);
    expect(await refused(t, ['status'], { AUTHCTL_RETRIES: '0' })).toBe('authctl: AUTHCTL_RETRIES "0" is not a number of attempts from 1 to 10\nhint: e.g. AUTHCTL_RETRIES=3\n');
  });
});

describe('durations and piped tokens out of range', () => {
  it.each([
    [['--timeout', '30d', 'token', 'get'], {}, 'authctl: --timeout "30d" is over the maximum of 24d\nhint: give at most 24d\n'],
    [['token', 'get'], { AUTHCTL_TIMEOUT: '60d' }, 'authctl: AUTHCTL_TIMEOUT "60d" is over the maximum of 24d\nhint: give at most 24d\n'],
  ])('%j: exit 2 with the maximum, nothing sent', async (argv, env, stderr) => {
    const { testFactory: make } = await import('../helpers/factory.js');
    const { run: runLine } = await import('../../src/main.js');
    const t = make({ env });
    expect(await runLine(argv, t.factory)).toBe(2);
    expect(t.stderr()).toBe(stderr);
  });

  it.each(['tok\r\nen', 'tok\u001b[2Jen', 'tökèn'])('token check --token-stdin with %j: exit 2 "not a token" before any request', async (piped) => {
    const { testFactory: make } = await import('../helpers/factory.js');
    const { run: runLine } = await import('../../src/main.js');
    const t = make({ env: { OS_AUTH_URL: 'https://iam.example.com/v3', OS_USER_ID: 'u' }, stdin: piped });
    expect(await runLine(['token', 'check', '--token-stdin'], t.factory)).toBe(2);
    expect(t.stderr()).toMatch(/^authctl: what was piped on stdin is not a token/);
  });
});

describe('a secret flag of another way of signing in', () => {
  it('--password-stdin with a client-credentials login: exit 2 naming both, nothing read or sent', async () => {
    const { testFactory: make } = await import('../helpers/factory.js');
    const { run: runLine } = await import('../../src/main.js');
    const t = make({ env: { AUTHCTL_CLIENT_SECRET: 'client-secret-1234' }, stdin: 'pw' });
    expect(await runLine(['login', '--client-id', 'app', '--token-url', 'https://idp.example.com/token', '--password-stdin'], t.factory)).toBe(2);
    expect(t.stderr()).toBe('authctl: --password-stdin is for Keystone password logins\nhint: this login is OAuth2 client credentials: use --client-secret-stdin / --save-secret, or log in with --auth-type v3password\n');
  });
});

describe('a clouds.yaml too big to be one', () => {
  it('is refused by its size before it is read: exit 2 naming it, nothing sent', async () => {
    const t = testFactory({ env: {} });
    const file = join(t.home, 'clouds.yaml');
    // Sparse: 5 MiB on paper, nothing on disk or in memory.
    writeFileSync(file, '');
    truncateSync(file, 5 * 1024 * 1024);
    expect(await run(['login'], t.withEnv({ OS_CLOUD: 'big', OS_CLIENT_CONFIG_FILE: file }))).toBe(2);
    expect(t.stderr()).toBe(`authctl: ${file} is 5 MiB, more than a clouds.yaml can sensibly be (authctl reads up to 4 MiB)\nhint: point OS_CLIENT_CONFIG_FILE at the real clouds.yaml\n`);
    expect(t.http.requests).toEqual([]);
  });
});
