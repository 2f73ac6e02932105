import { RejectedError, UnreachableError, UsageError } from '../core/errors.js';
import type { DomainRef, Scope, UserRef } from '../core/target.js';
import { clockSkew, type IssuedToken, type NamedRef, type TokenInfo } from '../core/token.js';

export type { IssuedToken };
import type { HttpClient, HttpResponse } from './http.js';
import { parseIsoTime, parseJsonBody, responseError, serverMessage, tokenFromHeader } from './response.js';

/** Keystone v3 identity API: `POST/GET/HEAD/DELETE {authUrl}/auth/tokens`. */

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };

function domainJson(domain: DomainRef): Record<string, string> {
  return 'id' in domain ? { id: domain.id } : { name: domain.name };
}

function userJson(user: UserRef): Record<string, unknown> {
  return 'id' in user ? { id: user.id } : { name: user.name, domain: domainJson(user.domain) };
}

/** The `scope` member, or undefined for an unscoped token (Keystone: no `scope` at all). */
export function scopeJson(scope: Scope): Record<string, unknown> | undefined {
  switch (scope.kind) {
    case 'unscoped':
      return undefined;
    case 'domain':
      return { domain: domainJson(scope.domain) };
    case 'project':
      return { project: 'id' in scope ? { id: scope.id } : { name: scope.name, domain: domainJson(scope.domain) } };
    case 'system':
      return { system: { all: true } };
    case 'trust':
      return { 'OS-TRUST:trust': { id: scope.trustId } };
  }
}

/** One auth method's part of a request (keystoneauth's AuthMethod): its name and its `identity.<name>` member. */
export type AuthPiece = [name: string, data: Record<string, unknown>];

export const passwordPiece = (user: UserRef, password: string): AuthPiece => ['password', { user: { ...userJson(user), password } }];
export const totpPiece = (user: UserRef, passcode: string): AuthPiece => ['totp', { user: { ...userJson(user), passcode } }];
/** OTC/Huawei virtual MFA: the passcode is checked against the user's id, whatever names the password's user. */
export const totpByIdPiece = (userId: string, passcode: string): AuthPiece => ['totp', { user: { id: userId, passcode } }];
export const tokenPiece = (token: string): AuthPiece => ['token', { id: token }];

/** An application credential by id, or by name with its user. */
export type ApplicationCredentialRef = { id: string } | { name: string; user: UserRef };

export const applicationCredentialPiece = (credential: ApplicationCredentialRef, secret: string): AuthPiece => [
  'application_credential',
  'id' in credential ? { id: credential.id, secret } : { name: credential.name, user: userJson(credential.user), secret },
];

/** A `POST /auth/tokens` body from method pieces, several of them for multi-factor in one request. */
export function authBody(pieces: readonly AuthPiece[], scope: Scope | undefined): { auth: Record<string, unknown> } {
  const identity: Record<string, unknown> = { methods: pieces.map(([name]) => name) };
  for (const [name, data] of pieces) identity[name] = data;
  return withScope(identity, scope);
}

function withScope(identity: Record<string, unknown>, scope: Scope | undefined): { auth: Record<string, unknown> } {
  const scopeMember = scope ? scopeJson(scope) : undefined;
  return { auth: scopeMember ? { identity, scope: scopeMember } : { identity } };
}

export function passwordAuthBody(user: UserRef, password: string, scope: Scope): { auth: Record<string, unknown> } {
  return authBody([passwordPiece(user, password)], scope);
}

/** Re-authentication from a token (Keystone's `token` auth method). Keystone keeps the parent's expiry. */
export function tokenAuthBody(token: string, scope: Scope | undefined): { auth: Record<string, unknown> } {
  return authBody([tokenPiece(token)], scope);
}


function namedRef(value: unknown): NamedRef | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, name } = value as Record<string, unknown>;
  const ref: NamedRef = {};
  if (typeof id === 'string') ref.id = id;
  if (typeof name === 'string') ref.name = name;
  return ref.id === undefined && ref.name === undefined ? undefined : ref;
}

function withDomain(value: unknown): (NamedRef & { domain?: NamedRef }) | undefined {
  const ref = namedRef(value);
  if (!ref) return undefined;
  const domain = namedRef((value as Record<string, unknown>).domain);
  return domain ? { ...ref, domain } : ref;
}

/**
 * Reads Keystone's `{"token": {...}}` body. `expires_at` is required and must be a time;
 * everything else is descriptive and taken when present.
 */
export function parseTokenBody(body: unknown): TokenInfo | { error: string } {
  const token = (body as { token?: unknown } | null)?.token;
  if (typeof token !== 'object' || token === null) return { error: 'the body has no "token" object' };
  const raw = token as Record<string, unknown>;
  if (raw.expires_at === undefined) return { error: 'the token has no expires_at' };
  const expiresAt = parseIsoTime(raw.expires_at);
  if (expiresAt === undefined) return { error: `the token's expires_at (${JSON.stringify(raw.expires_at).slice(0, 60)}) is not a time` };
  const info: TokenInfo = { expiresAt };
  const issuedAt = parseIsoTime(raw.issued_at);
  if (issuedAt !== undefined) info.issuedAt = issuedAt;
  const user = withDomain(raw.user);
  if (user) info.user = user;
  const project = withDomain(raw.project);
  if (project) info.project = project;
  const domain = namedRef(raw.domain);
  if (domain) info.domain = domain;
  if (Array.isArray(raw.roles)) {
    info.roles = raw.roles.map((role) => namedRef(role)?.name).filter((name): name is string => name !== undefined);
  }
  if (Array.isArray(raw.methods)) info.methods = raw.methods.filter((m): m is string => typeof m === 'string');
  if ((raw.system as { all?: unknown } | undefined)?.all === true) info.system = true;
  const trust = raw['OS-TRUST:trust'] as { id?: unknown } | undefined;
  if (typeof trust?.id === 'string') info.trust = { id: trust.id };
  return info;
}

/** Turns a 200/201 token answer into a token, or a clear error; nothing half-parsed gets through. */
export function readTokenResponse(response: HttpResponse, origin: string, localNow: number, subjectToken?: string): IssuedToken {
  const token = subjectToken ?? tokenFromHeader(response, 'X-Subject-Token', origin);
  const parsed = parseTokenBody(parseJsonBody(response, origin));
  if ('error' in parsed) {
    throw new UnreachableError(`${origin} answered ${response.status} with a malformed token body: ${parsed.error}`, {
      hint: 'check that the URL points at a Keystone v3 service; nothing was stored',
    });
  }
  const skewMs = clockSkew(response.headers.date, localNow);
  if (parsed.expiresAt <= localNow + skewMs) {
    throw new UnreachableError(`${origin} issued a token that has already expired (expires_at ${new Date(parsed.expiresAt).toISOString()})`, {
      hint: "IAM's clock or token lifetime is misconfigured; nothing was stored",
    });
  }
  return { token, info: parsed, skewMs };
}

export function tokensUrl(authUrl: string): string {
  return `${authUrl}/auth/tokens`;
}

/**
 * Keystone's 401 for a user whose multi-factor rules are not met yet: the factors given were
 * right, and a receipt (header `Openstack-Auth-Receipt`) carries them to a second request that
 * adds what `requiredMethods` lists.
 */
export class ReceiptRequiredError extends RejectedError {
  constructor(
    readonly receipt: string,
    readonly requiredMethods: string[][],
    readonly expiresAt: number | undefined,
    authUrl: string,
  ) {
    super(`login to ${authUrl} needs a second factor (${requiredMethods.map((rule) => rule.join(' + ')).join(', or ') || 'totp'})`, { reason: 'second-factor-required' });
  }
}

/**
 * OTC and Huawei Cloud IAM: a user with virtual-MFA login protection whose request lacked the
 * passcode is answered 401 with a message about the MFA code ("mfa totp code verify fail"); there
 * is no receipt and no machine-readable code (iam-api.md §7).
 */
export class VirtualMfaRequiredError extends RejectedError {
  constructor(authUrl: string, said: string) {
    super(`login to ${authUrl} needs the account's virtual MFA passcode (IAM said: ${said})`, { reason: 'second-factor-required' });
  }
}

function virtualMfaOf(response: HttpResponse, authUrl: string, body: object): VirtualMfaRequiredError | undefined {
  if (response.status !== 401) return undefined;
  const said = serverMessage(response.body);
  const methods = (body as { auth?: { identity?: { methods?: unknown } } }).auth?.identity?.methods;
  // With a passcode in the request, the same words mean that the passcode was wrong.
  if (!said || !/\b(mfa|totp)\b/i.test(said) || (Array.isArray(methods) && methods.includes('totp'))) return undefined;
  return new VirtualMfaRequiredError(authUrl, said);
}

function receiptOf(response: HttpResponse, authUrl: string): ReceiptRequiredError | undefined {
  const receipt = response.headers['openstack-auth-receipt'];
  if (response.status !== 401 || !receipt) return undefined;
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    // the header is what matters
  }
  const rules = Array.isArray(body.required_auth_methods)
    ? body.required_auth_methods.filter((rule): rule is string[] => Array.isArray(rule) && rule.every((method) => typeof method === 'string'))
    : [];
  const expiresAt = parseIsoTime((body.receipt as Record<string, unknown> | undefined)?.expires_at);
  return new ReceiptRequiredError(receipt, rules, expiresAt, authUrl);
}

export async function issueToken(
  http: HttpClient,
  authUrl: string,
  body: object,
  now: () => number,
  headers: Record<string, string> = {},
): Promise<IssuedToken> {
  const response = await http.send({
    method: 'POST',
    url: tokensUrl(authUrl),
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
  const received = now();
  const receipt = receiptOf(response, authUrl);
  if (receipt) throw receipt;
  const virtualMfa = virtualMfaOf(response, authUrl, body);
  if (virtualMfa) throw virtualMfa;
  const { origin, pathname } = new URL(authUrl);
  if (response.status === 404 && !/\/v3(\.\d+)?$/.test(pathname)) {
    // Not a refusal: nothing at that path, and the URL lacks the API version Keystone lives under.
    throw new UsageError(`login to ${authUrl} failed: not found (404), and the auth URL does not end in /v3`, {
      hint: `give the Keystone v3 base, e.g. ${origin}${pathname.replace(/\/$/, '')}/v3`,
    });
  }
  if (response.status !== 201 && response.status !== 200) {
    throw responseError(response, {
      action: `login to ${authUrl}`,
      rejectedHint: 'check the user name, domain, password and scope (project or domain)',
      notFoundHint: 'check the auth URL (the Keystone v3 base, e.g. https://iam.example.com/v3) and the scope names',
    });
  }
  return readTokenResponse(response, origin, received);
}

/** What IAM said of a token: valid (with its details from a GET), or not and why. */
export type Validation = { valid: true; info?: TokenInfo } | { valid: false; status: number; message?: string };

/**
 * `GET` (with the token's details) or `HEAD` (the answer only) on `/auth/tokens`: 200 valid,
 * 404 invalid, expired or revoked. A rejected caller (401/403) is an error, not an answer.
 */
export async function validateToken(http: HttpClient, authUrl: string, caller: string, subject: string, method: 'GET' | 'HEAD'): Promise<Validation> {
  const response = await http.send({ method, url: tokensUrl(authUrl), headers: { accept: 'application/json', 'x-auth-token': caller, 'x-subject-token': subject } });
  if (response.status === 200) {
    if (method === 'HEAD') return { valid: true };
    const parsed = parseTokenBody(parseJsonBody(response, new URL(authUrl).origin));
    if ('error' in parsed) throw new UnreachableError(`${new URL(authUrl).origin} answered 200 with a malformed token body: ${parsed.error}`);
    return { valid: true, info: parsed };
  }
  if (response.status === 404) {
    const said = serverMessage(response.body);
    return said === undefined ? { valid: false, status: 404 } : { valid: false, status: 404, message: said };
  }
  throw responseError(response, {
    action: `checking the token at ${authUrl}`,
    rejectedHint: 'the token used to ask (X-Auth-Token) was refused: log in again, or use a token allowed to check others',
  });
}

/** `DELETE /auth/tokens`: 204 revoked; 404 means it was already invalid, which is as good. */
export async function revokeToken(http: HttpClient, authUrl: string, caller: string, subject: string): Promise<'revoked' | 'already-invalid'> {
  const response = await http.send({ method: 'DELETE', url: tokensUrl(authUrl), headers: { 'x-auth-token': caller, 'x-subject-token': subject } });
  if (response.status === 204 || response.status === 200) return 'revoked';
  if (response.status === 404 || response.status === 401) return 'already-invalid';
  throw responseError(response, { action: `revoking the token at ${authUrl}`, rejectedHint: 'IAM refused to revoke it' });
}
