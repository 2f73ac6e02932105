/**
 * A real, certified OpenID Connect provider (oidc-provider v9) on 127.0.0.1, for end-to-end tests of
 * authctl's interactive sign-in: authorization code + PKCE with a loopback redirect (RFC 8252 §7.3),
 * the device authorization grant (RFC 8628), rotating refresh tokens, and userinfo.
 *
 * Each call starts an isolated provider (own port, own in-memory store, own keys), as
 * test/harness/oauth2-server.ts does for client credentials. The login and consent pages are this
 * file's own plain HTML forms (any login name works, the password is not checked), which
 * test/harness/browser.ts fills in with a real Chromium.
 *
 * What oidc-provider v9 needed here, besides the obvious:
 * - Loopback redirects on any port: v9 ignores the port of an `http://127.0.0.1/...` or
 *   `http://localhost/...` redirect URI only for clients with `application_type: 'native'`; both
 *   clients are native, registered with the port-less `http://127.0.0.1/callback`.
 * - Refresh tokens: v9 issues one only when `offline_access` was granted, and it drops
 *   `offline_access` from an authorization request unless `prompt` contains `consent` (the device
 *   flow has no `prompt` and keeps it). The `refreshTokens` option can also issue one always.
 * - Rotation: v9 rotates for public clients only, and for confidential ones after 70 % of the
 *   lifetime; `rotateRefreshToken` makes it every time, for both (option `rotateRefreshTokens`).
 * - devInteractions (v9's built-in login/consent) works, but prints a warning on every start,
 *   loads a Google font, and has no deny button on its consent page; hence the own pages. The
 *   device-flow pages and the error page are replaced for the same reason (no external fonts).
 * - The device authorization response carries no `interval` (clients then wait 5 s, RFC 8628
 *   §3.2); the harness adds one (option `deviceIntervalSeconds`). Polling faster is not answered
 *   with `slow_down`: v9 does not enforce the interval.
 */
import { generateKeyPair, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { ClientMetadata, Configuration, Provider } from 'oidc-provider';
import { memoryAdapterFactory, type StoredPayload } from './oauth2-server.js';

export interface OidcProviderOptions {
  /** Lifetime of access tokens (default 3600). */
  accessTokenTtlSeconds?: number;
  /** Lifetime of ID tokens (default: the access token's). */
  idTokenTtlSeconds?: number;
  /** Lifetime of refresh tokens (default 86400); a rotated one gets a fresh lifetime. */
  refreshTokenTtlSeconds?: number;
  /** Lifetime of device codes, the `expires_in` of the device authorization response (default 600). */
  deviceCodeTtlSeconds?: number;
  /** `interval` of the device authorization response (default 1); `null`: none (clients then wait 5 s). */
  deviceIntervalSeconds?: number | null;
  /**
   * When a refresh token is issued: `offline_access` (default) when that scope was granted, which
   * for the code flow needs `prompt=consent`; `always` for every grant of a client allowed
   * refresh_token (as Keycloak does); `never`.
   */
  refreshTokens?: 'offline_access' | 'always' | 'never';
  /** Every refresh answers with a new refresh token and consumes the old one (default true). */
  rotateRefreshTokens?: boolean;
}

export interface OidcClient {
  id: string;
  /** Only the confidential client has one (client_secret_basic). */
  secret?: string;
  /** As registered; any port of it is accepted (RFC 8252 §7.3). */
  redirectUri: string;
}

/** The endpoints of the discovery document. */
export interface OidcEndpoints {
  discovery: string;
  authorization: string;
  token: string;
  deviceAuthorization: string;
  userinfo: string;
  revocation: string;
  jwks: string;
}

export interface OidcProviderHarness {
  issuer: string;
  port: number;
  endpoints: OidcEndpoints;
  clients: {
    /** `cli-public`: token_endpoint_auth_method none, PKCE S256 required. */
    public: OidcClient;
    /** `cli-confidential`: client_secret_basic, also client_credentials. */
    confidential: OidcClient;
  };
  /** The public signing keys (RS256), e.g. for the test IAM server's `signing_key`. */
  jwks: { keys: JsonWebKey[] };
  /** Tokens issued at the token endpoint, by grant type (all grant types without one). */
  tokensIssued(grantType?: string): number;
  /** Token endpoint errors, by OAuth error code (e.g. `authorization_pending`, `invalid_grant`); all without one. */
  tokenErrors(error?: string): number;
  /** Requests the provider answered (an unreachable provider answers none), by path prefix. */
  requests(pathPrefix?: string): number;
  /**
   * Deletes every refresh token (or those of one grant: the `grantId` of a token's introspection,
   * or of `lastGrantId()`), so that the next refresh fails with invalid_grant. Returns how many.
   */
  revokeRefreshTokens(grantId?: string): number;
  /** The grant of the most recent consent, if any. */
  lastGrantId(): string | undefined;
  /** Stops listening and drops open connections: the provider is unreachable (ECONNREFUSED). */
  down(): Promise<void>;
  /** Listens again on the same port, with the same state. */
  up(): Promise<void>;
  stop(): Promise<void>;
}

/** What the harness uses of oidc-provider beyond test/harness/oidc-provider.d.ts. */
interface InteractionDetails {
  uid: string;
  prompt: { name: string; details: Record<string, unknown> };
  params: Record<string, unknown>;
  session?: { accountId?: string };
  grantId?: string;
}
interface GrantInstance {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: string[]): void;
  addResourceScope(indicator: string, scope: string): void;
  save(): Promise<string>;
}
interface InteractiveProvider {
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  Grant: { new (properties: { accountId?: string; clientId: unknown }): GrantInstance; find(id: string): Promise<GrantInstance | undefined> };
  on(event: string, listener: (...args: any[]) => void): unknown;
}
interface OidcContext {
  oidc: { params?: Record<string, unknown>; client?: { clientId: string } };
  body?: unknown;
}

type ProviderClass = typeof Provider;

let providerClass: Promise<ProviderClass> | undefined;

/** As in oauth2-server.ts: v9 prints "Unsupported runtime" on Node below 22, which is left visible. */
async function loadProvider(): Promise<ProviderClass> {
  providerClass ??= import('oidc-provider').then((module) => module.Provider);
  return providerClass;
}

const EXPIRED_KEPT_MS = 10 * 60_000;


/**
 * RS256, the algorithm every OpenID Connect relying party must accept and the one the vendors'
 * IAM expects of an ID token (iam-api.md §9). Generated asynchronously: ~100-200 ms, off the loop.
 */
async function signingKeys(): Promise<{ private: { keys: JsonWebKey[] }; public: { keys: JsonWebKey[] } }> {
  const { privateKey, publicKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 }) as { privateKey: KeyObject; publicKey: KeyObject };
  const kid = randomBytes(8).toString('hex');
  const meta = { kid, use: 'sig', alg: 'RS256' };
  return { private: { keys: [{ ...privateKey.export({ format: 'jwk' }), ...meta }] }, public: { keys: [{ ...publicKey.export({ format: 'jwk' }), ...meta }] } };
}

const REDIRECT_URI = 'http://127.0.0.1/callback';
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

function clientMetadata(clients: { public: OidcClient; confidential: OidcClient }): ClientMetadata[] {
  const common = { application_type: 'native', redirect_uris: [REDIRECT_URI], response_types: ['code'] };
  return [
    { ...common, client_id: clients.public.id, token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE] },
    {
      ...common,
      client_id: clients.confidential.id,
      client_secret: clients.confidential.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE, 'client_credentials'],
    },
  ];
}

const esc = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${esc(title)}</title></head>\n<body>\n<h1>${esc(title)}</h1>\n${body}\n</body></html>\n`;
}

function configuration(options: Required<OidcProviderOptions>, clients: { public: OidcClient; confidential: OidcClient }, store: Map<string, StoredPayload>, jwks: { keys: JsonWebKey[] }): Configuration {
  const refreshTokens = options.refreshTokens;
  return {
    adapter: memoryAdapterFactory(store, EXPIRED_KEPT_MS),
    clients: clientMetadata(clients),
    jwks,
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
    // Every login name is an account; its claims are derived from it.
    findAccount: async (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: async () => ({ sub, name: sub, preferred_username: sub, email: `${sub}@example.test`, email_verified: true }),
    }),
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    // Explicit, so that the provider prints no notice about its defaults.
    ttl: {
      AccessToken: options.accessTokenTtlSeconds,
      IdToken: options.idTokenTtlSeconds,
      RefreshToken: options.refreshTokenTtlSeconds,
      DeviceCode: options.deviceCodeTtlSeconds,
      ClientCredentials: options.accessTokenTtlSeconds,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 86400,
      // A grant outliving every refresh token: its expiry would end them.
      Grant: 14 * 86400,
    },
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }, source: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && (refreshTokens === 'always' || (refreshTokens === 'offline_access' && source.scopes.has('offline_access'))),
    rotateRefreshToken: () => options.rotateRefreshTokens,
    clientBasedCORS: () => false,
    renderError: async (ctx: { type: string; body: string }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = page('Error', `<div id="error">${Object.entries(out).map(([key, value]) => `<p><strong>${esc(key)}</strong>: <span class="${esc(key)}">${esc(value)}</span></p>`).join('\n')}</div>`);
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId: string }) => token.clientId === client.clientId,
      },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx: { body: string }, form: string, _out: unknown, err: { name?: string; userCode?: string } | undefined) => {
          const message = err === undefined ? 'Enter the code displayed on your device' : err.name === 'AbortedError' ? 'The sign-in request was interrupted' : 'The code you entered is incorrect';
          ctx.body = page('Device sign-in', `<p id="message"${err ? ' class="error"' : ''}>${esc(message)}</p>\n${form}\n<button id="submit" type="submit" form="op.deviceInputForm">Continue</button>`);
        },
        userCodeConfirmSource: async (ctx: { body: string }, form: string, client: { clientId: string }, _deviceInfo: unknown, userCode: string) => {
          ctx.body = page(
            'Confirm device',
            `<p>${esc(client.clientId)} asks to sign in. The code shown on your device should be:</p>\n<p><code id="user-code">${esc(userCode)}</code></p>\n${form}\n` +
              `<button id="confirm" type="submit" form="op.deviceConfirmForm">Continue</button>\n<button id="abort" type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
          );
        },
        successSource: async (ctx: { body: string }) => {
          ctx.body = page('Sign-in success', '<p id="device-done">Your device is signed in. You can close this page.</p>');
        },
      },
    },
  };
}

function readBody(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(body);
}

/**
 * The login and consent pages (`/interaction/{uid}`), as an application embedding oidc-provider
 * writes them: a login form (name and password; any name is an account), and a consent form with
 * Allow and Deny. Deny and Cancel end the interaction with `access_denied`.
 */
async function interaction(provider: InteractiveProvider, req: IncomingMessage, res: ServerResponse, onGrant: (grantId: string) => void): Promise<void> {
  const [, uid, action] = /^\/interaction\/([^/?]+)(?:\/([a-z]+))?/.exec(req.url ?? '') ?? [];
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const base = `/interaction/${esc(uid)}`;
  const client = esc(details.params.client_id);

  if (req.method === 'GET' && action === undefined) {
    if (details.prompt.name === 'login') {
      return html(
        res,
        200,
        page(
          'Sign-in',
          `<p>Sign in to continue to <strong id="client">${client}</strong>.</p>\n` +
            `<form id="login" method="post" action="${base}/login" autocomplete="off">\n` +
            `<label>Login name <input id="username" type="text" name="login" required autofocus></label>\n` +
            `<label>Password <input id="password" type="password" name="password"></label>\n` +
            `<button id="sign-in" type="submit">Sign in</button>\n</form>\n` +
            `<form id="cancel" method="post" action="${base}/abort"><button id="cancel-button" type="submit">Cancel</button></form>`,
        ),
      );
    }
    if (details.prompt.name === 'consent') {
      const scopes = String(details.params.scope ?? '').split(' ').filter(Boolean);
      return html(
        res,
        200,
        page(
          'Authorize',
          `<p><strong id="client">${client}</strong> asks for access to your account (${esc(details.session?.accountId ?? '')}):</p>\n` +
            `<ul id="scopes">${scopes.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>\n` +
            `<form id="consent" method="post" action="${base}/confirm"><button id="allow" type="submit">Allow</button></form>\n` +
            `<form id="deny" method="post" action="${base}/abort"><button id="deny-button" type="submit">Deny</button></form>`,
        ),
      );
    }
    return html(res, 501, page('Error', `<div id="error">prompt ${esc(details.prompt.name)} is not implemented</div>`));
  }

  if (req.method !== 'POST') return html(res, 405, page('Error', '<div id="error">method not allowed</div>'));
  const form = await readBody(req);
  if (action === 'login' && details.prompt.name === 'login') {
    const login = form.get('login')?.trim();
    if (!login) return html(res, 400, page('Error', '<div id="error">a login name is required</div>'));
    return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
  }
  if (action === 'confirm' && details.prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session?.accountId, clientId: details.params.client_id });
    if (grant === undefined) throw new Error('grant not found');
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    onGrant(grantId);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  if (action === 'abort') {
    return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
  }
  return html(res, 400, page('Error', `<div id="error">unexpected ${esc(action)} at prompt ${esc(details.prompt.name)}</div>`));
}

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    // fetch keeps idle connections open; without this close() waits for their keep-alive timeout.
    server.closeAllConnections();
  });
}

async function discover(issuer: string): Promise<OidcEndpoints> {
  const discovery = `${issuer}/.well-known/openid-configuration`;
  const res = await fetch(discovery);
  if (!res.ok) throw new Error(`oidc-provider discovery answered ${res.status}`);
  const doc = (await res.json()) as Record<string, unknown>;
  const get = (name: string): string => {
    const value = doc[name];
    if (typeof value !== 'string') throw new Error(`oidc-provider discovery has no ${name}`);
    return value;
  };
  return {
    discovery,
    authorization: get('authorization_endpoint'),
    token: get('token_endpoint'),
    deviceAuthorization: get('device_authorization_endpoint'),
    userinfo: get('userinfo_endpoint'),
    revocation: get('revocation_endpoint'),
    jwks: get('jwks_uri'),
  };
}

export async function startOidcProvider(options: OidcProviderOptions = {}): Promise<OidcProviderHarness> {
  const accessTokenTtlSeconds = options.accessTokenTtlSeconds ?? 3600;
  const settings: Required<OidcProviderOptions> = {
    accessTokenTtlSeconds,
    idTokenTtlSeconds: options.idTokenTtlSeconds ?? accessTokenTtlSeconds,
    refreshTokenTtlSeconds: options.refreshTokenTtlSeconds ?? 86400,
    deviceCodeTtlSeconds: options.deviceCodeTtlSeconds ?? 600,
    deviceIntervalSeconds: options.deviceIntervalSeconds === undefined ? 1 : options.deviceIntervalSeconds,
    refreshTokens: options.refreshTokens ?? 'offline_access',
    rotateRefreshTokens: options.rotateRefreshTokens ?? true,
  };
  const [Provider, keys] = await Promise.all([loadProvider(), signingKeys()]);
  // The issuer must contain the port, which is only known once listening; nobody knows the port
  // before the provider is attached, so no request can arrive earlier.
  const server = createServer();
  const port = await listen(server);
  const issuer = `http://127.0.0.1:${port}`;
  const clients = {
    public: { id: 'cli-public', redirectUri: REDIRECT_URI },
    confidential: { id: 'cli-confidential', secret: randomBytes(24).toString('base64url'), redirectUri: REDIRECT_URI },
  };
  const store = new Map<string, StoredPayload>();
  const provider = new Provider(issuer, configuration(settings, clients, store, keys.private));
  const interactive = provider as unknown as InteractiveProvider;

  const issued = new Map<string, number>();
  const errors = new Map<string, number>();
  const requests: string[] = [];
  let lastGrant: string | undefined;
  const bump = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const sum = (counts: Map<string, number>, key?: string) => (key === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(key) ?? 0));

  interactive.on('grant.success', (ctx: OidcContext) => bump(issued, String(ctx.oidc.params?.grant_type)));
  interactive.on('grant.error', (_ctx: OidcContext, err: { error?: string }) => bump(errors, err.error ?? 'unknown'));
  interactive.on('device_authorization.success', (_ctx: OidcContext, body: Record<string, unknown>) => {
    if (settings.deviceIntervalSeconds !== null) body.interval = settings.deviceIntervalSeconds;
  });
  // 5xx are otherwise only visible with DEBUG=oidc-provider:*; a test should see them.
  interactive.on('server_error', (ctx: { method: string; path: string }, err: Error) => {
    console.error(`oidc test provider: ${ctx.method} ${ctx.path} failed:`, err);
  });

  const callback = provider.callback();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '/');
    if (!req.url?.startsWith('/interaction/')) return callback(req, res);
    interaction(interactive, req, res, (grantId) => (lastGrant = grantId)).catch((err: unknown) => {
      if (!res.headersSent) html(res, 400, page('Error', `<div id="error">${esc(err instanceof Error ? err.message : err)}</div>`));
    });
  });

  try {
    const endpoints = await discover(issuer);
    let listening = true;
    let stopped: Promise<void> | undefined;
    return {
      issuer,
      port,
      endpoints,
      clients,
      jwks: keys.public,
      tokensIssued: (grantType) => sum(issued, grantType),
      tokenErrors: (error) => sum(errors, error),
      requests: (prefix) => (prefix === undefined ? requests.length : requests.filter((r) => r.startsWith(prefix)).length),
      revokeRefreshTokens: (grantId) => {
        let revoked = 0;
        for (const [key, { payload }] of store) {
          if (key.startsWith('RefreshToken:') && (grantId === undefined || payload.grantId === grantId)) {
            store.delete(key);
            revoked += 1;
          }
        }
        return revoked;
      },
      lastGrantId: () => lastGrant,
      down: async () => {
        if (!listening) return;
        listening = false;
        await close(server);
      },
      up: async () => {
        if (stopped) throw new Error('the provider was stopped');
        if (listening) return;
        await listen(server, port);
        listening = true;
      },
      stop: () => {
        stopped ??= (async () => {
          if (!listening) return;
          listening = false;
          await close(server);
        })();
        return stopped;
      },
    };
  } catch (err) {
    await close(server);
    throw err;
  }
}
