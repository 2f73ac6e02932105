import { durationSetting } from '../../core/duration.js';
import { UsageError } from '../../core/errors.js';
import { checkUrl, missingSetting, pick, type Layer, type Missing, type Setting, type Source, type Values } from '../../core/settings.js';
import type { CachedToken } from '../../core/token.js';
import type { ProviderTokens } from '../../iam/oidc.js';
import { cacheKey, toCachedToken, type AuthMethod, type Resolution } from '../method.js';
import { DEFAULT_OIDC_SCOPE, GRANTS, providerTokens, type Grant, type OidcSignIn } from '../oidc-sign-in.js';
import { CLIENT_AUTH, CLIENT_ID, CLIENT_SECRET, OAUTH2_SCOPE, SAVE_SECRET } from './oauth2-client-credentials.js';

/**
 * OpenID Connect at a provider found by its issuer (`--oidc-issuer`): the code flow in a browser,
 * the device flow, or client credentials (`--grant`, else the one rule). `token get` prints the
 * access token (`--output id-token` the ID token) and renews with the refresh token, silently.
 */

interface OidcTarget extends OidcSignIn {
  kind: 'oidc';
}

export const OIDC_ISSUER: Setting = {
  key: 'oidcIssuer',
  flag: '--oidc-issuer',
  arg: '<url>',
  env: ['AUTHCTL_OIDC_ISSUER'],
  saved: 'profile',
  commands: ['login'],
  help: 'sign in with OpenID Connect at this provider (its issuer URL; discovery finds the rest)',
};

export const GRANT: Setting = {
  key: 'grant',
  flag: '--grant',
  arg: '<grant>',
  choices: GRANTS,
  env: ['AUTHCTL_GRANT'],
  saved: 'profile',
  commands: ['login'],
  help: 'how to sign in: code (a browser), device (a second device) or client-credentials (default: client-credentials with a client secret, else code where a browser can open, else device)',
};

export const DEVICE: Setting = { key: 'device', flag: '--device', commands: ['login'], help: 'short for --grant device: sign in on a second device (SSH sessions, containers)' };

export const LOGIN_TIMEOUT: Setting = {
  key: 'loginTimeout',
  flag: '--login-timeout',
  arg: '<duration>',
  env: ['AUTHCTL_LOGIN_TIMEOUT'],
  defaultValue: '5m',
  commands: ['login'],
  help: 'how long to wait for the person to finish signing in (--timeout stays the per-request network timeout)',
};

export const NO_BROWSER: Setting = { key: 'browser', flag: '--no-browser', commands: ['login'], help: 'print the sign-in URL instead of opening a browser' };

const DEFAULT_LOGIN_TIMEOUT_SECONDS = 300;

interface OidcValues {
  oidcIssuer?: string;
  clientId?: string;
  clientAuth?: string;
  grant?: string;
  device?: boolean;
  scope?: string;
  loginTimeout?: string;
  browser?: boolean;
}

const MISSING = { issuer: missingSetting('issuer URL', OIDC_ISSUER), clientId: missingSetting('client id', CLIENT_ID) } satisfies Record<string, Missing>;

/** The settings every OpenID Connect method reads of the provider side, and their resolution. */
export const PROVIDER_SETTINGS: readonly Setting[] = [CLIENT_ID, CLIENT_AUTH, GRANT, DEVICE, OAUTH2_SCOPE, LOGIN_TIMEOUT, NO_BROWSER, CLIENT_SECRET, SAVE_SECRET];

export function resolveSignIn(layers: readonly Layer[], issuer: string | undefined, missing: Missing[], settings: Record<string, string | boolean>, sources: Record<string, Source>): OidcSignIn | undefined {
  const typed = layers as readonly Layer<OidcValues>[];
  const take = <K extends keyof OidcValues>(key: K) => {
    const found = pick(typed, key);
    if (found && (key === 'clientId' || key === 'clientAuth' || key === 'grant' || key === 'scope')) {
      settings[key] = found.value as string;
      sources[key] = found.source;
    }
    return found;
  };
  const clientId = take('clientId');
  if (!clientId) missing.push(MISSING.clientId);
  const clientAuth = take('clientAuth')?.value ?? 'basic';
  if (clientAuth !== 'basic' && clientAuth !== 'post') throw new UsageError(`client auth ${JSON.stringify(clientAuth)} is not basic or post`, { hint: 'e.g. --client-auth basic' });
  const device = take('device');
  const grant = device?.value ? 'device' : take('grant')?.value;
  if (grant !== undefined && !(GRANTS as readonly string[]).includes(grant)) throw new UsageError(`grant ${JSON.stringify(grant)} is not one of ${GRANTS.join(', ')}`, { hint: 'e.g. --grant device' });
  if (device?.value) settings.grant = 'device';
  const scope = take('scope')?.value ?? DEFAULT_OIDC_SCOPE;
  const timeout = take('loginTimeout');
  const loginTimeoutMs = (timeout ? durationSetting(timeout.value, timeout.source.name) : DEFAULT_LOGIN_TIMEOUT_SECONDS) * 1000;
  if (!issuer || !clientId) return undefined;
  return {
    issuer,
    client: { clientId: clientId.value, clientAuth },
    ...(grant ? { grant: grant as Grant } : {}),
    scope,
    loginTimeoutMs,
    noBrowser: take('browser')?.value === false,
  };
}

/** A provider's answer as authctl caches it: the access token, its expiry, who signed in, and the ID token for `--output id-token`. */
export function providerCachedToken(method: AuthMethod<OidcTarget>, target: OidcTarget, tokens: ProviderTokens, previous?: CachedToken): CachedToken {
  const claims = tokens.claims ?? {};
  const name = [claims.preferred_username, claims.email, claims.name, claims.sub].find((value): value is string => typeof value === 'string');
  const user = { ...(typeof claims.sub === 'string' ? { id: claims.sub } : {}), ...(name ? { name } : {}) };
  const idToken = tokens.idToken ?? previous?.idToken;
  const cached = toCachedToken(method, target, { token: tokens.accessToken, info: { expiresAt: tokens.expiresAt, issuedAt: tokens.issuedAt, ...(name ? { user } : previous?.user ? { user: previous.user } : {}) }, skewMs: 0 }, target.issuer);
  return idToken ? { ...cached, idToken } : cached;
}

export const openIdConnect: AuthMethod<OidcTarget> = {
  kind: 'oidc',
  label: 'OpenID Connect',
  settings: [OIDC_ISSUER, ...PROVIDER_SETTINGS],
  names: (values: Values) => values.oidcIssuer !== undefined,
  readsCloudsYaml: false,
  authTypes: [],
  // A public client has no secret; a confidential one's is used at the token endpoint (and saved with --save-secret).
  secret: { role: 'client-secret', what: 'client secret', setting: CLIENT_SECRET, save: SAVE_SECRET, optional: true },

  resolve(layers: readonly Layer[]): Resolution<OidcTarget> {
    const missing: Missing[] = [];
    const settings: Record<string, string | boolean> = { kind: 'oidc' };
    const sources: Record<string, Source> = {};
    const issuer = pick(layers as readonly Layer<OidcValues>[], 'oidcIssuer');
    if (issuer) {
      settings.oidcIssuer = issuer.value;
      sources.oidcIssuer = issuer.source;
    } else missing.push(MISSING.issuer);
    const signIn = resolveSignIn(layers, issuer?.value, missing, settings, sources);
    return { missing, settings, sources, ...(signIn ? { target: { kind: 'oidc' as const, ...signIn } } : {}) };
  },
  check: (target, allowHttp) => ({ ...target, issuer: checkUrl(target.issuer, 'issuer URL', '--oidc-issuer', allowHttp) }),
  urls: (target) => ({ oidcIssuer: target.issuer }),
  identity: (target) => [target.issuer, target.client.clientId],
  scopeKey: (target) => [target.scope],

  async authenticate(io, target, secret) {
    const { tokens, commit, refreshed } = await providerTokens(io, target, secret);
    await commit();
    // OIDC lets a refresh answer leave out the ID token: the sign-in's stays (for this very client and provider only).
    const previous = refreshed ? await io.cachedToken() : undefined;
    return providerCachedToken(openIdConnect, target, tokens, previous?.key === cacheKey(openIdConnect, target) ? previous : undefined);
  },
  ask: async () => ({}),
  secretPrompt: (target) => `Client secret for ${target.client.clientId}:`,
  describe: (settings) => ({
    iam: settings.oidcIssuer ?? null,
    user: settings.clientId ? `client ${settings.clientId}` : null,
    scope: settings.scope ?? DEFAULT_OIDC_SCOPE,
    region: null,
  }),
  summary: (target, token) => ({ iam: target.issuer, who: token.user?.name ?? `client ${target.client.clientId}`, scope: undefined }),
  can: {},
};
