import type { Context } from '../cli/context.js';
import { AuthctlError, ExitCode, UnreachableError } from '../core/errors.js';
import { openProfile, type OpenProfile } from '../core/profile.js';
import { isOAuth2Key } from '../core/target.js';
import { isExpired, isoTime } from '../core/token.js';
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
  const failures: AuthctlError[] = [];
  for (const name of names) {
    const failure = await logOutProfile(ctx, name);
    if (failure) failures.push(failure);
  }
  if (failures.length > 0) throw failures[0];
}

/** Logs one profile out; returns the error to exit with when IAM could not be reached, after the local removal. */
export async function logOutProfile(ctx: Context, name: string): Promise<AuthctlError | undefined> {
  const profile = await openProfile(ctx, name);
  let failure: AuthctlError | undefined;
  const revocation = await revoke(ctx, profile).catch((error: unknown) => {
    if (!(error instanceof AuthctlError)) throw error;
    ctx.reporter.warn(`profile ${name}: could not revoke the token at IAM: ${error.message}`);
    if (error.exitCode === ExitCode.Unreachable) {
      failure = new UnreachableError(`the token of profile ${name} could not be revoked (IAM unreachable); it stays valid at IAM until it expires`, {
        hint: 'the local copy is gone either way; if the token may have leaked, ask your IAM administrator to revoke it',
      });
    }
    return 'not revoked';
  });
  const removed = await profile.secrets.deleteAll();
  if (!removed && revocation === 'nothing to revoke') ctx.reporter.info(`profile ${name} was not logged in`);
  else ctx.reporter.success(`Logged out of profile ${name}: ${revocation}, secrets removed from the ${profile.secrets.storeKind === 'file' ? 'file store' : profile.secrets.storeKind}`);
  return failure;
}

async function revoke(ctx: Context, profile: OpenProfile): Promise<string> {
  const cached = await profile.secrets.readToken();
  if (!cached) return 'nothing to revoke';
  if (isOAuth2Key(cached.key)) return 'client-credentials tokens cannot be revoked, so it was only forgotten';
  if (isExpired(cached, ctx.now())) return `the token had already expired (${isoTime(cached.expiresAt)})`;
  ctx.secrets.add(cached.token);
  const result = await revokeToken(await ctx.http(), cached.issuer, cached.token, cached.token);
  return result === 'revoked' ? 'token revoked at IAM' : 'IAM no longer knew the token';
}
