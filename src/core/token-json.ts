import { isoTime, type CachedToken } from './token.js';

/** The documented JSON shape of a token (README, "Machine-readable output"). */
export function tokenJson(token: CachedToken, profile: string, withToken: boolean): Record<string, unknown> {
  const scope = token.project
    ? { project: token.project }
    : token.domain
      ? { domain: token.domain }
      : null;
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
