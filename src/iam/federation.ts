import type { IssuedToken } from '../core/token.js';
import type { HttpClient } from './http.js';
import { readTokenResponse } from './keystone.js';
import { responseError } from './response.js';

/**
 * Keystone federation with OpenID Connect (and OTC's, iam-api.md §10): the provider's token as a
 * bearer at `{auth_url}/OS-FEDERATION/identity_providers/{idp}/protocols/{protocol}/auth` gives an
 * unscoped token, which the token method then scopes as usual.
 */

export function federationUrl(authUrl: string, identityProvider: string, protocol: string): string {
  return `${authUrl}/OS-FEDERATION/identity_providers/${encodeURIComponent(identityProvider)}/protocols/${encodeURIComponent(protocol)}/auth`;
}

export async function federatedToken(http: HttpClient, authUrl: string, identityProvider: string, protocol: string, bearer: string, now: () => number): Promise<IssuedToken> {
  const url = federationUrl(authUrl, identityProvider, protocol);
  const response = await http.send({ method: 'POST', url, headers: { authorization: `Bearer ${bearer}`, accept: 'application/json' } });
  const received = now();
  if (response.status !== 201 && response.status !== 200) {
    throw responseError(response, {
      action: `federated login to ${authUrl} (identity provider ${identityProvider}, protocol ${protocol})`,
      rejectedHint: "Keystone refused the provider's token: check the identity provider's mapping, its remote ids and the protocol (--identity-provider, --protocol)",
      notFoundHint: 'check --identity-provider and --protocol: Keystone knows no such pair',
    });
  }
  return readTokenResponse(response, new URL(authUrl).origin, received);
}
