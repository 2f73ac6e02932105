/**
 * The project's test IAM server: node:http on 127.0.0.1, answering as iam-api.md and keystone.md
 * describe a Keystone v3 (plus the vendor's client-credentials, login-token and security-token
 * endpoints), errors included. Open Telekom Cloud / Huawei Cloud extras (iam-api.md §6-10): password +
 * virtual MFA, agency tokens (`assume_role`), temporary access keys through an agency, scoped
 * tokens from an OpenID Connect ID token of an identity provider registered with `POST /r/<id>/_idps`,
 * and Keystone's federation endpoint (§10), which takes that ID token or, for an identity provider
 * registered with a userinfo endpoint, an access token the server checks there.
 *
 * One server serves a whole test run. Each test creates its own *realm* (`POST /_realms`), an
 * isolated IAM under `/r/<id>` with its own users, tokens, scripted faults and request log, so
 * tests running in parallel never see each other's state.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { base32Encode, totp } from './totp.js';

export interface RealmOptions {
  /** Lifetime of password-issued tokens (agency and ID-token tokens: this, but at most 24 h). */
  tokenTtlSeconds?: number;
  /** Length of issued tokens; PKI tokens (`MII...`) are several KB. Default: Fernet-like ~180. */
  tokenLength?: number;
  /** How far the server's clock is ahead of the real one (negative: behind). */
  clockOffsetMs?: number;
  /** Lifetime of client-credentials tokens (expires_in). */
  clientTokenTtlSeconds?: number;
  /** Every answer waits this long: a slow IAM, so concurrent clients overlap. */
  delayMs?: number;
  /** Issue exactly this token (e.g. one full of shell metacharacters) instead of a random one. */
  fixedToken?: string;
}

export interface RealmFixtures {
  domain: { id: string; name: string };
  project: { id: string; name: string };
  otherProject: { id: string; name: string };
  /** Holds Agent Operator: may use `agency` (agency tokens, temporary keys through it). */
  user: { id: string; name: string; password: string; domain: string };
  /** No Agent Operator. */
  admin: { id: string; name: string; password: string; domain: string };
  /** Like `user` (same domain, `member` on `project` and `domain`) but with virtual MFA: `totpSecret` is base32. */
  mfaUser: { id: string; name: string; password: string; domain: string; totpSecret: string };
  client: { id: string; secret: string };
  accessKey: { access: string; secret: string; securityToken: string };
  /** An agency that account `agency.domain` (with its project `agency.project`) granted to `user`'s account. */
  agency: { id: string; name: string; domain: { id: string; name: string }; project: { id: string; name: string } };
}

/**
 * An OpenID Connect identity provider, as `POST /r/<id>/_idps` takes it (iam-api.md §9, §10). It
 * needs `signing_key` or `userinfo_endpoint` (or both): how a bearer token is checked.
 */
export interface IdpRegistration {
  id: string;
  /** Must equal the ID token's `iss`. */
  idp_url: string;
  /** Must be among the ID token's `aud`. */
  client_id: string;
  /** A JWKS (`{"keys": [...]}`), as an object or as its JSON text: ID tokens (RS256) are verified with it. */
  signing_key?: string | JSONWebKeySet;
  /**
   * The federation endpoint (§10) asks this one (`GET`, `Authorization: Bearer TOKEN`) about a bearer
   * token that is no ID token signed with `signing_key`; a `200` with a `sub` accepts it. Keystone
   * behind mod_auth_openidc does so with an opaque access token.
   */
  userinfo_endpoint?: string;
  /** The protocol of the federation endpoint's path (default `oidc`). */
  protocol_id?: string;
}

export interface RealmInfo {
  id: string;
  base: string;
  authUrl: string;
  tokenUrl: string;
  fixtures: RealmFixtures;
}

/** A scripted answer for the next matching request(s), instead of the normal behaviour. */
export interface Fault {
  method?: string;
  /** Path under the realm, e.g. `/v3/auth/tokens`. */
  path?: string;
  times?: number;
  delayMs?: number;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Send the headers and part of the body, then cut the connection. */
  cutBody?: boolean;
  /** Accept the connection and never answer. */
  hang?: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  /** The query string with its `?`, or `''`. */
  query: string;
  headers: Record<string, string>;
  body: string;
}

interface Entity {
  id: string;
  name: string;
}

interface User extends Entity {
  domainId: string;
  password: string;
  /** Virtual MFA (base32): a password-only login is refused. */
  totpSecret?: string;
}

interface TokenRecord {
  /** A realm user's id, or an agency's or a federated user's (then `user` is set). */
  userId: string;
  scope: { project?: string; domain?: string };
  methods: string[];
  issuedAt: number;
  expiresAt: number;
  revoked: boolean;
  /** Set on the first answer that shows the token, so that later ones show the same. */
  auditId?: string;
  /** `token.user` of the body, for tokens that are not of a realm user (agency, federated). */
  user?: Record<string, unknown>;
  /** Further fields of the body: `mfa_authn_at`, `assumed_by`. */
  extra?: Record<string, unknown>;
}

interface Agency extends Entity {
  /** The delegating account (A). */
  domainId: string;
  /** The account it is granted to (B): its users with Agent Operator may use it. */
  trusteeDomainId: string;
}

/** What a temporary access key acts as. */
type KeyPrincipal = { kind: 'user' | 'agency' | 'federated'; id: string; sessionUser?: string };

interface Idp {
  issuer: string;
  clientId: string;
  keys?: ReturnType<typeof createLocalJWKSet>;
  userinfoEndpoint?: string;
  protocolId: string;
  group: Entity;
}

interface Realm {
  id: string;
  options: Required<RealmOptions>;
  domains: Entity[];
  projects: (Entity & { domainId: string })[];
  users: User[];
  /** `${userId}|project:${id}` or `${userId}|domain:${id}` → role names */
  roles: Map<string, string[]>;
  tokens: Map<string, TokenRecord>;
  clients: Map<string, string>;
  /** Temporary access keys handed out by the security-token endpoint. */
  issuedKeys: Map<string, { access: string; secret: string; securityToken: string; expiresAt: number; actsAs: KeyPrincipal }>;
  agencies: Agency[];
  /** Users holding the Agent Operator policy. */
  agentOperators: Set<string>;
  idps: Map<string, Idp>;
  faults: Fault[];
  requests: LoggedRequest[];
  fixtures: RealmFixtures;
}

const DEFAULT_OPTIONS: Required<RealmOptions> = {
  tokenTtlSeconds: 3600,
  tokenLength: 183,
  clockOffsetMs: 0,
  clientTokenTtlSeconds: 1800,
  delayMs: 0,
  fixedToken: '',
};

function id(): string {
  return randomUUID().replace(/-/g, '');
}

function newRealm(options: RealmOptions): Realm {
  const realmId = randomBytes(6).toString('hex');
  const fiware = { id: id(), name: 'Fiware' };
  const defaultDomain = { id: 'default', name: 'Default' };
  const smartcity = { id: id(), name: '/smartcity', domainId: fiware.id };
  const other = { id: id(), name: '/other', domainId: fiware.id };
  const adminProject = { id: id(), name: 'admin', domainId: defaultDomain.id };
  const user: User = { id: id(), name: 'alice', domainId: fiware.id, password: `pw-${randomBytes(6).toString('hex')}` };
  const admin: User = { id: id(), name: 'admin', domainId: defaultDomain.id, password: `adm-${randomBytes(6).toString('hex')}` };
  const mfaUser: User = { id: id(), name: 'mfa-bob', domainId: fiware.id, password: `mfa-${randomBytes(6).toString('hex')}`, totpSecret: base32Encode(randomBytes(20)) };
  const accountA = { id: id(), name: 'acme-ops' };
  const agencyProject = { id: id(), name: 'eu-de_agency', domainId: accountA.id };
  const agency: Agency = { id: id(), name: 'ops-agency', domainId: accountA.id, trusteeDomainId: fiware.id };
  const client = { id: `app-${randomBytes(3).toString('hex')}`, secret: `cs-${randomBytes(8).toString('hex')}` };
  const accessKey = { access: `AK${randomBytes(8).toString('hex').toUpperCase()}`, secret: `SK${randomBytes(12).toString('hex')}`, securityToken: `ST${randomBytes(24).toString('base64url')}` };
  const realm: Realm = {
    id: realmId,
    options: { ...DEFAULT_OPTIONS, ...options },
    domains: [defaultDomain, fiware, accountA],
    projects: [smartcity, other, adminProject, agencyProject],
    users: [user, admin, mfaUser],
    roles: new Map([
      [`${user.id}|project:${smartcity.id}`, ['member']],
      [`${user.id}|domain:${fiware.id}`, ['member']],
      [`${admin.id}|project:${adminProject.id}`, ['admin']],
      [`${mfaUser.id}|project:${smartcity.id}`, ['member']],
      [`${mfaUser.id}|domain:${fiware.id}`, ['member']],
      [`${agency.id}|project:${agencyProject.id}`, ['te_admin']],
      [`${agency.id}|domain:${accountA.id}`, ['te_admin']],
    ]),
    tokens: new Map(),
    clients: new Map([[client.id, client.secret]]),
    issuedKeys: new Map(),
    agencies: [agency],
    agentOperators: new Set([user.id]),
    idps: new Map(),
    faults: [],
    requests: [],
    fixtures: {
      domain: fiware,
      project: { id: smartcity.id, name: smartcity.name },
      otherProject: { id: other.id, name: other.name },
      user: { id: user.id, name: user.name, password: user.password, domain: fiware.name },
      admin: { id: admin.id, name: admin.name, password: admin.password, domain: defaultDomain.name },
      mfaUser: { id: mfaUser.id, name: mfaUser.name, password: mfaUser.password, domain: fiware.name, totpSecret: mfaUser.totpSecret! },
      client,
      accessKey,
      agency: { id: agency.id, name: agency.name, domain: { ...accountA }, project: { id: agencyProject.id, name: agencyProject.name } },
    },
  };
  return realm;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly title = ({ 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' } as Record<number, string>)[status] ?? 'Error',
  ) {
    super(message);
  }
}

/** An error of the vendor's /v3.0 APIs, answered as `{"error_code": "IAM.xxxx", "error_msg": "..."}`. */
class VendorError extends HttpError {
  constructor(
    status: number,
    readonly code: string,
    message: string,
  ) {
    super(status, message);
  }
}

const vendor = {
  invalid: () => new VendorError(400, 'IAM.0011', 'Request body is invalid.'),
  unauthenticated: () => new VendorError(401, 'IAM.0001', 'The request you have made requires authentication.'),
  forbidden: () => new VendorError(403, 'IAM.0003', 'You have no right to do this action.'),
  notFound: (target: string, targetId: string) => new VendorError(404, 'IAM.0004', `Could not find ${target}: ${targetId}.`),
};

/** Keystone-shaped answers of the vendor's /v3 token API (iam-api.md §7, §8). */
const BAD_BODY = 'The request body is invalid';
const WRONG_CREDENTIALS = 'The username or password is wrong.';
const MFA_NEEDED = 'mfa totp code verify fail';
const BAD_CALLER = 'The X-Auth-Token is invalid!';
const NO_RIGHT = 'You have no right to do this action';

/** Vendor tokens (agency, federated) live 24 h, or less when the realm's `tokenTtlSeconds` says so. */
const VENDOR_TOKEN_TTL_SECONDS = 86400;

type Ref = { id?: string; name?: string; domain?: { id?: string; name?: string } };

function isJson(headers: Record<string, string>): boolean {
  return headers['content-type']?.startsWith('application/json') ?? false;
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

export class IamServer {
  readonly #server: Server;
  readonly #realms = new Map<string, Realm>();
  url = '';

  /** With `tls` (PEM key and certificate) it serves https. */
  constructor(options: { tls?: { key: string; cert: string } } = {}) {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      void this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.#json(res, 500, { error: { code: 500, title: 'Internal Server Error', message: String(error) } });
      });
    };
    this.#server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
    this.#scheme = options.tls ? 'https' : 'http';
  }

  readonly #scheme: 'http' | 'https';

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `${this.#scheme}://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Creates a realm directly (in-process users such as the benchmark and the demo). */
  createRealm(options: RealmOptions = {}): RealmInfo {
    const realm = newRealm(options);
    this.#realms.set(realm.id, realm);
    return this.#info(realm);
  }

  #info(realm: Realm): RealmInfo {
    const base = `${this.url}/r/${realm.id}`;
    return { id: realm.id, base, authUrl: `${base}/v3`, tokenUrl: `${base}/api/v2/tenant/token`, fixtures: realm.fixtures };
  }

  /** Requests a realm has received, for tests that count IAM calls. */
  requests(realmId: string): LoggedRequest[] {
    return this.#realms.get(realmId)?.requests ?? [];
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/_realms' && req.method === 'POST') {
      const info = this.createRealm(body ? (JSON.parse(body) as RealmOptions) : {});
      return this.#json(res, 201, info);
    }
    const match = /^\/r\/([0-9a-f]+)(\/.*)$/.exec(url.pathname);
    const realm = match ? this.#realms.get(match[1]!) : undefined;
    if (!realm) return this.#json(res, 404, { error: { code: 404, title: 'Not Found', message: 'no such realm' } });
    const path = match![2]!;

    if (path === '/_faults' && req.method === 'POST') {
      realm.faults.push(...(JSON.parse(body) as Fault[]));
      return this.#json(res, 204, undefined);
    }
    if (path === '/_requests' && req.method === 'GET') return this.#json(res, 200, realm.requests);
    if (path === '/_options' && req.method === 'POST') {
      Object.assign(realm.options, JSON.parse(body) as RealmOptions);
      return this.#json(res, 204, undefined);
    }
    if (path === '/_idps' && req.method === 'POST') {
      // Test control: register an OpenID Connect identity provider for the ID-token endpoint.
      const idp = parseJson(body) as Partial<IdpRegistration> | undefined;
      let keys: ReturnType<typeof createLocalJWKSet> | undefined;
      try {
        const jwks = typeof idp?.signing_key === 'string' ? (JSON.parse(idp.signing_key) as JSONWebKeySet) : idp?.signing_key;
        keys = jwks ? createLocalJWKSet(jwks) : undefined;
      } catch {
        keys = undefined;
      }
      const userinfo = typeof idp?.userinfo_endpoint === 'string' && URL.canParse(idp.userinfo_endpoint) ? idp.userinfo_endpoint : undefined;
      const protocolId = idp?.protocol_id ?? 'oidc';
      if (!idp?.id || !idp.idp_url || !idp.client_id || (idp.signing_key !== undefined && !keys) || (idp.userinfo_endpoint !== undefined && !userinfo) || (!keys && !userinfo) || typeof protocolId !== 'string' || !protocolId) {
        return this.#json(res, 400, { error: { code: 400, title: 'Bad Request', message: 'id, idp_url, client_id and signing_key (a JWKS) or userinfo_endpoint are required' } });
      }
      realm.idps.set(idp.id, { issuer: idp.idp_url, clientId: idp.client_id, keys, userinfoEndpoint: userinfo, protocolId, group: { id: id(), name: `${idp.id}-users` } });
      return this.#json(res, 204, undefined);
    }
    if (path === '/_tokens' && req.method === 'POST') {
      // Test control: expire or revoke a token without waiting.
      const { token, expire, revoke } = JSON.parse(body) as { token: string; expire?: boolean; revoke?: boolean };
      const record = realm.tokens.get(token);
      if (record && expire) record.expiresAt = Date.now() - 1000;
      if (record && revoke) record.revoked = true;
      return this.#json(res, record ? 204 : 404, undefined);
    }

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
    realm.requests.push({ method: req.method ?? 'GET', path, query: url.search, headers, body });

    const fault = realm.faults.find((f) => (!f.method || f.method === req.method) && (!f.path || f.path === path));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) realm.faults.splice(realm.faults.indexOf(fault), 1);
      return this.#fault(res, fault);
    }

    if (realm.options.delayMs) await new Promise((resolve) => setTimeout(resolve, realm.options.delayMs));
    const now = Date.now() + realm.options.clockOffsetMs;
    res.setHeader('Date', new Date(now).toUTCString());
    if (path.startsWith('/v3.0/')) res.setHeader('X-Request-Id', randomBytes(16).toString('hex'));
    try {
      await this.#route(realm, req.method ?? 'GET', path, url.searchParams, headers, body, res, now);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (error instanceof VendorError) return this.#json(res, error.status, { error_code: error.code, error_msg: error.message });
      if (error.status === 401) res.setHeader('WWW-Authenticate', `Keystone uri="${this.url}/r/${realm.id}/v3"`);
      this.#json(res, error.status, { error: { code: error.status, title: error.title, message: error.message } });
    }
  }

  async #fault(res: ServerResponse, fault: Fault): Promise<void> {
    if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault.hang) return; // the client's timeout is what ends this
    res.writeHead(fault.status ?? 500, { 'Content-Type': 'application/json', ...fault.headers });
    if (fault.cutBody) {
      res.write((fault.body ?? '{"token": {"expires_at": "').slice(0, 20));
      res.socket?.destroy();
      return;
    }
    res.end(fault.body ?? '');
  }

  #json(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    if (value === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(value));
  }

  async #route(realm: Realm, method: string, path: string, query: URLSearchParams, headers: Record<string, string>, body: string, res: ServerResponse, now: number): Promise<void> {
    // Keystone and the vendor: `?nocatalog` (any non-empty value) drops `catalog` from the body.
    const catalog = !query.get('nocatalog');
    if (path === '/v3/auth/tokens') {
      if (method === 'POST') return this.#issue(realm, headers, body, res, now, catalog);
      if (method === 'GET' || method === 'HEAD') return this.#inspect(realm, method, headers, res, now, catalog);
      if (method === 'DELETE') return this.#revoke(realm, headers, res, now);
      throw new HttpError(405, 'The method is not allowed for the requested URL.', 'Method Not Allowed');
    }
    if (path === '/api/v2/tenant/token' && method === 'POST') return this.#clientCredentials(realm, headers, body, res, now);
    if (path === '/v3.0/OS-AUTH/securitytoken/logintokens' && method === 'POST') return this.#loginToken(realm, headers, body, res, now);
    if (path === '/v3.0/OS-CREDENTIAL/securitytokens' && method === 'POST') return this.#securityToken(realm, headers, body, res, now);
    if (path === '/v3.0/OS-AUTH/id-token/tokens' && method === 'POST') return this.#idToken(realm, headers, body, res, now, catalog);
    const federation = /^\/v3\/OS-FEDERATION\/identity_providers\/([^/]+)\/protocols\/([^/]+)\/auth$/.exec(path);
    if (federation && (method === 'POST' || method === 'GET')) return this.#federation(realm, decodeURIComponent(federation[1]!), decodeURIComponent(federation[2]!), headers, res, now);
    if (path === '/v3' && method === 'GET') return this.#json(res, 200, { version: { id: 'v3.14', status: 'stable' } });
    throw new HttpError(404, `The resource could not be found: ${path}`);
  }

  #findDomain(realm: Realm, ref: { id?: string; name?: string } | undefined): Entity | undefined {
    if (!ref) return undefined;
    return realm.domains.find((d) => (ref.id !== undefined ? d.id === ref.id : d.name === ref.name));
  }

  #newToken(realm: Realm): string {
    if (realm.options.fixedToken) return realm.options.fixedToken;
    const length = realm.options.tokenLength;
    const prefix = length > 1000 ? 'MII' : 'gAAAAA';
    return (prefix + randomBytes(length).toString('base64url')).slice(0, length);
  }

  #validToken(realm: Realm, token: string | undefined, now: number): TokenRecord | undefined {
    const record = token ? realm.tokens.get(token) : undefined;
    return record && !record.revoked && record.expiresAt > now ? record : undefined;
  }

  #issue(realm: Realm, headers: Record<string, string>, body: string, res: ServerResponse, now: number, catalog: boolean): void {
    if (!isJson(headers)) throw new HttpError(400, 'Expecting to find application/json in Content-Type header');
    let request: { auth?: { identity?: Record<string, unknown>; scope?: Record<string, unknown> } };
    try {
      request = JSON.parse(body) as typeof request;
    } catch {
      throw new HttpError(400, 'The request you have made requires a valid JSON body.');
    }
    const identity = request.auth?.identity as
      | { methods?: string[]; password?: { user?: PasswordUser }; token?: { id?: string }; totp?: { user?: { id?: unknown; passcode?: unknown } }; assume_role?: unknown }
      | undefined;
    if (!identity || !Array.isArray(identity.methods) || identity.methods.length === 0) throw new HttpError(400, "'identity' is a required property");
    if (identity.methods.includes('assume_role')) return this.#agencyToken(realm, headers, identity.assume_role, request.auth?.scope, res, now, catalog);

    let userId: string;
    let methods: string[];
    let parent: TokenRecord | undefined;
    let scopeOptions: ScopeOptions = {};
    let extra: Record<string, unknown> | undefined;
    if (identity.methods.includes('password') && identity.methods.includes('totp')) {
      // OTC/Huawei virtual MFA (iam-api.md §7): both factors in one request, vendor messages.
      const totpUser = identity.totp?.user;
      if (typeof totpUser?.id !== 'string' || !totpUser.id || typeof totpUser.passcode !== 'string' || !totpUser.passcode) throw new HttpError(400, BAD_BODY);
      const given = identity.password?.user;
      if (!given?.password || (given.id === undefined && !given.domain)) throw new HttpError(400, BAD_BODY);
      const user = this.#passwordUser(realm, given);
      if (!user || user.password !== given.password || totpUser.id !== user.id || !user.totpSecret || !totpValid(user.totpSecret, totpUser.passcode, now)) {
        throw new HttpError(401, WRONG_CREDENTIALS);
      }
      userId = user.id;
      methods = ['password', 'totp'];
      extra = { mfa_authn_at: iso(now) };
      // Vendor scopes: a project by name alone; no scope is a domain-level ("global services") token.
      scopeOptions = { nameAlone: true, omitted: { domain: user.domainId } };
    } else if (identity.methods[0] === 'password') {
      const given = identity.password?.user;
      if (!given?.password) throw new HttpError(400, "'password' is a required property");
      if (given.id === undefined && !given.domain) throw new HttpError(400, 'Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect.');
      const user = this.#passwordUser(realm, given);
      if (!user || user.password !== given.password) throw new HttpError(401, 'The request you have made requires authentication.');
      // The vendor's answer to a password-only login of a user with virtual MFA (python-otcextensions #336).
      if (user.totpSecret) throw new HttpError(401, MFA_NEEDED);
      userId = user.id;
      methods = ['password'];
    } else if (identity.methods[0] === 'token') {
      parent = this.#validToken(realm, identity.token?.id, now);
      if (!parent) throw new HttpError(404, `Could not find token: ${identity.token?.id ?? ''}`);
      userId = parent.userId;
      methods = [...new Set([...parent.methods, 'token'])];
      extra = parent.extra;
    } else {
      throw new HttpError(401, 'Attempted to authenticate with an unsupported method.');
    }

    const scope = this.#resolveScope(realm, userId, request.auth?.scope, scopeOptions);
    const token = this.#newToken(realm);
    const record: TokenRecord = {
      userId,
      scope,
      methods,
      issuedAt: now,
      // Keystone: a token obtained from a token never outlives its parent.
      expiresAt: parent ? parent.expiresAt : now + realm.options.tokenTtlSeconds * 1000,
      revoked: false,
    };
    if (parent?.user) record.user = parent.user;
    if (extra) record.extra = extra;
    realm.tokens.set(token, record);
    this.#json(res, 201, this.#tokenBody(realm, record, catalog), { 'X-Subject-Token': token });
  }

  /** The user a password identity names (by id, or by name and domain), if any. */
  #passwordUser(realm: Realm, given: PasswordUser): User | undefined {
    if (given.id !== undefined) return realm.users.find((u) => u.id === given.id);
    const domain = this.#findDomain(realm, given.domain);
    return domain && realm.users.find((u) => u.name === given.name && u.domainId === domain.id);
  }

  /**
   * Agency token (iam-api.md §8): a user of account B holding Agent Operator acts in account A
   * through an agency A granted to B. The caller's own token comes in `X-Auth-Token`.
   */
  #agencyToken(realm: Realm, headers: Record<string, string>, assumeRole: unknown, scopeRef: Record<string, unknown> | undefined, res: ServerResponse, now: number, catalog: boolean): void {
    const ask = agencyRequest(assumeRole);
    if (!ask) throw new HttpError(400, BAD_BODY);
    const caller = this.#validToken(realm, headers['x-auth-token'], now);
    if (!caller) throw new HttpError(401, BAD_CALLER);
    const { agency, delegate } = this.#useAgency(realm, caller, ask, {
      forbidden: () => new HttpError(403, NO_RIGHT),
      notFound: (name) => new HttpError(404, `Could not find agency: ${name}`),
    });
    const scope = this.#resolveScope(realm, agency.id, scopeRef, {
      nameAlone: true,
      omitted: { domain: agency.domainId },
      denied: () => new HttpError(403, NO_RIGHT),
      invalid: () => new HttpError(400, BAD_BODY),
    });
    const account = realm.domains.find((d) => d.id === agency.domainId)!;
    const delegateDomain = realm.domains.find((d) => d.id === delegate.domainId)!;
    const token = this.#newToken(realm);
    const record: TokenRecord = {
      userId: agency.id,
      scope,
      methods: ['assume_role'],
      issuedAt: now,
      expiresAt: now + vendorTtlSeconds(realm) * 1000,
      revoked: false,
      user: { id: agency.id, name: `${account.name}/${agency.name}`, domain: { id: account.id, name: account.name } },
      extra: { assumed_by: { user: { id: delegate.id, name: delegate.name, domain: { id: delegateDomain.id, name: delegateDomain.name }, password_expires_at: '' } } },
    };
    realm.tokens.set(token, record);
    this.#json(res, 201, this.#tokenBody(realm, record, catalog), { 'X-Subject-Token': token });
  }

  /** The agency a caller asks for, if its token may use it: a realm user's own token, with Agent Operator, of the trusted account. */
  #useAgency(
    realm: Realm,
    caller: TokenRecord,
    ask: AgencyRequest,
    errors: { forbidden: () => HttpError; notFound: (name: string) => HttpError },
  ): { agency: Agency; delegate: User } {
    const delegate = caller.user ? undefined : realm.users.find((u) => u.id === caller.userId);
    if (!delegate || !realm.agentOperators.has(delegate.id)) throw errors.forbidden();
    const account = this.#findDomain(realm, ask.domain);
    const agency = account && realm.agencies.find((a) => a.domainId === account.id && a.name === ask.name);
    if (!agency) throw errors.notFound(ask.name);
    if (agency.trusteeDomainId !== delegate.domainId) throw errors.forbidden();
    return { agency, delegate };
  }

  #resolveScope(realm: Realm, userId: string, scope: Record<string, unknown> | undefined, options: ScopeOptions = {}): TokenRecord['scope'] {
    const denied = options.denied ?? (() => new HttpError(401, 'The request you have made requires authentication.'));
    const invalid = options.invalid ?? (() => new HttpError(400, 'Invalid scope'));
    if (!scope) return options.omitted ?? {};
    if (!isObject(scope)) throw invalid();
    const project = scope.project as Ref | undefined;
    const domainRef = scope.domain as Ref | undefined;
    if (project) {
      if (!isObject(project)) throw invalid();
      let found: (Entity & { domainId: string }) | undefined;
      if (project.id !== undefined) found = realm.projects.find((p) => p.id === project.id);
      else if (!project.domain && options.nameAlone) {
        // The vendor's project names (`eu-de_NAME`) are unique: a name alone is enough.
        if (typeof project.name !== 'string') throw invalid();
        found = realm.projects.find((p) => p.name === project.name && realm.roles.has(`${userId}|project:${p.id}`));
      } else {
        if (!project.domain) throw new HttpError(400, 'Expecting to find domain in project. The server could not comply with the request since it is either malformed or otherwise incorrect.');
        const domain = this.#findDomain(realm, project.domain);
        found = domain && realm.projects.find((p) => p.name === project.name && p.domainId === domain.id);
      }
      if (!found || !realm.roles.has(`${userId}|project:${found.id}`)) throw denied();
      return { project: found.id };
    }
    if (domainRef) {
      if (!isObject(domainRef)) throw invalid();
      const domain = this.#findDomain(realm, domainRef);
      if (!domain || !realm.roles.has(`${userId}|domain:${domain.id}`)) throw denied();
      return { domain: domain.id };
    }
    throw invalid();
  }

  #tokenBody(realm: Realm, record: TokenRecord, catalog = true): unknown {
    let user = record.user;
    if (!user) {
      const realmUser = realm.users.find((u) => u.id === record.userId)!;
      const userDomain = realm.domains.find((d) => d.id === realmUser.domainId)!;
      user = { id: realmUser.id, name: realmUser.name, domain: { id: userDomain.id, name: userDomain.name }, password_expires_at: null };
    }
    const token: Record<string, unknown> = {
      methods: record.methods,
      user,
      audit_ids: [(record.auditId ??= randomBytes(16).toString('base64url'))],
      expires_at: iso(record.expiresAt),
      issued_at: iso(record.issuedAt),
      ...record.extra,
    };
    if (record.scope.project) {
      const project = realm.projects.find((p) => p.id === record.scope.project)!;
      const domain = realm.domains.find((d) => d.id === project.domainId)!;
      token.project = { id: project.id, name: project.name, domain: { id: domain.id, name: domain.name } };
      token.roles = (realm.roles.get(`${record.userId}|project:${project.id}`) ?? []).map((name) => ({ id: roleId(name), name }));
      if (catalog) token.catalog = [];
    } else if (record.scope.domain) {
      const domain = realm.domains.find((d) => d.id === record.scope.domain)!;
      token.domain = { id: domain.id, name: domain.name };
      token.roles = (realm.roles.get(`${record.userId}|domain:${domain.id}`) ?? []).map((name) => ({ id: roleId(name), name }));
      if (catalog) token.catalog = [];
    }
    return { token };
  }

  #callerAndSubject(realm: Realm, headers: Record<string, string>, now: number): { caller: TokenRecord; subject: TokenRecord | undefined; subjectId: string | undefined } {
    const caller = this.#validToken(realm, headers['x-auth-token'], now);
    if (!caller) throw new HttpError(401, 'The request you have made requires authentication.');
    const subjectId = headers['x-subject-token'];
    return { caller, subject: this.#validToken(realm, subjectId, now), subjectId };
  }

  #isAdmin(realm: Realm, record: TokenRecord): boolean {
    return record.scope.project !== undefined && (realm.roles.get(`${record.userId}|project:${record.scope.project}`) ?? []).includes('admin');
  }

  #inspect(realm: Realm, method: string, headers: Record<string, string>, res: ServerResponse, now: number, catalog: boolean): void {
    const { caller, subject, subjectId } = this.#callerAndSubject(realm, headers, now);
    if (!subject) throw new HttpError(404, `Could not find token: ${subjectId ?? ''}`);
    if (subject.userId !== caller.userId && !this.#isAdmin(realm, caller)) throw new HttpError(403, 'You are not authorized to perform the requested action: identity:validate_token.');
    if (method === 'HEAD') {
      res.writeHead(200, { 'X-Subject-Token': subjectId! }).end();
      return;
    }
    this.#json(res, 200, this.#tokenBody(realm, subject, catalog), { 'X-Subject-Token': subjectId! });
  }

  #revoke(realm: Realm, headers: Record<string, string>, res: ServerResponse, now: number): void {
    const { caller, subject, subjectId } = this.#callerAndSubject(realm, headers, now);
    if (!subject) throw new HttpError(404, `Could not find token: ${subjectId ?? ''}`);
    if (subject.userId !== caller.userId && !this.#isAdmin(realm, caller)) throw new HttpError(403, 'You are not authorized to perform the requested action: identity:revoke_token.');
    subject.revoked = true;
    res.writeHead(204).end();
  }

  #clientCredentials(realm: Realm, headers: Record<string, string>, body: string, res: ServerResponse, now: number): void {
    const vendorError = (code: string, message: string) => this.#json(res, 400, { error_code: code, error_msg: message });
    if (!headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return vendorError('APIG.0101', 'Content-Type must be application/x-www-form-urlencoded');
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') return vendorError('APIG.0102', 'unsupported grant_type');
    const clientId = form.get('client_id') ?? '';
    if (realm.clients.get(clientId) === undefined || realm.clients.get(clientId) !== form.get('client_secret')) {
      return vendorError('APIG.0301', 'Incorrect app authentication information: client_id or client_secret is wrong');
    }
    const token = this.#newToken(realm);
    realm.tokens.set(token, { userId: realm.users[0]!.id, scope: {}, methods: ['client_credentials'], issuedAt: now, expiresAt: now + realm.options.clientTokenTtlSeconds * 1000, revoked: false });
    this.#json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: realm.options.clientTokenTtlSeconds, scope: 'default', id_token: 'unused' });
  }

  #loginToken(realm: Realm, headers: Record<string, string>, body: string, res: ServerResponse, now: number): void {
    if (!headers['content-type']?.startsWith('application/json')) throw new HttpError(400, 'Content-Type must be application/json');
    const request = JSON.parse(body) as { auth?: { securitytoken?: { access?: string; secret?: string; id?: string; duration_seconds?: number } } };
    const given = request.auth?.securitytoken;
    if (!given?.access || !given.secret || !given.id) throw new HttpError(400, 'The request body is malformed: auth.securitytoken.access, secret and id are required.');
    const duration = given.duration_seconds ?? 600;
    if (!Number.isInteger(duration) || duration < 600 || duration > 43200) throw new HttpError(400, 'duration_seconds must be between 600 and 43200.');
    const known = realm.fixtures.accessKey;
    const issued = [...realm.issuedKeys.values()].find((k) => k.access === given.access);
    const valid = (given.access === known.access && given.secret === known.secret && given.id === known.securityToken) || (issued && issued.secret === given.secret && issued.securityToken === given.id && issued.expiresAt > now);
    if (!valid) throw new HttpError(401, 'The security token is invalid or expired.');
    const user = realm.users[0]!;
    const domain = realm.domains.find((d) => d.id === user.domainId)!;
    const token = `lt${randomBytes(96).toString('base64url')}`;
    res.setHeader('X-Subject-LoginToken', token);
    this.#json(res, 201, {
      logintoken: { domain_id: domain.id, expires_at: iso(now + duration * 1000), method: 'token', user_id: user.id, user_name: user.name, session_id: randomBytes(8).toString('hex') },
    });
  }

  /**
   * Temporary access key and security token (iam-api.md §6, §8a). `token`: from the caller's token
   * (a user's, an agency's or a federated one; the key acts as that). `assume_role`: from the
   * delegated user's own token, acting as the agency. Errors are vendor-shaped.
   */
  #securityToken(realm: Realm, headers: Record<string, string>, body: string, res: ServerResponse, now: number): void {
    const caller = this.#validToken(realm, headers['x-auth-token'], now);
    if (!caller) throw vendor.unauthenticated();
    if (!isJson(headers)) throw vendor.invalid();
    const request = parseJson(body);
    const identity = isObject(request) && isObject(request.auth) && isObject(request.auth.identity) ? request.auth.identity : undefined;
    const methods = identity?.methods;
    if (!identity || !Array.isArray(methods) || methods.length !== 1) throw vendor.invalid();
    let duration: unknown;
    let actsAs: KeyPrincipal;
    if (methods[0] === 'token') {
      const token = identity.token ?? {};
      if (!isObject(token)) throw vendor.invalid();
      duration = token.duration_seconds;
      actsAs = principal(caller);
    } else if (methods[0] === 'assume_role') {
      const assumeRole = identity.assume_role;
      const ask = agencyRequest(assumeRole);
      if (!ask || !isObject(assumeRole)) throw vendor.invalid();
      duration = assumeRole.duration_seconds;
      const sessionUser = assumeRole.session_user;
      // The vendors' rules for the name disagree (iam-api.md §8a): the union of both.
      if (sessionUser !== undefined && (!isObject(sessionUser) || typeof sessionUser.name !== 'string' || !/^[A-Za-z][\w .-]{0,63}$/.test(sessionUser.name))) throw vendor.invalid();
      if (!isDuration(duration)) throw vendor.invalid();
      const { agency } = this.#useAgency(realm, caller, ask, { forbidden: vendor.forbidden, notFound: (name) => vendor.notFound('agency', name) });
      actsAs = { kind: 'agency', id: agency.id };
      if (isObject(sessionUser)) actsAs.sessionUser = sessionUser.name as string;
    } else {
      throw vendor.invalid();
    }
    if (!isDuration(duration)) throw vendor.invalid();
    const key = {
      access: `AK${randomBytes(8).toString('hex').toUpperCase()}`,
      secret: `SK${randomBytes(12).toString('hex')}`,
      securityToken: `ST${randomBytes(24).toString('base64url')}`,
      expiresAt: now + (duration ?? 900) * 1000,
      actsAs,
    };
    realm.issuedKeys.set(key.access, key);
    this.#json(res, 201, { credential: { access: key.access, secret: key.secret, securitytoken: key.securityToken, expires_at: iso(key.expiresAt) } });
  }

  /** Scoped token from an OpenID Connect ID token (iam-api.md §9); errors are vendor-shaped. */
  async #idToken(realm: Realm, headers: Record<string, string>, body: string, res: ServerResponse, now: number, catalog: boolean): Promise<void> {
    const idpId = headers['x-idp-id'];
    const idp = idpId ? realm.idps.get(idpId) : undefined;
    if (!idpId || !idp) throw vendor.notFound('identity provider', idpId ?? '');
    if (!isJson(headers)) throw vendor.invalid();
    const request = parseJson(body);
    const auth = isObject(request) && isObject(request.auth) ? request.auth : undefined;
    const jwt = auth && isObject(auth.id_token) ? auth.id_token.id : undefined;
    if (!auth || typeof jwt !== 'string' || !jwt || (auth.scope !== undefined && !isObject(auth.scope))) throw vendor.invalid();
    const subject = await verifiedIdToken(idp, jwt, now);
    if (subject === undefined) throw vendor.unauthenticated();
    const userId = this.#mapFederatedUser(realm, idpId, subject);
    const scope = this.#resolveScope(realm, userId, auth.scope as Record<string, unknown> | undefined, { nameAlone: true, denied: vendor.unauthenticated, invalid: vendor.invalid });
    this.#issueFederated(realm, idpId, idp, userId, scope, res, now, catalog);
  }

  /**
   * Unscoped federated token (iam-api.md §10): `Authorization: Bearer TOKEN`, no body; errors are
   * Keystone-shaped. The bearer is an ID token signed with the IdP's `signing_key` (OTC's style),
   * or a token its `userinfo_endpoint` accepts (Keystone behind mod_auth_openidc).
   */
  async #federation(realm: Realm, idpId: string, protocolId: string, headers: Record<string, string>, res: ServerResponse, now: number): Promise<void> {
    const idp = realm.idps.get(idpId);
    if (!idp) throw new HttpError(400, "Request parameter 'idp id' is invalid.");
    const unauthenticated = () => new HttpError(401, 'The request you have made requires authentication.');
    if (protocolId !== idp.protocolId) throw unauthenticated();
    const bearer = /^Bearer +(\S+)$/i.exec(headers.authorization ?? '')?.[1];
    if (!bearer) throw unauthenticated();
    const subject = (await verifiedIdToken(idp, bearer, now)) ?? (await userinfoSubject(idp, bearer));
    if (subject === undefined) throw unauthenticated();
    this.#issueFederated(realm, idpId, idp, this.#mapFederatedUser(realm, idpId, subject), {}, res, now, true);
  }

  /** The mapping: an IdP's subject is one federated user, `member` of the realm's project and domain. */
  #mapFederatedUser(realm: Realm, idpId: string, subject: string): string {
    const userId = createHash('sha256').update(`${idpId}|${subject}`).digest('hex').slice(0, 32);
    const { domain, project } = realm.fixtures;
    realm.roles.set(`${userId}|project:${project.id}`, ['member']);
    realm.roles.set(`${userId}|domain:${domain.id}`, ['member']);
    return userId;
  }

  #issueFederated(realm: Realm, idpId: string, idp: Idp, userId: string, scope: TokenRecord['scope'], res: ServerResponse, now: number, catalog: boolean): void {
    const { domain } = realm.fixtures;
    const token = this.#newToken(realm);
    const record: TokenRecord = {
      userId,
      scope,
      methods: ['mapped'],
      issuedAt: now,
      expiresAt: now + vendorTtlSeconds(realm) * 1000,
      revoked: false,
      user: {
        'OS-FEDERATION': { identity_provider: { id: idpId }, protocol: { id: idp.protocolId }, groups: [{ id: idp.group.id, name: idp.group.name }] },
        domain: { id: domain.id, name: domain.name },
        id: userId,
        name: 'FederationUser',
      },
    };
    realm.tokens.set(token, record);
    this.#json(res, 201, this.#tokenBody(realm, record, catalog), { 'X-Subject-Token': token });
  }
}

/** The `sub` of an ID token the IdP signed (iss, aud, exp checked), if it is one. */
async function verifiedIdToken(idp: Idp, jwt: string, now: number): Promise<string | undefined> {
  if (!idp.keys) return undefined;
  try {
    // The realm's clock, no leeway: an ID token is refused from the second its `exp` is reached.
    const { payload } = await jwtVerify(jwt, idp.keys, { issuer: idp.issuer, audience: idp.clientId, algorithms: ['RS256'], currentDate: new Date(now), clockTolerance: 0, requiredClaims: ['exp', 'sub'] });
    return payload.sub;
  } catch {
    return undefined;
  }
}

/** The `sub` the IdP's userinfo endpoint answers for a bearer token, if it accepts it. */
async function userinfoSubject(idp: Idp, token: string): Promise<string | undefined> {
  if (!idp.userinfoEndpoint) return undefined;
  try {
    const response = await fetch(idp.userinfoEndpoint, { headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
    if (response.status !== 200) return undefined;
    const claims = (await response.json()) as unknown;
    return isObject(claims) && typeof claims.sub === 'string' && claims.sub ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}


type PasswordUser = { id?: string; name?: string; password?: string; domain?: { id?: string; name?: string } };

interface ScopeOptions {
  /** A project may be named without its domain (the vendor's unique project names). */
  nameAlone?: boolean;
  /** The scope of a request without one (default: unscoped). */
  omitted?: TokenRecord['scope'];
  /** The error for a scope the user has no role on (default: Keystone's 401). */
  denied?: () => HttpError;
  /** The error for a malformed scope (default: Keystone's 400). */
  invalid?: () => HttpError;
}

interface AgencyRequest {
  name: string;
  domain: { id?: string; name?: string };
}

/** `assume_role` of a request: `agency_name` (or OTC's `xrole_name`) and `domain_id` or `domain_name` (id wins). */
function agencyRequest(value: unknown): AgencyRequest | undefined {
  if (!isObject(value)) return undefined;
  const name = value.agency_name ?? value.xrole_name;
  const domain = typeof value.domain_id === 'string' && value.domain_id ? { id: value.domain_id } : typeof value.domain_name === 'string' && value.domain_name ? { name: value.domain_name } : undefined;
  return typeof name === 'string' && name && domain ? { name, domain } : undefined;
}

/** A role's id: the same in every answer. */
function roleId(name: string): string {
  return createHash('sha256').update(`role|${name}`).digest('hex').slice(0, 32);
}

/** RFC 6238 with the current step and one either side. */
function totpValid(secret: string, passcode: string, now: number): boolean {
  return [-1, 0, 1].some((step) => totp(secret, now + step * 30_000) === passcode);
}

function vendorTtlSeconds(realm: Realm): number {
  return Math.min(VENDOR_TOKEN_TTL_SECONDS, realm.options.tokenTtlSeconds);
}

/** `duration_seconds` of the security-token endpoint: absent (900) or 900 to 86400. */
function isDuration(value: unknown): value is number | undefined {
  return value === undefined || (Number.isInteger(value) && (value as number) >= 900 && (value as number) <= 86400);
}

/** What a temporary access key bought with `token` acts as. */
function principal(record: TokenRecord): KeyPrincipal {
  if (record.methods.includes('assume_role')) return { kind: 'agency', id: record.userId };
  if (record.methods.includes('mapped')) return { kind: 'federated', id: record.userId };
  return { kind: 'user', id: record.userId };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startIamServer(options: ConstructorParameters<typeof IamServer>[0] = {}): Promise<IamServer> {
  const server = new IamServer(options);
  await server.listen();
  return server;
}
