/**
 * A real OpenStack Keystone (Debian's python3-keystone under uWSGI) on 127.0.0.1, for end-to-end
 * tests of authctl's Keystone v3 login (recipe and measured behaviour: shared/reference/keystone.md).
 *
 * Each call starts an isolated server: own temp dir (config, sqlite, Fernet token, receipt and
 * credential keys, log), own port, own admin password, own fixtures. Instances can run in parallel.
 * Sign-in methods: Keystone's default ones (password, token, application_credential, ...) plus
 * totp, with multi-factor receipts. The fixtures hold application credentials (also the OAuth2
 * clients of /v3/OS-OAUTH2/token), a TOTP user, an MFA user and a trust; the admin has system scope.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { base32Encode } from '../helpers/totp.js';

export interface KeystoneFixtures {
  domain: { id: string; name: 'Fiware' };
  project: { id: string; name: '/smartcity' };
  otherProject: { id: string; name: string };
  member: { id: string; name: string; password: string; domainName: 'Fiware' };
  /**
   * The bootstrap admin: admin role on project admin and on the system, so it can also log in
   * with `scope: {system: {all: true}}`.
   */
  admin: { id: string; name: 'admin'; password: string; projectName: 'admin'; domainName: 'Default' };
  /** The member's application credential on /smartcity, `unrestricted: true`. */
  appCredential: AppCredentialFixture;
  /** A second one of the member on /smartcity, `unrestricted: false` (Keystone's default). */
  restrictedAppCredential: AppCredentialFixture;
  /** Created, then deleted: logging in with it gets 404. */
  deletedAppCredential: { id: string; secret: string };
  /** Password and TOTP credential, no MFA rules: password alone or TOTP alone each log in. */
  totpUser: TotpUserFixture;
  /** Password and TOTP credential, and MFA rule [["password","totp"]]: both factors are needed. */
  mfaUser: TotpUserFixture;
  /** The member (trustor) delegates its member role on /smartcity to `trustee` (no roles of its own); impersonation false. */
  trust: { id: string; trusteeName: 'trustee'; trusteeDomain: 'Fiware'; trusteeId: string; trusteePassword: string };
}

export interface AppCredentialFixture {
  id: string;
  name: string;
  secret: string;
  /** The owner: the member user. */
  userId: string;
  userName: string;
  userDomain: 'Fiware';
  /** The project the credential is scoped to: /smartcity. */
  projectId: string;
  unrestricted: boolean;
}

export interface TotpUserFixture {
  id: string;
  name: string;
  /** The domain's name. */
  domain: 'Fiware';
  password: string;
  /** Base32 (upper case, no padding), the credential's blob: codes from test/helpers/totp.ts. */
  totpSecret: string;
}

export interface KeystoneHarness {
  url: string;
  pid: number;
  dir: string;
  fixtures: KeystoneFixtures;
  stop(): Promise<void>;
}

export type KeystoneStart = { ok: true; keystone: KeystoneHarness } | { ok: false; reason: string };

const INSTALL = 'apt-get install -y --no-install-recommends python3-keystone uwsgi-core uwsgi-plugin-python3';
const KEYSTONE_MANAGE = '/usr/bin/keystone-manage';
const WSGI_SCRIPT = '/usr/bin/keystone-wsgi-public';
const UWSGI = '/usr/bin/uwsgi';
// An alternatives symlink to python311_plugin.so on bookworm; existsSync follows it.
const UWSGI_PYTHON_PLUGIN = '/usr/lib/uwsgi/plugins/python3_plugin.so';
const REQUIRED: ReadonlyArray<readonly [path: string, pkg: string]> = [
  [KEYSTONE_MANAGE, 'python3-keystone'],
  [WSGI_SCRIPT, 'python3-keystone'],
  [UWSGI, 'uwsgi-core'],
  [UWSGI_PYTHON_PLUGIN, 'uwsgi-plugin-python3'],
];
// Not `python3` from the caller's PATH: on these machines that is a pyenv shim without Keystone.
const PLAIN_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

const STEP_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const BIND_ATTEMPTS = 3;
const LOG_TAIL_LINES = 40;

const DOMAIN_NAME = 'Fiware';
const PROJECT_NAME = '/smartcity';
const OTHER_PROJECT_NAME = '/othercity';
const MEMBER_NAME = 'smartcity-member';
const MEMBER_ROLE = 'member';
const TOTP_USER_NAME = 'totp-user';
const MFA_USER_NAME = 'mfa-user';
const TRUSTEE_NAME = 'trustee' as const;
const APP_CREDENTIAL_NAME = 'authctl-unrestricted';
const RESTRICTED_APP_CREDENTIAL_NAME = 'authctl-restricted';
const DELETED_APP_CREDENTIAL_NAME = 'authctl-deleted';
const AUTH_METHODS = ['external', 'password', 'token', 'oauth1', 'mapped', 'application_credential', 'totp'] as const;
const TOKEN_KEYS = 'fernet-keys';
const RECEIPT_KEYS = 'receipt-keys';
const CREDENTIAL_KEYS = 'credential-keys';
const KEY_REPOSITORIES = [TOKEN_KEYS, RECEIPT_KEYS, CREDENTIAL_KEYS] as const;

/** Everything one instance owns; `children` is what must die before `dir` can go. */
interface Instance {
  dir: string;
  conf: string;
  log: string;
  env: NodeJS.ProcessEnv;
  children: Set<ChildProcess>;
  /** Set by destroy(): a start still in flight (e.g. serve() after bootstrap failed) spawns nothing more. */
  closed: boolean;
}

// ---------------------------------------------------------------------------------------------
// Last-resort cleanup: if the test process exits without calling stop(), no uWSGI outlives it.

const live = new Set<Instance>();
let exitHookInstalled = false;

function track(instance: Instance): void {
  live.add(instance);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const { children, dir } of live) {
      for (const child of children) if (isRunning(child)) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Installation check

/** A project-scoped token of the bootstrap admin, for tests that act on Keystone as an operator (revoke, create). */
export async function adminToken(keystone: KeystoneHarness, url = keystone.url): Promise<string> {
  const { admin } = keystone.fixtures;
  const response = await fetch(`${url}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: admin.name, domain: { name: admin.domainName }, password: admin.password } } },
        scope: { project: { name: admin.projectName, domain: { name: admin.domainName } } },
      },
    }),
  });
  if (response.status !== 201) throw new Error(`the admin's login to ${url} answered ${response.status}`);
  return response.headers.get('x-subject-token')!;
}

export function keystoneMissing(): string | undefined {
  if (process.platform !== 'linux') return `Keystone harness needs Linux (Debian packages), not ${process.platform}`;
  const missing = REQUIRED.filter(([path]) => !existsSync(path));
  if (missing.length === 0) return undefined;
  const what = missing.map(([path, pkg]) => `${path} (${pkg})`).join(', ');
  return `Keystone is not installed (missing ${what}): ${INSTALL}`;
}

// ---------------------------------------------------------------------------------------------
// Processes

/** False for a child that failed to spawn too: it has no pid and never emits 'exit'. */
function isRunning(child: ChildProcess): boolean {
  return child.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

// Every keystone-manage run prints this eventlet teardown traceback at exit; it is never the cause.
const EXIT_NOISE = /Exception ignored in: <function _removeHandlerRef[\s\S]*?AttributeError: 'NoneType' object has no attribute 'getcurrent'\n/g;
// oslo.log colours whatever it writes to stderr.
const ANSI_COLOUR = /\x1b\[[0-9;]*m/g;

async function logTail(instance: Instance): Promise<string> {
  const text = (await readFile(instance.log, 'utf8').catch(() => '')).replace(EXIT_NOISE, '').replace(ANSI_COLOUR, '');
  return text.split('\n').slice(-LOG_TAIL_LINES - 1).join('\n').trimEnd();
}

async function failure(instance: Instance, message: string): Promise<Error> {
  return new Error(`${message}\n--- last ${LOG_TAIL_LINES} lines of ${instance.log} ---\n${await logTail(instance)}`);
}

const CLEAN_EXIT = 'exited with code 0';

interface Spawned {
  child: ChildProcess;
  /** Settles on 'exit', or on 'error' for a failed spawn (which emits no 'exit'): describes how it ended. */
  ended: Promise<string>;
}

/** Spawns with stdio on the log file: an inherited stdout would keep a caller's `$(...)` open. */
async function spawnLogged(instance: Instance, command: string, args: string[]): Promise<Spawned> {
  const log = await open(instance.log, 'a');
  try {
    if (instance.closed) throw new Error(`not spawning ${command}: this Keystone instance is being torn down`);
    const child = spawn(command, args, { cwd: instance.dir, env: instance.env, stdio: ['ignore', log.fd, log.fd] });
    instance.children.add(child);
    // Listeners go on synchronously: a spawn error is emitted before any await resumes.
    const ended = new Promise<string>((resolve) => {
      child.once('error', (error) => resolve(`could not be spawned: ${error.message}`));
      child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : code === 0 ? CLEAN_EXIT : `exited with code ${code}`));
    }).finally(() => instance.children.delete(child));
    return { child, ended };
  } finally {
    await log.close();
  }
}

async function keystoneManage(instance: Instance, args: string[]): Promise<void> {
  const { child, ended } = await spawnLogged(instance, KEYSTONE_MANAGE, ['--config-file', instance.conf, ...args]);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, STEP_TIMEOUT_MS);
  const outcome = await ended;
  clearTimeout(timer);
  if (timedOut) throw await failure(instance, `keystone-manage ${args[0]} did not finish within ${STEP_TIMEOUT_MS / 1000} s`);
  if (outcome !== CLEAN_EXIT) throw await failure(instance, `keystone-manage ${args[0]} ${outcome}`);
}

// ---------------------------------------------------------------------------------------------
// Configuration and database

function keystoneConf(dir: string, expirationSeconds: number): string {
  return [
    '[database]',
    `connection = sqlite:///${join(dir, 'keystone.db')}`,
    '[token]',
    'provider = fernet',
    `expiration = ${expirationSeconds}`,
    '[fernet_tokens]',
    `key_repository = ${join(dir, TOKEN_KEYS)}`,
    '[fernet_receipts]',
    // Multi-factor receipts get their own keys; without this Keystone reads /etc/keystone/fernet-keys.
    `key_repository = ${join(dir, RECEIPT_KEYS)}`,
    '[receipt]',
    'provider = fernet',
    '[credential]',
    `key_repository = ${join(dir, CREDENTIAL_KEYS)}`,
    // With caching on, the second TOTP login of a user answers 500 (KeyError: 'encrypted_blob').
    'caching = false',
    '[auth]',
    // The default plus totp: application_credential and token are in it already.
    `methods = ${AUTH_METHODS.join(',')}`,
    '[identity]',
    // The default (12) costs ~200 ms per password login; 4 costs ~9 ms.
    'password_hash_rounds = 4',
    '[cache]',
    // Without a cache a token validation takes 0.4-0.5 s. Memory is per process: one worker only.
    'enabled = true',
    'backend = dogpile.cache.memory',
    '',
  ].join('\n');
}

async function createInstance(expirationSeconds: number): Promise<Instance> {
  const dir = await mkdtemp(join(tmpdir(), 'authctl-keystone-'));
  const conf = join(dir, 'keystone.conf');
  const instance: Instance = {
    dir,
    conf,
    log: join(dir, 'keystone.log'),
    env: { PATH: PLAIN_PATH, HOME: dir, LC_ALL: 'C.UTF-8', OS_KEYSTONE_CONFIG_FILES: conf },
    children: new Set(),
    closed: false,
  };
  track(instance);
  await writeFile(conf, keystoneConf(dir, expirationSeconds), { mode: 0o600 });
  return instance;
}

/**
 * The three Fernet key folders (tokens, receipts, credential encryption), written here rather than
 * by `keystone-manage fernet_setup`, `receipt_setup` and `credential_setup`: those are three more
 * Python starts (2-2.5 s of CPU each, measured) competing with db_sync for the cores, and all they
 * leave is what writeKeyRepository writes. Measured over 6 interleaved starts: 4 s less CPU and
 * about 1 s less wall time than running fernet_setup and credential_setup.
 */
async function initializeKeys(instance: Instance): Promise<void> {
  await Promise.all(KEY_REPOSITORIES.map((name) => writeKeyRepository(join(instance.dir, name))));
}

/**
 * What keystone-manage's *_setup leave (keystone/common/fernet_utils.py): a 0700 folder with a
 * staged key `0` and a primary key `1`, each a 0600 file holding a Fernet key: 32 random bytes,
 * URL-safe base64 with padding (Python's urlsafe_b64decode refuses it unpadded). Owned by whoever
 * runs the tests, which is who runs Keystone.
 */
async function writeKeyRepository(path: string): Promise<void> {
  await mkdir(path, { mode: 0o700 });
  const fernetKey = () => randomBytes(32).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
  await Promise.all(['0', '1'].map((name) => writeFile(join(path, name), fernetKey(), { mode: 0o600, flag: 'wx' })));
}

/**
 * No --bootstrap-public-url: the port is only final once uWSGI has bound it, so the identity
 * endpoint is registered over REST afterwards. That lets bootstrap run while uWSGI loads.
 */
async function bootstrap(instance: Instance, adminPassword: string): Promise<void> {
  await keystoneManage(instance, [
    'bootstrap',
    // One argument: a base64url password starts with '-' one time in 64, and argparse then takes
    // it for an option ("--bootstrap-password: expected one argument").
    `--bootstrap-password=${adminPassword}`,
    '--bootstrap-username', 'admin',
    '--bootstrap-project-name', 'admin',
    '--bootstrap-role-name', 'admin',
    '--bootstrap-service-name', 'keystone',
    '--bootstrap-region-id', 'RegionOne',
  ]);
}

// ---------------------------------------------------------------------------------------------
// Serving

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function uwsgiArgs(port: number): string[] {
  return [
    '--plugin', 'python3',
    '--http-socket', `127.0.0.1:${port}`,
    '--wsgi-file', WSGI_SCRIPT,
    // One process, one thread: sqlite and the memory cache are only consistent that way.
    '--processes', '1',
    '--threads', '1',
    // Without it SIGTERM reloads instead of exiting.
    '--die-on-term',
    '--skip-atexit-teardown',
    // Exit instead of answering every request with 500 when the application fails to load.
    '--need-app',
    // By default a request with over 4 KB of headers gets its connection closed, no response.
    '--buffer-size', '65535',
    // The socket closes after each answer; say so, or HTTP/1.1 clients that reuse connections
    // (python-requests in the openstack client) send their next request into a reset.
    '--add-header', 'Connection: close',
  ];
}

type BindOutcome = 'bound' | 'port-in-use';

async function logSince(instance: Instance, offset: number): Promise<string> {
  const text = await readFile(instance.log).catch(() => Buffer.alloc(0));
  return text.subarray(offset).toString('utf8');
}

async function waitForBind(instance: Instance, server: Spawned, port: number, logOffset: number, deadline: number): Promise<BindOutcome> {
  for (;;) {
    const text = await logSince(instance, logOffset);
    if (text.includes(`bound to TCP address 127.0.0.1:${port}`)) return 'bound';
    if (!isRunning(server.child)) {
      if (text.includes('Address already in use')) return 'port-in-use';
      throw await failure(instance, `uWSGI ${await server.ended} before binding 127.0.0.1:${port}`);
    }
    if (Date.now() > deadline) throw await failure(instance, `uWSGI did not bind 127.0.0.1:${port} within ${READY_TIMEOUT_MS / 1000} s`);
    await sleep(50);
  }
}

async function answers200(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function waitForHttp(instance: Instance, server: Spawned, url: string, deadline: number): Promise<void> {
  for (;;) {
    // The port is ours (waitForBind saw our uWSGI bind it); still, a 200 only counts while it lives.
    if ((await answers200(url)) && isRunning(server.child)) return;
    if (!isRunning(server.child)) throw await failure(instance, `Keystone ${await server.ended} before GET ${url} answered 200`);
    if (Date.now() > deadline) throw await failure(instance, `GET ${url} did not answer 200 within ${READY_TIMEOUT_MS / 1000} s`);
    await sleep(100);
  }
}

/**
 * The port is found free, released, then handed to uWSGI; something else may grab it in between
 * (another instance started in parallel, say), so a failed bind is retried on a new port.
 */
async function serve(instance: Instance): Promise<{ server: ChildProcess; url: string }> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logOffset = (await stat(instance.log).catch(() => ({ size: 0 }))).size;
    const server = await spawnLogged(instance, UWSGI, uwsgiArgs(port));
    const outcome = await waitForBind(instance, server, port, logOffset, deadline);
    if (outcome === 'port-in-use') {
      if (attempt < BIND_ATTEMPTS) continue;
      throw await failure(instance, `uWSGI could not bind a free port in ${BIND_ATTEMPTS} attempts`);
    }
    const url = `http://127.0.0.1:${port}/v3`;
    await waitForHttp(instance, server, url, deadline);
    return { server: server.child, url };
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures over Keystone's REST API

type Json = Record<string, unknown>;

/** A password login, project-scoped: who the fixtures are created as. */
interface Login {
  who: string;
  user: Json;
  password: string;
  project: Json;
}

class KeystoneApi {
  private token = '';

  constructor(
    private readonly url: string,
    private readonly as: Login,
  ) {}

  async login(): Promise<void> {
    const response = await fetch(`${this.url}/auth/tokens`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { ...this.as.user, password: this.as.password } } },
          scope: { project: this.as.project },
        },
      }),
    });
    const token = response.headers.get('x-subject-token');
    const body = await response.text();
    if (response.status !== 201 || token === null) throw new Error(`${this.as.who} login: ${response.status} ${body}`);
    this.token = token;
  }

  /** Re-logs in once on 401: with a short `[token] expiration` the token can lapse mid-setup. */
  async call(method: string, path: string, body?: Json, retried = false): Promise<Json> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { 'X-Auth-Token': this.token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (response.status === 401 && !retried) {
      await this.login();
      return this.call(method, path, body, true);
    }
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text === '' ? {} : (JSON.parse(text) as Json);
  }

  async create(collection: string, key: string, entity: Json): Promise<string> {
    const created = await this.call('POST', `/${collection}`, { [key]: entity });
    return idOf(created[key], `POST /${collection}`);
  }
}

function idOf(entity: unknown, what: string): string {
  const id = (entity as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') throw new Error(`${what}: no id in the response`);
  return id;
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

async function memberRoleId(api: KeystoneApi): Promise<string> {
  const { roles } = (await api.call('GET', `/roles?name=${MEMBER_ROLE}`)) as { roles?: unknown[] };
  if (roles?.[0] !== undefined) return idOf(roles[0], 'GET /roles');
  // Bootstrap creates admin, member and reader since Rocky; older releases only admin.
  return api.create('roles', 'role', { name: MEMBER_ROLE });
}

async function registerEndpoint(api: KeystoneApi, url: string): Promise<void> {
  const serviceId = await api.create('services', 'service', { type: 'identity', name: 'keystone', enabled: true });
  await api.create('endpoints', 'endpoint', { service_id: serviceId, interface: 'public', url, region_id: 'RegionOne', enabled: true });
}

interface AppCredentialCreated {
  id: string;
  name: string;
  secret: string;
}

async function createAppCredential(member: KeystoneApi, memberId: string, name: string, unrestricted: boolean): Promise<AppCredentialCreated> {
  const path = `/users/${memberId}/application_credentials`;
  const created = (await member.call('POST', path, { application_credential: { name, unrestricted } })).application_credential as { secret?: unknown } | undefined;
  // The secret is in this answer only: Keystone stores a hash.
  if (typeof created?.secret !== 'string') throw new Error(`POST ${path}: no secret in the response`);
  return { id: idOf(created, `POST ${path}`), name, secret: created.secret };
}

/** A user of the Fiware domain with the member role on /smartcity and a TOTP credential. */
async function createTotpUser(api: KeystoneApi, ids: { domainId: string; projectId: string; roleId: string }, name: string, options?: Json): Promise<TotpUserFixture> {
  const password = secret();
  // 20 bytes, RFC 6238's length for SHA-1: 32 base32 characters, no padding.
  const totpSecret = base32Encode(randomBytes(20));
  const id = await api.create('users', 'user', { name, domain_id: ids.domainId, password, enabled: true, ...(options ? { options } : {}) });
  await Promise.all([
    api.call('PUT', `/projects/${ids.projectId}/users/${id}/roles/${ids.roleId}`),
    api.create('credentials', 'credential', { type: 'totp', user_id: id, blob: totpSecret }),
  ]);
  return { id, name, domain: DOMAIN_NAME, password, totpSecret };
}

async function createFixtures(url: string, adminPassword: string): Promise<KeystoneFixtures> {
  const api = new KeystoneApi(url, {
    who: 'admin',
    user: { name: 'admin', domain: { name: 'Default' } },
    password: adminPassword,
    project: { name: 'admin', domain: { name: 'Default' } },
  });
  await api.login();
  await registerEndpoint(api, url);
  const adminId = idOf(((await api.call('GET', '/users?name=admin')) as { users?: unknown[] }).users?.[0], 'GET /users?name=admin');
  const domainId = await api.create('domains', 'domain', { name: DOMAIN_NAME, enabled: true });
  const memberPassword = secret();
  const trusteePassword = secret();
  const [projectId, otherProjectId, memberId, trusteeId, roleId] = await Promise.all([
    api.create('projects', 'project', { name: PROJECT_NAME, domain_id: domainId, enabled: true }),
    api.create('projects', 'project', { name: OTHER_PROJECT_NAME, domain_id: domainId, enabled: true }),
    api.create('users', 'user', { name: MEMBER_NAME, domain_id: domainId, password: memberPassword, enabled: true }),
    // No role anywhere: all it may do comes from the trust.
    api.create('users', 'user', { name: TRUSTEE_NAME, domain_id: domainId, password: trusteePassword, enabled: true }),
    memberRoleId(api),
  ]);
  const ids = { domainId, projectId, roleId };
  // Application credentials and trusts can only be made by their owner (policy: the owner, not
  // the admin), with a token scoped to the project they delegate.
  const member = new KeystoneApi(url, { who: MEMBER_NAME, user: { id: memberId }, password: memberPassword, project: { id: projectId } });
  const delegations = async () => {
    await member.login();
    const [unrestricted, restricted, deleted, trustId] = await Promise.all([
      createAppCredential(member, memberId, APP_CREDENTIAL_NAME, true),
      createAppCredential(member, memberId, RESTRICTED_APP_CREDENTIAL_NAME, false),
      createAppCredential(member, memberId, DELETED_APP_CREDENTIAL_NAME, false),
      member
        .call('POST', '/OS-TRUST/trusts', {
          trust: { trustor_user_id: memberId, trustee_user_id: trusteeId, project_id: projectId, impersonation: false, roles: [{ name: MEMBER_ROLE }] },
        })
        .then((created) => idOf(created.trust, 'POST /OS-TRUST/trusts')),
    ]);
    await member.call('DELETE', `/users/${memberId}/application_credentials/${deleted.id}`);
    return { unrestricted, restricted, deleted, trustId };
  };
  const [{ unrestricted, restricted, deleted, trustId }, totpUser, mfaUser] = await Promise.all([
    Promise.all([
      api.call('PUT', `/projects/${projectId}/users/${memberId}/roles/${roleId}`),
      api.call('PUT', `/domains/${domainId}/users/${memberId}/roles/${roleId}`),
    ]).then(delegations),
    createTotpUser(api, ids, TOTP_USER_NAME),
    createTotpUser(api, ids, MFA_USER_NAME, { multi_factor_auth_rules: [['password', 'totp']], multi_factor_auth_enabled: true }),
  ]);
  const owner = { userId: memberId, userName: MEMBER_NAME, userDomain: DOMAIN_NAME, projectId } as const;
  return {
    domain: { id: domainId, name: DOMAIN_NAME },
    project: { id: projectId, name: PROJECT_NAME },
    otherProject: { id: otherProjectId, name: OTHER_PROJECT_NAME },
    member: { id: memberId, name: MEMBER_NAME, password: memberPassword, domainName: DOMAIN_NAME },
    admin: { id: adminId, name: 'admin', password: adminPassword, projectName: 'admin', domainName: 'Default' },
    appCredential: { ...unrestricted, ...owner, unrestricted: true },
    restrictedAppCredential: { ...restricted, ...owner, unrestricted: false },
    deletedAppCredential: { id: deleted.id, secret: deleted.secret },
    totpUser,
    mfaUser,
    trust: { id: trustId, trusteeName: TRUSTEE_NAME, trusteeDomain: DOMAIN_NAME, trusteeId, trusteePassword },
  };
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

async function terminate(child: ChildProcess): Promise<void> {
  if (!isRunning(child) || child.pid === undefined) return;
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (isRunning(child) && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  }, STOP_GRACE_MS);
  await exited(child);
  clearTimeout(timer);
}

async function destroy(instance: Instance): Promise<void> {
  instance.closed = true;
  await Promise.all([...instance.children].map(terminate));
  await rm(instance.dir, { recursive: true, force: true });
  live.delete(instance);
}

function harness(instance: Instance, server: ChildProcess, url: string, fixtures: KeystoneFixtures): KeystoneHarness {
  let stopping: Promise<void> | undefined;
  return {
    url,
    pid: server.pid!,
    dir: instance.dir,
    fixtures,
    stop: () => (stopping ??= destroy(instance)),
  };
}

/**
 * Never throws for "not installed": returns {ok:false, reason} naming what is missing and the
 * apt-get command to install it. Throws (with the tail of the keystone log) when installed but
 * fails to start.
 */
export async function startKeystone(options?: { tokenExpirationSeconds?: number }): Promise<KeystoneStart> {
  const missing = keystoneMissing();
  if (missing !== undefined) return { ok: false, reason: missing };
  const expiration = options?.tokenExpirationSeconds ?? 3600;
  if (!Number.isInteger(expiration) || expiration < 1) throw new Error(`tokenExpirationSeconds must be a positive integer, got ${expiration}`);

  const instance = await createInstance(expiration);
  try {
    const adminPassword = secret();
    await Promise.all([keystoneManage(instance, ['db_sync']), initializeKeys(instance)]);
    // uWSGI spends ~3 s loading Keystone; bootstrap only writes rows the server reads later.
    const [{ server, url }] = await Promise.all([serve(instance), bootstrap(instance, adminPassword)]);
    const fixtures = await createFixtures(url, adminPassword).catch(async (error: unknown) => {
      throw await failure(instance, `creating fixtures failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    return { ok: true, keystone: harness(instance, server, url, fixtures) };
  } catch (error) {
    await destroy(instance);
    throw error;
  }
}
