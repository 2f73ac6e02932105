import { checkUrl, missingSetting, pick, type Layer, type Setting, type Source, type Values } from '../../core/settings.js';
import type { OAuth2Target } from '../../core/target.js';
import { basicCredentials, clientCredentialsToken } from '../../iam/oauth2.js';
import { AUTH_URL } from '../keystone-identity.js';
import { toCachedToken, type AuthMethod, type Resolution } from '../method.js';
import { SAVE_SECRET } from './oauth2-client-credentials.js';

/**
 * keystoneauth's `v3oauth2clientcredential`: Keystone's own OAuth2 endpoint
 * (`{auth_url}/OS-OAUTH2/token`), where the client is an application credential and only HTTP
 * Basic authenticates it. The access token is a Keystone token.
 */

export const OAUTH2_ENDPOINT: Setting = {
  key: 'oauth2Endpoint',
  flag: '--oauth2-endpoint',
  arg: '<url>',
  env: ['OS_OAUTH2_ENDPOINT'],
  clouds: 'auth.oauth2_endpoint',
  saved: 'profile',
  commands: ['login'],
  help: "Keystone's OAuth2 token endpoint (default: {auth-url}/OS-OAUTH2/token)",
};

export const OAUTH2_CLIENT_ID: Setting = {
  key: 'oauth2ClientId',
  flag: '--oauth2-client-id',
  arg: '<id>',
  env: ['OS_OAUTH2_CLIENT_ID'],
  clouds: 'auth.oauth2_client_id',
  saved: 'profile',
  commands: ['login'],
  help: "with --auth-type v3oauth2clientcredential: the application credential's id",
};

export const OAUTH2_CLIENT_SECRET: Setting = {
  key: 'oauth2ClientSecretStdin',
  flag: '--oauth2-client-secret-stdin',
  env: ['OS_OAUTH2_CLIENT_SECRET'],
  clouds: 'auth.oauth2_client_secret',
  saved: 'secret-store',
  secret: true,
  commands: ['login'],
  help: "read the application credential's secret from stdin (else the variable, else a prompt)",
};

interface Values_ {
  authUrl?: string;
  oauth2Endpoint?: string;
  oauth2ClientId?: string;
}

export const keystoneOAuth2: AuthMethod<OAuth2Target> = {
  kind: 'keystone-oauth2',
  label: 'Keystone OAuth2 client credentials',
  settings: [AUTH_URL, OAUTH2_ENDPOINT, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET, SAVE_SECRET],
  names: (values: Values) => values.oauth2ClientId !== undefined,
  readsCloudsYaml: true,
  authTypes: ['v3oauth2clientcredential'],
  secret: { role: 'oauth2-client-secret', what: 'client secret', setting: OAUTH2_CLIENT_SECRET, save: SAVE_SECRET },

  resolve(layers: readonly Layer[]): Resolution<OAuth2Target> {
    const typed = layers as readonly Layer<Values_>[];
    const sources: Record<string, Source> = {};
    const clientId = pick(typed, 'oauth2ClientId');
    const endpoint = pick(typed, 'oauth2Endpoint');
    const authUrl = pick(typed, 'authUrl');
    if (clientId) sources.oauth2ClientId = clientId.source;
    if (endpoint) sources.oauth2Endpoint = endpoint.source;
    if (authUrl) sources.authUrl = authUrl.source;
    const tokenUrl = endpoint?.value ?? (authUrl ? `${authUrl.value.replace(/\/+$/, '')}/OS-OAUTH2/token` : undefined);
    const missing = [...(clientId ? [] : [missingSetting('client id', OAUTH2_CLIENT_ID)]), ...(tokenUrl ? [] : [missingSetting('auth URL', AUTH_URL)])];
    const settings: Record<string, string> = {
      kind: 'keystone-oauth2',
      ...(authUrl ? { authUrl: authUrl.value } : {}),
      ...(endpoint ? { oauth2Endpoint: endpoint.value } : {}),
      ...(clientId ? { oauth2ClientId: clientId.value } : {}),
    };
    const resolution: Resolution<OAuth2Target> = { missing, settings, sources };
    if (clientId && tokenUrl) resolution.target = { kind: 'keystone-oauth2', tokenUrl, clientId: clientId.value, clientAuth: 'basic' };
    return resolution;
  },
  check: (target, allowHttp) => ({ ...target, tokenUrl: checkUrl(target.tokenUrl, 'OAuth2 endpoint', '--oauth2-endpoint', allowHttp) }),
  urls: () => ({}),
  identity: (target) => [target.tokenUrl, target.clientId],
  scopeKey: () => [],

  async authenticate(io, target, secret) {
    // The Basic header's base64 of id:secret is the secret too, should a server echo the header.
    io.conceal(basicCredentials(target.clientId, secret));
    return toCachedToken(keystoneOAuth2, target, await clientCredentialsToken(io.http, target, secret, io.now), target.tokenUrl);
  },
  ask: async () => ({}),
  secretPrompt: (target) => `Secret of application credential ${target.clientId}:`,
  describe: (settings) => ({ iam: settings.oauth2Endpoint ?? (settings.authUrl ? `${settings.authUrl}/OS-OAUTH2/token` : null), user: settings.oauth2ClientId ? `application credential ${settings.oauth2ClientId}` : null, scope: "the credential's", region: null }),
  summary: (target) => ({ iam: target.tokenUrl, who: `application credential ${target.clientId}`, scope: undefined }),
  can: {},
};
