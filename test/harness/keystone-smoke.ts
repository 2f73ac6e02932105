/**
 * Smoke test of the Keystone harness: `npx tsx test/harness/keystone-smoke.ts`.
 * Starts two instances in parallel (default and 5 s token expiration), checks the fixtures
 * against the behaviour the end-to-end suites rely on, stops both and checks nothing is left.
 * Exit code 0: all checks passed; 1: a check failed; 2: Keystone is not installed.
 */
import { access } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { startKeystone, type KeystoneHarness } from './keystone.js';

type Scope = Record<string, unknown> | undefined;

interface Reply {
  status: number;
  token: string | null;
  body: string;
}

let failures = 0;

function check(label: string, ok: boolean, detail = ''): void {
  if (!ok) failures++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}${detail ? `  ${detail}` : ''}`);
}

async function post(url: string, payload: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await fetch(`${url}/auth/tokens`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
  return { status: response.status, token: response.headers.get('x-subject-token'), body: (await response.text()).trim() };
}

function passwordLogin(url: string, user: { name: string; password: string; domainName: string }, scope: Scope): Promise<Reply> {
  const identity = { methods: ['password'], password: { user: { name: user.name, domain: { name: user.domainName }, password: user.password } } };
  return post(url, { auth: { identity, ...(scope ? { scope } : {}) } });
}

function tokenLogin(url: string, token: string, scope: Scope): Promise<Reply> {
  return post(url, { auth: { identity: { methods: ['token'], token: { id: token } }, ...(scope ? { scope } : {}) } });
}

async function validate(url: string, method: 'GET' | 'HEAD', authToken: string, subjectToken: string): Promise<Reply> {
  const response = await fetch(`${url}/auth/tokens`, { method, headers: { 'X-Auth-Token': authToken, 'X-Subject-Token': subjectToken } });
  return { status: response.status, token: null, body: (await response.text()).trim() };
}

function adminLogin(keystone: KeystoneHarness): Promise<Reply> {
  const { admin } = keystone.fixtures;
  return passwordLogin(keystone.url, admin, { project: { name: admin.projectName, domain: { name: admin.domainName } } });
}

async function timed<T>(work: Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work;
  return [result, Math.round(performance.now() - started)];
}

function short(body: string): string {
  return body.length > 300 ? `${body.slice(0, 300)}... (${body.length} chars)` : body;
}

async function checkScopes(keystone: KeystoneHarness): Promise<string> {
  const { url, fixtures } = keystone;
  const { member, project, otherProject, domain } = fixtures;
  const scoped = await passwordLogin(url, member, { project: { name: project.name, domain: { name: member.domainName } } });
  check('member -> /smartcity by name + domain: 201 with X-Subject-Token', scoped.status === 201 && scoped.token !== null, `${scoped.status}, token ${scoped.token?.length ?? 0} chars`);
  const domainScoped = await passwordLogin(url, member, { domain: { name: domain.name } });
  check('member -> domain Fiware: 201', domainScoped.status === 201, String(domainScoped.status));
  const other = await passwordLogin(url, member, { project: { id: otherProject.id } });
  check('member -> otherProject: 401', other.status === 401, `${other.status} ${other.body}`);
  return scoped.token ?? '';
}

async function checkErrors(keystone: KeystoneHarness, memberToken: string): Promise<void> {
  const { url, fixtures } = keystone;
  const { member, project, otherProject } = fixtures;
  const wrongPassword = await passwordLogin(url, { ...member, password: 'wrong' }, { project: { id: project.id } });
  check('wrong password: 401', wrongPassword.status === 401, `${wrongPassword.status} ${wrongPassword.body}`);
  const unknownProject = await passwordLogin(url, member, { project: { name: '/nowhere', domain: { name: member.domainName } } });
  check('unknown project: 401', unknownProject.status === 401, `${unknownProject.status} ${unknownProject.body}`);
  const rescope = await tokenLogin(url, memberToken, { project: { id: otherProject.id } });
  check('token-method rescope to otherProject: 401', rescope.status === 401, `${rescope.status} ${rescope.body}`);
  const admin = await adminLogin(keystone);
  const peek = await validate(url, 'GET', memberToken, admin.token ?? '');
  check("member GET /auth/tokens on the admin's token: 403", peek.status === 403, `${peek.status} ${short(peek.body)}`);
  const own = await validate(url, 'GET', memberToken, memberToken);
  check('member GET /auth/tokens on its own token: 200', own.status === 200, String(own.status));
}

async function checkExpiry(keystone: KeystoneHarness): Promise<void> {
  const { url, fixtures } = keystone;
  const { member, project } = fixtures;
  const login = await passwordLogin(url, member, { project: { id: project.id } });
  const expiresAt = Date.parse((JSON.parse(login.body) as { token: { expires_at: string } }).token.expires_at);
  const fresh = await validate(url, 'HEAD', (await adminLogin(keystone)).token ?? '', login.token ?? '');
  check('5 s instance: fresh token HEAD: 200', fresh.status === 200, `${fresh.status}, expires in ${expiresAt - Date.now()} ms`);
  await sleep(Math.max(0, expiresAt - Date.now()) + 1_000);
  // The checker's own token must be fresh too: an expired X-Auth-Token is a 401, not a 404.
  const expired = await validate(url, 'HEAD', (await adminLogin(keystone)).token ?? '', login.token ?? '');
  check('5 s instance: expired token HEAD: 404', expired.status === 404, String(expired.status));
  const expiredGet = await validate(url, 'GET', (await adminLogin(keystone)).token ?? '', login.token ?? '');
  check('5 s instance: expired token GET: 404', expiredGet.status === 404, `${expiredGet.status} ${expiredGet.body}`);
}

async function gone(keystone: KeystoneHarness): Promise<[boolean, boolean]> {
  let pidGone = false;
  try {
    process.kill(keystone.pid, 0);
  } catch (error) {
    pidGone = (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
  const dirGone = await access(keystone.dir).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
  return [pidGone, dirGone];
}

async function main(): Promise<void> {
  const started = performance.now();
  const [[first, firstMs], [second, secondMs]] = await Promise.all([timed(startKeystone()), timed(startKeystone({ tokenExpirationSeconds: 5 }))]);
  console.log(`started: default ${firstMs} ms, 5 s-expiry ${secondMs} ms, both ${Math.round(performance.now() - started)} ms`);
  if (!first.ok || !second.ok) {
    for (const start of [first, second]) {
      if (start.ok) await start.keystone.stop();
      else console.log(start.reason);
    }
    process.exitCode = 2;
    return;
  }
  const keystones = [first.keystone, second.keystone];
  try {
    for (const keystone of keystones) console.log(JSON.stringify({ url: keystone.url, pid: keystone.pid, dir: keystone.dir, fixtures: keystone.fixtures }, null, 2));
    const memberToken = await checkScopes(first.keystone);
    await checkErrors(first.keystone, memberToken);
    await checkExpiry(second.keystone);
  } finally {
    const [, stopMs] = await timed(Promise.all(keystones.map((keystone) => keystone.stop())));
    console.log(`stopped both in ${stopMs} ms`);
  }
  for (const keystone of keystones) {
    const [pidGone, dirGone] = await gone(keystone);
    check(`pid ${keystone.pid} gone, ${keystone.dir} removed`, pidGone && dirGone, `pid gone: ${pidGone}, dir gone: ${dirGone}`);
  }
  console.log(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
  process.exitCode = failures === 0 ? 0 : 1;
}

await main();
