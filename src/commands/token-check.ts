import type { Validation } from '../auth/method.js';
import { formatDuration } from '../core/duration.js';
import { NoTokenError, RejectedError, UsageError } from '../core/errors.js';
import { describeIamProject, describeIamUser } from '../core/target.js';
import { isoTime, isPlausibleToken, remainingMs, type CachedToken, type NamedRef, type TokenInfo } from '../core/token.js';
import { scopeJson, type ScopeJson } from '../core/token-json.js';
import { readStdinSecret } from '../io/io.js';
import { terminalSafe } from '../io/terminal-safe.js';
import type { Context } from '../session/context.js';
import { notLoggedIn, openProfile, resolveTarget, type OpenProfile, type ResolvedTarget } from '../session/profile.js';
import { cachedOrFresh, refusedAtIam, watchingStatus } from '../session/resolve.js';
import { jsonOutput } from '../util/json-output.js';

export interface TokenCheckOptions {
  tokenStdin?: boolean;
  json?: boolean;
  quiet?: boolean;
  offline?: boolean;
}

/** What a check found, in the shape `--json` prints. */
export interface CheckReport {
  valid: boolean;
  reason?: string;
  checked: 'iam' | 'offline';
  profile: string;
  user?: NamedRef & { domain?: NamedRef };
  scope?: ScopeJson;
  roles?: string[];
  issued_at?: string | null;
  expires_at?: string;
  seconds_left?: number;
}

/** Validates a token at IAM (GET, or HEAD with --quiet) or, with --offline, from the cached metadata. */
export async function tokenCheckRun(ctx: Context, opts: TokenCheckOptions): Promise<void> {
  if (opts.quiet && opts.json) throw new UsageError('--quiet and --json cannot be used together', { hint: '--quiet prints nothing; the exit code is the answer' });
  if (opts.offline && opts.tokenStdin) throw new UsageError('--offline can only judge the cached token, not one from stdin', { hint: 'drop --offline to ask IAM' });
  const profile = await openProfile(ctx);
  const resolved = resolveTarget(ctx, profile);

  let report: CheckReport;
  /** IAM refused the profile's own cached token: the error that follows the report. */
  let revoked: NoTokenError | undefined;
  if (opts.offline) {
    const cached = await profile.secrets.readToken();
    if (!cached) throw notLoggedIn(profile.name, 'has no cached token');
    const left = remainingMs(cached, ctx.now());
    report = reportFrom(profile.name, 'offline', cached, ctx.now(), cached.skewMs);
    if (cached.key !== resolved.key) Object.assign(report, { valid: false, reason: OTHER_SETTINGS });
    else if (left <= 0) Object.assign(report, { valid: false, reason: 'expired' });
  } else {
    const checked = await checkAtIam(ctx, profile, resolved, opts);
    report = checked.report;
    if (checked.refused) revoked = await refusedAtIam(ctx, profile, checked.refused.token, checked.refused.status, { silent: Boolean(opts.quiet) });
  }

  // IAM's words end up in `reason`, and IAM may quote the token it refused (Keystone: "Could not find token: ...").
  if (report.reason) report.reason = ctx.secrets.redact(report.reason);
  if (opts.json) ctx.io.stdout.write(jsonOutput(report, 2));
  else if (!opts.quiet) ctx.io.stdout.write(humanReport(report));
  if (revoked) throw revoked;
  if (!report.valid) {
    throw new NoTokenError(`the token is not valid: ${report.reason}`, {
      hint: opts.tokenStdin ? 'get a new token from whoever issued it' : 'run `authctl token get` (renews if it can) or `authctl login`',
      silent: opts.quiet,
    });
  }
}

function reportFrom(profile: string, checked: CheckReport['checked'], info: TokenInfo | undefined, now: number, skewMs: number): CheckReport {
  if (!info) return { valid: true, checked, profile };
  const scope = scopeJson(info);
  return {
    valid: true,
    checked,
    profile,
    user: info.user,
    scope,
    roles: info.roles ?? [],
    issued_at: info.issuedAt === undefined ? null : isoTime(info.issuedAt),
    expires_at: isoTime(info.expiresAt),
    seconds_left: Math.max(0, Math.floor(remainingMs({ expiresAt: info.expiresAt, skewMs }, now) / 1000)),
  };
}

/** As everywhere else (`describeIamUser`, `describeIamProject`), then the id IAM gave with the name. */
function withId(label: string, ref: NamedRef): string {
  return ref.name !== undefined && ref.id !== undefined ? `${label}, id ${ref.id}` : label;
}

const OTHER_SETTINGS = 'issued for other settings (auth URL, user or scope)';

/** What a check at IAM found, and the cached token IAM refused, if it did. */
interface AtIam {
  report: CheckReport;
  refused?: { token: string; status: number };
}

/** How a report says that IAM refused the profile's own token. */
const REVOKED = 'revoked or expired at IAM';

/**
 * Asks the IAM that issued the caller token, never one the environment names now: a token
 * cached for other settings is reported as such without being sent anywhere. When IAM refuses
 * the profile's cached token (404 for it as the subject, 401 for it as the caller), that token
 * is no good: the caller removes it from the cache.
 */
async function checkAtIam(ctx: Context, profile: OpenProfile, resolved: ResolvedTarget, opts: TokenCheckOptions): Promise<AtIam> {
  const validate = resolved.method.can.validate;
  if (!validate) {
    throw new UsageError(`profile ${profile.name} uses ${resolved.method.label}, which have no validation endpoint`, { hint: 'use `authctl token check --offline` to judge from the cached expiry' });
  }
  let caller: CachedToken;
  let subject: string;
  if (opts.tokenStdin) {
    subject = await readStdinSecret(ctx.io, 'token');
    // A token is printable ASCII: a line break, an escape or other bytes mean something else was piped.
    if (!isPlausibleToken(subject)) throw new UsageError('what was piped on stdin is not a token (a token is printable ASCII, at most 64 KiB, on one line)', { hint: 'pipe exactly the token: printf %s "$TOKEN" | authctl token check --token-stdin' });
    ctx.secrets.add(subject);
    caller = (await cachedOrFresh(ctx, 0)).token;
  } else {
    const cached = await profile.secrets.readToken();
    if (!cached) throw notLoggedIn(profile.name, 'has no cached token');
    if (cached.key !== resolved.key) return { report: { valid: false, checked: 'offline', profile: profile.name, reason: OTHER_SETTINGS } };
    caller = cached;
    subject = cached.token;
  }
  ctx.secrets.add(caller.token);
  const watched = watchingStatus(await ctx.http(profile.tls));
  let validation: Validation;
  try {
    validation = await validate(watched.http, caller.issuer, caller.token, subject, opts.quiet ? 'HEAD' : 'GET');
  } catch (error) {
    // A 401 refuses the caller: the profile's token (a 403 only says it may not check this one: exit 4).
    if (!(error instanceof RejectedError) || watched.lastStatus() !== 401) throw error;
    if (opts.tokenStdin) throw await refusedAtIam(ctx, profile, caller.token, 401, { role: 'the caller of the check' });
    return { report: { valid: false, checked: 'iam', profile: profile.name, reason: `${REVOKED} (401)` }, refused: { token: caller.token, status: 401 } };
  }
  if (validation.valid) return { report: reportFrom(profile.name, 'iam', validation.info, ctx.now(), 0) };
  const said = validation.message ? `: ${validation.message}` : '';
  if (!opts.tokenStdin) {
    if (validation.message) ctx.reporter.debug(`IAM said: ${ctx.secrets.redact(validation.message)}`);
    return { report: { valid: false, checked: 'iam', profile: profile.name, reason: `${REVOKED} (${validation.status})` }, refused: { token: caller.token, status: validation.status } };
  }
  return { report: { valid: false, checked: 'iam', profile: profile.name, reason: `IAM does not accept it (${validation.status}${said}): invalid, expired or revoked` } };
}

/** Aligned `key: value` lines a person reads at a glance. */
export function humanReport(report: CheckReport): string {
  const rows: [string, string][] = [['valid', report.valid ? 'yes' : `no (${report.reason})`]];
  if (report.user) rows.push(['user', withId(describeIamUser(report.user), report.user)], ['domain', report.user.domain?.name ?? report.user.domain?.id ?? '-']);
  if (report.scope !== undefined) {
    rows.push(['scope', describeScopeJson(report.scope)]);
  }
  if (report.roles) rows.push(['roles', report.roles.join(', ') || '-']);
  if (report.issued_at !== undefined) rows.push(['issued_at', report.issued_at ?? '-']);
  if (report.expires_at !== undefined) rows.push(['expires_at', report.expires_at]);
  if (report.seconds_left !== undefined) rows.push(['time left', formatDuration(report.seconds_left * 1000)]);
  rows.push(['checked', report.checked === 'iam' ? 'at IAM' : 'offline, from the cache']);
  const width = Math.max(...rows.map(([key]) => key.length)) + 1;
  return rows.map(([key, value]) => `${`${key}:`.padEnd(width)} ${terminalSafe(value)}\n`).join('');
}

function describeScopeJson(scope: ScopeJson): string {
  if (scope === null) return 'unscoped';
  if ('system' in scope) return 'system (all)';
  if ('domain' in scope) return withId(scope.domain.name !== undefined ? `domain ${scope.domain.name}` : `domain id ${scope.domain.id ?? '-'}`, scope.domain);
  return `${withId(describeIamProject(scope.project), scope.project)}${scope.trust ? ` (trust ${scope.trust.id})` : ''}`;
}
