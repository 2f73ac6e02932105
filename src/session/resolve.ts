import { SecondFactorNeededError } from '../auth/second-factor.js';
import { formatDuration } from '../core/duration.js';
import { NoTokenError, UnreachableError } from '../core/errors.js';
import { isExpired, isServable, remainingMs, type CachedToken } from '../core/token.js';
import type { Context } from './context.js';
import { openProfile, renewalSecret, resolveTarget, type OpenProfile, type ResolvedTarget } from './profile.js';

export interface TokenResult {
  token: CachedToken;
  profile: OpenProfile;
  resolved: ResolvedTarget;
  /** Whether IAM was asked in this run. */
  fresh: boolean;
}

/**
 * The cached token while it has more than `minTtlMs` left, else a new one obtained without
 * asking (a secret from the environment, or saved for this IAM and identity), else exit 3.
 * Concurrent processes refresh once: the first takes the profile's lock and asks IAM, the
 * others wait for the lock and then find the new token in the store.
 */
export async function cachedOrFresh(ctx: Context, minTtlMs: number, profileName?: string): Promise<TokenResult> {
  const profile = await openProfile(ctx, profileName);
  const resolved = resolveTarget(ctx, profile);
  const { key, method } = resolved;
  const cached = await profile.secrets.readToken();
  if (cached && isServable(cached, key, ctx.now(), minTtlMs)) return { token: cached, profile, resolved, fresh: false };

  const renewal = await renewalSecret(ctx, profile, resolved);
  const secret = renewal.secret;
  if (secret === undefined) throw cannotRenew(profile.name, cached, resolved, ctx.now(), minTtlMs, Boolean(renewal.savedForOther));
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
      // Never a prompt here: a shell or CI step must not hang; a passcode command may answer.
      const token = await method.authenticate(await ctx.authIO(profile, false), resolved.target, secret);
      await profile.secrets.writeToken(token);
      if (remainingMs(token, ctx.now()) <= minTtlMs) {
        ctx.reporter.warn(`IAM issues tokens for ${formatDuration(remainingMs(token, ctx.now()))}, less than --min-ttl ${formatDuration(minTtlMs)}: every call will renew; lower --min-ttl (or AUTHCTL_MIN_TTL)`);
      }
      return { token, profile, resolved, fresh: true };
    } catch (error) {
      if (error instanceof SecondFactorNeededError) {
        throw new NoTokenError(`${renewalReason(profile.name, current ?? cached, resolved, ctx.now(), minTtlMs)}, and ${error.message.replace(/^login to \S+: /, '')}, which a silent renewal cannot answer`, {
          hint: `run \`authctl login${profile.name === 'default' ? '' : ` --profile ${profile.name}`}\` at a terminal, or set AUTHCTL_PASSCODE_COMMAND to a command that prints the code`,
        });
      }
      // IAM is down but the token still works: better a short-lived token than a broken shell.
      const usable = current ?? cached;
      if (error instanceof UnreachableError && usable?.key === key && !isExpired(usable, ctx.now())) {
        ctx.reporter.warn(`${error.message}; serving the cached token, which expires in ${formatDuration(remainingMs(usable, ctx.now()))}`);
        return { token: usable, profile, resolved, fresh: false };
      }
      throw error;
    }
  });
}

function cannotRenew(profile: string, cached: CachedToken | undefined, resolved: ResolvedTarget, now: number, minTtlMs: number, savedForOther: boolean): NoTokenError {
  const { secret } = resolved.method;
  const how = secret.oneTime ? 'AUTHCTL_PASSCODE_COMMAND, a command that prints the passcode' : `${secret.setting.env?.[0] ?? secret.setting.flag}${secret.save ? ` or \`authctl login ${secret.save.flag}\`` : ''}`;
  const why = renewalReason(profile, cached, resolved, now, minTtlMs);
  const saved = savedForOther
    ? `, and the saved ${secret.what} belongs to another IAM URL or user, so it is not sent here`
    : ', and there is no saved secret to renew it';
  return new NoTokenError(`${why}${saved}`, {
    hint: `run \`authctl login${profile === 'default' ? '' : ` --profile ${profile}`}\` (to renew silently: ${how})`,
  });
}

/** Why the cached token will not do. */
function renewalReason(profile: string, cached: CachedToken | undefined, resolved: ResolvedTarget, now: number, minTtlMs: number): string {
  if (!cached) return `no token is cached for profile ${profile}`;
  if (cached.key !== resolved.key) return `the cached token of profile ${profile} was issued for other settings (auth URL, user or scope)`;
  if (isExpired(cached, now)) return `the token of profile ${profile} has expired`;
  return `the token of profile ${profile} expires in ${formatDuration(remainingMs(cached, now))}, within --min-ttl ${formatDuration(minTtlMs)}`;
}
