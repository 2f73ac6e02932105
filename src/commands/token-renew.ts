import { checkFlagConflicts, namesScope, SCOPE_SETTINGS, type KeystoneSettings } from '../auth/keystone-identity.js';
import { sameIdentity } from '../auth/method.js';
import { NoTokenError, RejectedError, UsageError } from '../core/errors.js';
import type { ProfileSettings } from '../core/profile-settings.js';
import { flagLayer } from '../core/settings.js';
import { isExpired, isoTime, type CachedToken } from '../core/token.js';
import { tokenJson } from '../core/token-json.js';
import type { Context } from '../session/context.js';
import { openProfile, renewalSecret, resolveTarget, type OpenProfile, type ResolvedTarget } from '../session/profile.js';
import { refusedAtIam, watchingStatus } from '../session/resolve.js';
import { loginSummary } from './login.js';
import { jsonOutput } from '../util/json-output.js';

export interface TokenRenewOptions {
  project?: string;
  projectId?: string;
  projectDomain?: string;
  projectDomainId?: string;
  domain?: string;
  domainId?: string;
  unscoped?: boolean;
  json?: boolean;
}

const SCOPE_KEYS = SCOPE_SETTINGS.map((setting) => setting.key);

/**
 * A new token now, whatever the cache says: by the secret when one is at hand, else from the
 * current token (Keystone's token method, which keeps the parent's expiry). Scope flags rescope
 * on the way, and the profile remembers the new scope.
 */
export async function tokenRenewRun(ctx: Context, opts: TokenRenewOptions): Promise<void> {
  const flags = flagLayer<KeystoneSettings>(opts as Record<string, unknown>, SCOPE_SETTINGS);
  checkFlagConflicts(flags.values);
  const rescoping = namesScope(flags.values);

  const profile = await openProfile(ctx);
  const resolved = resolveTarget(ctx, profile, flags);
  const { method, target } = resolved;
  if (rescoping && !method.can.rescope) throw new UsageError(`${method.label} tokens have no scope to change`, { hint: 'drop the scope flags' });

  const { secret, savedForOther } = await renewalSecret(ctx, profile, resolved);
  if (secret !== undefined) ctx.secrets.add(secret);
  // The scope flags, for a hint that logs in again to the scope asked for.
  const scopeFlags = SCOPE_SETTINGS.flatMap((setting) => {
    const value = flags.values[setting.key];
    return value === undefined || setting.flag === undefined ? [] : value === true ? [setting.flag] : typeof value === 'string' ? [setting.flag, value] : [];
  });
  const token = await ctx.withRefreshLock(profile.name, async () => {
    const renewed =
      secret !== undefined ? await method.authenticate(await ctx.authIO(profile, true), target, secret) : await fromCurrentToken(ctx, profile, resolved, await profile.secrets.readToken(), scopeFlags, Boolean(savedForOther));
    await profile.secrets.writeToken(renewed);
    return renewed;
  });

  if (rescoping && profile.settings) {
    const scopeSettings = resolved.settings as Record<string, unknown>;
    await (await ctx.config()).update((data) => {
      const updated: Record<string, unknown> = { ...data.profiles[profile.name] };
      for (const key of SCOPE_KEYS) delete updated[key];
      for (const key of SCOPE_KEYS) if (scopeSettings[key] !== undefined) updated[key] = scopeSettings[key];
      data.profiles[profile.name] = updated as ProfileSettings;
    });
  }
  ctx.reporter.success(loginSummary(profile.name, method, target, token, ctx.now()).replace(/^Logged in to/, 'Renewed at'));
  if (opts.json) ctx.io.stdout.write(jsonOutput(tokenJson(token, profile.name, false), 2));
}

async function fromCurrentToken(ctx: Context, profile: OpenProfile, resolved: ResolvedTarget, current: CachedToken | undefined, scopeFlags: readonly string[], savedForOther: boolean): Promise<CachedToken> {
  const { method, target } = resolved;
  const { secret } = method;
  const how = `set ${secret.setting.env?.[0] ?? secret.setting.flag}${secret.save ? `, or log in with ${secret.save.flag},` : ''} to renew without a current token`;
  // Why the saved one is not used, where there is one: it is never sent to another IAM or user.
  const noSecret = savedForOther ? `no ${secret.what} for this IAM (the saved one belongs to another IAM URL or user, so it is not sent here)` : `no ${secret.what}`;
  const renew = method.can.renewFromToken;
  if (!renew) throw new NoTokenError(`${noSecret} to renew profile ${profile.name} with`, { hint: how });
  if (!current || !sameIdentity(method, target, current.key)) throw new NoTokenError(`${noSecret} and no current token to renew profile ${profile.name} from`, { hint: `run \`authctl login\`; or ${how}` });
  if (isExpired(current, ctx.now())) throw new NoTokenError(`the token of profile ${profile.name} has expired and there is no ${secret.what} to renew it`, { hint: `run \`authctl login\`; or ${how}` });
  ctx.secrets.add(current.token);
  const io = await ctx.authIO(profile, true);
  const watched = watchingStatus(io.http);
  let renewed: CachedToken;
  try {
    renewed = await renew({ ...io, http: watched.http }, target, current);
  } catch (error) {
    const status = watched.lastStatus();
    if (!(error instanceof RejectedError) || (status !== 401 && status !== 404)) throw error;
    // 404: IAM knows no such token. A 401 may also refuse the scope asked for: the token itself is asked about first.
    if (status === 401 && !(await refusedToo(ctx, profile, resolved, current))) throw error;
    throw await refusedAtIam(ctx, profile, current.token, status, { locked: true, extraFlags: scopeFlags });
  }
  if (renewed.expiresAt <= current.expiresAt) {
    ctx.reporter.warn(`renewed from the current token, so the expiry did not move (still ${isoTime(renewed.expiresAt)}): Keystone never extends a token's lifetime`);
    ctx.reporter.info(`  for a full lifetime: ${how}`);
  }
  return renewed;
}

/** Whether IAM also refuses `current` when asked about the token alone (404 or 401); unknown (no way to ask, or no answer): false. */
async function refusedToo(ctx: Context, profile: OpenProfile, resolved: ResolvedTarget, current: CachedToken): Promise<boolean> {
  const validate = resolved.method.can.validate;
  if (!validate) return false;
  const watched = watchingStatus(await ctx.http(profile.tls));
  try {
    return !(await validate(watched.http, current.issuer, current.token, current.token, 'HEAD')).valid;
  } catch (error) {
    return error instanceof RejectedError && watched.lastStatus() === 401;
  }
}
