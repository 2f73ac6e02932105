import { SecondFactorNeededError } from '../auth/second-factor.js';
import { formatDuration } from '../core/duration.js';
import { NoTokenError, UnreachableError } from '../core/errors.js';
import { isExpired, isoTime, isServable, remainingMs, type CachedToken } from '../core/token.js';
import type { HttpClient } from '../iam/http.js';
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
  if (cached && isServable(cached, key, ctx.now(), minTtlMs)) return served(ctx, profile, resolved, cached, minTtlMs, 'the token cached');

  const renewal = await renewalSecret(ctx, profile, resolved);
  const secret = renewal.secret;
  if (secret === undefined) throw cannotRenew(profile.name, cached, resolved, ctx.now(), minTtlMs, Boolean(renewal.savedForOther));
  ctx.secrets.add(secret);

  return ctx.withRefreshLock(profile.name, async () => {
    const current = await profile.secrets.readToken();
    if (current && isServable(current, key, ctx.now(), minTtlMs)) return served(ctx, profile, resolved, current, minTtlMs, 'the token another process renewed');
    // Another process renewed while this one waited: that is the fresh token, even if IAM issues
    // tokens shorter than --min-ttl (else every waiter would renew again, one after the other).
    if (current && current.key === key && current.token !== cached?.token && !isExpired(current, ctx.now())) {
      return served(ctx, profile, resolved, current, minTtlMs, 'the token another process renewed');
    }
    // A token that still works may be served if IAM is slow: the renewal gets one per-try timeout
    // in all (a shell start-up must not wait for every retry), a token that has expired the full budget.
    const stillValid = current ?? cached;
    const short = Number.isFinite(minTtlMs) && stillValid?.key === key && !isExpired(stillValid, ctx.now());
    try {
      // Never a prompt here: a shell or CI step must not hang; a passcode command may answer.
      const renew = async () => method.authenticate(await ctx.authIO(profile, false), resolved.target, secret);
      const token = short ? await ctx.withShortNetworkBudget(renew) : await renew();
      ctx.reporter.debug(`profile ${profile.name}: a new token from ${token.issuer}, expires ${isoTime(token.expiresAt)} (${formatDuration(remainingMs(token, ctx.now()))} left)`);
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
        const left = formatDuration(remainingMs(usable, ctx.now()));
        // Cut short by the renewal's budget: say how to renew with the whole of it.
        const renewHint = error.reason === 'timeout' ? `; to renew it with every retry, run \`${renewCommand(profile.name)}\`` : '';
        ctx.reporter.warn(`${error.message}; serving the cached token, which expires in ${left}${renewHint}`);
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
  // Asked for a new token whatever is left (the cached one was refused at IAM): no --min-ttl to name.
  if (!Number.isFinite(minTtlMs)) return `profile ${profile} needs a new token (IAM refused the cached one)`;
  return `the token of profile ${profile} expires in ${formatDuration(remainingMs(cached, now))}, within --min-ttl ${formatDuration(minTtlMs)}`;
}

/** The cached token, and with --debug where it came from and how long it has left. */
function served(ctx: Context, profile: OpenProfile, resolved: ResolvedTarget, token: CachedToken, minTtlMs: number, how: string): TokenResult {
  if (ctx.reporter.debugEnabled) {
    const where = profile.secrets.storeKind === 'keychain' ? 'the OS keychain' : `the ${profile.secrets.storeKind} store`;
    const issued = token.issuedAt === undefined ? '' : `, issued ${isoTime(token.issuedAt)}`;
    const enough = Number.isFinite(minTtlMs) && minTtlMs > 0 ? `, more than --min-ttl ${formatDuration(minTtlMs)}` : '';
    ctx.reporter.debug(
      `profile ${profile.name}: serving ${how} in ${where} (from ${token.issuer}${issued}, expires ${isoTime(token.expiresAt)}): ${formatDuration(remainingMs(token, ctx.now()))} left${enough}; IAM not asked`,
    );
  }
  return { token, profile, resolved, fresh: false };
}

function profileFlag(profile: string): string {
  return profile === 'default' ? '' : ` --profile ${profile}`;
}

/** `authctl token renew`, for the profile. */
export function renewCommand(profile: string): string {
  return `authctl token renew${profileFlag(profile)}`;
}

/** A value as a shell takes it: as it is when it is plain, else single-quoted. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that logs the profile in again. A saved profile keeps its settings, and the
 * environment that named an unsaved one is still there; what this command line gave as flags
 * (which `login` would not find otherwise) is repeated: the profile when `authctl login` alone
 * would pick another, --os-cloud, a store, CA file or --insecure the profile has not saved, and
 * `extra` (the scope flags of a `token renew`). Never a secret: those are asked for, or come from
 * the environment.
 */
export async function loginCommand(ctx: Context, profile: Pick<OpenProfile, 'name' | 'settings'>, extra: readonly string[] = []): Promise<string> {
  const words = ['authctl', 'login'];
  const implicit = ctx.env.AUTHCTL_PROFILE || (await ctx.config()).read().defaultProfile || 'default';
  if (profile.name !== 'default' || implicit !== 'default') words.push('--profile', profile.name);
  const given = ctx.globals;
  if (given.osCloud !== undefined) words.push('--os-cloud', given.osCloud);
  if (given.store !== undefined && given.store !== profile.settings?.store) words.push('--store', given.store);
  if (given.cacert !== undefined && given.cacert !== profile.settings?.cacert) words.push('--cacert', given.cacert);
  if (given.insecure && !profile.settings?.insecure) words.push('--insecure');
  words.push(...extra);
  return words.map(shellWord).join(' ');
}

/** An HTTP client that remembers the status of the last answer it got (a refusal's status, which errors do not carry). */
export function watchingStatus(http: HttpClient): { http: HttpClient; lastStatus(): number | undefined } {
  let last: number | undefined;
  return {
    http: {
      async send(request) {
        last = undefined;
        const response = await http.send(request);
        last = response.status;
        return response;
      },
    },
    lastStatus: () => last,
  };
}

/**
 * IAM said that a cached token is no longer valid (401 or 404 for it): the token is removed
 * from the store, if it is still the one there (a caller that holds the refresh lock passes
 * `locked`), and the error says so, with the command that logs in again.
 */
export async function refusedAtIam(
  ctx: Context,
  profile: OpenProfile,
  token: string,
  status: number,
  options: { locked?: boolean; extraFlags?: readonly string[]; silent?: boolean; role?: string } = {},
): Promise<NoTokenError> {
  const forget = async () => {
    if ((await profile.secrets.readToken())?.token === token) await profile.secrets.deleteSecret('token');
  };
  let removed = ', so it was removed from the cache';
  try {
    await (options.locked ? forget() : ctx.withRefreshLock(profile.name, forget));
  } catch (error) {
    removed = `; it could not be removed from the cache (${(error as Error).message})`;
  }
  const login = await loginCommand(ctx, profile, options.extraFlags);
  return new NoTokenError(`the token of profile ${profile.name}${options.role ? ` (${options.role})` : ''} is revoked or expired at IAM (${status})${removed}`, {
    hint: `run \`${login}\``,
    ...(options.silent ? { silent: true } : {}),
  });
}

/**
 * `use` with the profile's token (`first`, from `cachedOrFresh`). When IAM refuses that token
 * as the caller (`refused` gives the status, 401, for such an error), it is removed from the
 * cache; if `cachedOrFresh` can then get a new one without asking (a secret from the
 * environment, or saved), `use` runs once more with it. Otherwise, and when the new token is
 * refused too, the error says that the token is revoked or expired at IAM (exit 3), with the
 * command that logs in again.
 */
export async function retryIfRefused<T>(
  ctx: Context,
  first: TokenResult,
  minTtlMs: number,
  use: (result: TokenResult) => Promise<T>,
  refused: (error: unknown) => number | undefined,
): Promise<T> {
  let status: number | undefined;
  try {
    return await use(first);
  } catch (error) {
    status = refused(error);
    if (status === undefined) throw error;
  }
  const dropped = await refusedAtIam(ctx, first.profile, first.token.token, status);
  let again: TokenResult;
  try {
    again = await cachedOrFresh(ctx, minTtlMs);
  } catch (error) {
    // No silent renewal: the refusal is the news, and its hint logs in again.
    if (error instanceof NoTokenError) throw dropped;
    throw error;
  }
  // Still the refused token (it could not be removed from the cache): no point asking again.
  if (again.token.token === first.token.token) throw dropped;
  ctx.reporter.debug(`${dropped.message}; retrying once with a new token`);
  try {
    return await use(again);
  } catch (error) {
    const second = refused(error);
    if (second === undefined) throw error;
    throw await refusedAtIam(ctx, again.profile, again.token.token, second);
  }
}
