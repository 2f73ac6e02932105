import { UnreachableError } from '../core/errors.js';
import type { HttpClient } from './http.js';
import { parseIsoTime, parseJsonBody, responseError, tokenFromHeader } from './response.js';

/**
 * Huawei Cloud IAM's extensions to Keystone v3: login tokens (POST /v3.0/OS-AUTH/securitytoken/logintokens)
 * and temporary access keys with a security token (POST /v3.0/OS-CREDENTIAL/securitytokens).
 */

const JSON_UTF8 = { 'content-type': 'application/json;charset=utf8', accept: 'application/json' };

export const LOGIN_TOKEN_DURATION = { min: 600, max: 43200, default: 600 } as const;

export type { AccessKey } from './access-keys.js';
import type { AccessKey } from './access-keys.js';

/** The IAM base a Keystone v3 auth URL hangs off: `https://iam.example.com/v3` → `https://iam.example.com`. */
export function iamBase(authUrl: string): string {
  return authUrl.replace(/\/v3$/, '');
}

export function loginTokenBody(key: AccessKey, durationSeconds: number): unknown {
  return { auth: { securitytoken: { access: key.access, secret: key.secret, id: key.securityToken, duration_seconds: durationSeconds } } };
}

export interface LoginToken {
  token: string;
  /** The response's `logintoken` object as IAM sent it. */
  details: Record<string, unknown>;
  expiresAt?: number;
}

export async function createLoginToken(http: HttpClient, base: string, key: AccessKey, durationSeconds: number): Promise<LoginToken> {
  const url = `${base}/v3.0/OS-AUTH/securitytoken/logintokens`;
  const response = await http.send({ method: 'POST', url, headers: JSON_UTF8, body: JSON.stringify(loginTokenBody(key, durationSeconds)) });
  if (response.status !== 201 && response.status !== 200) {
    throw responseError(response, {
      action: `getting a login token from ${base}`,
      rejectedHint: 'check the access key, secret key and security token (a security token expires; get a new one)',
      notFoundHint: 'check the IAM URL: the login-token endpoint is not there',
    });
  }
  const origin = new URL(base).origin;
  const token = tokenFromHeader(response, 'X-Subject-LoginToken', origin);
  const body = parseJsonBody(response, origin) as { logintoken?: unknown } | null;
  const details = body?.logintoken;
  if (typeof details !== 'object' || details === null) {
    throw new UnreachableError(`${origin} answered ${response.status} without a "logintoken" object`, { hint: 'check that the URL points at the IAM service' });
  }
  const result: LoginToken = { token, details: details as Record<string, unknown> };
  const expiresAt = parseIsoTime((details as Record<string, unknown>).expires_at);
  if (expiresAt !== undefined) result.expiresAt = expiresAt;
  return result;
}
