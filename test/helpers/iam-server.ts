/**
 * The project's test IAM server: node:http on 127.0.0.1, answering as iam-api.md and keystone.md
 * describe a Keystone v3 (plus the vendor's client-credentials, login-token and security-token
 * endpoints), errors included.
 *
 * One server serves a whole test run. Each test creates its own *realm* (`POST /_realms`), an
 * isolated IAM under `/r/<id>` with its own users, tokens, scripted faults and request log, so
 * tests running in parallel never see each other's state.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface RealmOptions {
  /** Lifetime of password-issued tokens. */
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
  user: { id: string; name: string; password: string; domain: string };
  admin: { id: string; name: string; password: string; domain: string };
  client: { id: string; secret: string };
  accessKey: { access: string; secret: string; securityToken: string };
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
}

interface TokenRecord {
  userId: string;
  scope: { project?: string; domain?: string };
  methods: string[];
  issuedAt: number;
  expiresAt: number;
  revoked: boolean;
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
  issuedKeys: Map<string, { access: string; secret: string; securityToken: string; expiresAt: number }>;
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
  const client = { id: `app-${randomBytes(3).toString('hex')}`, secret: `cs-${randomBytes(8).toString('hex')}` };
  const accessKey = { access: `AK${randomBytes(8).toString('hex').toUpperCase()}`, secret: `SK${randomBytes(12).toString('hex')}`, securityToken: `ST${randomBytes(24).toString('base64url')}` };
  const realm: Realm = {
    id: realmId,
    options: { ...DEFAULT_OPTIONS, ...options },
    domains: [defaultDomain, fiware],
    projects: [smartcity, other, adminProject],
    users: [user, admin],
    roles: new Map([
      [`${user.id}|project:${smartcity.id}`, ['member']],
      [`${user.id}|domain:${fiware.id}`, ['member']],
      [`${admin.id}|project:${adminProject.id}`, ['admin']],
    ]),
    tokens: new Map(),
    clients: new Map([[client.id, client.secret]]),
    issuedKeys: new Map(),
    faults: [],
    requests: [],
    fixtures: {
      domain: fiware,
      project: { id: smartcity.id, name: smartcity.name },
      otherProject: { id: other.id, name: other.name },
      user: { id: user.id, name: user.name, password: user.password, domain: fiware.name },
      admin: { id: admin.id, name: admin.name, password: admin.password, domain: defaultDomain.name },
      client,
      accessKey,
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
    realm.requests.push({ method: req.method ?? 'GET', path, headers, body });

    const fault = realm.faults.find((f) => (!f.method || f.method === req.method) && (!f.path || f.path === path));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) realm.faults.splice(realm.faults.indexOf(fault), 1);
      return this.#fault(res, fault);
    }

    if (realm.options.delayMs) await new Promise((resolve) => setTimeout(resolve, realm.options.delayMs));
    const now = Date.now() + realm.options.clockOffsetMs;
    res.setHeader('Date', new Date(now).toUTCString());
    try {
      await this.#route(realm, req.method ?? 'GET', path, headers, body, res, now);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
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

  async #route(realm: Realm, method: string, path: string, headers: Record<string, string>, body: string, res: ServerResponse, now: number): Promise<void> {
    if (path === '/v3/auth/tokens') {
      if (method === 'POST') return this.#issue(realm, headers, body, res, now);
      if (method === 'GET' || method === 'HEAD') return this.#inspect(realm, method, headers, res, now);
      if (method === 'DELETE') return this.#revoke(realm, headers, res, now);
      throw new HttpError(405, 'The method is not allowed for the requested URL.', 'Method Not Allowed');
    }
    if (path === '/api/v2/tenant/token' && method === 'POST') return this.#clientCredentials(realm, headers, body, res, now);
    if (path === '/v3.0/OS-AUTH/securitytoken/logintokens' && method === 'POST') return this.#loginToken(realm, headers, body, res, now);
    if (path === '/v3.0/OS-CREDENTIAL/securitytokens' && method === 'POST') return this.#securityToken(realm, headers, body, res, now);
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

  #issue(realm: Realm, headers: Record<string, string>, body: string, res: ServerResponse, now: number): void {
    if (!headers['content-type']?.startsWith('application/json')) throw new HttpError(400, 'Expecting to find application/json in Content-Type header');
    let request: { auth?: { identity?: Record<string, unknown>; scope?: Record<string, unknown> } };
    try {
      request = JSON.parse(body) as typeof request;
    } catch {
      throw new HttpError(400, 'The request you have made requires a valid JSON body.');
    }
    const identity = request.auth?.identity as
      | { methods?: string[]; password?: { user?: { id?: string; name?: string; password?: string; domain?: { id?: string; name?: string } } }; token?: { id?: string } }
      | undefined;
    if (!identity || !Array.isArray(identity.methods) || identity.methods.length === 0) throw new HttpError(400, "'identity' is a required property");

    let user: User | undefined;
    let methods: string[];
    let parent: TokenRecord | undefined;
    if (identity.methods[0] === 'password') {
      const given = identity.password?.user;
      if (!given?.password) throw new HttpError(400, "'password' is a required property");
      if (given.id !== undefined) user = realm.users.find((u) => u.id === given.id);
      else {
        if (!given.domain) throw new HttpError(400, 'Expecting to find domain in user. The server could not comply with the request since it is either malformed or otherwise incorrect.');
        const domain = this.#findDomain(realm, given.domain);
        user = domain && realm.users.find((u) => u.name === given.name && u.domainId === domain.id);
      }
      if (!user || user.password !== given.password) throw new HttpError(401, 'The request you have made requires authentication.');
      methods = ['password'];
    } else if (identity.methods[0] === 'token') {
      parent = this.#validToken(realm, identity.token?.id, now);
      if (!parent) throw new HttpError(404, `Could not find token: ${identity.token?.id ?? ''}`);
      user = realm.users.find((u) => u.id === parent!.userId)!;
      methods = [...new Set([...parent.methods, 'token'])];
    } else {
      throw new HttpError(401, 'Attempted to authenticate with an unsupported method.');
    }

    const scope = this.#resolveScope(realm, user, request.auth?.scope);
    const token = this.#newToken(realm);
    const record: TokenRecord = {
      userId: user.id,
      scope,
      methods,
      issuedAt: now,
      // Keystone: a token obtained from a token never outlives its parent.
      expiresAt: parent ? parent.expiresAt : now + realm.options.tokenTtlSeconds * 1000,
      revoked: false,
    };
    realm.tokens.set(token, record);
    this.#json(res, 201, this.#tokenBody(realm, record), { 'X-Subject-Token': token });
  }

  #resolveScope(realm: Realm, user: User, scope: Record<string, unknown> | undefined): TokenRecord['scope'] {
    if (!scope) return {};
    const project = scope.project as { id?: string; name?: string; domain?: { id?: string; name?: string } } | undefined;
    const domainRef = scope.domain as { id?: string; name?: string } | undefined;
    if (project) {
      let found: (Entity & { domainId: string }) | undefined;
      if (project.id !== undefined) found = realm.projects.find((p) => p.id === project.id);
      else {
        if (!project.domain) throw new HttpError(400, 'Expecting to find domain in project. The server could not comply with the request since it is either malformed or otherwise incorrect.');
        const domain = this.#findDomain(realm, project.domain);
        found = domain && realm.projects.find((p) => p.name === project.name && p.domainId === domain.id);
      }
      if (!found || !realm.roles.has(`${user.id}|project:${found.id}`)) throw new HttpError(401, 'The request you have made requires authentication.');
      return { project: found.id };
    }
    if (domainRef) {
      const domain = this.#findDomain(realm, domainRef);
      if (!domain || !realm.roles.has(`${user.id}|domain:${domain.id}`)) throw new HttpError(401, 'The request you have made requires authentication.');
      return { domain: domain.id };
    }
    throw new HttpError(400, 'Invalid scope');
  }

  #tokenBody(realm: Realm, record: TokenRecord): unknown {
    const user = realm.users.find((u) => u.id === record.userId)!;
    const userDomain = realm.domains.find((d) => d.id === user.domainId)!;
    const token: Record<string, unknown> = {
      methods: record.methods,
      user: { id: user.id, name: user.name, domain: { id: userDomain.id, name: userDomain.name }, password_expires_at: null },
      audit_ids: [randomBytes(16).toString('base64url')],
      expires_at: iso(record.expiresAt),
      issued_at: iso(record.issuedAt),
    };
    if (record.scope.project) {
      const project = realm.projects.find((p) => p.id === record.scope.project)!;
      const domain = realm.domains.find((d) => d.id === project.domainId)!;
      token.project = { id: project.id, name: project.name, domain: { id: domain.id, name: domain.name } };
      token.roles = (realm.roles.get(`${user.id}|project:${project.id}`) ?? []).map((name) => ({ id: id(), name }));
      token.catalog = [];
    } else if (record.scope.domain) {
      const domain = realm.domains.find((d) => d.id === record.scope.domain)!;
      token.domain = { id: domain.id, name: domain.name };
      token.roles = (realm.roles.get(`${user.id}|domain:${domain.id}`) ?? []).map((name) => ({ id: id(), name }));
      token.catalog = [];
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

  #inspect(realm: Realm, method: string, headers: Record<string, string>, res: ServerResponse, now: number): void {
    const { caller, subject, subjectId } = this.#callerAndSubject(realm, headers, now);
    if (!subject) throw new HttpError(404, `Could not find token: ${subjectId ?? ''}`);
    if (subject.userId !== caller.userId && !this.#isAdmin(realm, caller)) throw new HttpError(403, 'You are not authorized to perform the requested action: identity:validate_token.');
    if (method === 'HEAD') {
      res.writeHead(200, { 'X-Subject-Token': subjectId! }).end();
      return;
    }
    this.#json(res, 200, this.#tokenBody(realm, subject), { 'X-Subject-Token': subjectId! });
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

  #securityToken(realm: Realm, headers: Record<string, string>, body: string, res: ServerResponse, now: number): void {
    const caller = this.#validToken(realm, headers['x-auth-token'], now);
    if (!caller) throw new HttpError(401, 'The request you have made requires authentication.');
    const request = JSON.parse(body) as { auth?: { identity?: { methods?: string[]; token?: { id?: string; duration_seconds?: number } } } };
    const duration = request.auth?.identity?.token?.duration_seconds ?? 900;
    if (!Number.isInteger(duration) || duration < 900 || duration > 86400) throw new HttpError(400, 'duration_seconds must be between 900 and 86400.');
    const key = { access: `AK${randomBytes(8).toString('hex').toUpperCase()}`, secret: `SK${randomBytes(12).toString('hex')}`, securityToken: `ST${randomBytes(24).toString('base64url')}`, expiresAt: now + duration * 1000 };
    realm.issuedKeys.set(key.access, key);
    this.#json(res, 201, { credential: { access: key.access, secret: key.secret, securitytoken: key.securityToken, expires_at: iso(key.expiresAt) } });
  }
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
