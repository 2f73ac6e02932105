import type { Context } from '../cli/context.js';
import { AuthctlError, ExitCode, UnreachableError } from '../core/errors.js';
import { openProfile, type OpenProfile } from '../core/profile.js';
import { isExpired } from '../core/token.js';
import { revokeToken } from '../iam/keystone.js';

export interface LogoutOptions {
  all?: boolean;
}

/**
 * Revokes the token at IAM, then removes everything the profile keeps in the secret store. The
 * local removal happens even when IAM cannot be reached: then a warning, and exit 5.
 */
export async function logoutRun(ctx: Context, opts: LogoutOptions): Promise<void> {
  const config = await ctx.config();
  const names = opts.all ? Object.keys(config.read().profiles) : [await ctx.profileName()];
  if (opts.all && names.length === 0) {
    ctx.reporter.info('no profiles to log out of');
    return;
  }
  let unreachable: AuthctlError | undefined;
  for (const name of names) {
    const profile = await openProfile(ctx, name);
    const revocation = await revoke(ctx, profile).catch((error: unknown) => {
      if (!(error instanceof AuthctlError)) throw error;
      if (error.exitCode === ExitCode.Unreachable) unreachable = error;
      ctx.reporter.warn(`profile ${name}: could not revoke the token at IAM: ${error.message}`);
      return 'not revoked';
    });
    const removed = await profile.secrets.deleteAll();
    if (!removed && revocation === 'nothing to revoke') ctx.reporter.info(`profile ${name} was not logged in`);
    else ctx.reporter.success(`Logged out of profile ${name}: ${revocation}, secrets removed from the ${profile.secrets.storeKind}`);
  }
  if (unreachable) {
    throw new UnreachableError(`IAM could not be reached to revoke the token (${unreachable.message}); it stays valid there until it expires`, {
      hint: 'the local copy is gone either way; run `authctl logout` again when IAM is reachable only if you still hold the token elsewhere',
    });
  }
}

async function revoke(ctx: Context, profile: OpenProfile): Promise<string> {
  const cached = await profile.secrets.readToken();
  if (!cached) return 'nothing to revoke';
  if (profile.settings?.kind === 'oauth2' || cached.key.startsWith('["oauth2"')) return 'client-credentials tokens cannot be revoked, so it was only forgotten';
  if (isExpired(cached, ctx.now())) return 'the token had already expired';
  ctx.secrets.add(cached.token);
  const result = await revokeToken(await ctx.http(), cached.issuer, cached.token, cached.token);
  return result === 'revoked' ? 'token revoked at IAM' : 'IAM no longer knew the token';
}
