/**
 * Login at a terminal that asks for what is missing (issue 16): the scope picked from the user's
 * projects, a wrong password asked for again, a bad password told from a project without a role,
 * and the summary of what was saved; each with its no-terminal counterpart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HttpRequest } from '../../src/iam/http.js';
import { filterChoices } from '../../src/io/prompter.js';
import { run } from '../../src/main.js';
import { NOW, testFactory, type TestHarness } from '../helpers/factory.js';
import { AUTH_URL, issued, jsonBody, keystoneError, PROJECT, TOKENS_URL } from '../helpers/iam-responses.js';
import type { StubResponse } from '../helpers/http-stub.js';
import { HOUR, loggedIn, OS_ENV, PASSWORD } from '../helpers/steps.js';

const PROJECTS_URL = `${AUTH_URL}/auth/projects`;
const DOMAINS_URL = `${AUTH_URL}/auth/domains`;
const USER_ENV = { OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'alice', OS_USER_DOMAIN_NAME: 'Default', NO_COLOR: '1' };
const SCOPED_ENV = { ...USER_ENV, OS_PROJECT_NAME: 'demo' };
const ASK_PASSWORD = 'Password for alice (domain Default):';
const PICK = 'Scope for alice (domain Default), type to filter:';
const UNTIL = 'until 2026-12-01T13:00:00Z (1h 00m)';
const REFUSED = keystoneError(401, 'The request you have made requires authentication.');
const OPS = { id: 'p-ops', name: 'ops', domain: { id: 'default', name: 'Default' } };

const passwordBody = (password: string, scope?: object) => ({
  auth: {
    identity: { methods: ['password'], password: { user: { name: 'alice', domain: { name: 'Default' }, password } } },
    ...(scope ? { scope } : {}),
  },
});
const DEMO_SCOPE = { project: { name: 'demo', domain: { name: 'Default' } } };

/** A POST answered `answer` once its body is `body`. */
function expectPost(t: TestHarness, body: object, answer: StubResponse, headers: Record<string, string> = {}): void {
  t.http.on('POST', TOKENS_URL, (request: HttpRequest) => {
    expect(jsonBody(request)).toEqual(body);
    expect(request.headers).toMatchObject(headers);
    return answer;
  });
}

const unscopedToken = (token = 'gAAAA-unscoped') => issued({ token, issuedAt: NOW, expiresAt: NOW + HOUR, project: undefined });
const scopedToken = (token: string, project: typeof PROJECT = PROJECT) => issued({ token, issuedAt: NOW, expiresAt: NOW + HOUR, methods: ['token', 'password'], project });

function projectsAnswer(projects: { id: string; name: string; domain_id: string }[]): StubResponse {
  return { status: 200, body: { links: { self: PROJECTS_URL, next: null, previous: null }, projects: projects.map((p) => ({ ...p, enabled: true, is_domain: false, description: '', links: { self: `${AUTH_URL}/projects/${p.id}` } })) } };
}
function domainsAnswer(domains: { id: string; name: string }[]): StubResponse {
  return { status: 200, body: { links: { self: DOMAINS_URL, next: null, previous: null }, domains: domains.map((d) => ({ ...d, enabled: true, description: '' })) } };
}

/** The listing requests, each with the unscoped token as the caller. */
function expectListing(t: TestHarness, projects: StubResponse, domains: StubResponse, token = 'gAAAA-unscoped'): void {
  for (const [url, answer] of [[PROJECTS_URL, projects], [DOMAINS_URL, domains]] as const) {
    t.http.on('GET', url, (request) => {
      expect(request.headers?.['x-auth-token']).toBe(token);
      return answer;
    });
  }
}

/** A first login with everything from the environment, which the profile then keeps. */
async function loginFirst(t: TestHarness): Promise<void> {
  t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-first', issuedAt: NOW, expiresAt: NOW + HOUR }));
  expect(await run(['login'], t.withEnv({ ...OS_ENV, OS_PASSWORD: PASSWORD, NO_COLOR: '1' }))).toBe(0);
  t.clearOutput();
}

function savedProfile(t: TestHarness): Record<string, unknown> | undefined {
  try {
    return (JSON.parse(readFileSync(join(t.configDir, 'config.json'), 'utf8')) as { profiles: Record<string, Record<string, unknown>> }).profiles.default;
  } catch {
    return undefined;
  }
}

describe('no scope given: the person picks one of their projects', () => {
  it('lists projects and domains with the unscoped token, rescopes to the pick, saves it, and `token get` serves it', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_PASSWORD: PASSWORD }, tty: true, answers: [[PICK, 'project ops in domain Default']] });
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expectListing(
      t,
      projectsAnswer([{ id: 'p-ops', name: 'ops', domain_id: 'default' }, { id: 'p-demo', name: 'demo', domain_id: 'default' }, { id: 'p-far', name: 'far', domain_id: 'd-other' }]),
      domainsAnswer([{ id: 'default', name: 'Default' }]),
    );
    expectPost(t, { auth: { identity: { methods: ['token'], token: { id: 'gAAAA-unscoped' } }, scope: { project: { name: 'ops', domain: { name: 'Default' } } } } }, scopedToken('gAAAA-ops', OPS), { 'x-auth-token': 'gAAAA-unscoped' });

    expect(await run(['login'], t.factory)).toBe(0);

    // Sorted by name, projects first; a domain IAM did not name is shown by id.
    expect(t.offered).toEqual([{ message: PICK, choices: ['project demo in domain Default', 'project far in domain id d-other', 'project ops in domain Default', 'domain Default'] }]);
    expect(t.stderr()).toBe(
      `Logged in to ${AUTH_URL} as alice (domain Default), project ops in domain Default [profile default], ${UNTIL}; saved auth URL, user, project; token in the keychain, password not kept (--save-password keeps it for silent renewal)\n`,
    );
    expect(savedProfile(t)).toEqual({ kind: 'keystone', authUrl: AUTH_URL, username: 'alice', userDomain: 'Default', project: 'ops', projectDomain: 'Default', knownUserId: 'u-alice' });
    t.clearOutput();
    expect(await run(['token', 'get'], t.withEnv({}))).toBe(0);
    expect(t.stdout()).toBe('gAAAA-ops\n');
  });

  it('a domain can be picked: the token is domain-scoped and the profile saves the domain', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_PASSWORD: PASSWORD }, tty: true, answers: [[PICK, 'domain Default']] });
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expectListing(t, projectsAnswer([{ id: 'p-demo', name: 'demo', domain_id: 'default' }]), domainsAnswer([{ id: 'default', name: 'Default' }]));
    expectPost(t, { auth: { identity: { methods: ['token'], token: { id: 'gAAAA-unscoped' } }, scope: { domain: { name: 'Default' } } } }, unscopedToken('gAAAA-domain'));
    expect(await run(['login'], t.factory)).toBe(0);
    expect(savedProfile(t)).toMatchObject({ domain: 'Default' });
    expect(savedProfile(t)).not.toHaveProperty('project');
  });

  it('one project: taken, and said so; nothing is asked', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_PASSWORD: PASSWORD }, tty: true });
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expectListing(t, projectsAnswer([{ id: 'p-demo', name: 'demo', domain_id: 'default' }]), { status: 404, body: { error: { code: 404, message: 'not here' } } });
    expectPost(t, { auth: { identity: { methods: ['token'], token: { id: 'gAAAA-unscoped' } }, scope: DEMO_SCOPE } }, scopedToken('gAAAA-demo'));
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.stderr()).toMatch(/^alice \(domain Default\) has a role on project demo in domain Default only: scoping the token to it\nLogged in to .* as alice \(domain Default\), project demo in domain Default \[profile default\]/);
    expect(savedProfile(t)).toMatchObject({ project: 'demo', projectDomain: 'Default' });
  });

  it('no project: the token stays unscoped, with a line saying why, and no scope is saved', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_PASSWORD: PASSWORD }, tty: true });
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expectListing(t, projectsAnswer([]), domainsAnswer([]));
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.stderr()).toMatch(/^alice \(domain Default\) has no role on any project or domain, so the token is unscoped; once one is granted, log in again to pick it\nLogged in to .* as alice \(domain Default\), unscoped \[profile default\]/);
    expect(savedProfile(t)).toEqual({ kind: 'keystone', authUrl: AUTH_URL, username: 'alice', userDomain: 'Default', knownUserId: 'u-alice' });
  });

  it('projects that cannot be listed: a warning, and the unscoped token', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_PASSWORD: PASSWORD }, tty: true });
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expectListing(t, keystoneError(403, 'You are not authorized to perform the requested action.'), domainsAnswer([]));
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.stderr()).toMatch(/^warning: the projects of alice \(domain Default\) could not be listed \(listing your projects at .* was rejected \(403\): You are not authorized.*\), so the token is unscoped: give --project or --domain to scope it\n/);
  });

  it('without a terminal: one unscoped request, nothing listed or asked, the short summary', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_PASSWORD: PASSWORD } });
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.stderr()).toBe(`Logged in to ${AUTH_URL} as alice (domain Default), unscoped [profile default], ${UNTIL}\n`);
    expect(t.http.requests).toHaveLength(1);
  });

  it('--unscoped at a terminal is a scope: no list', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_PASSWORD: PASSWORD }, tty: true });
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expect(await run(['login', '--unscoped'], t.factory)).toBe(0);
    expect(t.http.requests).toHaveLength(1);
  });

  it('a scope saved in the profile is a scope too: a re-login asks nothing', async () => {
    const t = testFactory({ tty: true });
    await loginFirst(t);
    expectPost(t, passwordBody(PASSWORD, DEMO_SCOPE), scopedToken('gAAAA-again'));
    expect(await run(['login'], t.withEnv({ OS_PASSWORD: PASSWORD }))).toBe(0);
    expect(t.http.requests).toHaveLength(2);
  });
});

describe('a scoped 401: the password told from the project', () => {
  it('at a terminal, one unscoped attempt: the password is right, the project has no role; the projects are listed, nothing stored', async () => {
    const t = testFactory({ env: { ...SCOPED_ENV, OS_PASSWORD: PASSWORD }, tty: true });
    expectPost(t, passwordBody(PASSWORD, DEMO_SCOPE), REFUSED);
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expectListing(t, projectsAnswer([{ id: 'p-ops', name: 'ops', domain_id: 'default' }, { id: 'p-web', name: 'web', domain_id: 'default' }]), domainsAnswer([]));
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toBe(
      `authctl: login to ${AUTH_URL}: the password is right, but alice (domain Default) has no role on project demo in domain Default (or it does not exist); your projects: ops in domain Default, web in domain Default\n` +
        'hint: OS_PROJECT_NAME is set in this shell (an old openrc?): unset it, or give --project NAME (or --domain NAME); ' +
        `sent auth URL ${AUTH_URL} (from OS_AUTH_URL), user alice (from OS_USERNAME), user's domain Default (from OS_USER_DOMAIN_NAME), project demo (from OS_PROJECT_NAME), project's domain Default (the user's), password (from OS_PASSWORD)\n`,
    );
    expect(t.store.entries.size).toBe(0);
    expect(savedProfile(t)).toBeUndefined();
  });

  it('a scope from a flag, with domains only: the hint says to pick another', async () => {
    const t = testFactory({ env: { ...USER_ENV, OS_PASSWORD: PASSWORD }, tty: true });
    expectPost(t, passwordBody(PASSWORD, { project: { name: 'nope', domain: { name: 'Default' } } }), REFUSED);
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expectListing(t, projectsAnswer([]), domainsAnswer([{ id: 'default', name: 'Default' }]));
    expect(await run(['login', '--project', 'nope'], t.factory)).toBe(4);
    expect(t.stderr()).toMatch(/no role on project nope in domain Default \(or it does not exist\); no projects; your domains: Default\nhint: give --project NAME \(or --domain NAME\) with one of yours; sent .*project nope \(from --project\)/);
  });

  it('at a terminal, refused without the scope too: "wrong password, or no such user"; a password from the environment is not asked again', async () => {
    const t = testFactory({ env: { ...SCOPED_ENV, OS_PASSWORD: 'wrong-pw' }, tty: true });
    expectPost(t, passwordBody('wrong-pw', DEMO_SCOPE), REFUSED);
    expectPost(t, passwordBody('wrong-pw'), REFUSED);
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toBe(
      `authctl: login to ${AUTH_URL} was rejected (401): wrong password, or no such user\n` +
        `hint: check what was sent: auth URL ${AUTH_URL} (from OS_AUTH_URL), user alice (from OS_USERNAME), user's domain Default (from OS_USER_DOMAIN_NAME), project demo (from OS_PROJECT_NAME), project's domain Default (the user's), password (from OS_PASSWORD)\n`,
    );
    expect(t.http.requests).toHaveLength(2);
  });

  it('without a terminal: no second attempt (lockout policies count them); the refusal lists what was sent and from where', async () => {
    const t = testFactory({ env: { ...SCOPED_ENV, OS_PASSWORD: 'wrong-pw' } });
    expectPost(t, passwordBody('wrong-pw', DEMO_SCOPE), REFUSED);
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toBe(
      `authctl: login to ${AUTH_URL} was rejected (401): The request you have made requires authentication.\n` +
        `hint: check what was sent: auth URL ${AUTH_URL} (from OS_AUTH_URL), user alice (from OS_USERNAME), user's domain Default (from OS_USER_DOMAIN_NAME), project demo (from OS_PROJECT_NAME), project's domain Default (the user's), password (from OS_PASSWORD)\n`,
    );
    expect(t.http.requests).toHaveLength(1);
  });

  it('values from the profile and from a flag are each named', async () => {
    const t = testFactory({ tty: true });
    await loginFirst(t);
    expectPost(t, passwordBody('wrong-pw', { project: { name: 'web', domain: { name: 'Default' } } }), REFUSED);
    expectPost(t, passwordBody('wrong-pw'), REFUSED);
    expect(await run(['login', '--project', 'web'], t.withEnv({ OS_PASSWORD: 'wrong-pw', NO_COLOR: '1' }))).toBe(4);
    expect(t.stderr()).toContain(`hint: check what was sent: auth URL ${AUTH_URL} (from profile default), user alice (from profile default), user's domain Default (from profile default), project web (from --project), project's domain Default (the user's), password (from OS_PASSWORD)\n`);
  });

  it("an openrc for another user and project, without the project's domain: the new user's domain, never the profile's", async () => {
    const t = testFactory();
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-member', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.withEnv({ OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'member', OS_USER_DOMAIN_NAME: 'Fiware', OS_PROJECT_NAME: '/smartcity', OS_PASSWORD: 'pw-member' }))).toBe(0);
    expect(savedProfile(t)).toMatchObject({ username: 'member', userDomain: 'Fiware', project: '/smartcity', projectDomain: 'Fiware' });
    t.clearOutput();
    const admin = { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { name: 'Default' }, password: 'pw-admin' } } }, scope: { project: { name: 'admin', domain: { name: 'Default' } } } } };
    expectPost(t, admin, issued({ token: 'gAAAA-admin', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login'], t.withEnv({ OS_AUTH_URL: AUTH_URL, OS_USERNAME: 'admin', OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_NAME: 'admin', OS_PASSWORD: 'pw-admin' }))).toBe(0);
    expect(savedProfile(t)).toMatchObject({ username: 'admin', userDomain: 'Default', project: 'admin', projectDomain: 'Default' });
  });

  it('a 403 is not a 401: no unscoped attempt, the answer as it was', async () => {
    const t = testFactory({ env: { ...SCOPED_ENV, OS_PASSWORD: PASSWORD }, tty: true });
    expectPost(t, passwordBody(PASSWORD, DEMO_SCOPE), keystoneError(403, 'Forbidden.'));
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toBe(`authctl: login to ${AUTH_URL} was rejected (403): Forbidden.\nhint: check the user name, domain, password and scope (project or domain)\n`);
    expect(t.http.requests).toHaveLength(1);
  });

  it('an unscoped 401 without a terminal: IAM\'s words, and what was sent', async () => {
    const t = testFactory({ env: { OS_AUTH_URL: AUTH_URL, OS_USER_ID: 'u-alice', OS_PASSWORD: 'wrong-pw' } });
    t.http.on('POST', TOKENS_URL, keystoneError(401, 'The username or password is wrong.'));
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toBe(
      `authctl: login to ${AUTH_URL} was rejected (401): The username or password is wrong.\nhint: check what was sent: auth URL ${AUTH_URL} (from OS_AUTH_URL), user id u-alice (from OS_USER_ID), password (from OS_PASSWORD)\n`,
    );
  });
});

describe('a wrong password at a terminal is asked for again', () => {
  it('three tries as sudo gives: after the first refusal each try goes unscoped and the token is rescoped', async () => {
    const t = testFactory({
      env: SCOPED_ENV,
      tty: true,
      answers: [
        [ASK_PASSWORD, 'typo-1'],
        [ASK_PASSWORD, PASSWORD],
      ],
    });
    expectPost(t, passwordBody('typo-1', DEMO_SCOPE), REFUSED);
    expectPost(t, passwordBody('typo-1'), REFUSED);
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expectPost(t, { auth: { identity: { methods: ['token'], token: { id: 'gAAAA-unscoped' } }, scope: DEMO_SCOPE } }, scopedToken('gAAAA-demo'), { 'x-auth-token': 'gAAAA-unscoped' });
    expect(await run(['login'], t.factory)).toBe(0);
    expect(t.stderr()).toBe(
      "warning: wrong password, or no such user (user alice (from OS_USERNAME), user's domain Default (from OS_USER_DOMAIN_NAME)); try again (2 of 3), or Ctrl-C\n" +
        `Logged in to ${AUTH_URL} as alice (domain Default), project demo in domain Default [profile default], ${UNTIL}; saved auth URL, user, project; token in the keychain, password not kept (--save-password keeps it for silent renewal)\n`,
    );
    expect(t.stderr()).not.toContain('typo-1');
  });

  it('three wrong: exit 4 after the third, nothing stored, one request a try', async () => {
    const t = testFactory({
      env: USER_ENV,
      tty: true,
      answers: [
        [ASK_PASSWORD, 'typo-1'],
        [ASK_PASSWORD, 'typo-2'],
        [ASK_PASSWORD, 'typo-3'],
      ],
    });
    for (const password of ['typo-1', 'typo-2', 'typo-3']) expectPost(t, passwordBody(password), REFUSED);
    expect(await run(['login'], t.factory)).toBe(4);
    const lines = t.stderr().split('\n');
    expect(lines.filter((line) => line.startsWith('warning: wrong password'))).toHaveLength(2);
    expect(lines).toContain(`authctl: login to ${AUTH_URL} was rejected (401): wrong password, or no such user (3 tries)`);
    expect(lines).toContain(`hint: check what was sent: auth URL ${AUTH_URL} (from OS_AUTH_URL), user alice (from OS_USERNAME), user's domain Default (from OS_USER_DOMAIN_NAME), password (typed at the prompt)`);
    expect(t.store.entries.size).toBe(0);
    expect(t.http.requests).toHaveLength(3);
  });

  it('the right password on a retry, but a project without a role: said so, with the projects', async () => {
    const t = testFactory({ env: SCOPED_ENV, tty: true, answers: [[ASK_PASSWORD, 'typo-1'], [ASK_PASSWORD, PASSWORD]] });
    expectPost(t, passwordBody('typo-1', DEMO_SCOPE), REFUSED);
    expectPost(t, passwordBody('typo-1'), REFUSED);
    expectPost(t, passwordBody(PASSWORD), unscopedToken());
    expectPost(t, { auth: { identity: { methods: ['token'], token: { id: 'gAAAA-unscoped' } }, scope: DEMO_SCOPE } }, REFUSED);
    expectListing(t, projectsAnswer([{ id: 'p-ops', name: 'ops', domain_id: 'default' }]), domainsAnswer([]));
    expect(await run(['login'], t.factory)).toBe(4);
    expect(t.stderr()).toMatch(/\nauthctl: login to \S+: the password is right, but alice \(domain Default\) has no role on project demo in domain Default \(or it does not exist\); your projects: ops in domain Default\n/);
  });

  it('a saved password the IAM refuses is asked for at a terminal, and the new one replaces it', async () => {
    const t = testFactory({ tty: true, answers: [[ASK_PASSWORD, 'new-password']] });
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-first', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login', '--save-password'], t.withEnv({ ...SCOPED_ENV, OS_PASSWORD: PASSWORD }))).toBe(0);
    t.clearOutput();
    expectPost(t, passwordBody(PASSWORD, DEMO_SCOPE), REFUSED);
    expectPost(t, passwordBody(PASSWORD), REFUSED);
    expectPost(t, passwordBody('new-password'), unscopedToken());
    expectPost(t, { auth: { identity: { methods: ['token'], token: { id: 'gAAAA-unscoped' } }, scope: DEMO_SCOPE } }, scopedToken('gAAAA-demo'));
    expect(await run(['login'], t.withEnv({ NO_COLOR: '1' }))).toBe(0);
    expect(t.stderr()).toMatch(/^warning: the password saved in the keychain was refused: wrong password, or no such user \(user alice \(from profile default\), user's domain Default \(from profile default\)\); try again \(2 of 3\), or Ctrl-C\n/);
    expect(t.stderr()).toMatch(/; token and password in the keychain\n$/);
    expect(t.store.entries.get('default:password')).toBe('authctl1:new-password');
  });

  it('without a terminal, a wrong password is never retried', async () => {
    const t = testFactory({ env: USER_ENV, stdin: 'wrong-pw\n' });
    expectPost(t, passwordBody('wrong-pw'), REFUSED);
    expect(await run(['login', '--password-stdin'], t.factory)).toBe(4);
    expect(t.stderr()).toContain('password (from --password-stdin)');
    expect(t.http.requests).toHaveLength(1);
  });
});

describe('the summary says what was saved', () => {
  it('with --save-password: the token and the password, in the keychain', async () => {
    const t = testFactory({ env: { ...SCOPED_ENV, OS_PASSWORD: PASSWORD }, tty: true });
    expectPost(t, passwordBody(PASSWORD, DEMO_SCOPE), scopedToken('gAAAA-demo'));
    expect(await run(['login', '--save-password'], t.factory)).toBe(0);
    expect(t.stderr()).toBe(`Logged in to ${AUTH_URL} as alice (domain Default), project demo in domain Default [profile default], ${UNTIL}; saved auth URL, user, project; token and password in the keychain\n`);
  });

  it('in the file store', async () => {
    const t = testFactory({ env: { ...SCOPED_ENV, OS_PASSWORD: PASSWORD, AUTHCTL_FILE_PASSPHRASE: 'a-passphrase' }, tty: true });
    expectPost(t, passwordBody(PASSWORD, DEMO_SCOPE), scopedToken('gAAAA-demo'));
    expect(await run(['login', '--store', 'file'], t.factory)).toBe(0);
    expect(t.stderr()).toMatch(/; saved auth URL, user, project; token in the file store, password not kept \(--save-password keeps it for silent renewal\)\n$/);
  });
});

describe('authctl projects', () => {
  it("lists the profile's projects and domains, marking the token's scope; --json for scripts", async () => {
    const t = testFactory();
    await loggedIn(t);
    expectListing(t, projectsAnswer([{ id: 'p-ops', name: 'ops', domain_id: 'default' }, { id: 'p-demo', name: 'demo', domain_id: 'default' }]), domainsAnswer([{ id: 'default', name: 'Default' }]), 'gAAAA-first');
    expect(await run(['projects'], t.withEnv({}))).toBe(0);
    expect(t.stdout()).toBe(['  SCOPE    NAME     DOMAIN   ID', '* project  demo     Default  p-demo', '  project  ops      Default  p-ops', '  domain   Default  -        default', ''].join('\n'));
    expect(t.stderr()).toBe('');
    t.clearOutput();

    expectListing(t, projectsAnswer([{ id: 'p-demo', name: 'demo', domain_id: 'default' }]), domainsAnswer([]), 'gAAAA-first');
    expect(await run(['projects', '--json'], t.withEnv({}))).toBe(0);
    expect(JSON.parse(t.stdout())).toEqual({ profile: 'default', projects: [{ id: 'p-demo', name: 'demo', domain: { id: 'default', name: 'Default' }, current: true }], domains: [] });
  });

  it('none: a line on stderr, nothing on stdout', async () => {
    const t = testFactory();
    await loggedIn(t);
    expectListing(t, projectsAnswer([]), domainsAnswer([]), 'gAAAA-first');
    expect(await run(['projects'], t.withEnv({}))).toBe(0);
    expect(t.stdout()).toBe('');
    expect(t.stderr()).toBe('alice (domain Default) has no role on any project or domain\n');
  });

  it('a token IAM refuses before its time: renewed once with the saved password, then listed', async () => {
    const t = testFactory();
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-first', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expect(await run(['login', '--save-password'], t.withEnv({ ...OS_ENV, OS_PASSWORD: PASSWORD }))).toBe(0);
    t.clearOutput();
    t.http.on('GET', PROJECTS_URL, keystoneError(401, 'The request you have made requires authentication.'));
    t.http.on('GET', DOMAINS_URL, domainsAnswer([]));
    t.http.on('POST', TOKENS_URL, issued({ token: 'gAAAA-second', issuedAt: NOW, expiresAt: NOW + HOUR }));
    expectListing(t, projectsAnswer([{ id: 'p-demo', name: 'demo', domain_id: 'default' }]), domainsAnswer([]), 'gAAAA-second');
    expect(await run(['projects', '--json'], t.withEnv({}))).toBe(0);
    expect(JSON.parse(t.stdout())).toMatchObject({ projects: [{ id: 'p-demo', current: true }] });
  });

  it('not logged in: exit 3; a method without projects: exit 2', async () => {
    const t = testFactory();
    expect(await run(['projects'], t.factory)).toBe(3);
    t.clearOutput();
    t.http.on('POST', 'https://auth.example.com/api/v2/tenant/token', { status: 200, body: { access_token: 'oauth-token', token_type: 'Bearer', expires_in: 1800 } });
    expect(await run(['login', '--client-id', 'svc', '--token-url', 'https://auth.example.com/api/v2/tenant/token'], t.withEnv({ AUTHCTL_CLIENT_SECRET: 'client-secret' }))).toBe(0);
    t.clearOutput();
    expect(await run(['projects'], t.withEnv({}))).toBe(2);
    expect(t.stderr()).toMatch(/^authctl: profile default logs in with OAuth2 client credentials, whose tokens have no projects to choose from\n/);
  });
});


describe('the picker filters as the person types', () => {
  const choices = ['project /smartcity in domain Fiware', 'project /othercity in domain Fiware', 'domain Fiware'].map((name) => ({ name, value: name }));
  it.each([
    [undefined, 3],
    ['', 3],
    ['CITY', 2],
    ['smart fiware', 1],
    ['domain fiware', 3],
    ['nowhere', 0],
  ] as const)('%j leaves %i', (term, left) => {
    expect(filterChoices(choices, term)).toHaveLength(left);
  });
});
