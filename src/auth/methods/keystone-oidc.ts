import { UsageError } from '../../core/errors.js';
import { checkUrl, type Layer, type Setting, type Source, type Values } from '../../core/settings.js';
import { describeScope, type Scope } from '../../core/target.js';
import { federatedToken } from '../../iam/federation.js';
import { issueToken, tokenAuthBody } from '../../iam/keystone.js';
import { AUTH_URL, REGION, resolveFromToken, SCOPE_SETTINGS, scopeKey, USER_SETTINGS, userTokenCapabilities } from '../keystone-identity.js';
import { PASSWORD } from './keystone-password.js';
import { toCachedToken, type AuthMethod, type Resolution } from '../method.js';
import { providerTokens, type GivenCredentials, type Grant, type OidcSignIn } from '../oidc-sign-in.js';
import { VENDOR } from '../vendors.js';
import { CLIENT_SECRET } from './oauth2-client-credentials.js';
import { PROVIDER_SETTINGS, resolveSignIn } from './oidc.js';

/**
 * Keystone federation through OpenID Connect, with keystoneauth's auth types and names (so an
 * `openrc` or `clouds.yaml` entry carries over): the provider's token, from a browser, a second
 * device, client credentials or given outright, exchanged at the federation endpoint for an
 * unscoped token, then scoped with the token method. Renewals refresh at the provider and
 * exchange again, without the browser.
 */

interface FederatedTarget {
  kind: string;
  authUrl: string;
  identityProvider: string;
  protocol: string;
  scope: Scope;
  /** How the provider's token is got; none: it is given (OS_ACCESS_TOKEN). */
  signIn?: OidcSignIn;
  /** v3oidcpassword: the resource owner at the provider. */
  username?: string;
  /** OTC and Huawei Cloud take the ID token as the bearer (iam-api.md §10); Keystone behind mod_auth_openidc the access token. */
  bearer: 'access-token' | 'id-token';
}

const row = (setting: Omit<Setting, 'commands'>): Setting => ({ commands: ['login'], ...setting });

export const IDENTITY_PROVIDER = row({ key: 'identityProvider', flag: '--identity-provider', arg: '<id>', env: ['OS_IDENTITY_PROVIDER'], clouds: 'auth.identity_provider', saved: 'profile', help: "Keystone's identity provider for a federated (v3oidc*) login" });
export const PROTOCOL = row({ key: 'protocol', flag: '--protocol', arg: '<id>', env: ['OS_PROTOCOL'], clouds: 'auth.protocol', saved: 'profile', defaultValue: 'openid', help: "the identity provider's federation protocol in Keystone" });
export const DISCOVERY_ENDPOINT = row({ key: 'discoveryEndpoint', flag: '--discovery-endpoint', arg: '<url>', env: ['OS_DISCOVERY_ENDPOINT'], clouds: 'auth.discovery_endpoint', saved: 'profile', help: "the provider's /.well-known/openid-configuration URL (v3oidc*)" });
export const ACCESS_TOKEN = row({ key: 'accessTokenStdin', flag: '--access-token-stdin', env: ['OS_ACCESS_TOKEN'], clouds: 'auth.access_token', secret: true, help: "with --auth-type v3oidcaccesstoken: read the provider's access token from stdin (else the variable)" });

export const ACCESS_TOKEN_ENDPOINT = row({ key: 'accessTokenEndpoint', flag: '--access-token-endpoint', arg: '<url>', env: ['OS_ACCESS_TOKEN_ENDPOINT'], clouds: 'auth.access_token_endpoint', saved: 'profile', help: "the provider's token endpoint, over the discovered one (v3oidc*)" });
export const DEVICE_ENDPOINT = row({ key: 'deviceAuthorizationEndpoint', flag: '--device-authorization-endpoint', arg: '<url>', env: ['OS_DEVICE_AUTHORIZATION_ENDPOINT'], clouds: 'auth.device_authorization_endpoint', saved: 'profile', help: "the provider's device authorization endpoint, over the discovered one (v3oidcdeviceauthz)" });
export const CODE_CHALLENGE_METHOD = row({ key: 'codeChallengeMethod', env: ['OS_CODE_CHALLENGE_METHOD'], clouds: 'auth.code_challenge_method', arg: '<method>', help: 'PKCE: authctl always uses S256; anything else is refused' });
export const CODE = row({ key: 'code', env: ['OS_CODE'], clouds: 'auth.code', secret: true, help: 'with v3oidcauthcode: an authorization code obtained elsewhere (with OS_REDIRECT_URI), used by login; without one, login opens the browser' });
export const REDIRECT_URI = row({ key: 'redirectUri', env: ['OS_REDIRECT_URI'], clouds: 'auth.redirect_uri', arg: '<url>', help: 'with OS_CODE: the redirect URI the code was issued for' });

const WELL_KNOWN = '/.well-known/openid-configuration';

/** keystoneauth's discovery_endpoint is the whole well-known URL; the issuer is what precedes it. */
export function issuerOf(discoveryEndpoint: string): string {
  return discoveryEndpoint.endsWith(WELL_KNOWN) ? discoveryEndpoint.slice(0, -WELL_KNOWN.length) : discoveryEndpoint.replace(/\/+$/, '');
}

interface FederationValues {
  identityProvider?: string;
  protocol?: string;
  discoveryEndpoint?: string;
  accessTokenEndpoint?: string;
  deviceAuthorizationEndpoint?: string;
  codeChallengeMethod?: string;
  redirectUri?: string;
  username?: string;
  vendor?: string;
}

/** How the provider's token is got: a grant of its own, the resource owner's password, or given outright. */
type TokenSource = Grant | 'password' | 'given';

function federated(kind: string, label: string, authType: string, via: TokenSource): AuthMethod<FederatedTarget> {
  const viaProvider = via !== 'given';
  const extra = via === 'code' ? [CODE, REDIRECT_URI, CODE_CHALLENGE_METHOD] : via === 'device' ? [DEVICE_ENDPOINT] : via === 'password' ? [USER_SETTINGS[0], PASSWORD] : [];
  const method: AuthMethod<FederatedTarget> = {
    kind,
    label,
    settings: [AUTH_URL, VENDOR, IDENTITY_PROVIDER, PROTOCOL, ...(viaProvider ? [DISCOVERY_ENDPOINT, ACCESS_TOKEN_ENDPOINT, ...PROVIDER_SETTINGS, ...extra] : [ACCESS_TOKEN]), ...SCOPE_SETTINGS, REGION],
    // Only an auth type names them, as in keystoneauth.
    names: () => false,
    readsCloudsYaml: true,
    authTypes: [authType],
    secret:
      via === 'given'
        ? { role: 'access-token', what: "the provider's access token", setting: ACCESS_TOKEN }
        : via === 'password'
          ? { role: 'password', what: 'password at the provider', setting: PASSWORD }
          : { role: 'client-secret', what: 'client secret', setting: CLIENT_SECRET, optional: true },

    resolve(layers: readonly Layer[]): Resolution<FederatedTarget> {
      const { authUrl, scope, missing, settings, sources, region } = resolveFromToken(layers, kind);
      const typed = layers as readonly Layer<FederationValues>[];
      const take = (key: keyof FederationValues): string | undefined => {
        const from = typed.find((candidate) => candidate.values[key] !== undefined);
        if (!from) return undefined;
        settings[key] = from.values[key]!;
        sources[key] = { kind: from.kind, name: from.origin(key) } satisfies Source;
        return from.values[key];
      };
      const identityProvider = take('identityProvider');
      if (!identityProvider) missing.push({ what: 'identity provider', flag: '--identity-provider', env: 'OS_IDENTITY_PROVIDER' });
      const protocol = take('protocol') ?? 'openid';
      let signIn: OidcSignIn | undefined;
      let username: string | undefined;
      if (viaProvider) {
        const discovery = take('discoveryEndpoint');
        if (!discovery) missing.push({ what: "the provider's discovery endpoint", flag: '--discovery-endpoint', env: 'OS_DISCOVERY_ENDPOINT' });
        signIn = resolveSignIn(layers, discovery ? issuerOf(discovery) : undefined, missing, settings, sources);
        const challenge = take('codeChallengeMethod');
        if (challenge !== undefined && challenge !== 'S256') throw new UsageError(`code challenge method ${JSON.stringify(challenge)} (from OS_CODE_CHALLENGE_METHOD) is not S256`, { hint: 'authctl always uses PKCE with S256; unset it' });
        const token = take('accessTokenEndpoint');
        const device = take('deviceAuthorizationEndpoint');
        const redirectUri = take('redirectUri');
        if (via === 'password' && !take('username')) missing.push({ what: 'user name at the provider', flag: '--username', env: 'OS_USERNAME' });
        if (signIn) {
          signIn = {
            ...signIn,
            ...(via !== 'password' ? { grant: signIn.grant ?? via } : {}),
            ...(token || device ? { endpoints: { ...(token ? { token } : {}), ...(device ? { device } : {}) } } : {}),
            ...(redirectUri ? { redirectUri } : {}),
          };
        }
        if (via === 'password') username = typed.find((candidate) => candidate.values.username !== undefined)?.values.username;
      }
      const vendor = typed.find((candidate) => candidate.values.vendor !== undefined)?.values.vendor;
      const resolution: Resolution<FederatedTarget> = { missing, settings, sources, ...(region ? { region } : {}) };
      if (authUrl !== undefined && scope && identityProvider && (signIn || !viaProvider) && missing.length === 0) {
        resolution.target = { kind, authUrl, identityProvider, protocol, scope, ...(signIn ? { signIn } : {}), ...(username ? { username } : {}), bearer: vendor ? 'id-token' : 'access-token' };
      }
      return resolution;
    },
    check: (target, allowHttp) => ({
      ...target,
      authUrl: checkUrl(target.authUrl, 'auth URL', '--auth-url', allowHttp),
      ...(target.signIn ? { signIn: { ...target.signIn, issuer: checkUrl(target.signIn.issuer, 'discovery endpoint', '--discovery-endpoint', allowHttp) } } : {}),
    }),
    urls: (target) => ({ authUrl: target.authUrl }),
    identity: (target) => [target.authUrl, target.identityProvider, target.protocol, ...(target.signIn ? [target.signIn.issuer, target.signIn.client.clientId] : [])],
    scopeKey: (target) => [scopeKey(target.scope)],

    async authenticate(io, target, secret) {
      let bearer = secret;
      let commit = async () => {};
      if (target.signIn) {
        // The password variant's secret is the person's password; its client secret comes beside it.
        const clientSecret = via === 'password' ? (io.secretVariable(CLIENT_SECRET) ?? '') : secret;
        const code = via === 'code' && io.person ? io.secretVariable(CODE) : undefined;
        const given: GivenCredentials = via === 'password' && target.username ? { password: { username: target.username, password: secret } } : code ? { code } : {};
        const signedIn = await providerTokens(io, target.signIn, clientSecret, given);
        const { tokens } = signedIn;
        commit = signedIn.commit;
        const chosen = target.bearer === 'id-token' ? tokens.idToken : tokens.accessToken;
        if (!chosen) throw new UsageError(`${target.signIn.issuer} gave no ID token, which this IAM takes as the bearer`, { hint: 'ask for the openid scope (--scope "openid ...")' });
        bearer = chosen;
      }
      const unscoped = await federatedToken(io.http, target.authUrl, target.identityProvider, target.protocol, bearer, io.now);
      const issued =
        target.scope.kind === 'unscoped'
          ? unscoped
          : await issueToken(io.http, target.authUrl, tokenAuthBody(unscoped.token, target.scope), io.now, { 'x-auth-token': unscoped.token });
      await commit();
      return toCachedToken(method, target, issued, target.authUrl);
    },
    ask: async () => ({}) as Values,
    secretPrompt: () => (viaProvider ? 'Client secret:' : "The provider's access token:"),
    describe: (settings) => ({
      iam: settings.authUrl ?? null,
      user: settings.identityProvider ? `federated via ${settings.identityProvider} (${settings.protocol ?? 'openid'})` : null,
      scope: null,
      region: settings.region ?? null,
    }),
    summary: (target, token) => ({
      iam: target.authUrl,
      who: `${token.user?.name ?? 'a federated user'} via ${target.identityProvider}`,
      scope: token.project ? `project ${token.project.name ?? token.project.id}` : describeScope(target.scope),
    }),
    iamUrl: (target) => target.authUrl,
    can: userTokenCapabilities(() => method),
  };
  return method;
}

export const keystoneOidcAuthCode = federated('keystone-oidc-code', 'Keystone federation, OpenID Connect in a browser', 'v3oidcauthcode', 'code');
export const keystoneOidcDevice = federated('keystone-oidc-device', 'Keystone federation, OpenID Connect device sign-in', 'v3oidcdeviceauthz', 'device');
export const keystoneOidcClientCredentials = federated('keystone-oidc-client', 'Keystone federation, OpenID Connect client credentials', 'v3oidcclientcredentials', 'client-credentials');
export const keystoneOidcPassword = federated('keystone-oidc-password', 'Keystone federation, password at the OpenID Connect provider', 'v3oidcpassword', 'password');
export const keystoneOidcAccessToken = federated('keystone-oidc-token', "Keystone federation with a provider's access token", 'v3oidcaccesstoken', 'given');
