import type { Context } from '../cli/context.js';
import { checkMinTtl } from '../core/profile.js';
import { cachedOrFresh } from '../core/resolve.js';
import { isoTime, type CachedToken } from '../core/token.js';

export interface TokenGetOptions {
  minTtl?: string;
  json?: boolean;
}

/** Prints the token and a newline on stdout, nothing else: `$(authctl token get)` is the token. */
export async function tokenGetRun(ctx: Context, opts: TokenGetOptions): Promise<void> {
  const minTtlMs = checkMinTtl(ctx, opts.minTtl);
  const { token, profile } = await cachedOrFresh(ctx, minTtlMs);
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(tokenJson(token, profile.name, true), null, 2)}\n`);
  else ctx.io.stdout.write(`${token.token}\n`);
}

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
