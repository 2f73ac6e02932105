import { isoTime, type CachedToken, type NamedRef, type TokenInfo } from './token.js';

export type ScopeJson = { project: NamedRef & { domain?: NamedRef }; trust?: { id: string } } | { domain: NamedRef } | { system: { all: true } } | null;

/** A token's scope as the JSON outputs write it: `{project}` (with `trust` for a trust), `{domain}`, `{system}`, or null when unscoped. */
export function scopeJson(info: TokenInfo): ScopeJson {
  if (info.project) return info.trust ? { project: info.project, trust: info.trust } : { project: info.project };
  if (info.domain) return { domain: info.domain };
  if (info.system) return { system: { all: true } };
  return null;
}

/** The documented JSON shape of a token (README, "Machine-readable output"). */
export function tokenJson(token: CachedToken, profile: string, withToken: boolean): Record<string, unknown> {
  const scope = scopeJson(token);
  return {
    ...(withToken ? { token: token.token } : {}),
    expires_at: isoTime(token.expiresAt),
    issued_at: token.issuedAt === undefined ? null : isoTime(token.issuedAt),
    profile,
    issuer: token.issuer,
    user: token.user ?? null,
    scope,
    roles: token.roles ?? [],
  };
}
