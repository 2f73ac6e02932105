import { checkUrl, type Layer, type Setting } from '../../core/settings.js';
import { describeIamProject, describeIamUser, describeScope, type Scope } from '../../core/target.js';
import { authBody, issueToken, tokenPiece } from '../../iam/keystone.js';
import { AUTH_URL, REGION, resolveFromToken, SCOPE_SETTINGS, scopeKey, userTokenCapabilities } from '../keystone-identity.js';
import { VENDOR } from '../vendors.js';
import { toCachedToken, type AuthMethod, type Resolution } from '../method.js';
import { SAVE_SECRET } from './oauth2-client-credentials.js';

/**
 * Keystone v3 `token` (`--auth-type v3token` / `token`): starts from an existing token, rescoped
 * with the token method to the scope asked for. Keystone keeps the source token's expiry.
 */

interface TokenTarget {
  kind: 'keystone-token';
  authUrl: string;
  scope: Scope;
}

export const SOURCE_TOKEN: Setting = {
  key: 'tokenStdin',
  flag: '--token-stdin',
  env: ['OS_TOKEN'],
  clouds: 'auth.token',
  saved: 'secret-store',
  secret: true,
  commands: ['login'],
  help: 'with --auth-type v3token: read the token to start from on stdin (else the variable)',
};

export const keystoneToken: AuthMethod<TokenTarget> = {
  kind: 'keystone-token',
  label: 'Keystone token',
  settings: [AUTH_URL, VENDOR, ...SCOPE_SETTINGS, REGION, SOURCE_TOKEN, SAVE_SECRET],
  names: () => false,
  readsCloudsYaml: true,
  authTypes: ['v3token', 'token'],
  startsFromToken: true,
  secret: { role: 'source-token', what: 'token to start from', setting: SOURCE_TOKEN, save: SAVE_SECRET },

  resolve(layers: readonly Layer[]): Resolution<TokenTarget> {
    const { authUrl, scope, ...resolution } = resolveFromToken(layers, 'keystone-token');
    return { ...resolution, ...(authUrl !== undefined && scope ? { target: { kind: 'keystone-token', authUrl, scope } } : {}) };
  },
  check: (target, allowHttp) => ({ ...target, authUrl: checkUrl(target.authUrl, 'auth URL', '--auth-url', allowHttp) }),
  urls: (target) => ({ authUrl: target.authUrl }),
  // Who the token belongs to is known only from Keystone's answer.
  identity: (target) => [target.authUrl],
  scopeKey: (target) => [scopeKey(target.scope)],

  async authenticate(io, target, token) {
    const issued = await issueToken(io.http, target.authUrl, authBody([tokenPiece(token)], target.scope), io.now, { 'x-auth-token': token });
    return toCachedToken(keystoneToken, target, issued, target.authUrl);
  },
  async ask(missing, prompter) {
    return missing.some((item) => item.what === 'auth URL') ? { authUrl: await prompter.input('Auth URL (the Keystone v3 base, e.g. https://iam.example.com/v3):') } : {};
  },
  secretPrompt: () => 'Token to start from:',
  describe: (settings) => ({ iam: settings.authUrl ?? null, user: 'from a token', scope: settings.projectId || settings.project || settings.domain || settings.domainId || settings.trustId || settings.systemScope ? 'as given' : 'unscoped', region: settings.region ?? null }),
  summary: (target, token) => ({
    iam: target.authUrl,
    who: token.user?.name ? `${describeIamUser(token.user)} via a token` : 'the user of the token',
    scope: token.project ? describeIamProject(token.project) : describeScope(target.scope),
  }),
  iamUrl: (target) => target.authUrl,
  can: userTokenCapabilities(() => keystoneToken),
};
