/**
 * Keystone federation through OpenID Connect, as deployed: a real Keystone (test/harness/keystone.ts)
 * behind a real Apache httpd whose mod_auth_openidc (OAuth 2.0 resource-server mode, `AuthType
 * oauth20`) checks the bearer access token at the introspection endpoint of a real oidc-provider and
 * passes the introspected claims on as `OIDC_CLAIM_*` request headers, which Keystone's mapping
 * reads (`HTTP_OIDC_CLAIM_*` in its WSGI environ; the issuer, `HTTP_OIDC_CLAIM_ISS`, is the remote id).
 *
 * - Keystone: the shared harness creates the database, keys and fixtures; this file starts a
 *   second uWSGI on the same database and keys, with that configuration plus the `openid` auth
 *   method and `[openid] remote_id_attribute` (the shared one has neither and takes no options).
 *   The identity provider, mapping and protocol are created over REST as the admin.
 * - Apache: 127.0.0.1 only, its own config in a temp dir, in the foreground as a child process;
 *   proxies everything to that uWSGI and protects only
 *   `/v3/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth`.
 * - The provider: this file's own oidc-provider (the shared one has no introspection and issues
 *   opaque tokens): `cli-confidential` (client credentials; its tokens have no `sub`, so the
 *   mapping falls back to `client_id`), `cli-public` (device flow, with the login/consent pages
 *   test/harness/browser.ts drives), and `keystone-rs`, the resource server Apache introspects as.
 *   mod_auth_openidc takes only an https introspection endpoint, so the provider also listens with
 *   TLS (a throwaway self-signed certificate, not checked by Apache); the issuer stays http.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPair, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Configuration } from 'oidc-provider';
import { adminToken, keystoneMissing, startKeystone, type KeystoneHarness } from './keystone.js';
import { memoryAdapterFactory } from './oauth2-server.js';

const APACHE = '/usr/sbin/apache2';
const APACHE_MODULES = '/usr/lib/apache2/modules';
const OPENIDC_MODULE = `${APACHE_MODULES}/mod_auth_openidc.so`;
const INSTALL = 'apt-get install -y --no-install-recommends apache2 libapache2-mod-auth-openidc';
const UWSGI = '/usr/bin/uwsgi';
const WSGI_SCRIPT = '/usr/bin/keystone-wsgi-public';
const PLAIN_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

export const IDP_ID = 'oidc-provider';
export const PROTOCOL_ID = 'openid';
export const GROUP_NAME = 'federated-smartcity';
/** The introspection response's claim the mapping takes the user from (client credentials: no `sub`). */
export const USER_CLAIM = 'HTTP_OIDC_CLAIM_CLIENT_ID';
export const SUB_CLAIM = 'HTTP_OIDC_CLAIM_SUB';
export const ISSUER_ATTRIBUTE = 'HTTP_OIDC_CLAIM_ISS';

export interface FederationHarness {
  keystone: KeystoneHarness;
  /** Apache's Keystone: `http://127.0.0.1:{port}/v3`. */
  authUrl: string;
  /** The second uWSGI (with the openid method), unprotected: `http://127.0.0.1:{port}/v3`. */
  directUrl: string;
  issuer: string;
  discovery: string;
  client: { id: string; secret: string };
  /** `cli-public`, for the device flow. */
  publicClient: { id: string };
  /** Times (ms) from the start, for the report. */
  timings: Record<string, number>;
  /** Apache's error log so far (mod_auth_openidc logs its refusals there). */
  apacheLog(): Promise<string>;
  /** Apache's access log so far: `client request-line status`. */
  accessLog(): Promise<string>;
  stop(): Promise<void>;
}

export type FederationStart = { ok: true; federation: FederationHarness } | { ok: false; reason: string };

export function federationMissing(): string | undefined {
  const keystone = keystoneMissing();
  if (keystone !== undefined) return keystone;
  const missing = [
    [APACHE, 'apache2'],
    [`${APACHE_MODULES}/mod_proxy_http.so`, 'apache2'],
    [OPENIDC_MODULE, 'libapache2-mod-auth-openidc'],
  ].filter(([path]) => !existsSync(path!));
  if (missing.length === 0) return undefined;
  return `Apache with mod_auth_openidc is not installed (missing ${missing.map(([path, pkg]) => `${path} (${pkg})`).join(', ')}): ${INSTALL}`;
}

// ---------------------------------------------------------------------------------------------
// Processes

// Last-resort cleanup: if the test process exits without stop(), no Apache or uWSGI outlives it.
const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHook = false;
function track(child: ChildProcess, dir: string): void {
  children.add(child);
  dirs.add(dir);
  child.once('exit', () => children.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
}

const running = (child: ChildProcess) => child.pid !== undefined && child.exitCode === null && child.signalCode === null;

async function spawnLogged(command: string, args: string[], log: string, env: NodeJS.ProcessEnv, dir: string): Promise<ChildProcess> {
  const fd = await open(log, 'a');
  try {
    const child = spawn(command, args, { cwd: dir, env, stdio: ['ignore', fd.fd, fd.fd] });
    track(child, dir);
    return child;
  } finally {
    await fd.close();
  }
}

async function terminate(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || !running(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => running(child) && child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

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

async function waitFor(url: string, child: ChildProcess, log: string, what: string, ok: (status: number) => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (ok(response.status) && running(child)) return;
    } catch {
      // not yet
    }
    if (!running(child)) throw new Error(`${what} exited before ${url} answered\n--- ${log} ---\n${await tail(log)}`);
    if (Date.now() > deadline) throw new Error(`${what}: ${url} did not answer within ${READY_TIMEOUT_MS / 1000} s\n--- ${log} ---\n${await tail(log)}`);
    await sleep(100);
  }
}

async function tail(path: string, lines = 40): Promise<string> {
  return (await readFile(path, 'utf8').catch(() => '')).split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------------
// The provider: client credentials and introspection


/**
 * mod_auth_openidc refuses an http introspection endpoint at start ("... cannot be parsed as a
 * \"https\" URL (scheme == http)!"): the provider also listens with TLS, for Apache alone.
 */
function selfSignedCertificate(dir: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, 'provider-key.pem');
  const cert = join(dir, 'provider-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', env: { PATH: PLAIN_PATH } });
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

async function listenOn(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

interface ProviderInstance {
  servers: Server[];
  issuer: string;
  /** https://127.0.0.1:{port}/token/introspection: the same provider over TLS. */
  introspection: string;
  client: { id: string; secret: string };
  /** `cli-public`: device flow, no secret. */
  publicClient: { id: string };
  resourceServer: { id: string; secret: string };
}

async function startProvider(dir: string): Promise<ProviderInstance> {
  const { Provider } = await import('oidc-provider');
  const { privateKey } = (await promisify(generateKeyPair)('rsa', { modulusLength: 2048 })) as { privateKey: KeyObject };
  const jwk: JsonWebKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };
  const server = createHttpServer();
  const tls = createHttpsServer(selfSignedCertificate(dir));
  const [port, tlsPort] = await Promise.all([listenOn(server), listenOn(tls)]);
  const issuer = `http://127.0.0.1:${port}`;
  const client = { id: 'cli-confidential', secret: randomBytes(24).toString('base64url') };
  const resourceServer = { id: 'keystone-rs', secret: randomBytes(24).toString('base64url') };
  const publicClient = { id: 'cli-public' };
  const configuration: Configuration = {
    adapter: memoryAdapterFactory(),
    clients: [
      { client_id: client.id, client_secret: client.secret, token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
      { client_id: publicClient.id, application_type: 'native', token_endpoint_auth_method: 'none', grant_types: [DEVICE_CODE], response_types: [], redirect_uris: [] },
      { client_id: resourceServer.id, client_secret: resourceServer.secret, token_endpoint_auth_method: 'client_secret_basic', grant_types: [], response_types: [], redirect_uris: [] },
    ],
    jwks: { keys: [jwk] },
    scopes: ['openid', 'profile'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    // Every login name is an account.
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub, name: sub, preferred_username: sub }) }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, RefreshToken: 3600, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, DeviceCode: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true, ...DEVICE_PAGES },
      // Only the resource server (Apache) may introspect.
      introspection: { enabled: true, allowedPolicy: async (ctx: { oidc: { client: { clientId: string } } }) => ctx.oidc.client.clientId === resourceServer.id },
    },
  } as unknown as Configuration;
  const provider = new Provider(issuer, configuration);
  (provider as unknown as { on(e: string, f: (...a: unknown[]) => void): void }).on('server_error', (_ctx: unknown, err: unknown) => console.error('federation provider:', err));
  const appCallback = provider.callback();
  const callback = (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith('/interaction/')) return appCallback(req, res);
    interaction(provider as unknown as InteractiveProvider, req, res).catch((err: unknown) => {
      if (!res.headersSent) html(res, 400, page('Error', `<div id="error">${esc(err instanceof Error ? err.message : err)}</div>`));
    });
  };
  server.on('request', callback);
  tls.on('request', callback);
  return { servers: [server, tls], issuer, introspection: `https://127.0.0.1:${tlsPort}/token/introspection`, client, publicClient, resourceServer };
}

// ---------------------------------------------------------------------------------------------
// The provider's pages, as test/harness/browser.ts expects them (the element ids of
// test/harness/oidc-provider-harness.ts, whose provider has no introspection and takes no options)

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

const esc = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${esc(title)}</title></head>\n<body>\n<h1>${esc(title)}</h1>\n${body}\n</body></html>\n`;
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(body);
}

const DEVICE_PAGES = {
  userCodeInputSource: async (ctx: { body: string }, form: string, _out: unknown, err: unknown) => {
    ctx.body = page('Device sign-in', `<p id="message"${err ? ' class="error"' : ''}>Enter the code displayed on your device</p>\n${form}\n<button id="submit" type="submit" form="op.deviceInputForm">Continue</button>`);
  },
  userCodeConfirmSource: async (ctx: { body: string }, form: string, client: { clientId: string }, _info: unknown, userCode: string) => {
    ctx.body = page(
      'Confirm device',
      `<p>${esc(client.clientId)} asks to sign in, code <code id="user-code">${esc(userCode)}</code></p>\n${form}\n` +
        `<button id="confirm" type="submit" form="op.deviceConfirmForm">Continue</button>\n<button id="abort" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
    );
  },
  successSource: async (ctx: { body: string }) => {
    ctx.body = page('Sign-in success', '<p id="device-done">Your device is signed in.</p>');
  },
};

interface InteractiveProvider {
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ uid: string; prompt: { name: string; details: Record<string, unknown> }; params: Record<string, unknown>; session?: { accountId?: string }; grantId?: string }>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  Grant: {
    new (properties: { accountId?: string; clientId: unknown }): { addOIDCScope(scope: string): void; addOIDCClaims(claims: string[]): void; save(): Promise<string> };
    find(id: string): Promise<{ addOIDCScope(scope: string): void; addOIDCClaims(claims: string[]): void; save(): Promise<string> } | undefined>;
  };
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** Login (any name) and consent (Allow/Deny), nothing else. */
async function interaction(provider: InteractiveProvider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [, uid, action] = /^\/interaction\/([^/?]+)(?:\/([a-z]+))?/.exec(req.url ?? '') ?? [];
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const base = `/interaction/${esc(uid)}`;
  if (req.method === 'GET' && action === undefined) {
    if (details.prompt.name === 'login') {
      return html(res, 200, page('Sign-in',
        `<form id="login" method="post" action="${base}/login"><input id="username" name="login" required><input id="password" type="password" name="password"><button id="sign-in" type="submit">Sign in</button></form>\n` +
          `<form method="post" action="${base}/abort"><button id="cancel-button" type="submit">Cancel</button></form>`));
    }
    return html(res, 200, page('Authorize',
      `<form id="consent" method="post" action="${base}/confirm"><button id="allow" type="submit">Allow</button></form>\n` +
        `<form method="post" action="${base}/abort"><button id="deny-button" type="submit">Deny</button></form>`));
  }
  const form = await readForm(req);
  if (action === 'login') {
    const login = form.get('login')?.trim();
    if (!login) return html(res, 400, page('Error', '<div id="error">a login name is required</div>'));
    return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm') {
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session?.accountId, clientId: details.params.client_id });
    if (grant === undefined) throw new Error('grant not found');
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
  }
  return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
}

// ---------------------------------------------------------------------------------------------
// Keystone with the openid method

/** The shared harness's configuration plus the openid method and where its issuer is. */
async function federatedKeystoneConf(keystone: KeystoneHarness): Promise<string> {
  const conf = await readFile(join(keystone.dir, 'keystone.conf'), 'utf8');
  const withMethod = conf.replace(/^methods = (.*)$/m, (_line, methods: string) => `methods = ${methods},openid`);
  if (withMethod === conf) throw new Error(`no [auth] methods line in ${keystone.dir}/keystone.conf`);
  return `${withMethod}[openid]\nremote_id_attribute = ${ISSUER_ATTRIBUTE}\n`;
}

function uwsgiArgs(port: number): string[] {
  // As test/harness/keystone.ts runs it.
  return [
    '--plugin', 'python3',
    '--http-socket', `127.0.0.1:${port}`,
    '--wsgi-file', WSGI_SCRIPT,
    '--processes', '1',
    '--threads', '1',
    '--die-on-term',
    '--skip-atexit-teardown',
    '--need-app',
    '--buffer-size', '65535',
    '--add-header', 'Connection: close',
  ];
}

// ---------------------------------------------------------------------------------------------
// Apache

function apacheConf(o: { dir: string; port: number; upstream: number; introspection: string; resourceServer: { id: string; secret: string } }): string {
  const root = process.getuid?.() === 0;
  const modules = ['mpm_event', 'authz_core', 'authz_user', 'authn_core', 'proxy', 'proxy_http', 'auth_openidc'];
  return [
    `ServerRoot ${o.dir}`,
    `ServerName 127.0.0.1`,
    ...modules.map((m) => `LoadModule ${m}_module ${APACHE_MODULES}/mod_${m}.so`),
    `Listen 127.0.0.1:${o.port}`,
    `PidFile ${o.dir}/apache.pid`,
    `DefaultRuntimeDir ${o.dir}/run`,
    `ErrorLog ${o.dir}/apache-error.log`,
    'LogLevel warn auth_openidc:info',
    `LogFormat "%h %r %>s" short`,
    `CustomLog ${o.dir}/apache-access.log short`,
    // As root, the workers drop to an unprivileged user; as anyone else, they stay.
    ...(root ? ['User www-data', 'Group www-data'] : []),
    'StartServers 1',
    'ServerLimit 1',
    'ThreadsPerChild 8',
    'MaxRequestWorkers 8',
    'MinSpareThreads 1',
    'MaxSpareThreads 8',
    'KeepAlive Off',
    // mod_auth_openidc in resource-server mode: check the bearer at the provider's introspection endpoint.
    `OIDCOAuthIntrospectionEndpoint ${o.introspection}`,
    `OIDCOAuthClientID ${o.resourceServer.id}`,
    `OIDCOAuthClientSecret ${o.resourceServer.secret}`,
    'OIDCOAuthIntrospectionEndpointAuth client_secret_basic',
    'OIDCOAuthSSLValidateServer Off',
    // A client-credentials token has no sub; client_id is in every introspection answer.
    'OIDCOAuthRemoteUserClaim client_id',
    'OIDCOAuthTokenIntrospectionInterval -1',
    `OIDCCryptoPassphrase ${randomBytes(16).toString('hex')}`,
    'OIDCPassClaimsAs headers',
    'ProxyPreserveHost On',
    `ProxyPass / http://127.0.0.1:${o.upstream}/`,
    `ProxyPassReverse / http://127.0.0.1:${o.upstream}/`,
    '<LocationMatch "^/v3/OS-FEDERATION/identity_providers/[^/]+/protocols/[^/]+/auth$">',
    '  AuthType oauth20',
    '  Require valid-user',
    '</LocationMatch>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Keystone's federation objects, by the admin over REST


async function call(url: string, token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'X-Auth-Token': token, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/**
 * Only a person's token has a sub (device flow); every one has a client_id (client credentials:
 * only that). When both rules match, Keystone takes the first rule's user ("Ignoring user name"
 * for the others, keystone/federation/utils.py _transform): sub first.
 */
export function mappingRules(groupId: string): unknown[] {
  return [
    { local: [{ user: { name: '{0}', type: 'ephemeral' } }, { group: { id: groupId } }], remote: [{ type: SUB_CLAIM }] },
    { local: [{ user: { name: '{0}', type: 'ephemeral' } }, { group: { id: groupId } }], remote: [{ type: USER_CLAIM }] },
  ];
}

async function configureFederation(url: string, keystone: KeystoneHarness, issuer: string): Promise<void> {
  const token = await adminToken(keystone, url);
  const { domain, project } = keystone.fixtures;
  const group = (await call(url, token, 'POST', '/groups', { group: { name: GROUP_NAME, domain_id: domain.id } })).group as { id: string };
  const roles = (await call(url, token, 'GET', '/roles?name=member')).roles as { id: string }[];
  await call(url, token, 'PUT', `/projects/${project.id}/groups/${group.id}/roles/${roles[0]!.id}`);
  await call(url, token, 'PUT', `/OS-FEDERATION/identity_providers/${IDP_ID}`, { identity_provider: { remote_ids: [issuer], enabled: true } });
  await call(url, token, 'PUT', `/OS-FEDERATION/mappings/${IDP_ID}-mapping`, { mapping: { rules: mappingRules(group.id) } });
  await call(url, token, 'PUT', `/OS-FEDERATION/identity_providers/${IDP_ID}/protocols/${PROTOCOL_ID}`, { protocol: { mapping_id: `${IDP_ID}-mapping` } });
}

// ---------------------------------------------------------------------------------------------

export async function startFederation(): Promise<FederationStart> {
  const missing = federationMissing();
  if (missing !== undefined) return { ok: false, reason: missing };
  const started = Date.now();
  const timings: Record<string, number> = {};
  const dir = await mkdtemp(join(tmpdir(), 'authctl-federation-'));
  let keystone: KeystoneHarness | undefined;
  let provider: ProviderInstance | undefined;
  let uwsgi: ChildProcess | undefined;
  let apache: ChildProcess | undefined;
  const stop = async () => {
    await Promise.all([terminate(apache), terminate(uwsgi)]);
    if (provider) await Promise.all(provider.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()).closeAllConnections())));
    await keystone?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Both settle before anything is judged, so that stop() knows all there is to stop.
    const [ks, op] = await Promise.allSettled([startKeystone(), startProvider(dir)]);
    if (ks.status === 'fulfilled' && ks.value.ok) keystone = ks.value.keystone;
    if (op.status === 'fulfilled') provider = op.value;
    if (ks.status === 'rejected') throw ks.reason;
    if (op.status === 'rejected') throw op.reason;
    if (!ks.value.ok) {
      await stop();
      return { ok: false, reason: ks.value.reason };
    }
    timings.keystone = Date.now() - started;
    if (keystone === undefined || provider === undefined) throw new Error('unreachable');

    const conf = join(dir, 'keystone.conf');
    await writeFile(conf, await federatedKeystoneConf(keystone), { mode: 0o600 });
    const ksPort = await freePort();
    const ksLog = join(dir, 'keystone.log');
    uwsgi = await spawnLogged(UWSGI, uwsgiArgs(ksPort), ksLog, { PATH: PLAIN_PATH, HOME: dir, LC_ALL: 'C.UTF-8', OS_KEYSTONE_CONFIG_FILES: conf }, dir);
    const directUrl = `http://127.0.0.1:${ksPort}/v3`;

    const apachePort = await freePort();
    const apacheConfPath = join(dir, 'apache.conf');
    await mkdir(join(dir, 'run'), { mode: 0o755 });
    await writeFile(apacheConfPath, apacheConf({ dir, port: apachePort, upstream: ksPort, introspection: provider.introspection, resourceServer: provider.resourceServer }));
    const apacheLog = join(dir, 'apache-error.log');
    apache = await spawnLogged(APACHE, ['-f', apacheConfPath, '-DFOREGROUND'], join(dir, 'apache-stdout.log'), { PATH: PLAIN_PATH, LANG: 'C' }, dir);
    const authUrl = `http://127.0.0.1:${apachePort}/v3`;

    await waitFor(directUrl, uwsgi, ksLog, 'the federated uWSGI', (s) => s === 200);
    timings.uwsgi = Date.now() - started;
    await configureFederation(directUrl, keystone, provider.issuer);
    await waitFor(authUrl, apache, apacheLog, 'Apache', (s) => s === 200).catch(async (e: Error) => {
      throw new Error(`${e.message}\n--- apache stdout ---\n${await tail(join(dir, 'apache-stdout.log'))}`);
    });
    timings.ready = Date.now() - started;

    let stopping: Promise<void> | undefined;
    return {
      ok: true,
      federation: {
        keystone,
        authUrl,
        directUrl,
        issuer: provider.issuer,
        discovery: `${provider.issuer}/.well-known/openid-configuration`,
        client: provider.client,
        publicClient: provider.publicClient,
        timings,
        apacheLog: () => readFile(apacheLog, 'utf8').catch(() => ''),
        accessLog: () => readFile(join(dir, 'apache-access.log'), 'utf8').catch(() => ''),
        stop: () => (stopping ??= stop()),
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
