/** The token model and the pure expiry arithmetic every command shares. Times are epoch ms. */

export interface NamedRef {
  id?: string;
  name?: string;
}

/** What IAM said about a token, normalised from Keystone's and OAuth2's answers. */
export interface TokenInfo {
  /** On IAM's clock. */
  expiresAt: number;
  issuedAt?: number;
  user?: NamedRef & { domain?: NamedRef };
  project?: NamedRef & { domain?: NamedRef };
  domain?: NamedRef;
  roles?: string[];
  methods?: string[];
  /** System scope (`{"system": {"all": true}}`). */
  system?: boolean;
  /** The trust a trust-scoped token acts under. */
  trust?: { id: string };
}

/** A token as IAM issued it, before it is cached. */
export interface IssuedToken {
  token: string;
  info: TokenInfo;
  /** IAM's clock minus ours when the token arrived. */
  skewMs: number;
}

/** What authctl keeps in the keychain for a profile. */
export interface CachedToken extends TokenInfo {
  v: 1;
  /** `cacheKey` of what the token was issued for: never served to anything else. */
  key: string;
  token: string;
  /** IAM's clock minus ours when the token arrived, so expiry is judged on IAM's clock. */
  skewMs: number;
  /** Where it came from, for display: the auth URL or the OAuth2 token URL. */
  issuer: string;
  /** An OpenID Connect sign-in's ID token, for `token get --output id-token`. */
  idToken?: string;
}

/** Skews under this are noise: the `Date` header has one-second resolution. */
const NEGLIGIBLE_SKEW_MS = 2000;

/** IAM's clock minus the local clock, from a response's `Date` header. */
export function clockSkew(dateHeader: string | undefined, localNow: number): number {
  // The header counts whole seconds: the server's time was somewhere in the second after it.
  const serverNow = dateHeader ? Date.parse(dateHeader) + 500 : Number.NaN;
  if (Number.isNaN(serverNow)) return 0;
  const skew = serverNow - localNow;
  return Math.abs(skew) < NEGLIGIBLE_SKEW_MS ? 0 : skew;
}

export function remainingMs(token: Pick<CachedToken, 'expiresAt' | 'skewMs'>, now: number): number {
  return token.expiresAt - (now + token.skewMs);
}

export function isExpired(token: Pick<CachedToken, 'expiresAt' | 'skewMs'>, now: number): boolean {
  return remainingMs(token, now) <= 0;
}

/** Whether a cached token may be served for `key` with at least `minTtlMs` left. */
export function isServable(token: CachedToken, key: string, now: number, minTtlMs: number): boolean {
  return token.key === key && remainingMs(token, now) > minTtlMs;
}

/** A token authctl will print or send: present, bounded, printable ASCII (the same rule as for IAM's answers). */
export function isPlausibleToken(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 64 * 1024 && /^[\x21-\x7e]+$/.test(value);
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

function isNamedRef(value: unknown, withDomain: boolean): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const ref = value as Record<string, unknown>;
  if ((ref.id !== undefined && !isString(ref.id)) || (ref.name !== undefined && !isString(ref.name))) return false;
  return !withDomain || ref.domain === undefined || isNamedRef(ref.domain, false);
}

/**
 * Reads a keychain entry back into a token. Anything that is not a well-formed entry of ours
 * (corrupt, truncated, written by another program, a field of the wrong type) is undefined: a
 * cache miss, never a crash and never a token printed wrong.
 */
export function parseCachedToken(text: string): CachedToken | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const c = value as Record<string, unknown>;
  const valid =
    c.v === 1 &&
    isString(c.key) &&
    isPlausibleToken(c.token) &&
    isFiniteNumber(c.expiresAt) &&
    isFiniteNumber(c.skewMs) &&
    isString(c.issuer) &&
    (c.issuedAt === undefined || isFiniteNumber(c.issuedAt)) &&
    (c.user === undefined || isNamedRef(c.user, true)) &&
    (c.project === undefined || isNamedRef(c.project, true)) &&
    (c.domain === undefined || isNamedRef(c.domain, false)) &&
    (c.roles === undefined || (Array.isArray(c.roles) && c.roles.every(isString))) &&
    (c.methods === undefined || (Array.isArray(c.methods) && c.methods.every(isString))) &&
    (c.system === undefined || typeof c.system === 'boolean') &&
    (c.idToken === undefined || isPlausibleToken(c.idToken)) &&
    (c.trust === undefined || (typeof c.trust === 'object' && c.trust !== null && isString((c.trust as Record<string, unknown>).id)));
  return valid ? (c as unknown as CachedToken) : undefined;
}

export function serializeCachedToken(token: CachedToken): string {
  return JSON.stringify(token);
}

/** ISO-8601 UTC with second precision, the form authctl prints. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
