import { NoTokenError, RejectedError } from '../core/errors.js';
import { clockSkew, isoTime, type IssuedToken } from '../core/token.js';
import { requireDependency } from '../util/cjs.js';
import type { HttpClient, HttpResponse } from './http.js';
import { readTokenResponse } from './keystone.js';
import { vendorScopeJson, type VendorScope } from './vendor-scope.js';
import { responseError, serverMessage } from './response.js';

/**
 * OTC / Huawei Cloud: a scoped IAM token for an OpenID Connect ID token (the JWT a CI platform or
 * a Kubernetes service account hands a job), `POST {iam}/v3.0/OS-AUTH/id-token/tokens` with the
 * identity provider in `X-Idp-Id` (iam-api.md §9). IAM checks the JWT against the provider's
 * configuration (issuer, client id, signing keys); authctl only reads `exp` to explain a refusal.
 */


export interface IdTokenExchange {
  /** The identity provider's id in IAM. */
  idpId: string;
  /** The JWT, as read from `file`. */
  idToken: string;
  /** Where it was read from, for messages. */
  file: string;
  scope: VendorScope;
}

const HEADERS = { 'content-type': 'application/json;charset=utf8', accept: 'application/json' };

export function idTokenUrl(base: string): string {
  return `${base}/v3.0/OS-AUTH/id-token/tokens`;
}

export function idTokenBody(idToken: string, scope: VendorScope): { auth: Record<string, unknown> } {
  const scopeMember = vendorScopeJson(scope);
  return { auth: { id_token: { id: idToken }, ...(scopeMember ? { scope: scopeMember } : {}) } };
}

interface Claims {
  exp?: number;
  iss?: string;
  aud?: string | string[];
}

/** The JWT's claims, unverified (IAM is the one that verifies); undefined when it is not a JWT. */
function claimsOf(jwt: string): Claims | undefined {
  // Loaded on demand, by require(): a 401 is rare, and the cached path (CommonJS) must not bundle jose.
  const { decodeJwt } = requireDependency<typeof import('jose')>('jose');
  try {
    return decodeJwt(jwt);
  } catch {
    return undefined;
  }
}

function describeClaims(claims: Claims): string {
  const aud = Array.isArray(claims.aud) ? claims.aud.join(', ') : claims.aud;
  const parts = [claims.iss ? `issuer ${claims.iss}` : undefined, aud ? `audience ${aud}` : undefined].filter(Boolean);
  return parts.length ? `; the token's ${parts.join(', ')}` : '';
}

/** Says why IAM refused the exchange, as far as the answer and the JWT's own claims tell. */
function exchangeError(response: HttpResponse, base: string, request: IdTokenExchange, received: number): Error {
  const said = serverMessage(response.body);
  const detail = said ? ` (IAM: ${said})` : '';
  const action = `exchanging the ID token at ${base}`;
  // The vendor's own 404 (`{"error_code": "IAM.0004"}`) is about the identity provider; any other, about the URL.
  if (response.status === 404 && /"error_code"\s*:/.test(response.body)) {
    return new RejectedError(`${action} failed: IAM knows no identity provider ${request.idpId}${detail}`, {
      hint: "check --idp-id (HUAWEICLOUD_SDK_IDP_ID): the identity provider's id in IAM, and the region's IAM (--vendor with --region, or --auth-url)",
    });
  }
  if (response.status === 401) {
    const claims = claimsOf(request.idToken);
    if (!claims) {
      return new RejectedError(`IAM refused the ID token in ${request.file}, which is not a JWT${detail}`, { hint: 'the file must hold the ID token itself (three base64url parts joined by dots), as the CI platform issued it' });
    }
    // IAM's clock is the one that judged: take it from the answer's Date where there is one.
    const iamNow = received + clockSkew(response.headers.date, received);
    if (typeof claims.exp === 'number' && claims.exp * 1000 <= iamNow) {
      return new NoTokenError(`IAM refused the CI ID token in ${request.file}: it expired at ${isoTime(claims.exp * 1000)}`, {
        hint: 'request a fresh ID token in the job and write it to the file before this step (CI ID tokens live minutes; the file is read again at each renewal)',
      });
    }
    return new RejectedError(
      `IAM refused the ID token in ${request.file} (issuer, audience/client id or signature do not match the configuration of identity provider ${request.idpId})${describeClaims(claims)}${detail}`,
      {
        hint: "the identity provider's idp_url must be the token's issuer (iss), its client_id among the token's audience (aud) and its signing_key the issuer's keys; its mapping must also give the user a role in the scope asked for",
      },
    );
  }
  if (response.status === 403) {
    return new RejectedError(`${action} was rejected (403)${detail}`, {
      hint: `identity provider ${request.idpId} must allow programmatic access (access_mode program or program_console), and its mapping a role in the scope asked for`,
    });
  }
  return responseError(response, {
    action,
    rejectedHint: 'check the identity provider and the scope',
    notFoundHint: 'the ID-token endpoint is not there (plain Keystone has none): check the IAM URL (--vendor with --region, or --auth-url)',
  });
}

/** Exchanges the ID token for an IAM token at `base` (the IAM origin, e.g. `https://iam.eu-de.otc.t-systems.com`). */
export async function exchangeIdToken(http: HttpClient, base: string, request: IdTokenExchange, now: () => number): Promise<IssuedToken> {
  const response = await http.send({
    method: 'POST',
    url: idTokenUrl(base),
    headers: { ...HEADERS, 'x-idp-id': request.idpId },
    body: JSON.stringify(idTokenBody(request.idToken, request.scope)),
  });
  const received = now();
  if (response.status !== 201 && response.status !== 200) throw exchangeError(response, base, request, received);
  return readTokenResponse(response, new URL(base).origin, received);
}
