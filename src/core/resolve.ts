import type { Context } from '../cli/context.js';
import { authenticate } from './auth.js';
import { formatDuration } from './duration.js';
import { AuthctlError, ExitCode, NoTokenError } from './errors.js';
import { openProfile, profileTarget, renewalSecret, type OpenProfile, type ResolvedTarget } from './profile.js';
import { targetKey } from './target.js';
import { isExpired, isServable, remainingMs, type CachedToken } from './token.js';

export interface TokenResult {
  token: CachedToken;
  profile: OpenProfile;
  resolved: ResolvedTarget;
  /** Whether IAM was asked in this run. */
  fresh: boolean;
}

/**
 * The cached token while it has more than `minTtlMs` left, else a new one obtained without
 * asking (password or client secret from the environment or saved), else exit 3.
 * Concurrent processes refresh once: the first takes the profile's lock and asks IAM, the
 * others wait for the lock and then find the new token in the store.
 */
export async function cachedOrFresh(ctx: Context, minTtlMs: number): Promise<TokenResult> {
  const profile = await openProfile(ctx);
  const resolved = profileTarget(ctx.env, profile);
  const key = targetKey(resolved.target);
  const cached = await profile.secrets.readToken();
  if (cached && isServable(cached, key, ctx.now(), minTtlMs)) return { token: cached, profile, resolved, fresh: false };

  const secret = await renewalSecret(ctx, profile, resolved.target);
  if (secret === undefined) throw cannotRenew(profile.name, cached, key, ctx.now(), minTtlMs, resolved.target.kind);
  ctx.secrets.add(secret);

  return ctx.withRefreshLock(profile.name, async () => {
    const current = await profile.secrets.readToken();
    if (current && isServable(current, key, ctx.now(), minTtlMs)) return { token: current, profile, resolved, fresh: false };
    // Another process renewed while this one waited: that is the fresh token, even if IAM issues
    // tokens shorter than --min-ttl (else every waiter would renew again, one after the other).
    if (current && current.key === key && current.token !== cached?.token && !isExpired(current, ctx.now())) {
      return { token: current, profile, resolved, fresh: false };
    }
    try {
      const token = await authenticate(ctx, resolved.target, secret);
      await profile.secrets.writeToken(token);
      if (remainingMs(token, ctx.now()) <= minTtlMs) {
        ctx.reporter.warn(`IAM issues tokens for ${formatDuration(remainingMs(token, ctx.now()))}, less than --min-ttl ${formatDuration(minTtlMs)}: every call will renew; lower --min-ttl (or AUTHCTL_MIN_TTL)`);
      }
      return { token, profile, resolved, fresh: true };
    } catch (error) {
      // IAM is down but the token still works: better a short-lived token than a broken shell.
      const usable = current ?? cached;
      if (error instanceof AuthctlError && error.exitCode === ExitCode.Unreachable && usable?.key === key && !isExpired(usable, ctx.now())) {
        ctx.reporter.warn(`${error.message}; serving the cached token, which expires in ${formatDuration(remainingMs(usable, ctx.now()))}`);
        return { token: usable, profile, resolved, fresh: false };
      }
      throw error;
    }
  });
}

function cannotRenew(profile: string, cached: CachedToken | undefined, key: string, now: number, minTtlMs: number, kind: string): NoTokenError {
  const how = kind === 'keystone' ? 'OS_PASSWORD or `authctl login --save-password`' : 'AUTHCTL_CLIENT_SECRET or `authctl login --save-secret`';
  let why: string;
  if (!cached) why = `no token is cached for profile ${profile}`;
  else if (cached.key !== key) why = `the cached token of profile ${profile} was issued for other settings (auth URL, user or scope)`;
  else if (isExpired(cached, now)) why = `the token of profile ${profile} has expired`;
  else why = `the token of profile ${profile} expires in ${formatDuration(remainingMs(cached, now))}, within --min-ttl ${formatDuration(minTtlMs)}`;
  return new NoTokenError(`${why}, and there is no saved secret to renew it`, {
    hint: `run \`authctl login${profile === 'default' ? '' : ` --profile ${profile}`}\` (to renew silently: ${how})`,
  });
}
