import { RejectedError, UnreachableError } from '../core/errors.js';
import type { OAuth2Target } from '../core/target.js';
import { isPlausibleToken } from '../core/token.js';
import type { HttpClient } from './http.js';
import type { IssuedToken } from './keystone.js';
import { parseJsonBody, responseError, serverMessage } from './response.js';

/** OAuth2 client credentials (RFC 6749 §4.4, client_secret_post). */

/** The vendor's application-credential service's default lifetime, used when a server omits expires_in. */
export const DEFAULT_EXPIRES_IN_SECONDS = 1800;

/** The default token endpoint under a service base URL (the vendor's application-credential service). */
export function defaultTokenUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/api/v2/tenant/token`;
}

/** Whether a token URL is the vendor's application-credential service, which takes the secret in the form body. */
export function isTenantTokenUrl(tokenUrl: string): boolean {
  if (!URL.canParse(tokenUrl)) return false; // the URL check that follows says what is wrong with it
  return new URL(tokenUrl).pathname.replace(/\/+$/, '').endsWith('/api/v2/tenant/token');
}

/** The form body; with `post` it carries the client's id and secret, with `basic` only the client id stays out too. */
export function clientCredentialsBody(clientId: string, clientSecret: string, target: Pick<OAuth2Target, 'clientAuth' | 'scope' | 'audience'> = { clientAuth: 'post' }): string {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (target.clientAuth === 'post') {
    form.set('client_id', clientId);
    form.set('client_secret', clientSecret);
  }
  if (target.scope) form.set('scope', target.scope);
  if (target.audience) form.set('audience', target.audience);
  return form.toString();
}

/** application/x-www-form-urlencoded as RFC 6749 §2.3.1 asks for it: encodeURIComponent, spaces as `+`. */
const formEncode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');

/**
 * RFC 6749 §2.3.1: id and secret form-urlencoded (`encode`: clients differ in which characters
 * they leave), then joined by a colon and base64-encoded. A secret itself: callers conceal it.
 */
export function basicCredentials(clientId: string, clientSecret: string, encode: (value: string) => string = formEncode): string {
  return Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64');
}

export function basicAuthorization(clientId: string, clientSecret: string): string {
  return `Basic ${basicCredentials(clientId, clientSecret)}`;
}

export async function clientCredentialsToken(http: HttpClient, target: OAuth2Target, clientSecret: string, now: () => number): Promise<IssuedToken> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (target.clientAuth === 'basic') headers.authorization = basicAuthorization(target.clientId, clientSecret);
  const response = await http.send({ method: 'POST', url: target.tokenUrl, headers, body: clientCredentialsBody(target.clientId, clientSecret, target) });
  const received = now();
  const origin = new URL(target.tokenUrl).origin;
  const action = `client-credentials login to ${target.tokenUrl}`;
  if (response.status === 400 || response.status === 401 || response.status === 403) {
    // RFC 6749 §5.2 answers a bad client with 400 or 401; the vendor's service with 400 {error_code, error_msg}.
    const said = serverMessage(response.body);
    // A server that wants the other way of sending the secret says invalid_client too.
    const other = target.clientAuth === 'basic' ? 'post' : 'basic';
    const how = target.clientAuth === 'basic' ? 'with HTTP Basic' : 'in the form body';
    const invalidClient = /invalid_client/.test(response.body);
    throw new RejectedError(`${action} was rejected (${response.status})${said ? `: ${said}` : ''}${invalidClient ? ` (the secret was sent ${how})` : ''}`, {
      reason: invalidClient ? `client-rejected-${other}` : 'client-rejected',
      hint: 'check the client id and secret',
    });
  }
  if (response.status !== 200 && response.status !== 201) {
    throw responseError(response, { action, rejectedHint: 'check the client id and secret', notFoundHint: 'check the token URL' });
  }
  const body = parseJsonBody(response, origin) as Record<string, unknown> | null;
  const token = body?.access_token;
  if (!isPlausibleToken(token)) {
    throw new UnreachableError(`${origin} answered ${response.status} without a usable access_token`, {
      hint: 'check that the token URL points at an OAuth2 token endpoint; nothing was stored',
    });
  }
  const expiresIn = body?.expires_in === undefined ? DEFAULT_EXPIRES_IN_SECONDS : Number(body.expires_in);
  if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
    throw new UnreachableError(`${origin} answered with an unusable expires_in (${JSON.stringify(body?.expires_in)})`, {
      hint: 'nothing was stored',
    });
  }
  // expires_in counts from when the server answered; the local clock is what we have for that.
  // No Date to learn IAM's clock from in OAuth2's answer either way: expires_in is relative.
  return { token, info: { expiresAt: received + expiresIn * 1000, issuedAt: received }, skewMs: 0 };
}
