import type { AuthMethod, Target } from '../auth/method.js';
import { formatDuration } from '../core/duration.js';
import { AuthctlError, RejectedError } from '../core/errors.js';
import { isoTime, remainingMs, type CachedToken } from '../core/token.js';
import type { Context } from '../session/context.js';
import { openProfile, resolveTarget, type OpenProfile } from '../session/profile.js';
import { knownProfiles } from './logout.js';
import { summarise, table, type ProfileSummary } from './profile.js';

export interface StatusOptions {
  check?: boolean;
  json?: boolean;
}

export interface ProfileStatus extends ProfileSummary {
  /** no token | valid | expired | other settings | unreadable; with --check: IAM's verdict. */
  token: 'none' | 'valid' | 'expired' | 'stale' | 'unreadable' | 'rejected' | 'unchecked';
  expires_at: string | null;
  seconds_left: number | null;
  checked: 'offline' | 'iam';
  problem?: string;
}

/**
 * Every profile at a glance: who, what scope, which store, time left. Without network unless
 * --check asks IAM about each token. Exit 0 whatever the tokens' state: this is a report.
 */
export async function statusRun(ctx: Context, opts: StatusOptions): Promise<void> {
  const config = (await ctx.config()).read();
  const defaultName = config.defaultProfile ?? 'default';
  const statuses: ProfileStatus[] = [];
  for (const name of await knownProfiles(ctx)) {
    const settings = config.profiles[name] ?? {};
    const summary = summarise(name, settings, defaultName, ctx.storeKind(settings.store));
    statuses.push(await profileStatus(ctx, name, summary, Boolean(opts.check)));
  }
  if (opts.json) {
    ctx.io.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    return;
  }
  if (statuses.length === 0) {
    ctx.reporter.info('no profiles yet: `authctl login` creates one');
    return;
  }
  const rows = statuses.map((s) => [`${s.default ? '*' : ' '} ${s.name}`, s.store, s.user ?? '-', s.scope ?? '-', describeToken(s)]);
  ctx.io.stdout.write(table([['  PROFILE', 'STORE', 'WHO', 'SCOPE', 'TOKEN'], ...rows]));
}

function describeToken(status: ProfileStatus): string {
  const left = status.seconds_left === null ? '' : `, ${formatDuration(status.seconds_left * 1000)} left`;
  switch (status.token) {
    case 'valid':
      return `valid${left}${status.checked === 'iam' ? ' (checked at IAM)' : ''}`;
    case 'expired':
      return `expired ${status.expires_at}`;
    case 'stale':
      return 'issued for other settings';
    case 'none':
      return 'not logged in';
    case 'rejected':
      return `refused by IAM${status.problem ? `: ${status.problem}` : ''}`;
    case 'unreadable':
      return `unreadable: ${status.problem}`;
    case 'unchecked':
      return `valid${left} by the cache; IAM could not be asked: ${status.problem}`;
  }
}

async function profileStatus(ctx: Context, name: string, summary: ProfileSummary, check: boolean): Promise<ProfileStatus> {
  const base = { ...summary, expires_at: null, seconds_left: null, checked: 'offline' as const };
  let cached: CachedToken | undefined;
  let key: string;
  let method: AuthMethod<Target>;
  let profile: OpenProfile;
  try {
    profile = await openProfile(ctx, name);
    cached = await profile.secrets.readToken();
    ({ key, method } = resolveTarget(ctx, profile));
  } catch (error) {
    // One broken profile (keychain locked, settings incomplete) must not hide the others.
    // stdout is data for scripts, but still redacted: a message may quote what a server or file said.
    return { ...base, token: 'unreadable', problem: ctx.secrets.redact(error instanceof Error ? error.message : String(error)) };
  }
  if (!cached) return { ...base, token: 'none' };
  const left = remainingMs(cached, ctx.now());
  const timing = { expires_at: isoTime(cached.expiresAt), seconds_left: Math.max(0, Math.floor(left / 1000)) };
  if (cached.key !== key) return { ...base, ...timing, token: 'stale' };
  if (left <= 0) return { ...base, ...timing, token: 'expired' };
  const validate = method.can.validate;
  if (!check || !validate) return { ...base, ...timing, token: 'valid' };
  ctx.secrets.add(cached.token);
  try {
    const validation = await validate(await ctx.http(profile.tls), cached.issuer, cached.token, cached.token, 'HEAD');
    return { ...base, ...timing, checked: 'iam', token: validation.valid ? 'valid' : 'rejected' };
  } catch (error) {
    if (!(error instanceof AuthctlError)) throw error;
    const token = error instanceof RejectedError ? 'rejected' : 'unchecked';
    return { ...base, ...timing, checked: 'iam', token, problem: ctx.secrets.redact(error.message) };
  }
}
