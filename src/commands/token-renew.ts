import type { Context } from '../cli/context.js';
import { authenticate, toCachedToken } from '../core/auth.js';
import { NoTokenError, UsageError } from '../core/errors.js';
import { openProfile, profileTarget, renewalSecret } from '../core/profile.js';
import { checkFlagConflicts, type KeystoneSettings } from '../core/settings.js';
import { sameIdentity, targetKey, type KeystoneTarget } from '../core/target.js';
import { isExpired, isoTime, type CachedToken } from '../core/token.js';
import { issueToken, tokenAuthBody } from '../iam/keystone.js';
import type { ProfileSettings } from '../store/config.js';
import { loginSummary } from './login.js';
import { tokenJson } from '../core/token-json.js';

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

const SCOPE_KEYS = ['projectId', 'project', 'projectDomain', 'projectDomainId', 'domain', 'domainId', 'unscoped'] as const;

/**
 * A new token now, whatever the cache says: by password (or client secret) when one is at hand,
 * else from the current token (Keystone's token method, which keeps the parent's expiry).
 * Scope flags rescope on the way, and the profile remembers the new scope.
 */
export async function tokenRenewRun(ctx: Context, opts: TokenRenewOptions): Promise<void> {
  const flags: KeystoneSettings = {};
  for (const key of SCOPE_KEYS) if (opts[key] !== undefined) (flags as Record<string, unknown>)[key] = opts[key];
  checkFlagConflicts(flags);
  const rescoping = Object.keys(flags).some((key) => key !== 'projectDomain' && key !== 'projectDomainId');

  const profile = await openProfile(ctx);
  const resolved = profileTarget(ctx.env, profile, flags);
  const { target } = resolved;
  if (target.kind === 'oauth2' && rescoping) throw new UsageError('client-credentials tokens have no Keystone scope to change', { hint: 'drop the scope flags' });

  const secret = await renewalSecret(ctx, profile, target);
  const token = await ctx.withRefreshLock(profile.name, async () => {
    const renewed = secret !== undefined ? await authenticate(ctx, target, secret) : await fromCurrentToken(ctx, target, await profile.secrets.readToken(), profile.name);
    await profile.secrets.writeToken(renewed);
    return renewed;
  });

  if (rescoping && profile.settings && resolved.settings) {
    const scopeSettings = resolved.settings;
    await (await ctx.config()).update((data) => {
      const updated: ProfileSettings = { ...data.profiles[profile.name] };
      for (const key of SCOPE_KEYS) delete updated[key];
      for (const key of SCOPE_KEYS) if (scopeSettings[key] !== undefined) (updated as Record<string, unknown>)[key] = scopeSettings[key];
      data.profiles[profile.name] = updated;
    });
  }
  ctx.reporter.success(loginSummary(profile.name, target, token, ctx.now()).replace(/^Logged in to/, 'Renewed at'));
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(tokenJson(token, profile.name, false), null, 2)}\n`);
}

async function fromCurrentToken(ctx: Context, target: KeystoneTarget | { kind: 'oauth2' }, current: CachedToken | undefined, profile: string): Promise<CachedToken> {
  const how = 'set OS_PASSWORD (or AUTHCTL_CLIENT_SECRET), or log in with --save-password, to renew without a current token';
  if (target.kind !== 'keystone') throw new NoTokenError(`no client secret to renew profile ${profile} with`, { hint: how });
  if (!current || !sameIdentity(current.key, targetKey(target))) throw new NoTokenError(`no password and no current token to renew profile ${profile} from`, { hint: `run \`authctl login\`; or ${how}` });
  if (isExpired(current, ctx.now())) throw new NoTokenError(`the token of profile ${profile} has expired and there is no password to renew it`, { hint: `run \`authctl login\`; or ${how}` });
  ctx.secrets.add(current.token);
  const http = await ctx.http();
  const issued = await issueToken(http, target.authUrl, tokenAuthBody(current.token, target.scope), ctx.now, { 'x-auth-token': current.token });
  const renewed = toCachedToken(target, issued, target.authUrl);
  if (renewed.expiresAt <= current.expiresAt) {
    ctx.reporter.warn(`renewed from the current token, so the expiry did not move (still ${isoTime(renewed.expiresAt)}): Keystone never extends a token's lifetime`);
    ctx.reporter.info(`  for a full lifetime: ${how}`);
  }
  return renewed;
}
