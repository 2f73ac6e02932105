import { describe, expect, it } from 'vitest';
import { runFast } from '../../src/fast.js';
import { run } from '../../src/main.js';
import { testFactory, type TestHarness } from '../helpers/factory.js';
import { AUTH_URL, issued, jsonBody, TOKENS_URL } from '../helpers/iam-responses.js';
import { entries, HOUR, loggedIn, MINUTE, OS_ENV, PASSWORD } from '../helpers/steps.js';

/** Runs one command line through both doors from the same state; each door must say the same thing. */
async function bothDoors(t: TestHarness, argv: string[], env: Record<string, string>) {
  const before = entries(t);
  const full = { code: await run(argv, t.withEnv(env)), stdout: t.stdout(), stderr: t.stderr() };
  t.clearOutput();
  const after = entries(t);
  // Put the store back, so the fast door starts where the full one did.
  t.store.entries.clear();
  for (const [account, value] of Object.entries(before)) t.store.entries.set(account, value);
  const fast = { code: await runFast(argv, t.withEnv(env)), stdout: t.stdout(), stderr: t.stderr() };
  t.clearOutput();
  expect(fast).toEqual(full);
  return { ...full, after };
}

describe('token get', () => {
  it('prints the cached token while it has more than --min-ttl left, with no request', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.clock.advance(54 * MINUTE); // 6 minutes left, default --min-ttl 5m
    const result = await bothDoors(t, ['token', 'get'], { ...OS_ENV });
    expect(result).toMatchObject({ code: 0, stdout: 'gAAAA-first\n', stderr: '' });
  });

  it('renews silently past expiry minus --min-ttl when OS_PASSWORD is set', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.clock.advance(56 * MINUTE); // 4 minutes left: inside the default 5m
    const renewAt = t.clock.now();
    const renewal = (token: string) => (request: Parameters<typeof jsonBody>[0]) => {
      expect(jsonBody(request)).toMatchObject({ auth: { identity: { methods: ['password'], password: { user: { name: 'alice', password: PASSWORD } } } } });
      return issued({ token, issuedAt: renewAt, expiresAt: renewAt + HOUR });
    };
    t.http.on('POST', TOKENS_URL, renewal('gAAAA-renewed'));
    t.http.on('POST', TOKENS_URL, renewal('gAAAA-renewed'));

    const result = await bothDoors(t, ['token', 'get'], { ...OS_ENV, OS_PASSWORD: PASSWORD });
    expect(result).toMatchObject({ code: 0, stdout: 'gAAAA-renewed\n', stderr: '' });
    expect(t.store.entries.get('default:token')).toContain('"token":"gAAAA-renewed"');

    // And the renewed token is then served from the cache.
    expect(await run(['token', 'get'], t.withEnv({ ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(0);
    expect(t.stdout()).toBe('gAAAA-renewed\n');
  });

  it('honours --min-ttl: 10m renews a token with 8 minutes left', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.clock.advance(52 * MINUTE);
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-renewed', issuedAt: t.clock.now(), expiresAt: t.clock.now() + HOUR }));
    expect(await run(['token', 'get', '--min-ttl', '10m'], t.withEnv({ ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(0);
    expect(t.stdout()).toBe('gAAAA-renewed\n');
    expect(t.stderr()).toBe('');
  });

  it('exits 3 with the documented message and hint when no secret is at hand', async () => {
    const t = testFactory();
    await loggedIn(t);
    t.clock.advance(56 * MINUTE);
    const result = await bothDoors(t, ['token', 'get'], {});
    expect(result).toMatchObject({
      code: 3,
      stdout: '',
      stderr:
        'authctl: the token of profile default expires in 4m, within --min-ttl 5m, and there is no saved secret to renew it\n' +
        'hint: run `authctl login` (to renew silently: OS_PASSWORD or `authctl login --save-password`)\n',
    });
  });

  it('exits 3 for an expired token, naming the profile', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first');
    t.clock.advance(2 * HOUR);
    const result = await bothDoors(t, ['--profile', 'default', 'token', 'get'], {});
    expect(result).toMatchObject({
      code: 3,
      stdout: '',
      stderr:
        'authctl: the token of profile default has expired, and there is no saved secret to renew it\n' +
        'hint: run `authctl login` (to renew silently: OS_PASSWORD or `authctl login --save-password`)\n',
    });
  });

  it('exits 3 "not logged in" for a profile that does not exist', async () => {
    const t = testFactory();
    const result = await bothDoors(t, ['token', 'get', '--profile', 'work'], {});
    expect(result).toMatchObject({ code: 3, stdout: '', stderr: 'authctl: not logged in: profile work does not exist\nhint: run `authctl login --profile work`\n' });
  });

  it('renews from a saved password (login --save-password) at the same IAM', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first', ['--save-password']);
    t.clock.advance(2 * HOUR);
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toMatchObject({ auth: { identity: { password: { user: { password: PASSWORD } } } } });
      return issued({ token: 'gAAAA-renewed', issuedAt: t.clock.now(), expiresAt: t.clock.now() + HOUR });
    });
    expect(await run(['token', 'get'], t.withEnv({}))).toBe(0);
    expect(t.stdout()).toBe('gAAAA-renewed\n');
    expect(t.stderr()).toBe('');
  });

  it('never sends a saved password to another IAM named by OS_AUTH_URL (exit 3, no request)', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first', ['--save-password']);
    const before = entries(t);
    // No stub for the other IAM: a request there would fail the test.
    const result = await bothDoors(t, ['token', 'get'], { OS_AUTH_URL: 'https://evil.example.net/v3' });
    expect(result).toMatchObject({
      code: 3,
      stdout: '',
      stderr:
        'authctl: the cached token of profile default was issued for other settings (auth URL, user or scope), and the saved password belongs to another IAM URL or user, so it is not sent here\n' +
        'hint: run `authctl login` (to renew silently: OS_PASSWORD or `authctl login --save-password`)\n',
    });
    expect(t.http.requests.map((request) => request.url)).toEqual([TOKENS_URL]); // the login, nothing else
    expect(entries(t)).toEqual(before);
  });

  it('token renew pointed at another IAM says why the saved password is not used (exit 3, no request)', async () => {
    const t = testFactory();
    await loggedIn(t, 'gAAAA-first', ['--save-password']);
    t.clearOutput();
    expect(await run(['token', 'renew'], t.withEnv({ OS_AUTH_URL: 'https://evil.example.net/v3' }))).toBe(3);
    expect(t.stderr()).toMatch(/^authctl: no password for this IAM \(the saved one belongs to another IAM URL or user, so it is not sent here\) and no current token to renew profile default from\n/);
    expect(t.http.requests.map((request) => request.url)).toEqual([TOKENS_URL]);
  });

  it('--json prints the documented token object', async () => {
    const t = testFactory();
    await loggedIn(t);
    const result = await bothDoors(t, ['token', 'get', '--json'], { ...OS_ENV });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      token: 'gAAAA-first',
      expires_at: '2026-12-01T13:00:00Z',
      issued_at: '2026-12-01T12:00:00Z',
      profile: 'default',
      issuer: AUTH_URL,
      user: { id: 'u-alice', name: 'alice', domain: { id: 'default', name: 'Default' } },
      scope: { project: { id: 'p-demo', name: 'demo', domain: { id: 'default', name: 'Default' } } },
      roles: ['member'],
    });
  });

  it('--output exec-credential prints a kubectl ExecCredential', async () => {
    const t = testFactory();
    await loggedIn(t);
    const result = await bothDoors(t, ['token', 'get', '--output', 'exec-credential'], { ...OS_ENV });
    expect(result).toMatchObject({
      code: 0,
      stderr: '',
      stdout: '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"gAAAA-first","expirationTimestamp":"2026-12-01T13:00:00Z"}}\n',
    });
  });
});
