import type { Context } from '../cli/context.js';
import { issueToken, passwordAuthBody, type IssuedToken } from '../iam/keystone.js';
import { clientCredentialsToken } from '../iam/oauth2.js';
import { targetKey, type Target } from './target.js';
import type { CachedToken } from './token.js';

/** Asks IAM for a new token for `target` with its secret (password or client secret). */
export async function authenticate(ctx: Context, target: Target, secret: string): Promise<CachedToken> {
  ctx.secrets.add(secret);
  const http = await ctx.http();
  if (target.kind === 'keystone') {
    const issued = await issueToken(http, target.authUrl, passwordAuthBody(target.user, secret, target.scope), ctx.now);
    return toCachedToken(target, issued, target.authUrl);
  }
  const issued = await clientCredentialsToken(http, target, secret, ctx.now);
  return toCachedToken(target, issued, target.tokenUrl);
}

export function toCachedToken(target: Target, issued: IssuedToken, issuer: string): CachedToken {
  return { v: 1, key: targetKey(target), token: issued.token, ...issued.info, skewMs: issued.skewMs, issuer };
}
