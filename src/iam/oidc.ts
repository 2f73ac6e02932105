import type * as Oauth from 'oauth4webapi';
import { NoTokenError, RejectedError, UnreachableError, UsageError } from '../core/errors.js';
import { requireDependency } from '../util/cjs.js';
import type { HttpClient, HttpMethod } from './http.js';
import { oneLine } from './response.js';
import { basicCredentials as formBasicCredentials } from './oauth2.js';

/**
 * OpenID Connect and OAuth 2.0 at a provider, through oauth4webapi (discovery, PKCE, the code
 * and device grants, refresh, ID-token claim checks): authctl's HTTP client (proxy, CA, timeouts,
 * retries, --debug) carries every request.
 */

let loaded: typeof Oauth | undefined;
/** Loaded on first use: the cached path never pays for it. */
function oauth(): typeof Oauth {
  loaded ??= requireDependency<typeof Oauth>('oauth4webapi');
  return loaded;
}

export interface OidcClient {
  clientId: string;
  /** A confidential client's secret; none for a public client (PKCE only). */
  clientSecret?: string;
  /** How a confidential client sends its secret; HTTP Basic by default, as every server must accept. */
  clientAuth: 'basic' | 'post';
}

/** The provider as discovery described it, and whether plain http was allowed for it. */
export interface Provider {
  issuer: string;
  metadata: Oauth.AuthorizationServer;
  allowHttp: boolean;
}

/** What a token endpoint gave: the access token (and expiry), maybe a refresh token and an ID token. */
export interface ProviderTokens {
  accessToken: string;
  /** Local clock; from expires_in (a default where a provider omits it). */
  expiresAt: number;
  issuedAt: number;
  refreshToken?: string;
  idToken?: string;
  /** The ID token's claims as checked (issuer, audience, expiry, nonce). */
  claims?: Record<string, unknown>;
  scope?: string;
}

/** A provider that omits expires_in: an hour, as most issue. */
const DEFAULT_EXPIRES_IN_SECONDS = 3600;

function fetchThrough(http: HttpClient): (url: string, init: { method?: string; headers?: Headers | Record<string, string>; body?: unknown }) => Promise<Response> {
  return async (url, init) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers as ConstructorParameters<typeof Headers>[0]).forEach((value, name) => (headers[name] = value));
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    const response = await http.send({ method: (init.method ?? 'GET') as HttpMethod, url, headers, ...(body !== undefined ? { body } : {}) });
    return new Response(response.status === 204 || response.status === 304 ? null : response.body, { status: response.status, headers: response.headers });
  };
}

function options(http: HttpClient, allowHttp: boolean): Record<symbol, unknown> {
  const o = oauth();
  return { [o.customFetch]: fetchThrough(http), ...(allowHttp ? { [o.allowInsecureRequests]: true } : {}) };
}

/**
 * The base64 of id:secret in the Authorization header oauth4webapi's ClientSecretBasic sends (each
 * form-urlencoded with every character but letters and digits as %XX, spaces as `+`): a secret
 * of its own, for the caller to conceal. Undefined where no Basic header is sent.
 */
export function basicCredentials(client: OidcClient): string | undefined {
  if (client.clientSecret === undefined || client.clientAuth === 'post') return undefined;
  const encode = (value: string) => encodeURIComponent(value).replace(/[-_.!~*'()]|%20/g, (c) => (c === '%20' ? '+' : `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
  return formBasicCredentials(client.clientId, client.clientSecret, encode);
}

/** The client as oauth4webapi takes it; JWT times are judged on authctl's clock (`now`), not the library's own. */
function clientOf(client: OidcClient, now: () => number): [Oauth.Client, Oauth.ClientAuth] {
  const o = oauth();
  const auth = client.clientSecret === undefined ? o.None() : client.clientAuth === 'post' ? o.ClientSecretPost(client.clientSecret) : o.ClientSecretBasic(client.clientSecret);
  return [{ client_id: client.clientId, [o.clockSkew]: Math.round((now() - Date.now()) / 1000) }, auth];
}

/** The provider's configuration from `{issuer}/.well-known/openid-configuration`; its `issuer` must be the one asked for. */
export async function discover(http: HttpClient, issuer: string, allowHttp: boolean): Promise<Provider> {
  const o = oauth();
  try {
    const response = await o.discoveryRequest(new URL(issuer), { algorithm: 'oidc', ...options(http, allowHttp) });
    const metadata = await o.processDiscoveryResponse(new URL(issuer), response);
    return { issuer, metadata, allowHttp };
  } catch (error) {
    throw providerError(error, `discovery at ${issuer}`, 'check --oidc-issuer: the issuer URL whose /.well-known/openid-configuration describes the provider');
  }
}

/** The provider with endpoints given outright (keystoneauth's OS_ACCESS_TOKEN_ENDPOINT, OS_DEVICE_AUTHORIZATION_ENDPOINT) over the discovered ones. */
export function withEndpoints(provider: Provider, endpoints: { token?: string; device?: string }): Provider {
  if (!endpoints.token && !endpoints.device) return provider;
  return {
    ...provider,
    metadata: {
      ...provider.metadata,
      ...(endpoints.token ? { token_endpoint: endpoints.token } : {}),
      ...(endpoints.device ? { device_authorization_endpoint: endpoints.device } : {}),
    },
  };
}

export interface AuthorizationRequest {
  redirectUri: string;
  scope: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Fresh state, nonce and PKCE verifier for one authorization request. */
export function newAuthorizationRequest(redirectUri: string, scope: string): AuthorizationRequest {
  const o = oauth();
  return { redirectUri, scope, state: o.generateRandomState(), nonce: o.generateRandomNonce(), codeVerifier: o.generateRandomCodeVerifier() };
}

/** The URL the browser opens: code flow with PKCE (S256); `prompt=consent` where offline_access asks for a refresh token (OIDC Core §11). */
export async function authorizationUrl(provider: Provider, client: OidcClient, request: AuthorizationRequest): Promise<string> {
  const endpoint = provider.metadata.authorization_endpoint;
  if (!endpoint) throw new UnreachableError(`${provider.issuer} has no authorization endpoint`, { hint: 'the provider does not offer browser sign-in: use --grant device' });
  const url = new URL(endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', client.clientId);
  url.searchParams.set('redirect_uri', request.redirectUri);
  url.searchParams.set('scope', request.scope);
  url.searchParams.set('state', request.state);
  url.searchParams.set('nonce', request.nonce);
  url.searchParams.set('code_challenge', await oauth().calculatePKCECodeChallenge(request.codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (request.scope.split(/\s+/).includes('offline_access')) url.searchParams.set('prompt', 'consent');
  return url.href;
}

/** Checks the redirect (state, error) and exchanges its code with the verifier; the ID token's claims are checked, nonce included. */
export async function exchangeCode(http: HttpClient, provider: Provider, client: OidcClient, callback: URL, request: AuthorizationRequest, now: () => number): Promise<ProviderTokens> {
  const o = oauth();
  const [c, auth] = clientOf(client, now);
  let parameters: URLSearchParams;
  try {
    parameters = o.validateAuthResponse(provider.metadata, c, callback, request.state);
  } catch (error) {
    // A redirect that is not this sign-in's (wrong state, missing or foreign issuer) is refused, whatever part gave it away.
    if (error instanceof o.OperationProcessingError) {
      throw new RejectedError(`sign-in at ${provider.issuer}: the redirect does not belong to this sign-in (${oneLine(error.message)})`, { hint: 'nothing was exchanged; start the sign-in again' });
    }
    throw providerError(error, `sign-in at ${provider.issuer}`, 'start the sign-in again');
  }
  try {
    const response = await o.authorizationCodeGrantRequest(provider.metadata, c, auth, parameters, request.redirectUri, request.codeVerifier, options(http, provider.allowHttp));
    return tokens(await o.processAuthorizationCodeResponse(provider.metadata, c, response, { expectedNonce: request.nonce, requireIdToken: request.scope.split(/\s+/).includes('openid') }), now);
  } catch (error) {
    throw providerError(error, `exchanging the code at ${provider.issuer}`, 'start the sign-in again');
  }
}

/** A code obtained elsewhere (keystoneauth's v3oidcauthcode with OS_CODE and its redirect URI): no PKCE verifier, no nonce. */
export async function exchangeGivenCode(http: HttpClient, provider: Provider, client: OidcClient, code: string, redirectUri: string, now: () => number): Promise<ProviderTokens> {
  const o = oauth();
  const [c, auth] = clientOf(client, now);
  try {
    // Its redirect went elsewhere: there is no state of ours to check.
    const parameters = o.validateAuthResponse(provider.metadata, c, new URLSearchParams({ code, iss: provider.metadata.issuer }), o.skipStateCheck);
    const response = await o.authorizationCodeGrantRequest(provider.metadata, c, auth, parameters, redirectUri, o.nopkce, options(http, provider.allowHttp));
    return tokens(await o.processAuthorizationCodeResponse(provider.metadata, c, response), now);
  } catch (error) {
    throw providerError(error, `exchanging the code at ${provider.issuer}`, 'a code works once and for minutes: get a new one, or leave OS_CODE unset to sign in in the browser');
  }
}

/** The resource owner's password at the provider (keystoneauth's v3oidcpassword). */
export async function passwordTokens(http: HttpClient, provider: Provider, client: OidcClient, username: string, password: string, scope: string, now: () => number): Promise<ProviderTokens> {
  const o = oauth();
  const [c, auth] = clientOf(client, now);
  try {
    const response = await o.genericTokenEndpointRequest(provider.metadata, c, auth, 'password', { username, password, scope }, options(http, provider.allowHttp));
    return tokens(await o.processGenericTokenEndpointResponse(provider.metadata, c, response), now);
  } catch (error) {
    throw providerError(error, `password sign-in at ${provider.issuer}`, 'check the user name and password at the provider, and that the client may use the password grant');
  }
}

export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  /** Local clock. */
  expiresAt: number;
  intervalSeconds: number;
}

export async function startDeviceAuthorization(http: HttpClient, provider: Provider, client: OidcClient, scope: string, now: () => number): Promise<DeviceAuthorization> {
  const o = oauth();
  const [c, auth] = clientOf(client, now);
  if (!provider.metadata.device_authorization_endpoint) {
    throw new UnreachableError(`${provider.issuer} has no device authorization endpoint`, { hint: 'the provider does not offer the device flow: use --grant code' });
  }
  try {
    const response = await o.deviceAuthorizationRequest(provider.metadata, c, auth, { scope }, options(http, provider.allowHttp));
    const answer = await o.processDeviceAuthorizationResponse(provider.metadata, c, response);
    return {
      deviceCode: answer.device_code,
      userCode: answer.user_code,
      verificationUri: answer.verification_uri,
      ...(answer.verification_uri_complete ? { verificationUriComplete: answer.verification_uri_complete } : {}),
      expiresAt: now() + answer.expires_in * 1000,
      intervalSeconds: answer.interval ?? 5,
    };
  } catch (error) {
    throw providerError(error, `starting the device sign-in at ${provider.issuer}`, 'check the client id and that the client may use the device flow');
  }
}

/** One poll of the token endpoint: the tokens, or how long to wait before the next (RFC 8628 §3.5). */
export async function pollDeviceToken(http: HttpClient, provider: Provider, client: OidcClient, device: DeviceAuthorization, now: () => number): Promise<ProviderTokens | { waitSeconds: number }> {
  const o = oauth();
  const [c, auth] = clientOf(client, now);
  try {
    const response = await o.deviceCodeGrantRequest(provider.metadata, c, auth, device.deviceCode, options(http, provider.allowHttp));
    return tokens(await o.processDeviceCodeResponse(provider.metadata, c, response), now);
  } catch (error) {
    if (error instanceof o.ResponseBodyError) {
      if (error.error === 'authorization_pending') return { waitSeconds: device.intervalSeconds };
      if (error.error === 'slow_down') {
        device.intervalSeconds += 5;
        return { waitSeconds: device.intervalSeconds };
      }
      if (error.error === 'expired_token') throw new NoTokenError(`the device code expired before the sign-in was finished${said(error)}`, { hint: 'run `authctl login` again and finish the sign-in in time' });
      if (error.error === 'access_denied') throw new RejectedError(`the sign-in was denied at ${provider.issuer}${said(error)}`, { hint: 'nothing was stored; run `authctl login` again to retry' });
    }
    throw providerError(error, `the device sign-in at ${provider.issuer}`, 'run `authctl login` again');
  }
}

/** A new access token from a refresh token; `invalid_grant` (revoked, expired, rotated away) means signing in again. */
export async function refreshTokens(http: HttpClient, provider: Provider, client: OidcClient, refreshToken: string, now: () => number): Promise<ProviderTokens> {
  const o = oauth();
  const [c, auth] = clientOf(client, now);
  try {
    const response = await o.refreshTokenGrantRequest(provider.metadata, c, auth, refreshToken, options(http, provider.allowHttp));
    const result = tokens(await o.processRefreshTokenResponse(provider.metadata, c, response), now);
    // A provider that does not rotate keeps the one it had.
    return result.refreshToken ? result : { ...result, refreshToken };
  } catch (error) {
    if (error instanceof o.ResponseBodyError && error.error === 'invalid_grant') {
      throw new RefreshRefusedError(`${provider.issuer} refused the refresh token${said(error)}`, { hint: 'sign in again: run `authctl login`' });
    }
    throw providerError(error, `refreshing at ${provider.issuer}`, 'try again, or sign in again with `authctl login`');
  }
}

/** The provider no longer honours the refresh token: only a new sign-in helps (exit 3). */
export class RefreshRefusedError extends NoTokenError {}

export async function clientCredentialsTokens(http: HttpClient, provider: Provider, client: OidcClient, scope: string | undefined, now: () => number): Promise<ProviderTokens> {
  const o = oauth();
  const [c, auth] = clientOf(client, now);
  try {
    const response = await o.clientCredentialsGrantRequest(provider.metadata, c, auth, scope ? { scope } : {}, options(http, provider.allowHttp));
    return tokens(await o.processClientCredentialsResponse(provider.metadata, c, response), now);
  } catch (error) {
    throw providerError(error, `client-credentials login at ${provider.issuer}`, 'check the client id and secret');
  }
}

function tokens(answer: Oauth.TokenEndpointResponse, now: () => number): ProviderTokens {
  const received = now();
  const expiresIn = typeof answer.expires_in === 'number' && answer.expires_in > 0 ? answer.expires_in : DEFAULT_EXPIRES_IN_SECONDS;
  const claims = oauth().getValidatedIdTokenClaims(answer);
  return {
    accessToken: answer.access_token,
    expiresAt: received + expiresIn * 1000,
    issuedAt: received,
    ...(answer.refresh_token ? { refreshToken: answer.refresh_token } : {}),
    ...(answer.id_token ? { idToken: answer.id_token } : {}),
    ...(claims ? { claims: { ...claims } } : {}),
    ...(answer.scope ? { scope: answer.scope } : {}),
  };
}

function said(error: { error?: string; error_description?: string }): string {
  const text = [error.error, error.error_description].filter(Boolean).join(': ');
  return text ? ` (${oneLine(text)})` : '';
}

/** oauth4webapi's errors as authctl's: what the provider said, and what to do. */
function providerError(error: unknown, action: string, hint: string): Error {
  const o = oauth();
  if (error instanceof NoTokenError || error instanceof RejectedError || error instanceof UnreachableError || error instanceof UsageError) return error;
  if (error instanceof o.AuthorizationResponseError) {
    return new RejectedError(`${action} was refused${said(error)}`, { hint: error.error === 'access_denied' ? 'nothing was stored; run `authctl login` again to retry' : hint });
  }
  if (error instanceof o.ResponseBodyError) {
    if (error.error === 'invalid_client') return new RejectedError(`${action} was rejected: the provider does not accept this client${said(error)}`, { hint: 'check --client-id (and the client secret of a confidential client)' });
    return new RejectedError(`${action} was refused (${error.status})${said(error)}`, { hint });
  }
  if (error instanceof o.OperationProcessingError) {
    const message = oneLine(error.message);
    if (error.code === o.INVALID_RESPONSE && /state/i.test(message)) return new RejectedError(`${action}: the redirect's state does not match this sign-in (${message})`, { hint: 'nothing was exchanged; start the sign-in again' });
    if (error.code === o.JWT_CLAIM_COMPARISON || error.code === o.JWT_TIMESTAMP_CHECK) return new RejectedError(`${action}: the ID token failed its checks (${message})`, { hint: 'nothing was stored; check the clocks, --client-id and --oidc-issuer' });
    return new UnreachableError(`${action} failed: ${message}`, { hint: 'check that the issuer URL points at an OpenID Connect provider' });
  }
  if (error instanceof TypeError || error instanceof o.UnsupportedOperationError) return new UsageError(`${action} failed: ${oneLine((error as Error).message)}`, { hint });
  return error as Error;
}
