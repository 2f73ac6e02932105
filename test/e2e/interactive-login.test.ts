/**
 * Interactive login against a real Keystone (Debian's python3-keystone), on a real pseudo-terminal
 * (util-linux `script`), driven as a person would: the project picked with the arrow keys or by
 * typing, a mistyped password asked for again, and a right password on a project without a role
 * told from a wrong one. Beside the harness's fixtures, one user of its own: `picker`, with the
 * member role on /smartcity and /othercity (the member has it on /smartcity and on the domain).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminToken, keystoneMissing, startKeystone, type KeystoneHarness } from '../harness/keystone.js';
import { isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { startPty, type PtySession } from '../helpers/pty.js';

const keyring = inject('keyring');
const ready =
  requireOrSkip(keystoneMissing(), 'interactive login against Keystone') &&
  requireOrSkip(keyring.ok ? undefined : keyring.reason, 'interactive login against Keystone (OS keychain)') &&
  requireOrSkip(existsSync('/usr/bin/script') ? undefined : 'util-linux `script` is missing: apt-get install -y bsdutils', 'interactive login against Keystone (pty)');

const DOWN = '\x1b[B';

let keystone: KeystoneHarness;
const picker = { name: 'picker', password: randomBytes(18).toString('base64url') };

/** A call to Keystone's REST API as the bootstrap admin. */
async function asAdmin(method: string, path: string, body?: object): Promise<Record<string, unknown>> {
  const token = await adminToken(keystone);
  const response = await fetch(`${keystone.url}${path}`, {
    method,
    headers: { 'x-auth-token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

function userEnv(user: { name: string; password?: string }, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return isolatedEnv({ OS_AUTH_URL: keystone.url, OS_USERNAME: user.name, OS_USER_DOMAIN_NAME: 'Fiware', OS_PASSWORD: user.password, NO_COLOR: '1', ...extra });
}

async function scopeOf(env: Record<string, string | undefined>): Promise<unknown> {
  const result = await runCli(['token', 'get', '--json'], { env: { ...env, OS_PASSWORD: undefined } });
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { scope: unknown }).scope;
}

function savedProfile(env: Record<string, string | undefined>): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'), 'utf8')) as { profiles: Record<string, Record<string, unknown>> }).profiles.default!;
}

/** Keys as a person presses them: one at a time, each after the screen had time to follow. */
async function press(session: PtySession, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    await sleep(150);
    session.type(key);
  }
}

describe.runIf(ready)('interactive login against a real Keystone, at a terminal', () => {
  beforeAll(async () => {
    const started = await startKeystone();
    if (!started.ok) throw new Error(started.reason);
    keystone = started.keystone;
    const { domain, project, otherProject } = keystone.fixtures;
    const { roles } = (await asAdmin('GET', '/roles?name=member')) as { roles: { id: string }[] };
    const { user } = (await asAdmin('POST', '/users', { user: { name: picker.name, domain_id: domain.id, password: picker.password, enabled: true } })) as { user: { id: string } };
    for (const projectId of [project.id, otherProject.id]) await asAdmin('PUT', `/projects/${projectId}/users/${user.id}/roles/${roles[0]!.id}`);
  }, 180_000);

  afterAll(async () => {
    await keystone?.stop();
  });

  it('no scope given: the projects are listed, the arrow keys pick one, the token is scoped to it and the profile keeps it', async () => {
    const env = userEnv(picker);
    const session = startPty(['login'], env);
    await session.waitFor(/Scope for picker \(domain Fiware\), type to filter:[\s\S]*\/othercity[\s\S]*\/smartcity/);
    // Sorted by name: /othercity first; one down is /smartcity.
    await press(session, DOWN, '\r');
    expect(await session.exit).toBe(0);
    expect(session.output()).toMatch(/Logged in to http:\/\/127\.0\.0\.1:\d+\/v3 as picker \(domain Fiware\), project \/smartcity in domain Fiware \[profile default\], until \S+ \(59m\); saved auth URL, user, project; token in the keychain, password not kept/);
    expect(await scopeOf(env)).toMatchObject({ project: { id: keystone.fixtures.project.id, name: '/smartcity' } });
    expect(savedProfile(env)).toMatchObject({ project: '/smartcity', projectDomain: 'Fiware' });
    expect(session.output()).not.toContain(picker.password);
  });

  it('typing filters the list: Enter takes the one left', async () => {
    const env = userEnv(picker);
    const session = startPty(['login'], env);
    await session.waitFor(/Scope for picker[\s\S]*\/smartcity/);
    await press(session, 'o', 't', 'h', 'e', 'r');
    await sleep(300);
    await press(session, '\r');
    expect(await session.exit).toBe(0);
    expect(await scopeOf(env)).toMatchObject({ project: { id: keystone.fixtures.otherProject.id } });
  });

  it('a mistyped password is asked for again (2 of 3), and the right one logs in', async () => {
    const { member } = keystone.fixtures;
    const env = userEnv({ name: member.name }, { OS_PROJECT_NAME: '/smartcity' });
    const session = startPty(['login'], env);
    await session.waitFor(/Password for smartcity-member/);
    await press(session, 'not-the-password\r');
    await session.waitFor(/wrong password, or no such user \(user smartcity-member \(from OS_USERNAME\), user's domain Fiware \(from OS_USER_DOMAIN_NAME\)\); try again \(2 of 3\), or Ctrl-C[\s\S]*Password for smartcity-member/);
    await press(session, `${member.password}\r`);
    expect(await session.exit).toBe(0);
    expect(session.output()).toMatch(/Logged in to .* as smartcity-member \(domain Fiware\), project \/smartcity in domain Fiware \[profile default\]/);
    expect(session.output()).not.toContain('not-the-password');
    expect(await scopeOf(env)).toMatchObject({ project: { id: keystone.fixtures.project.id } });
  });

  it('three wrong passwords: exit 4 after the third', async () => {
    const env = userEnv({ name: picker.name }, { OS_PROJECT_NAME: '/smartcity' });
    const session = startPty(['login'], env);
    for (const attempt of [1, 2, 3]) {
      await session.waitFor(attempt === 1 ? /Password for picker/ : new RegExp(`try again \\(${attempt} of 3\\)[\\s\\S]*Password for picker`));
      await press(session, `wrong-${attempt}\r`);
    }
    expect(await session.exit).toBe(4);
    expect(session.output()).toMatch(/authctl: login to \S+ was rejected \(401\): wrong password, or no such user \(3 tries\)/);
    expect(existsSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'))).toBe(false);
  });

  it('the right password on a project without a role (an openrc left in the shell): said so, with the projects the user has', async () => {
    const { member } = keystone.fixtures;
    const env = userEnv(member, { OS_PROJECT_NAME: '/othercity' });
    const session = startPty(['login'], env);
    expect(await session.exit).toBe(4);
    const screen = session.output().replace(/\r?\n/g, '\n');
    expect(screen).toMatch(
      /authctl: login to \S+: the password is right, but smartcity-member \(domain Fiware\) has no role on project \/othercity in domain Fiware \(or it does not exist\); your projects: \/smartcity in domain Fiware; your domains: Fiware\n/,
    );
    expect(screen).toMatch(/hint: OS_PROJECT_NAME is set in this shell \(an old openrc\?\): unset it, or give --project NAME \(or --domain NAME\); sent auth URL \S+ \(from OS_AUTH_URL\), user smartcity-member \(from OS_USERNAME\), .*project \/othercity \(from OS_PROJECT_NAME\).*password \(from OS_PASSWORD\)\n/);
    expect(existsSync(join(env.AUTHCTL_CONFIG_DIR!, 'config.json'))).toBe(false);
  });

  it('without a terminal the same login is one request: Keystone\'s 401, and what was sent, from where', async () => {
    const env = userEnv(keystone.fixtures.member, { OS_PROJECT_NAME: '/othercity' });
    const result = await runCli(['login'], { env });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^authctl: login to \S+ was rejected \(401\): The request you have made requires authentication\.\nhint: check what was sent: auth URL \S+ \(from OS_AUTH_URL\), .*project \/othercity \(from OS_PROJECT_NAME\), project's domain Fiware \(the user's\), password \(from OS_PASSWORD\)\n$/);
  });

  it('authctl projects lists them for scripts', async () => {
    const env = userEnv(keystone.fixtures.member, { OS_PROJECT_NAME: '/smartcity' });
    expect((await runCli(['login'], { env })).code).toBe(0);
    const result = await runCli(['projects', '--json'], { env: { ...env, OS_PASSWORD: undefined } });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      profile: 'default',
      projects: [{ id: keystone.fixtures.project.id, name: '/smartcity', domain: { id: keystone.fixtures.domain.id, name: 'Fiware' }, current: true }],
      domains: [{ id: keystone.fixtures.domain.id, name: 'Fiware', current: false }],
    });
  });
});
