import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/core/errors.js';
import { run } from '../../src/main.js';
import { fingerprint } from '../../src/io/redact.js';
import { NOW, testFactory } from '../helpers/factory.js';
import { AUTH_URL, keystoneError, TOKENS_URL, validated } from '../helpers/iam-responses.js';
import { entries, HOUR, loggedIn, MINUTE, OS_ENV } from '../helpers/steps.js';

const TOKEN = 'gAAAA-first';
const askedAbout = (method: 'GET' | 'HEAD' | 'DELETE') => (request: { method: string; headers?: Record<string, string> }) => {
  expect(request.method).toBe(method);
  expect(request.headers).toMatchObject({ 'x-auth-token': TOKEN, 'x-subject-token': TOKEN });
};

describe('token check', () => {
  it('GET 200: exit 0 and the report', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.clock.advance(10 * MINUTE);
    t.http.on('GET', TOKENS_URL, (request) => {
      askedAbout('GET')(request);
      return validated({ token: TOKEN, issuedAt: NOW, expiresAt: NOW + HOUR });
    });
    expect(await run(['token', 'check'], t.withEnv({ ...OS_ENV }))).toBe(0);
    expect(t.stderr()).toBe('');
    expect(t.stdout()).toBe(
      [
        'valid:      yes',
        'user:       alice (domain Default), id u-alice',
        'domain:     Default',
        'scope:      project demo in domain Default, id p-demo',
        'roles:      member',
        'issued_at:  2026-12-01T12:00:00Z',
        'expires_at: 2026-12-01T13:00:00Z',
        'time left:  50m',
        'checked:    at IAM',
        '',
      ].join('\n'),
    );
  });

  it('--json prints the report as JSON', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, validated({ token: TOKEN, issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['token', 'check', '--json'], t.withEnv({ ...OS_ENV }))).toBe(0);
    expect(JSON.parse(t.stdout())).toEqual({
      valid: true,
      checked: 'iam',
      profile: 'default',
      user: { id: 'u-alice', name: 'alice', domain: { id: 'default', name: 'Default' } },
      scope: { project: { id: 'p-demo', name: 'demo', domain: { id: 'default', name: 'Default' } } },
      roles: ['member'],
      issued_at: '2026-12-01T12:00:00Z',
      expires_at: '2026-12-01T13:00:00Z',
      seconds_left: 3600,
    });
  });

  it('--quiet asks with HEAD and prints nothing', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('HEAD', TOKENS_URL, (request) => {
      askedAbout('HEAD')(request);
      return { status: 200, headers: { 'X-Subject-Token': TOKEN } };
    });
    expect(await run(['token', 'check', '--quiet'], t.withEnv({ ...OS_ENV }))).toBe(0);
    expect(t.stdout() + t.stderr()).toBe('');
  });

  it('404: exit 3, the report says revoked or expired at IAM, and the token is dropped from the cache', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('GET', TOKENS_URL, keystoneError(404, `Could not find token: ${TOKEN}.`));
    expect(await run(['token', 'check'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout()).toBe('valid:   no (revoked or expired at IAM (404))\nchecked: at IAM\n');
    expect(t.stderr()).toBe('authctl: the token of profile default is revoked or expired at IAM (404), so it was removed from the cache\nhint: run `authctl login`\n');
    // IAM's own words quote the token: they are not printed, not even as a fingerprint.
    expect(t.stderr() + t.stdout()).not.toContain(fingerprint(TOKEN));
    expect(t.store.entries.has('default:token')).toBe(false);
  });

  it('--quiet 404: exit 3 and silence', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('HEAD', TOKENS_URL, { status: 404 });
    expect(await run(['token', 'check', '-q'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stdout() + t.stderr()).toBe('');
  });

  it('--offline judges from the cache, with no request', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.clock.advance(2 * HOUR);
    expect(await run(['token', 'check', '--offline', '--json'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(JSON.parse(t.stdout())).toMatchObject({ valid: false, reason: 'expired', checked: 'offline', seconds_left: 0 });
    expect(t.stderr()).toBe('authctl: the token is not valid: expired\nhint: run `authctl token get` (renews if it can) or `authctl login`\n');
  });

  it('not logged in: exit 3, nothing sent', async () => {
    const t = testFactory();
    expect(await run(['token', 'check'], t.withEnv({ ...OS_ENV }))).toBe(3);
    expect(t.stderr()).toBe('authctl: not logged in: profile default has no cached token\nhint: run `authctl login`\n');
  });
});

describe('logout', () => {
  it('revokes with DELETE and removes every secret of the profile', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN, ['--save-password']);
    expect(Object.keys(entries(t)).sort()).toEqual(['default:password', 'default:token']);
    t.http.on('DELETE', TOKENS_URL, (request) => {
      askedAbout('DELETE')(request);
      return { status: 204 };
    });
    expect(await run(['logout'], t.withEnv({}))).toBe(0);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe('Logged out of profile default: token revoked at IAM, secrets removed from the keychain\n');
    expect(entries(t)).toEqual({});
  });

  it('also removes the entry a login killed during its write check left behind', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.store.entries.set('default:write-check', 'authctl write check');
    t.http.on('DELETE', TOKENS_URL, { status: 204 });
    expect(await run(['logout'], t.withEnv({}))).toBe(0);
    expect(entries(t)).toEqual({});
  });

  it("removes an entry of a role it does not know and a part a crash left, and none of another profile's", async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.store.entries.set('default:from-a-later-version', 'x');
    t.store.entries.set('default:token#dead0000.0', 'orphaned part');
    t.store.entries.set('defaults:token', 'another profile');
    t.store.entries.set('other:password', 'another profile');
    t.http.on('DELETE', TOKENS_URL, { status: 204 });
    expect(await run(['logout'], t.withEnv({}))).toBe(0);
    expect(Object.keys(entries(t)).sort()).toEqual(['defaults:token', 'other:password']);
  });

  it('a store that cannot delete: exit 6, nothing revoked at IAM, the token still served (not one revoked yet cached)', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN, ['--save-password']);
    t.store.failDeletes = new StoreError('cannot write /config/secrets: the file system is read-only (EROFS)', { reason: 'storage' });
    // No DELETE stubbed: the strict stub fails the test if logout revokes anyway.
    expect(await run(['logout'], t.withEnv({}))).toBe(6);
    expect(t.stderr()).toMatch(/^authctl: cannot write \/config\/secrets: the file system is read-only \(EROFS\)\n/);
    expect(Object.keys(entries(t)).sort()).toEqual(['default:password', 'default:token']);
    t.clearOutput();
    expect(await run(['token', 'get'], t.withEnv({}))).toBe(0);
    expect(t.stdout()).toBe(`${TOKEN}\n`);
  });

  it('removes the local copy even when IAM answers 503, then exit 5', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN, ['--save-password']);
    t.http.on('DELETE', TOKENS_URL, keystoneError(503, 'Service Unavailable'));
    expect(await run(['logout'], t.withEnv({}))).toBe(5);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe(
      `warning: profile default: could not revoke the token at IAM: revoking the token at ${AUTH_URL} failed: IAM answered 503: Service Unavailable\n` +
        'Logged out of profile default: not revoked, secrets removed from the keychain\n' +
        'authctl: the token of profile default could not be revoked (IAM unreachable); it stays valid at IAM until it expires\n' +
        'hint: the local copy is gone either way; if the token may have leaked, ask your IAM administrator to revoke it\n',
    );
    expect(entries(t)).toEqual({});
  });

  it('an expired token is only forgotten: no request', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.clock.advance(2 * HOUR);
    expect(await run(['logout'], t.withEnv({}))).toBe(0);
    expect(t.stderr()).toBe('Logged out of profile default: the token had already expired (2026-12-01T13:00:00Z), secrets removed from the keychain\n');
    expect(entries(t)).toEqual({});
  });

  it('a profile with nothing stored says so', async () => {
    const t = testFactory();
    expect(await run(['logout'], t.withEnv({}))).toBe(0);
    expect(t.stderr()).toBe('profile default was not logged in\n');
  });

  it('then `token get` is exit 3: the token is gone', async () => {
    const t = testFactory();
    await loggedIn(t, TOKEN);
    t.http.on('DELETE', TOKENS_URL, { status: 204 });
    expect(await run(['logout'], t.withEnv({}))).toBe(0);
    t.clearOutput();
    expect(await run(['token', 'get'], t.withEnv({}))).toBe(3);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toMatch(/^authctl: no token is cached for profile default/);
  });
});

describe('names from IAM at a terminal', () => {
  it('are shown with their control characters escaped, by the login summary and token check', async () => {
    const { testFactory: make, NOW: now } = await import('../helpers/factory.js');
    const { issued: answer, validated, TOKENS_URL: url, AUTH_URL: auth, USER, PROJECT } = await import('../helpers/iam-responses.js');
    const hostile = { ...USER, name: 'alice\u001b]0;OWNED\u0007\u001b[2J' };
    const project = { ...PROJECT, name: 'demo\u009b31m\r\nfake line' };
    const t = make({ env: { OS_AUTH_URL: auth, OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', OS_PASSWORD: 'pw-1234' } });
    t.http.on('POST', url, answer({ token: 'gAAAA-x', issuedAt: now, expiresAt: now + 3600_000, user: hostile, project }));
    const { run: runLine } = await import('../../src/main.js');
    expect(await runLine(['login'], t.factory)).toBe(0);
    expect(t.stderr()).toContain('alice\\e]0;OWNED\\x07\\e[2J (domain Default), project demo\\x9b31m\\r\\nfake line in domain Default');
    expect(t.stderr()).not.toMatch(/[\u001b\u0007\u009b\r]/);
    t.clearOutput();
    t.http.on('GET', url, validated({ token: 'gAAAA-x', issuedAt: now, expiresAt: now + 3600_000, user: hostile, project }));
    expect(await runLine(['token', 'check'], t.factory)).toBe(0);
    expect(t.stdout()).not.toMatch(/[\u001b\u0007\u009b\r]/);
    expect(t.stdout()).toContain('user:       alice\\e]0;OWNED\\x07\\e[2J (domain Default), id u-alice');
    t.clearOutput();
    expect(await runLine(['token', 'check', '--offline'], t.factory)).toBe(0);
    expect(t.stdout()).not.toMatch(/[\u001b\u0007\u009b\r]/);
  });
});
