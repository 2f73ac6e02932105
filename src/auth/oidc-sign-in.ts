import { formatDuration } from '../core/duration.js';
import { NoTokenError, UsageError } from '../core/errors.js';
import type { OidcClient, Provider, ProviderTokens } from '../iam/oidc.js';
import type { AuthIO, PersonIO } from './method.js';

/** The provider client, loaded when a sign-in or refresh runs: the cached path never needs it. */
const oidcClient = () => import('../iam/oidc.js');

/**
 * Getting a provider's tokens, the way every OpenID Connect method does: a saved refresh token
 * first (silently, rotating), else the grant: client credentials with a secret, the code flow
 * in a browser, or the device flow; a person only where one is at hand.
 */

export const GRANTS = ['code', 'device', 'client-credentials'] as const;
export type Grant = (typeof GRANTS)[number];

/** `openid profile offline_access`: offline_access is what brings a refresh token. */
export const DEFAULT_OIDC_SCOPE = 'openid profile offline_access';

export interface OidcSignIn {
  issuer: string;
  client: Omit<OidcClient, 'clientSecret'>;
  /** Chosen with --grant; else by the one rule (`chooseGrant`). */
  grant?: Grant;
  scope: string;
  loginTimeoutMs: number;
  noBrowser: boolean;
  /** Endpoints given outright, over the discovered ones. */
  endpoints?: { token?: string; device?: string };
  /** A code obtained elsewhere and the redirect URI it was issued for (v3oidcauthcode with OS_CODE). */
  redirectUri?: string;
}

/** What a sign-in may bring besides the client secret: a code obtained elsewhere, or the resource owner's password. */
export interface GivenCredentials {
  code?: string;
  password?: { username: string; password: string };
}

/** The store entry of a refresh token: bound to the provider and client it was issued to, never sent elsewhere. */
export const REFRESH_TOKEN_ROLE = 'refresh-token';

interface SavedRefresh {
  v: 1;
  issuer: string;
  clientId: string;
  refreshToken: string;
}

/** A client secret means client credentials; else the code flow where a browser can open (--no-browser only prints its URL), else the device flow. */
export function chooseGrant(given: Grant | undefined, hasSecret: boolean, person: PersonIO | undefined): Grant {
  if (given) return given;
  if (hasSecret) return 'client-credentials';
  return person?.canOpenBrowser ? 'code' : 'device';
}

async function savedRefreshToken(io: AuthIO, issuer: string, clientId: string): Promise<string | undefined> {
  const text = await io.readSaved(REFRESH_TOKEN_ROLE);
  if (text === undefined) return undefined;
  try {
    const saved = JSON.parse(text) as Partial<SavedRefresh>;
    return saved.v === 1 && saved.issuer === issuer && saved.clientId === clientId && typeof saved.refreshToken === 'string' ? saved.refreshToken : undefined;
  } catch {
    return undefined;
  }
}

async function keepRefreshToken(io: AuthIO, issuer: string, clientId: string, tokens: ProviderTokens): Promise<void> {
  if (!tokens.refreshToken) return;
  const saved: SavedRefresh = { v: 1, issuer, clientId, refreshToken: tokens.refreshToken };
  await io.keep(REFRESH_TOKEN_ROLE, JSON.stringify(saved));
}

/**
 * The provider's tokens for `signIn`, with the client secret (empty for a public client).
 * `commit` keeps a new sign-in's refresh token: call it once the whole login has succeeded, so a
 * login that fails later (IAM refusing the exchange) stores nothing. A rotated refresh token is
 * kept at once (the old one is spent).
 */
export async function providerTokens(io: AuthIO, signIn: OidcSignIn, secret: string, given: GivenCredentials = {}): Promise<{ tokens: ProviderTokens; provider: Provider; commit: () => Promise<void>; refreshed?: true }> {
  const result = await obtain(io, signIn, secret, given);
  // The provider's tokens travel on (to IAM as a bearer) and must not show in any message.
  for (const value of [result.tokens.accessToken, result.tokens.idToken, result.tokens.refreshToken]) io.conceal(value);
  return result;
}

async function obtain(io: AuthIO, signIn: OidcSignIn, secret: string, given: GivenCredentials): Promise<{ tokens: ProviderTokens; provider: Provider; commit: () => Promise<void>; refreshed?: true }> {
  const { basicCredentials, clientCredentialsTokens, discover, exchangeGivenCode, passwordTokens, refreshTokens, RefreshRefusedError, withEndpoints } = await oidcClient();
  const nothing = async () => {};
  const provider = withEndpoints(await discover(io.http, signIn.issuer, new URL(signIn.issuer).protocol === 'http:'), signIn.endpoints ?? {});
  const client: OidcClient = { ...signIn.client, ...(secret ? { clientSecret: secret } : {}) };
  // The Basic header's base64 of id:secret is the secret too, should a server echo the header.
  io.conceal(basicCredentials(client));
  const keep = (tokens: ProviderTokens) => () => keepRefreshToken(io, signIn.issuer, client.clientId, tokens);
  // What the person handed over this time wins over a refresh token from before.
  if (given.password) {
    const tokens = await passwordTokens(io.http, provider, client, given.password.username, given.password.password, signIn.scope, io.now);
    return { tokens, provider, commit: keep(tokens) };
  }
  if (given.code) {
    if (!signIn.redirectUri) throw new UsageError('a code (OS_CODE) needs the redirect URI it was issued for', { hint: 'set OS_REDIRECT_URI (clouds.yaml auth.redirect_uri)' });
    const tokens = await exchangeGivenCode(io.http, provider, client, given.code, signIn.redirectUri, io.now);
    return { tokens, provider, commit: keep(tokens) };
  }
  const grant = chooseGrant(signIn.grant, secret !== '', io.person);
  if (grant === 'client-credentials') {
    if (!secret) throw new UsageError('--grant client-credentials needs the client secret', { hint: 'give it with --client-secret-stdin or AUTHCTL_CLIENT_SECRET' });
    return { tokens: await clientCredentialsTokens(io.http, provider, client, signIn.scope, io.now), provider, commit: nothing };
  }
  const refreshToken = await savedRefreshToken(io, signIn.issuer, client.clientId);
  if (refreshToken !== undefined) {
    try {
      const tokens = await refreshTokens(io.http, provider, client, refreshToken, io.now);
      // Rotated: the old one is spent, so the new one is saved before anything else can fail.
      if (tokens.refreshToken !== refreshToken) await keepRefreshToken(io, signIn.issuer, client.clientId, tokens);
      return { tokens, provider, commit: nothing, refreshed: true };
    } catch (error) {
      if (!(error instanceof RefreshRefusedError) || !io.person) throw error;
      io.person.tell(`${error.message}; signing in again`);
    }
  }
  if (!io.person) {
    throw new NoTokenError(`signing in at ${signIn.issuer} needs a person (${grant === 'code' ? 'a browser' : 'a second device'}), and there is no refresh token to renew with`, {
      hint: 'run `authctl login` at a terminal',
    });
  }
  const tokens = grant === 'code' ? await codeFlow(io, io.person, provider, client, signIn) : await deviceFlow(io, io.person, provider, client, signIn);
  return { tokens, provider, commit: keep(tokens) };
}

/** Authorization code with PKCE and a loopback redirect (RFC 8252): the port is closed whatever happens. */
async function codeFlow(io: AuthIO, person: PersonIO, provider: Provider, client: OidcClient, signIn: OidcSignIn): Promise<ProviderTokens> {
  const { authorizationUrl, exchangeCode, newAuthorizationRequest } = await oidcClient();
  const loopback = await person.listen();
  try {
    const request = newAuthorizationRequest(loopback.redirectUri, signIn.scope);
    const url = await authorizationUrl(provider, client, request);
    const opened = !signIn.noBrowser && (await person.openBrowser(url));
    person.tell(opened ? `Opened the sign-in page of ${provider.issuer} in your browser; if nothing appeared, open:` : 'Open this URL in a browser to sign in:');
    person.tell(`  ${url}`);
    person.tell(`Waiting for the sign-in (up to ${formatDuration(signIn.loginTimeoutMs)}; Ctrl-C to stop)...`);
    const callback = await person.waitFor(loopback.redirect, signIn.loginTimeoutMs, 'the sign-in in the browser');
    return await exchangeCode(io.http, provider, client, callback, request, io.now);
  } finally {
    await loopback.close();
  }
}

/** Device authorization grant (RFC 8628): the URL and code on stderr, polling at the interval, slow_down honoured. */
async function deviceFlow(io: AuthIO, person: PersonIO, provider: Provider, client: OidcClient, signIn: OidcSignIn): Promise<ProviderTokens> {
  const { pollDeviceToken, startDeviceAuthorization } = await oidcClient();
  const device = await startDeviceAuthorization(io.http, provider, client, signIn.scope, io.now);
  person.tell(
    device.verificationUriComplete
      ? `To sign in, open ${device.verificationUriComplete} on any device (code ${device.userCode})`
      : `To sign in, open ${device.verificationUri} on any device and enter the code ${device.userCode}`,
  );
  const deadline = Math.min(device.expiresAt, io.now() + signIn.loginTimeoutMs);
  person.tell(`Waiting for the sign-in (up to ${formatDuration(deadline - io.now())}; Ctrl-C to stop)...`);
  const poll = async (): Promise<ProviderTokens> => {
    for (;;) {
      const answer = await pollDeviceToken(io.http, provider, client, device, io.now);
      if ('accessToken' in answer) return answer;
      if (io.now() + answer.waitSeconds * 1000 > deadline) {
        const why = deadline === device.expiresAt ? 'before the device code expired' : `within --login-timeout ${formatDuration(signIn.loginTimeoutMs)}`;
        throw new NoTokenError(`the sign-in on the second device did not finish ${why}; nothing was stored`, {
          hint: 'run `authctl login` again (--login-timeout gives more time)',
        });
      }
      await io.sleep(answer.waitSeconds * 1000);
    }
  };
  return person.waitFor(poll(), signIn.loginTimeoutMs, 'the sign-in on the second device');
}
