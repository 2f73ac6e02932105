import { CallerTokenRefusedError, UnreachableError } from '../core/errors.js';
import { assumeRole, agencyError, type AgencyRef } from './agency.js';
import type { HttpClient } from './http.js';
import { parseIsoTime, parseJsonBody, responseError } from './response.js';

/**
 * Temporary access keys (AK/SK) with a security token: `POST {iam}/v3.0/OS-CREDENTIAL/securitytokens`
 * (iam-api.md §6 from a token, §8a through an agency). What SDKs, Terraform and S3 clients on OBS sign with.
 */

export interface AccessKey {
  access: string;
  secret: string;
  securityToken: string;
}

export interface TemporaryKeys extends AccessKey {
  /** On IAM's clock, as it said. */
  expiresAt: number;
}

export const ACCESS_KEY_DURATION = { min: 900, max: 86400, default: 900 } as const;

const JSON_UTF8 = { 'content-type': 'application/json;charset=utf8', accept: 'application/json' };

export function tokenKeysBody(token: string, durationSeconds: number): unknown {
  return { auth: { identity: { methods: ['token'], token: { id: token, duration_seconds: durationSeconds } } } };
}

export function agencyKeysBody(agency: AgencyRef, durationSeconds: number): unknown {
  return { auth: { identity: { methods: ['assume_role'], assume_role: { ...assumeRole(agency), duration_seconds: durationSeconds } } } };
}

/** The key, its secret and the security token travel together: an answer missing any of them (or the expiry) is refused whole. */
export function readCredential(body: unknown, origin: string): TemporaryKeys {
  const credential = (body as { credential?: Record<string, unknown> } | null)?.credential;
  const { access, secret, securitytoken } = credential ?? {};
  const expiresAt = parseIsoTime(credential?.expires_at);
  const missing = [
    ...(typeof access === 'string' && access ? [] : ['access']),
    ...(typeof secret === 'string' && secret ? [] : ['secret']),
    ...(typeof securitytoken === 'string' && securitytoken ? [] : ['securitytoken']),
    ...(expiresAt === undefined ? ['expires_at'] : []),
  ];
  if (missing.length > 0) {
    throw new UnreachableError(`${origin} answered without a complete credential (missing ${missing.join(', ')})`, { hint: 'nothing was cached; check that the URL points at the IAM service' });
  }
  return { access: access as string, secret: secret as string, securityToken: securitytoken as string, expiresAt: expiresAt! };
}

async function request(http: HttpClient, base: string, callerToken: string, body: unknown): Promise<{ status: number; body: string; headers: Record<string, string> }> {
  return http.send({ method: 'POST', url: `${base}/v3.0/OS-CREDENTIAL/securitytokens`, headers: { ...JSON_UTF8, 'x-auth-token': callerToken }, body: JSON.stringify(body) });
}

/**
 * The security-token endpoint answered 401 for the token that signed the request (and was
 * exchanged): that token is no longer valid at IAM. Only `keysFromToken` throws it, so its
 * caller knows the refused token is the one it passed.
 */
export class KeysTokenRefusedError extends CallerTokenRefusedError {}

/** Keys that act as the token's user (or agency, for an agency token). */
export async function keysFromToken(http: HttpClient, base: string, token: string, durationSeconds: number = ACCESS_KEY_DURATION.default): Promise<TemporaryKeys> {
  const response = await request(http, base, token, tokenKeysBody(token, durationSeconds));
  if (response.status !== 201 && response.status !== 200) {
    const error = responseError(response, {
      action: `getting a temporary access key from ${base}`,
      rejectedHint: 'the token was refused: run `authctl login` again',
      notFoundHint: 'check the IAM URL: the security-token endpoint is not there (plain Keystone has none)',
    });
    // Same words, exit code (4) and hint: a caller that does not look for it sees no change.
    if (response.status === 401) throw new KeysTokenRefusedError(error.message, { hint: error.hint });
    throw error;
  }
  return readCredential(parseJsonBody(response, new URL(base).origin), new URL(base).origin);
}

/** Agency keys: signed with the delegated user's own token (§8a). */
export async function keysThroughAgency(http: HttpClient, base: string, userToken: string, caller: string, agency: AgencyRef, durationSeconds: number): Promise<TemporaryKeys> {
  const response = await request(http, base, userToken, agencyKeysBody(agency, durationSeconds));
  if (response.status !== 201 && response.status !== 200) throw agencyError(response.status, response.body, `getting agency access keys from ${base}`, agency, caller);
  return readCredential(parseJsonBody(response, new URL(base).origin), new URL(base).origin);
}
