import type { AuthMethod, Target } from '../auth/method.js';
import { formatDuration } from '../core/duration.js';
import { AuthctlError, NoTokenError, RejectedError, StoreError, UnreachableError } from '../core/errors.js';
import { isoTime, remainingMs, type CachedToken } from '../core/token.js';
import type { Context } from '../session/context.js';
import { notLoggedIn, openProfile, resolveTarget, type OpenProfile } from '../session/profile.js';
import { refusedAtIam, watchingStatus } from '../session/resolve.js';
import { summarise, table, type ProfileSummary } from './profile.js';
import { jsonOutput } from '../util/json-output.js';

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
 * --check asks IAM about each token. Like `gh auth status`, the exit code is about the profile
 * in use: 0 only when it holds a valid token, 3 when it is not logged in (no token, expired,
 * issued for other settings, refused at IAM), 5 when --check could not reach IAM, and the
 * store's or settings' own code when they could not be read. The report is printed either way.
 */
export async function statusRun(ctx: Context, opts: StatusOptions): Promise<void> {
  const config = (await ctx.config()).read();
  const defaultName = config.defaultProfile ?? 'default';
  const current = await ctx.profileName();
  const statuses: ProfileStatus[] = [];
  const failures = new Map<string, unknown>();
  for (const [name, settings] of Object.entries(config.profiles)) {
    const summary = summarise(name, settings, defaultName, ctx.storeKind(settings.store));
    statuses.push(await profileStatus(ctx, name, summary, Boolean(opts.check), failures));
  }
  // A profile that exists only in the environment (CI: `token get` from OS_* variables, never a
  // login) is shown once it holds a token; otherwise there is nothing to show, not a made-up row.
  if (!(current in config.profiles)) {
    const unsaved = await unsavedStatus(ctx, current, defaultName, Boolean(opts.check), failures);
    if (unsaved) statuses.push(unsaved);
  }
  if (opts.json) {
    ctx.io.stdout.write(jsonOutput(statuses, 2));
  } else if (statuses.length > 0) {
    const rows = statuses.map((s) => [`${s.default ? '*' : ' '} ${s.name}`, s.store, s.user ?? '-', s.scope ?? '-', describeToken(s)]);
    ctx.io.stdout.write(table([['  PROFILE', 'STORE', 'WHO', 'SCOPE', 'TOKEN'], ...rows]));
  }
  const verdict = failureFor(current, statuses.find((s) => s.name === current), failures.get(current), statuses.length === 0);
  if (verdict) throw verdict;
}

/** Why the profile in use has no valid token, as an error with its exit code; none when it has one. */
function failureFor(name: string, status: ProfileStatus | undefined, failure: unknown, noProfiles: boolean): unknown {
  const login = `run \`authctl login${name === 'default' ? '' : ` --profile ${name}`}\``;
  if (!status) {
    return noProfiles ? new NoTokenError('not logged in: there are no profiles yet', { hint: login }) : notLoggedIn(name, 'does not exist');
  }
  switch (status.token) {
    case 'valid':
      return undefined;
    case 'none':
      return notLoggedIn(name, 'has no token');
    case 'expired':
      return new NoTokenError(`the token of profile ${name} expired at ${status.expires_at}`, { hint: `${login}, or \`authctl token get\` where a password or secret renews it` });
    case 'stale':
      return new NoTokenError(`the token of profile ${name} was issued for other settings (auth URL, user or scope)`, { hint: `${login} for the settings in use` });
    case 'rejected':
      // IAM refused the token for itself (404, or 401 as the caller): dropped, and the error says so.
      if (failure instanceof NoTokenError) return failure;
      return new NoTokenError(`IAM does not accept the token of profile ${name}${status.problem ? `: ${status.problem}` : ''}`, { hint: login });
    case 'unchecked':
      return new UnreachableError(`the token of profile ${name} could not be checked at IAM: ${status.problem}`, { hint: 'check the network and IAM; without --check, status judges from the cached expiry' });
    case 'unreadable':
      // The error itself: it names the store or the setting, and its kind gives the exit code (6, 2, 3).
      return failure instanceof AuthctlError ? failure : new StoreError(`profile ${name}: ${status.problem}`, { hint: 'see the Troubleshooting section of README.md for the keychain and the file store' });
  }
}

/** The profile in use when it was never saved: a row only if its store holds a token for it. */
async function unsavedStatus(ctx: Context, name: string, defaultName: string, check: boolean, failures: Map<string, unknown>): Promise<ProfileStatus | undefined> {
  let resolved: ReturnType<typeof resolveTarget>;
  let store: string;
  try {
    const profile = await openProfile(ctx, name);
    if (!(await profile.secrets.readToken())) return undefined;
    resolved = resolveTarget(ctx, profile);
    store = profile.secrets.storeKind;
  } catch {
    // No keychain on this machine, or no settings for the profile: it is not logged in, and
    // `token get` would say why.
    return undefined;
  }
  const summary = summarise(name, { ...resolved.settings, kind: resolved.method.kind }, defaultName, store);
  return profileStatus(ctx, name, summary, check, failures);
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
      if (status.problem?.startsWith(REVOKED)) return status.problem;
      return `refused by IAM${status.problem ? `: ${status.problem}` : ''}`;
    case 'unreadable':
      return `unreadable: ${status.problem}`;
    case 'unchecked':
      return `valid${left} by the cache; IAM could not be asked: ${status.problem}`;
  }
}

/** How a row begins when IAM refused the profile's own token. */
const REVOKED = 'revoked or expired at IAM';

async function profileStatus(ctx: Context, name: string, summary: ProfileSummary, check: boolean, failures: Map<string, unknown>): Promise<ProfileStatus> {
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
    failures.set(name, error);
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
  const watched = watchingStatus(await ctx.http(profile.tls));
  /** IAM said the cached token is no longer valid: it is dropped, the row says so, and so does the error for the profile in use. */
  const revoked = async (status: number): Promise<ProfileStatus> => {
    const error = await refusedAtIam(ctx, profile, cached.token, status);
    failures.set(name, error);
    const problem = error.message.slice(Math.max(0, error.message.indexOf(REVOKED)));
    return { ...base, ...timing, checked: 'iam', token: 'rejected', problem: ctx.secrets.redact(problem) };
  };
  try {
    const validation = await validate(watched.http, cached.issuer, cached.token, cached.token, 'HEAD');
    if (!validation.valid) return await revoked(validation.status);
    return { ...base, ...timing, checked: 'iam', token: 'valid' };
  } catch (error) {
    if (!(error instanceof AuthctlError)) throw error;
    // A 401 refuses the caller, which is the token itself (a 403 says nothing about it).
    if (error instanceof RejectedError && watched.lastStatus() === 401) return revoked(401);
    const token = error instanceof RejectedError ? 'rejected' : 'unchecked';
    return { ...base, ...timing, checked: 'iam', token, problem: ctx.secrets.redact(error.message) };
  }
}
