import { methodForKey } from '../auth/registry.js';
import { AuthctlError, UnreachableError } from '../core/errors.js';
import { isExpired, isoTime, type CachedToken } from '../core/token.js';
import type { Context } from '../session/context.js';
import { openProfile, type OpenProfile } from '../session/profile.js';
import { UnreadableEntryError } from '../store/secret-store.js';

export interface LogoutOptions {
  all?: boolean;
}

/**
 * Removes everything the profile keeps in the secret store, then revokes the token at IAM. The
 * local removal stands even when IAM cannot be reached: then a warning, and exit 5; a store that
 * cannot remove it fails first, and nothing is revoked.
 */
export async function logoutRun(ctx: Context, opts: LogoutOptions): Promise<void> {
  // The profile in use counts even when only OS_* variables define it (a CI `token get` saves no settings).
  const names = opts.all ? await knownProfiles(ctx) : [await ctx.profileName()];
  const failures: AuthctlError[] = [];
  for (const name of names) {
    try {
      const failure = await logOutProfile(ctx, name, opts.all === true);
      if (failure) failures.push(failure);
    } catch (error) {
      // One broken profile (its keychain locked, its clouds.yaml gone) must not keep the others logged in.
      if (!(error instanceof AuthctlError) || !opts.all) throw error;
      ctx.reporter.warn(`profile ${name}: ${error.message}`);
      failures.push(error);
    }
  }
  if (failures.length > 0) throw failures[0];
}

/** The profiles in the config file, and the one in use. */
export async function knownProfiles(ctx: Context): Promise<string[]> {
  const names = Object.keys((await ctx.config()).read().profiles);
  const current = await ctx.profileName();
  return names.includes(current) ? names : [...names, current];
}

/** Logs one profile out; returns the error to exit with when IAM could not be reached, after the local removal. */
export async function logOutProfile(ctx: Context, name: string, quietIfEmpty = false): Promise<AuthctlError | undefined> {
  const profile = await openProfile(ctx, name);
  let failure: AuthctlError | undefined;
  // The local copy goes first: a store that cannot delete (read-only, locked) then fails with
  // everything as it was, instead of leaving a token revoked at IAM that `token get` still serves.
  const cached = await profile.secrets.readToken().catch((error: unknown) => {
    // An entry the store will not open (another key, not encrypted): gone all the same, unrevoked.
    if (!(error instanceof UnreadableEntryError)) throw error;
    ctx.reporter.warn(`profile ${name}: ${error.message}; removing it without revoking it at IAM (it stays valid there until it expires)`);
    return undefined;
  });
  const removed = await profile.secrets.deleteAll();
  const revocation = await revoke(ctx, profile, cached).catch((error: unknown) => {
    if (!(error instanceof AuthctlError)) throw error;
    ctx.reporter.warn(`profile ${name}: could not revoke the token at IAM: ${error.message}`);
    failure =
      error instanceof UnreachableError
        ? new UnreachableError(`the token of profile ${name} could not be revoked (IAM unreachable); it stays valid at IAM until it expires`, {
            hint: 'the local copy is gone either way; if the token may have leaked, ask your IAM administrator to revoke it',
          })
        : error;
    return 'not revoked';
  });
  if (!removed && revocation === 'nothing to revoke') {
    // `--all` also looks at the profile in use, which may exist only in the environment: no news is no news.
    if (!(quietIfEmpty && !profile.settings)) ctx.reporter.info(`profile ${name} was not logged in`);
  }
  else ctx.reporter.success(`Logged out of profile ${name}: ${revocation}, secrets removed from the ${profile.secrets.storeKind === 'file' ? 'file store' : profile.secrets.storeKind}`);
  return failure;
}

async function revoke(ctx: Context, profile: OpenProfile, cached: CachedToken | undefined): Promise<string> {
  if (!cached) return 'nothing to revoke';
  const method = methodForKey(cached.key);
  const revokeAt = method?.can.revoke;
  if (!revokeAt) return `${method?.label ?? 'such'} tokens cannot be revoked, so it was only forgotten`;
  if (isExpired(cached, ctx.now())) return `the token had already expired (${isoTime(cached.expiresAt)})`;
  ctx.secrets.add(cached.token);
  const result = await revokeAt(await ctx.http(profile.tls), cached.issuer, cached.token);
  return result === 'revoked' ? 'token revoked at IAM' : 'IAM no longer knew the token';
}
