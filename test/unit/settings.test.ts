import { describe, expect, it } from 'vitest';
import { checkFlagConflicts, KEYSTONE_SETTINGS, plainLayers, resolveKeystone as resolveLayers, USERS_DOMAIN, type KeystoneSettings } from '../../src/auth/keystone-identity.js';
import { cacheKey } from '../../src/auth/method.js';
import { keystonePassword } from '../../src/auth/methods/keystone-password.js';
import { checkUrl, describeMissing, envLayer, layer, type Layer } from '../../src/core/settings.js';
import type { KeystoneTarget } from '../../src/core/target.js';

const resolveKeystone = (layers: readonly (KeystoneSettings | Layer<KeystoneSettings>)[]) =>
  resolveLayers(layers.map((values) => ('origin' in values ? (values as Layer<KeystoneSettings>) : plainLayers([values as KeystoneSettings])[0]!)));
const keystoneEnvLayer = (env: Record<string, string>) => envLayer<KeystoneSettings>(env, KEYSTONE_SETTINGS);
const targetKey = (target: KeystoneTarget) => cacheKey(keystonePassword, target);

describe('resolving a Keystone login from flags, environment and profile', () => {
  it('takes each value from the first layer that has it', () => {
    const resolution = resolveKeystone([
      { project: '/smartcity' },
      { authUrl: 'https://env/v3', username: 'alice', userDomain: 'Fiware' },
      { authUrl: 'https://saved/v3', username: 'bob', userDomain: 'Other', projectId: 'p-saved' },
    ]);
    expect(resolution.target).toEqual({
      kind: 'keystone',
      authUrl: 'https://env/v3',
      user: { name: 'alice', domain: { name: 'Fiware' } },
      scope: { kind: 'project', name: '/smartcity', domain: { name: 'Fiware' } },
    });
    expect(resolution.missing).toEqual([]);
  });

  it('takes the scope whole from one layer: a flag scope is never mixed with an environment scope', () => {
    const resolution = resolveKeystone([{ domain: 'Fiware' }, { authUrl: 'https://x/v3', userId: 'u', projectId: 'p' }]);
    expect(resolution.target?.scope).toEqual({ kind: 'domain', domain: { name: 'Fiware' } });
    expect(resolution.settings).not.toHaveProperty('projectId');
  });

  it('prefers ids to names within the environment, as openrc files set both', () => {
    const env = keystoneEnvLayer({ OS_AUTH_URL: 'https://x/v3', OS_USER_ID: 'u1', OS_USERNAME: 'alice', OS_PROJECT_ID: 'p1', OS_PROJECT_NAME: 'demo', OS_PROJECT_DOMAIN_ID: 'default' });
    const target = resolveKeystone([env]).target!;
    expect(target.user).toEqual({ id: 'u1' });
    expect(target.scope).toEqual({ kind: 'project', id: 'p1' });
  });

  it("defaults the project's domain to the user's", () => {
    const target = resolveKeystone([{ authUrl: 'https://x/v3', username: 'a', userDomainId: 'd1', project: 'p' }]).target!;
    expect(target.scope).toEqual({ kind: 'project', name: 'p', domain: { id: 'd1' } });
  });

  it("keeps a saved domain with its saved user and project: another user or project named now is not given it", () => {
    const profile = layer('profile', { authUrl: 'https://x/v3', username: 'member', userDomain: 'Fiware', project: '/smartcity', projectDomain: 'Fiware' } as KeystoneSettings, 'profile default');
    // An openrc for another user and project, without OS_PROJECT_DOMAIN_NAME: the project is in the user's domain.
    const other = resolveKeystone([keystoneEnvLayer({ OS_USERNAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_NAME: 'admin' }), profile]);
    expect(other.target?.user).toEqual({ name: 'admin', domain: { name: 'Default' } });
    expect(other.target?.scope).toEqual({ kind: 'project', name: 'admin', domain: { name: 'Default' } });
    expect(other.sources.projectDomain).toEqual({ kind: 'env', name: USERS_DOMAIN });
    // Another user without a domain: missing, not the saved user's.
    const noDomain = resolveKeystone([keystoneEnvLayer({ OS_USERNAME: 'admin', OS_PROJECT_NAME: 'admin', OS_PROJECT_DOMAIN_NAME: 'Default' }), profile]);
    expect(noDomain.target).toBeUndefined();
    expect(describeMissing(noDomain.missing)).toBe("user's domain (--user-domain, env OS_USER_DOMAIN_NAME)");
    // The same user and project named again: their saved domains still apply.
    const same = resolveKeystone([keystoneEnvLayer({ OS_USERNAME: 'member', OS_PROJECT_NAME: '/smartcity' }), profile]);
    expect(same.target?.user).toEqual({ name: 'member', domain: { name: 'Fiware' } });
    expect(same.target?.scope).toEqual({ kind: 'project', name: '/smartcity', domain: { name: 'Fiware' } });
    // A layer naming no user or scope of its own lends its domains to a layer above it.
    const lent = resolveKeystone([{ username: 'bob', project: 'p' }, keystoneEnvLayer({ OS_AUTH_URL: 'https://x/v3', OS_USER_DOMAIN_NAME: 'D', OS_PROJECT_DOMAIN_NAME: 'E' })]);
    expect(lent.target?.user).toEqual({ name: 'bob', domain: { name: 'D' } });
    expect(lent.target?.scope).toEqual({ kind: 'project', name: 'p', domain: { name: 'E' } });
  });

  it('is unscoped when nothing names a scope', () => {
    expect(resolveKeystone([{ authUrl: 'https://x/v3', userId: 'u' }]).target?.scope).toEqual({ kind: 'unscoped' });
  });

  it('lists everything missing, with flags and variables', () => {
    const resolution = resolveKeystone([{}, {}, {}]);
    expect(resolution.target).toBeUndefined();
    expect(describeMissing(resolution.missing)).toBe('auth URL (--auth-url (or --vendor with --region), env OS_AUTH_URL); user name (--username or --user-id, env OS_USERNAME or OS_USER_ID)');
    expect(describeMissing(resolveKeystone([{ authUrl: 'https://x/v3', username: 'a' }]).missing)).toBe("user's domain (--user-domain, env OS_USER_DOMAIN_NAME)");
    expect(describeMissing(resolveKeystone([{ authUrl: 'https://x/v3', userId: 'u', project: 'p' }]).missing)).toBe("project's domain (--project-domain, env OS_PROJECT_DOMAIN_NAME)");
  });

  it('rejects contradicting flags', () => {
    expect(() => checkFlagConflicts({ projectId: 'p', domain: 'd' })).toThrow('--project-id and --domain cannot be used together');
    expect(() => checkFlagConflicts({ username: 'a', userId: 'b' })).toThrow('--username and --user-id');
    expect(() => checkFlagConflicts({ unscoped: true, project: 'p' })).toThrow('--project and --unscoped');
    expect(() => checkFlagConflicts({ project: 'p', projectDomain: 'd', username: 'a', userDomain: 'd' })).not.toThrow();
  });
});

describe('targets and their cache keys', () => {
  const base = { kind: 'keystone', authUrl: 'https://x/v3', user: { name: 'a', domain: { name: 'D' } }, scope: { kind: 'project', id: 'p' } } as const;
  it('differ when the auth URL, the user or the scope differ', () => {
    const keys = new Set([
      targetKey(base),
      targetKey({ ...base, authUrl: 'https://y/v3' }),
      targetKey({ ...base, user: { name: 'b', domain: { name: 'D' } } }),
      targetKey({ ...base, user: { name: 'a', domain: { id: 'D' } } }),
      targetKey({ ...base, scope: { kind: 'project', id: 'q' } }),
      targetKey({ ...base, scope: { kind: 'domain', domain: { name: 'p' } } }),
      targetKey({ ...base, scope: { kind: 'unscoped' } }),
    ]);
    expect(keys.size).toBe(7);
    expect(targetKey({ ...base })).toBe(targetKey(base));
  });
});

describe('URLs', () => {
  it('normalises a trailing slash', () => {
    expect(checkUrl('https://iam.example.com/v3/', 'auth URL', '--auth-url', false)).toBe('https://iam.example.com/v3');
  });
  it('allows plain http only for loopback unless told', () => {
    expect(checkUrl('http://127.0.0.1:5000/v3', 'auth URL', '--auth-url', false)).toBe('http://127.0.0.1:5000/v3');
    expect(checkUrl('http://localhost/v3', 'auth URL', '--auth-url', false)).toBe('http://localhost/v3');
    expect(checkUrl('http://[::1]:5000/v3', 'auth URL', '--auth-url', false)).toBe('http://[::1]:5000/v3');
    expect(checkUrl('http://[::ffff:127.0.0.1]:5000/v3', 'auth URL', '--auth-url', false)).toBe('http://[::ffff:7f00:1]:5000/v3');
    expect(() => checkUrl('http://[::ffff:10.0.0.1]/v3', 'auth URL', '--auth-url', false)).toThrow('refusing plain http://');
    expect(() => checkUrl('http://[::ffff:7f00:1].example.com/v3', 'auth URL', '--auth-url', false)).toThrow();
    expect(() => checkUrl('http://iam.example.com/v3', 'auth URL', '--auth-url', false)).toThrow('refusing plain http://');
    expect(checkUrl('http://iam.example.com/v3', 'auth URL', '--auth-url', true)).toBe('http://iam.example.com/v3');
  });
  it.each(['', 'iam.example.com', 'ftp://x/v3', 'https://u:p@x/v3', 'https://x/v3?a=1', 'https://x/v3#f'])('refuses %j', (url) => {
    expect(() => checkUrl(url, 'auth URL', '--auth-url', false)).toThrow();
  });
});

describe('URLs given by the user, in messages', () => {
  it.each([
    ['no scheme', 'bob:secret@127.0.0.1/v3', '…@127.0.0.1/v3'],
    ['no scheme, a proxy', 'bob:secret@127.0.0.1:1', '…@127.0.0.1:1'],
    ['a user only', 'bob@iam.example.com', '…@iam.example.com'],
    ['an unencoded / in the password', 'https://bob:pa/ss@iam.example.com/v3', 'https://…@iam.example.com/v3'],
    ['an unencoded ? or # in the password', 'https://bob:pa?s#s@iam.example.com/v3', 'https://…@iam.example.com/v3'],
    ['backslashes for slashes', 'https:\\\\bob:secret@iam.example.com', 'https:\\\\…@iam.example.com'],
    ['another scheme', 'ftp://bob:secret@host/v3', 'ftp://…@host/v3'],
    [';-parameters', 'https://iam.example.com/v3;jsessionid=secret', 'https://iam.example.com/v3;…'],
    [';-parameters, no scheme', 'iam.example.com/v3;token=secret?x=1', 'iam.example.com/v3;…'],
    ['a query, no scheme', 'iam.example.com/v3?token=secret', 'iam.example.com/v3?…'],
    ['a fragment', 'https://iam.example.com/v3#secret', 'https://iam.example.com/v3#…'],
  ])('never show userinfo, a query or ;-parameters: %s', async (_, url, shown) => {
    const { displayUrl } = await import('../../src/core/settings.js');
    expect(displayUrl(url)).toBe(shown);
  });

  it.each(['bob:secret@127.0.0.1/v3', 'bob:secret@127.0.0.1:1', 'https:\\\\bob:secret@127.0.0.1', 'iam.example.com/v3;secret', 'https://iam.example.com/v3;x=secret'])('checkUrl never echoes userinfo or parameters: %s', (url) => {
    let message = '';
    try {
      checkUrl(url, 'auth URL', '--auth-url', false);
    } catch (error) {
      message = (error as Error).message + String((error as { hint?: string }).hint);
    }
    expect(message).not.toContain('secret');
  });

  it('keeps what a reader needs of a URL without secrets', async () => {
    const { displayUrl } = await import('../../src/core/settings.js');
    for (const url of ['https://iam.example.com/v3', 'iam.example.com:5000/v3', 'htps://iam.example.com/v3', 'https://iam.example.com:99999/v3', '', '?']) expect(displayUrl(url)).toBe(url);
  });

  it('never show the user:password@ part or the query, even when the URL does not parse', async () => {
    const { displayUrl } = await import('../../src/core/settings.js');
    expect(displayUrl('https://bob:s3cret@127.0.0.1:99999/v3')).toBe('https://…@127.0.0.1:99999/v3');
    expect(displayUrl('https://iam.example.com/v3?access_token=abc123')).toBe('https://iam.example.com/v3?…');
    for (const url of ['https://bob:s3cret@127.0.0.1:99999/v3', 'https://iam.example.com:99999/v3?access_token=abc123', 'ftp://bob:s3cret@host/v3', 'https://iam.example.com/v3#tok=abc123']) {
      let message = '';
      try {
        checkUrl(url, 'auth URL', '--auth-url', false);
      } catch (error) {
        message = (error as Error).message + String((error as { hint?: string }).hint);
      }
      expect(message, url).not.toBe('');
      expect(message).not.toMatch(/s3cret|abc123/);
    }
  });
});
