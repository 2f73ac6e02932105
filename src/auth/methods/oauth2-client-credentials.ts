import { UsageError } from '../../core/errors.js';
import { checkUrl, missingSetting, pick, sourceOf, type Layer, type Missing, type Setting, type Source, type Values } from '../../core/settings.js';
import type { ClientAuth, OAuth2Target } from '../../core/target.js';
import { basicCredentials, clientCredentialsToken, defaultTokenUrl, isTenantTokenUrl } from '../../iam/oauth2.js';
import { AUTH_URL } from '../keystone-identity.js';
import { toCachedToken, type AuthMethod, type Resolution } from '../method.js';

/** OAuth2 client credentials (RFC 6749 §4.4): a client id and secret exchanged at a token endpoint. */

export const CLIENT_ID: Setting = {
  key: 'clientId',
  flag: '--client-id',
  arg: '<id>',
  env: ['AUTHCTL_CLIENT_ID', 'OS_CLIENT_ID'],
  clouds: 'auth.client_id',
  saved: 'profile',
  commands: ['login'],
  help: 'log in with OAuth2 client credentials',
};

export const TOKEN_URL: Setting = {
  key: 'tokenUrl',
  flag: '--token-url',
  arg: '<url>',
  env: ['AUTHCTL_TOKEN_URL'],
  saved: 'profile',
  commands: ['login'],
  help: 'OAuth2 token endpoint (default: {auth-url}/api/v2/tenant/token)',
};

export const CLIENT_SECRET: Setting = {
  key: 'clientSecretStdin',
  flag: '--client-secret-stdin',
  env: ['AUTHCTL_CLIENT_SECRET', 'OS_CLIENT_SECRET'],
  clouds: 'auth.client_secret',
  saved: 'secret-store',
  secret: true,
  commands: ['login'],
  help: 'read the client secret from stdin (else the variable, else a prompt)',
};

export const SAVE_SECRET: Setting = {
  key: 'saveSecret',
  flag: '--save-secret',
  commands: ['login'],
  help: 'keep the secret (client secret, application credential secret, token) in the secret store so tokens renew without asking',
};

export const CLIENT_AUTH: Setting = {
  key: 'clientAuth',
  flag: '--client-auth',
  arg: '<how>',
  choices: ['basic', 'post'],
  saved: 'profile',
  commands: ['login'],
  help: 'send the client secret with HTTP Basic or in the form body (default: post for {auth-url}/api/v2/tenant/token, else basic)',
};

export const OAUTH2_SCOPE: Setting = { key: 'scope', flag: '--scope', arg: '<scopes>', env: ['AUTHCTL_OAUTH2_SCOPE', 'OS_OPENID_SCOPE'], clouds: 'auth.openid_scope', saved: 'profile', commands: ['login'], help: 'OAuth2 scopes to ask for, space-separated (OpenID Connect default: openid profile offline_access)' };
export const OAUTH2_AUDIENCE: Setting = { key: 'audience', flag: '--audience', arg: '<audience>', env: ['AUTHCTL_OAUTH2_AUDIENCE'], saved: 'profile', commands: ['login'], help: 'the OAuth2 audience to ask a token for' };

const MISSING_CLIENT_ID = missingSetting('client id', CLIENT_ID);
const MISSING_TOKEN_URL: Missing = { what: 'token URL', flag: '--token-url or --auth-url', env: 'AUTHCTL_TOKEN_URL or OS_AUTH_URL' };

interface OAuth2Values {
  clientId?: string;
  tokenUrl?: string;
  authUrl?: string;
  clientAuth?: string;
  scope?: string;
  audience?: string;
}

export const oauth2ClientCredentials: AuthMethod<OAuth2Target> = {
  kind: 'oauth2',
  label: 'OAuth2 client credentials',
  settings: [CLIENT_ID, TOKEN_URL, AUTH_URL, CLIENT_AUTH, OAUTH2_SCOPE, OAUTH2_AUDIENCE, CLIENT_SECRET, SAVE_SECRET],
  names: (values: Values) => values.clientId !== undefined || values.tokenUrl !== undefined,
  readsCloudsYaml: false,
  authTypes: [],
  secret: { role: 'client-secret', what: 'client secret', setting: CLIENT_SECRET, save: SAVE_SECRET },

  resolve(layers: readonly Layer[]): Resolution<OAuth2Target> {
    const typed = layers as readonly Layer<OAuth2Values>[];
    const sources: Record<string, Source> = {};
    const clientId = pick(typed, 'clientId');
    if (clientId) sources.clientId = clientId.source;
    // The token URL from the first layer naming one; an auth URL (the base it defaults under)
    // counts as one only on the command line: an OS_AUTH_URL left in the environment for
    // Keystone must not move a profile's saved token URL. Otherwise the first base given.
    let tokenUrl: string | undefined;
    const from =
      typed.find((candidate) => candidate.values.tokenUrl !== undefined || (candidate.kind === 'flag' && candidate.values.authUrl !== undefined)) ??
      typed.find((candidate) => candidate.values.authUrl !== undefined);
    if (from?.values.tokenUrl !== undefined) {
      tokenUrl = from.values.tokenUrl;
      sources.tokenUrl = sourceOf(from, 'tokenUrl');
    } else if (from?.values.authUrl !== undefined) {
      tokenUrl = defaultTokenUrl(from.values.authUrl);
      sources.tokenUrl = sourceOf(from, 'authUrl');
    }
    const missing = [...(clientId ? [] : [MISSING_CLIENT_ID]), ...(tokenUrl ? [] : [MISSING_TOKEN_URL])];
    const settings: Record<string, string> = { kind: 'oauth2', ...(clientId ? { clientId: clientId.value } : {}), ...(tokenUrl ? { tokenUrl } : {}) };
    const optional: Record<string, string> = {};
    for (const key of ['clientAuth', 'scope', 'audience'] as const) {
      const found = pick(typed, key);
      if (!found) continue;
      optional[key] = settings[key] = found.value;
      sources[key] = found.source;
    }
    if (!clientId || !tokenUrl) return { missing, settings, sources };
    const clientAuth = (optional.clientAuth ?? (isTenantTokenUrl(tokenUrl) ? 'post' : 'basic')) as ClientAuth;
    const target: OAuth2Target = { kind: 'oauth2', clientId: clientId.value, tokenUrl, clientAuth, ...(optional.scope ? { scope: optional.scope } : {}), ...(optional.audience ? { audience: optional.audience } : {}) };
    return { target, missing, settings, sources };
  },
  check(target, allowHttp) {
    if (target.clientAuth !== 'basic' && target.clientAuth !== 'post') throw new UsageError(`client auth ${JSON.stringify(target.clientAuth)} is not basic or post`, { hint: 'e.g. --client-auth basic' });
    return { ...target, tokenUrl: checkUrl(target.tokenUrl, 'token URL', '--token-url', allowHttp) };
  },
  urls: (target) => ({ tokenUrl: target.tokenUrl }),
  identity: (target) => [target.tokenUrl, target.clientId],
  // Tokens for other scopes or audiences are other tokens; none asked for keeps the key short.
  scopeKey: (target) => (target.scope || target.audience ? ['scope', target.scope ?? null, 'audience', target.audience ?? null] : []),

  async authenticate(io, target, secret) {
    // The Basic header's base64 of id:secret is the secret too, should a server echo the header.
    if (target.clientAuth === 'basic') io.conceal(basicCredentials(target.clientId, secret));
    return toCachedToken(oauth2ClientCredentials, target, await clientCredentialsToken(io.http, target, secret, io.now), target.tokenUrl);
  },
  // A client id and token URL are configuration, not something to ask a person for.
  ask: async () => ({}),
  secretPrompt: (target) => `Client secret for ${target.clientId}:`,

  describe: (settings) => ({ iam: settings.tokenUrl ?? null, user: settings.clientId ? `client ${settings.clientId}` : null, scope: null, region: null }),
  summary: (target) => ({ iam: target.tokenUrl, who: `client ${target.clientId}`, scope: undefined }),

  // Client-credentials tokens have no validation or revocation endpoint, and no scope to change.
  can: {},
};
