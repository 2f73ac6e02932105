/**
 * Issue 16, in-process: `status` exit codes as `gh auth status` has them, `exec` with no command
 * (a shell) and its marker variable, commander's errors in authctl's shape, help on stdout, one
 * way of naming a user, and redaction that spares authctl's own words.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandToRun } from '../../src/commands/exec.js';
import { StoreError } from '../../src/core/errors.js';
import { fingerprint, SecretRegistry } from '../../src/io/redact.js';
import { run } from '../../src/main.js';
import { testFactory, type TestHarness } from '../helpers/factory.js';
import { AUTH_URL, issued, keystoneError, TOKENS_URL, validated } from '../helpers/iam-responses.js';
import { HOUR, loggedIn, MINUTE, OS_ENV, PASSWORD } from '../helpers/steps.js';

const stand = (secret: string) => `<${fingerprint(secret)}>`;

interface Status {
  name: string;
  token: string;
  user: string | null;
  scope: string | null;
  [key: string]: unknown;
}

/** Runs a command line in the harness's world with `env`; returns its exit code, stdout and stderr. */
async function line(t: TestHarness, argv: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  t.clearOutput();
  const code = await run(argv, t.withEnv(env));
  return { code, stdout: t.stdout(), stderr: t.stderr() };
}

async function statusJson(t: TestHarness, env: Record<string, string | undefined> = {}, args: string[] = []): Promise<{ code: number; statuses: Status[]; stderr: string }> {
  const { code, stdout, stderr } = await line(t, ['status', '--json', ...args], env);
  return { code, statuses: JSON.parse(stdout) as Status[], stderr };
}

describe('status: exit 0 only when the profile in use holds a valid token', () => {
  it('with no profiles at all: no made-up row, exit 3, one line and a hint', async () => {
    const t = testFactory();
    expect(await line(t, ['status'])).toEqual({ code: 3, stdout: '', stderr: 'authctl: not logged in: there are no profiles yet\nhint: run `authctl login`\n' });
    const json = await statusJson(t);
    expect([json.code, json.statuses]).toEqual([3, []]);
    // Nothing was written: a status never creates a profile.
    expect(await line(t, ['profile', 'list', '--json'])).toMatchObject({ code: 0, stdout: '[]\n' });
  });

  it('logged in: exit 0, nothing on stderr', async () => {
    const t = testFactory();
    await loggedIn(t);
    const json = await statusJson(t);
    expect([json.code, json.stderr, json.statuses.map((s) => s.token)]).toEqual([0, '', ['valid']]);
    const text = await line(t, ['status']);
    expect([text.code, text.stderr]).toEqual([0, '']);
    expect(text.stdout).toMatch(/^\* default +keychain +alice \(domain Default\) +project demo in domain Default +valid, 1h 00m left\n$/m);
  });

  it('a saved profile without a token: "token": "none", exit 3', async () => {
    const t = testFactory();
    await loggedIn(t);
    await t.store.delete('default:token');
    const json = await statusJson(t);
    expect(json.code).toBe(3);
    expect(json.statuses).toMatchObject([{ name: 'default', token: 'none', expires_at: null, seconds_left: null, user: 'alice (domain Default)' }]);
    expect(json.stderr).toBe('authctl: not logged in: profile default has no token\nhint: run `authctl login`\n');
    const text = await line(t, ['status']);
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(/not logged in\n$/);
  });

  it('an expired token: exit 3 naming when', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.clock.advance(2 * HOUR);
    const json = await statusJson(t);
    expect([json.code, json.statuses[0]!.token]).toEqual([3, 'expired']);
    expect(json.stderr).toMatch(/^authctl: the token of profile default expired at 2026-12-01T13:00:00Z\nhint: run `authctl login`/);
  });

  it('a token issued for other settings than the environment names: exit 3', async () => {
    const t = testFactory();
    await loggedIn(t);
    const json = await statusJson(t, { OS_PROJECT_NAME: 'other' });
    expect([json.code, json.statuses[0]!.token]).toEqual([3, 'stale']);
    expect(json.stderr).toContain('was issued for other settings');
  });

  it('--check: a token IAM refuses is exit 3, an IAM that cannot be asked exit 5', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.http.on('HEAD', TOKENS_URL, { status: 404 });
    const refused = await statusJson(t, {}, ['--check']);
    expect([refused.code, refused.statuses[0]!.token]).toEqual([3, 'rejected']);
    expect(refused.stderr).toMatch(/^authctl: the token of profile default is revoked or expired at IAM \(404\), so it was removed from the cache\n/);
    // The refused token is gone: log in again before the next check.
    t.clearOutput();
    await loggedIn(t);
    t.http.on('HEAD', TOKENS_URL, keystoneError(503, 'down for maintenance'));
    const unreachable = await statusJson(t, { AUTHCTL_RETRIES: '1' }, ['--check']);
    expect([unreachable.code, unreachable.statuses[0]!.token]).toEqual([5, 'unchecked']);
    expect(unreachable.stderr).toMatch(/^authctl: the token of profile default could not be checked at IAM: .*503/);
  });

  it('is about the profile in use: --profile work, never logged in, is exit 3 while default is fine', async () => {
    const t = testFactory();
    await loggedIn(t);
    const json = await statusJson(t, {}, ['--profile', 'work']);
    expect(json.code).toBe(3);
    expect(json.statuses.map((s) => [s.name, s.token])).toEqual([['default', 'valid']]);
    expect(json.stderr).toBe('authctl: not logged in: profile work does not exist\nhint: run `authctl login --profile work`\n');
  });

  it("the profile in use unreadable: the store's own error and exit code; another one unreadable does not matter", async () => {
    const t = testFactory();
    await loggedIn(t);
    await loggedIn(t, 'gAAAA-work', ['--profile', 'work']);
    t.failOn('work:token', new StoreError('the keychain is locked and could not be unlocked', { hint: 'unlock it' }));
    expect((await statusJson(t)).code).toBe(0);
    const work = await statusJson(t, { AUTHCTL_PROFILE: 'work' });
    expect([work.code, work.stderr]).toEqual([6, 'authctl: the keychain is locked and could not be unlocked\nhint: unlock it\n']);
    expect(work.statuses.find((s) => s.name === 'work')).toMatchObject({ token: 'unreadable', problem: 'the keychain is locked and could not be unlocked' });
  });

  it('the error it ends with is redacted like every other', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.failOn('default:token', new Error(`keychain said: no entry for ${PASSWORD}`));
    const json = await statusJson(t, { OS_PASSWORD: PASSWORD });
    expect(json.code).toBe(6);
    expect(json.stderr).toBe(`authctl: profile default: keychain said: no entry for ${stand(PASSWORD)}\nhint: see the Troubleshooting section of README.md for the keychain and the file store\n`);
  });

  it('a profile only the environment defines (CI, `token get` with no login) is shown once it holds a token', async () => {
    const t = testFactory();
    const ci = { ...OS_ENV, OS_PASSWORD: PASSWORD, AUTHCTL_PROFILE: 'ci' };
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-ci', issuedAt: t.clock.now(), expiresAt: t.clock.now() + HOUR }));
    expect(await line(t, ['token', 'get'], ci)).toMatchObject({ code: 0, stdout: 'gAAAA-ci\n' });
    const json = await statusJson(t, ci);
    expect(json.code).toBe(0);
    expect(json.statuses).toMatchObject([{ name: 'ci', default: false, kind: 'keystone', token: 'valid', user: 'alice (domain Default)', scope: 'project demo in domain Default' }]);
    // Without the variables nothing says what the token is for: as `token get` would, not logged in.
    const bare = await statusJson(t, { AUTHCTL_PROFILE: 'ci' });
    expect([bare.code, bare.statuses]).toEqual([3, []]);
  });
});

describe('a profile logged in straight from OS_* variables', () => {
  it('shows who and what scope in status, and token get and token check find it without the variables', async () => {
    const t = testFactory();
    await loggedIn(t); // OS_AUTH_URL, OS_USERNAME, OS_USER_DOMAIN_NAME, OS_PROJECT_NAME, OS_PASSWORD
    const json = await statusJson(t);
    expect(json.statuses).toMatchObject([{ name: 'default', iam: AUTH_URL, user: 'alice (domain Default)', scope: 'project demo in domain Default', token: 'valid' }]);
    t.clock.advance(10 * MINUTE);
    expect(await line(t, ['token', 'get'])).toEqual({ code: 0, stdout: 'gAAAA-first\n', stderr: '' });
    const check = await line(t, ['token', 'check', '--offline']);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('user:       alice (domain Default), id u-alice\n');
    expect(t.http.requests).toHaveLength(1); // the login only
  });
});

describe('one way of naming a user', () => {
  it('login, status, profile show, profile list and token check all say alice (domain Default)', async () => {
    const t = testFactory();
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-first', issuedAt: t.clock.now(), expiresAt: t.clock.now() + HOUR }));
    const login = await line(t, ['login'], { ...OS_ENV, OS_PASSWORD: PASSWORD });
    expect(login.stderr).toBe(`Logged in to ${AUTH_URL} as alice (domain Default), project demo in domain Default [profile default], until 2026-12-01T13:00:00Z (1h 00m)\n`);
    const seen = [login.stderr, (await line(t, ['status'])).stdout, (await line(t, ['profile', 'show'])).stdout, (await line(t, ['profile', 'list'])).stdout];
    t.http.on('GET', TOKENS_URL, validated({ token: 'gAAAA-first', issuedAt: t.clock.now(), expiresAt: t.clock.now() + HOUR }));
    const check = await line(t, ['token', 'check']);
    seen.push(check.stdout);
    for (const text of seen) {
      expect(text).toContain('alice (domain Default)');
      expect(text).not.toContain('@Default');
      expect(text).toContain('project demo in domain Default');
    }
    expect(check.stdout).toContain('scope:      project demo in domain Default, id p-demo\n');
  });
});

describe('exec', () => {
  /** A stand-in for the user's shell: writes what it was given to a file and exits with 3. */
  function fakeShell(): { shell: string; out: string } {
    const dir = mkdtempSync(join(tmpdir(), 'authctl-exec-shell-'));
    const shell = join(dir, 'fake-shell');
    const out = join(dir, 'seen');
    writeFileSync(shell, `#!/bin/sh\nprintf '%s|%s|%s' "$AUTHCTL_PROFILE_ACTIVE" "$Token" "$#" > '${out}'\nexit 3\n`, { mode: 0o755 });
    return { shell, out };
  }

  it('with no command starts $SHELL with the token and AUTHCTL_PROFILE_ACTIVE, and exits with its code', async () => {
    const t = testFactory();
    await loggedIn(t);
    const { shell, out } = fakeShell();
    const result = await line(t, ['exec'], { SHELL: shell });
    expect(result.code).toBe(3);
    expect(readFileSync(out, 'utf8')).toBe('default|gAAAA-first|0');
    expect(result.stderr).toBe(`starting ${shell} with Token of profile default (until 2026-12-01T13:00:00Z); \`exit\` returns here\n`);
  });

  it('inside another exec (AUTHCTL_PROFILE_ACTIVE set) warns and goes on, with its own profile', async () => {
    const t = testFactory();
    await loggedIn(t);
    const { shell, out } = fakeShell();
    const result = await line(t, ['exec'], { SHELL: shell, AUTHCTL_PROFILE_ACTIVE: 'outer' });
    expect(result.code).toBe(3);
    expect(readFileSync(out, 'utf8')).toBe('default|gAAAA-first|0');
    expect(result.stderr).toMatch(/^warning: already inside `authctl exec` for profile outer \(AUTHCTL_PROFILE_ACTIVE is set\): this one sets the token again, for profile default\nstarting /);
  });

  it('a command after -- gets AUTHCTL_PROFILE_ACTIVE too, and nothing is said', async () => {
    const t = testFactory();
    await loggedIn(t);
    const out = join(mkdtempSync(join(tmpdir(), 'authctl-exec-')), 'seen');
    const result = await line(t, ['exec', '--', '/bin/sh', '-c', `printf %s "$AUTHCTL_PROFILE_ACTIVE" > '${out}'`]);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(readFileSync(out, 'utf8')).toBe('default');
  });

  it.each([
    [['exec', 'ls'], 'authctl: the command to run goes after --: ls\nhint: authctl exec [options] -- COMMAND [ARGS...], e.g. authctl exec -- ls\n'],
    [['exec', 'ls', '-la'], "authctl: unknown option '-la': the command to run and its own options go after --\nhint: authctl exec [options] -- COMMAND [ARGS...], e.g. authctl exec -- ls -la\n"],
    [['exec', '--expirey', '--', 'env'], "authctl: unknown option '--expirey'\nhint: did you mean --expiry? `authctl exec --help` lists the options\n"],
    [['exec', '--'], 'authctl: no command after --\nhint: authctl exec [options] -- COMMAND [ARGS...], or `authctl exec` alone for a shell with the token\n'],
  ])('%j: exit 2 with the usage, nothing run, no token asked for', async (argv, said) => {
    const t = testFactory();
    expect(await line(t, argv)).toEqual({ code: 2, stdout: '', stderr: said });
  });

  it('runs $SHELL, else %ComSpec%, else /bin/sh', () => {
    expect(commandToRun({ SHELL: '/bin/zsh' }, [], ['exec'])).toEqual({ program: '/bin/zsh', args: [], shell: true });
    expect(commandToRun({ ComSpec: 'C:\\Windows\\system32\\cmd.exe' }, [], ['exec'])).toMatchObject({ program: 'C:\\Windows\\system32\\cmd.exe' });
    expect(commandToRun({ SHELL: '' }, [], ['exec'])).toMatchObject({ program: '/bin/sh' });
    expect(commandToRun({}, ['env', '-i'], ['--profile', 'x', 'exec', '--', 'env', '-i'])).toEqual({ program: 'env', args: ['-i'], shell: false });
    // `--` somewhere else than before the command: the command is not what came after it.
    expect(() => commandToRun({}, ['a', 'b'], ['exec', 'a', '--', 'b'])).toThrow(/goes after --/);
  });
});

describe("commander's own errors, in authctl's shape", () => {
  it.each([
    [['bogus'], "authctl: unknown command 'bogus'\nhint: did you mean logout? `authctl --help` lists the commands\n"],
    [['--bogus'], "authctl: unknown option '--bogus'\nhint: `authctl --help` lists the options\n"],
    [['logout', '--al'], "authctl: unknown option '--al'\nhint: did you mean --all? `authctl logout --help` lists the options\n"],
    [['token', 'get', '--pasword=hunter2hunter2'], "authctl: unknown option '--pasword=…'\nhint: `authctl token get --help` lists the options\n"],
    [['--store', 'nope', 'status'], "authctl: option '--store <kind>' argument 'nope' is invalid\nhint: use one of: keychain, file\n"],
    [['completion'], "authctl: missing required argument 'shell'\nhint: usage: authctl completion [options] <shell>\n"],
    [['profile', 'use'], "authctl: missing required argument 'name'\nhint: usage: authctl profile use [options] <name>\n"],
    [['token', 'get', '--min-ttl'], "authctl: option '--min-ttl <duration>' argument missing\nhint: give the option its value; `authctl token get --help` lists them\n"],
  ])('%j: exit 2, one line and a hint', async (argv, said) => {
    const t = testFactory();
    expect(await line(t, argv)).toEqual({ code: 2, stdout: '', stderr: said });
  });
});

describe('help', () => {
  it('bare authctl prints the help on stdout and exits 0; so does a bare group', async () => {
    const t = testFactory();
    const bare = await line(t, []);
    expect([bare.code, bare.stderr]).toEqual([0, '']);
    expect(bare.stdout).toMatch(/^Usage: authctl \[options\] \[command\]\n/);
    expect(bare.stdout).toContain('status [options]');
    const group = await line(t, ['token']);
    expect([group.code, group.stderr]).toEqual([0, '']);
    expect(group.stdout).toMatch(/^Usage: authctl token \[options\] \[command\]\n/);
  });

  it("a subcommand's --help shows the global options too", async () => {
    const t = testFactory();
    const help = await line(t, ['status', '--help']);
    expect([help.code, help.stderr]).toEqual([0, '']);
    expect(help.stdout).toMatch(/\nOptions:\n[^]*--check[^]*\nGlobal Options:\n[^]*-p, --profile <name>[^]*--os-cloud <name>[^]*--debug/);
    const exec = await line(t, ['exec', '--help']);
    expect(exec.stdout).toMatch(/^Usage: authctl exec \[options\] \[-- COMMAND \[ARGS\.\.\.\]\]\n/);
    expect(exec.stdout).toContain('Global Options:');
  });
});

describe("redaction spares authctl's own words", () => {
  it('a secret spelt like a word is redacted where a server puts it as a value', () => {
    const secrets = new SecretRegistry();
    secrets.add('wrong');
    for (const echoed of ["Invalid password: wrong", "The password 'wrong' is not valid", 'password="wrong"', 'body password=wrong&user=alice', 'https://alice:wrong@proxy.example.com', 'Invalid password: wrong (code 1301)', 'said: wrong, try again']) {
      expect(secrets.redact(echoed), echoed).not.toMatch(/\bwrong\b/);
      expect(secrets.redact(echoed), echoed).toContain(stand('wrong'));
    }
  });

  it("and left alone in authctl's own sentences, and inside longer words", () => {
    const secrets = new SecretRegistry();
    secrets.add('wrong');
    secrets.add('password');
    secrets.add('rong');
    for (const own of [
      'cannot decrypt /x/secrets/default%3atoken: wrong passphrase, or the file was altered',
      'login to https://iam.example.com/v3: the passcode was refused (wrong, or from another time window)',
      'check the user name, domain, password and scope (project or domain)',
      'use the passphrase the file store was written with (AUTHCTL_FILE_PASSPHRASE), or `authctl logout` and log in again',
      'what went wrong: the password was refused.',
    ]) {
      expect(secrets.redact(own)).toBe(own);
    }
  });

  it('other secrets are redacted wherever they show, as before', () => {
    const secrets = new SecretRegistry();
    secrets.add('hunter2');
    secrets.add('Xk9qWzLmPr'); // letters in mixed case with a digit: no word
    secrets.add('qWeRtYuIoP'); // letters only, but no word's spelling
    expect(secrets.redact('keys xhunter2x and pre-Xk9qWzLmPr-post in a sentence qWeRtYuIoP here')).toBe(`keys x${stand('hunter2')}x and pre-${stand('Xk9qWzLmPr')}-post in a sentence ${stand('qWeRtYuIoP')} here`);
  });

  it('end to end: OS_PASSWORD=password, echoed by IAM, is a fingerprint; the hint still says "password"', async () => {
    const t = testFactory();
    t.http.on('POST', TOKENS_URL, keystoneError(401, 'Invalid credentials: password'));
    const result = await line(t, ['login'], { ...OS_ENV, OS_PASSWORD: 'password' });
    expect([result.code, result.stdout]).toEqual([4, '']);
    const [said, hint] = result.stderr.split('\n');
    expect(said).toBe(`authctl: login to ${AUTH_URL} was rejected (401): Invalid credentials: ${stand('password')}`);
    // authctl's own words around it are its own, the secret's spelling notwithstanding.
    expect(hint).toMatch(/^hint: .*\bpassword\b/);
    expect(hint).not.toContain('<hmac:');
  });

  it("end to end: OS_PASSWORD=wrong leaves the store's message as it was written", async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first', ['--store', 'file']);
    t.failOn('default:token', new StoreError('cannot decrypt default%3atoken: wrong passphrase, or the file was altered', { hint: 'use the passphrase the file store was written with' }));
    const json = await statusJson(t, { OS_PASSWORD: 'wrong' });
    expect(json.code).toBe(6);
    expect(json.statuses[0]!.problem).toBe('cannot decrypt default%3atoken: wrong passphrase, or the file was altered');
    expect(json.stderr).toBe('authctl: cannot decrypt default%3atoken: wrong passphrase, or the file was altered\nhint: use the passphrase the file store was written with\n');
  });
});
