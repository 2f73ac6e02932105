import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFast } from '../../src/fast.js';
import { run } from '../../src/main.js';
import { NOW, testFactory } from '../helpers/factory.js';
import { AUTH_URL, issued, jsonBody, TOKENS_URL } from '../helpers/iam-responses.js';

const HOUR = 3600_000;
const PASSWORD = 'correct-horse-battery';
const OS_ENV = { OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_NAME: 'demo' };
const PASSWORD_BODY = {
  auth: {
    identity: { methods: ['password'], password: { user: { name: 'alice', domain: { name: 'Default' }, password: PASSWORD } } },
    scope: { project: { name: 'demo', domain: { name: 'Default' } } },
  },
};
const SUMMARY = `Logged in to ${AUTH_URL} as alice (domain Default), project demo in domain Default [profile default], until 2026-12-01T13:00:00Z (1h 00m)\n`;

describe('login with a password from the environment, no terminal', () => {
  it('sends the password login, says one line on stderr, keeps the token and the profile', async () => {
    const t = testFactory({ env: { ...OS_ENV, OS_PASSWORD: PASSWORD } });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(request.headers).toMatchObject({ 'content-type': 'application/json', accept: 'application/json' });
      expect(jsonBody(request)).toEqual(PASSWORD_BODY);
      return issued({ token: 'gAAAA-first', issuedAt: NOW, expiresAt: NOW + HOUR });
    });

    expect(await run(['login'], t.factory)).toBe(0);

    expect(t.stderr()).toBe(SUMMARY);
    expect(t.stdout()).toBe('');
    const cached = JSON.parse(t.store.entries.get('default:token')!.replace(/^authctl1:/, '')) as Record<string, unknown>;
    expect(cached).toMatchObject({ v: 1, token: 'gAAAA-first', expiresAt: NOW + HOUR, issuedAt: NOW, issuer: AUTH_URL, skewMs: 0 });
    expect([...t.store.entries.keys()]).toEqual(['default:token']); // no password saved without --save-password
    expect(JSON.parse(readFileSync(join(t.configDir, 'config.json'), 'utf8'))).toEqual({
      profiles: { default: { kind: 'keystone', authUrl: AUTH_URL, username: 'alice', userDomain: 'Default', project: 'demo', projectDomain: 'Default', knownUserId: 'u-alice' } },
    });
    expect(t.opened.map((store) => store.kind)).toEqual(['keychain']);
  });

  it('then `token get` prints the cached token and a newline, through either door, without a request', async () => {
    const t = testFactory({ env: { ...OS_ENV, OS_PASSWORD: PASSWORD } });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-first', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.factory)).toBe(0);
    t.clearOutput();
    t.clock.advance(30 * 60_000);

    expect(await run(['token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('gAAAA-first\n');
    expect(t.stderr()).toBe('');
    t.clearOutput();

    expect(await runFast(['token', 'get'], t.factory)).toBe(0);
    expect(t.stdout()).toBe('gAAAA-first\n');
    expect(t.stderr()).toBe('');
    // The strict stub answered exactly one request: the login.
    expect(t.http.requests).toHaveLength(1);
  });

  it('saves the password with --save-password', async () => {
    const t = testFactory({ env: { ...OS_ENV, OS_PASSWORD: PASSWORD } });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-first', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login', '--save-password'], t.factory)).toBe(0);
    expect(t.store.entries.get('default:password')).toBe(`authctl1:${PASSWORD}`);
    expect(t.stderr()).toBe(SUMMARY);
  });

  it('prompts at a terminal for what is missing, and the password', async () => {
    const t = testFactory({
      env: { OS_AUTH_URL: AUTH_URL, OS_PROJECT_NAME: 'demo', NO_COLOR: '1' },
      tty: true,
      answers: [
        ['User name:', 'alice'],
        ["User's domain:", 'Default'],
        ['Password for alice (domain Default):', PASSWORD],
      ],
    });
    t.http.on('POST', TOKENS_URL, (request) => {
      expect(jsonBody(request)).toEqual(PASSWORD_BODY);
      return issued({ token: 'gAAAA-asked', issuedAt: NOW, expiresAt: NOW + HOUR });
    });
    expect(await run(['login'], t.factory)).toBe(0);
    // At a terminal the summary also says what was saved and where.
    expect(t.stderr()).toBe(SUMMARY.replace(/\n$/, '; saved auth URL, user, project; token in the keychain, password not kept (--save-password keeps it for silent renewal)\n'));
  });

  it('without a terminal, names everything missing and sends nothing (exit 2)', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL } });
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toMatch(/^authctl: missing .*user name.*\nhint: give them as flags or environment variables, or run `authctl login` at a terminal to be asked\n$/);
    expect(t.store.entries.size).toBe(0);
  });
});

describe('a second login for a profile while one runs', () => {
  /** The login lock as a running login holds it: this very process, on this host. */
  const holdLoginLock = (configDir: string) => {
    mkdirSync(join(configDir, 'locks'), { recursive: true, mode: 0o700 });
    writeFileSync(join(configDir, 'locks', 'default.login.lock'), JSON.stringify({ pid: process.pid, host: hostname(), nonce: 'held-by-the-test' }), { mode: 0o600 });
  };

  it('at a terminal: refused at once (exit 2), nothing sent', async () => {
    const t = testFactory({ env: { ...OS_ENV, OS_PASSWORD: PASSWORD, NO_COLOR: '1' }, tty: true });
    holdLoginLock(t.configDir);
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stderr()).toMatch(/^authctl: another `authctl login` for profile default is running \(pid \d+\), perhaps waiting for its sign-in\nhint: finish or stop that one first/);
    expect(t.http.requests).toHaveLength(0);
  });

  it('without a terminal (CI jobs side by side): waits its turn, then logs in', async () => {
    const t = testFactory({ env: { ...OS_ENV, OS_PASSWORD: PASSWORD } });
    holdLoginLock(t.configDir);
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-second', issuedAt: NOW, expiresAt: NOW + HOUR }));
    const login = run(['login'], t.factory);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(t.http.requests).toHaveLength(0);
    rmSync(join(t.configDir, 'locks', 'default.login.lock'));
    expect(await login).toBe(0);
    expect(t.http.requests).toHaveLength(1);
  });

  it('without a terminal, held past AUTHCTL_LOCK_TIMEOUT: exit 1 saying so, nothing sent', async () => {
    const t = testFactory({ env: { ...OS_ENV, OS_PASSWORD: PASSWORD, AUTHCTL_LOCK_TIMEOUT: '1' } });
    holdLoginLock(t.configDir);
    expect(await run(['login'], t.factory)).toBe(1);
    expect(t.stderr()).toMatch(/^authctl: another `authctl login` kept profile default locked for over 1s\nhint: if no authctl is running, remove .*default\.login\.lock\n$/);
    expect(t.http.requests).toHaveLength(0);
  });
});

describe('an auth URL without its /v3', () => {
  it('a 404 there is the URL, not the credentials: exit 2, the hint gives the URL with /v3, nothing stored', async () => {
    const t = testFactory({ env: { ...OS_ENV, OS_AUTH_URL: 'https://iam.example.com/identity', OS_PASSWORD: PASSWORD } });
    t.http.on('POST', 'https://iam.example.com/identity/auth/tokens', { status: 404, body: '<html>Not Found</html>' });
    expect(await run(['login'], t.factory)).toBe(2);
    expect(t.stderr()).toBe('authctl: login to https://iam.example.com/identity failed: not found (404), and the auth URL does not end in /v3\nhint: give the Keystone v3 base, e.g. https://iam.example.com/identity/v3\n');
    expect([...t.store.entries.keys()]).toEqual([]);
  });

  it('with /v3, a 404 stays a refusal of what was named (exit 4)', async () => {
    const t = testFactory({ env: { ...OS_ENV, OS_PASSWORD: PASSWORD } });
    t.http.on('POST', TOKENS_URL, { status: 404, body: { error: { code: 404, message: 'Could not find project: demo.' } } });
    expect(await run(['login'], t.factory)).toBe(4);
  });
});
