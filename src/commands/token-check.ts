import type { Validation } from '../auth/method.js';
import { formatDuration } from '../core/duration.js';
import { NoTokenError, RejectedError, UsageError } from '../core/errors.js';
import { isoTime, isPlausibleToken, remainingMs, type CachedToken, type NamedRef, type TokenInfo } from '../core/token.js';
import { scopeJson, type ScopeJson } from '../core/token-json.js';
import { readStdinSecret } from '../io/io.js';
import { terminalSafe } from '../io/terminal-safe.js';
import type { Context } from '../session/context.js';
import { notLoggedIn, openProfile, resolveTarget, type OpenProfile, type ResolvedTarget } from '../session/profile.js';
import { cachedOrFresh } from '../session/resolve.js';

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
  if (opts.offline) {
    const cached = await profile.secrets.readToken();
    if (!cached) throw notLoggedIn(profile.name, 'has no cached token');
    const left = remainingMs(cached, ctx.now());
    report = reportFrom(profile.name, 'offline', cached, ctx.now(), cached.skewMs);
    if (cached.key !== resolved.key) Object.assign(report, { valid: false, reason: OTHER_SETTINGS });
    else if (left <= 0) Object.assign(report, { valid: false, reason: 'expired' });
  } else {
    report = await checkAtIam(ctx, profile, resolved, opts);
  }

  // IAM's words end up in `reason`, and IAM may quote the token it refused (Keystone: "Could not find token: ...").
  if (report.reason) report.reason = ctx.secrets.redact(report.reason);
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (!opts.quiet) ctx.io.stdout.write(humanReport(report));
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

function named(ref: (NamedRef & { domain?: NamedRef }) | undefined): string {
  if (!ref) return '-';
  const label = ref.name && ref.id ? `${ref.name} (${ref.id})` : (ref.name ?? ref.id ?? '-');
  return ref.domain ? `${label} in domain ${ref.domain.name ?? ref.domain.id}` : label;
}

const OTHER_SETTINGS = 'issued for other settings (auth URL, user or scope)';

/**
 * Asks the IAM that issued the caller token, never one the environment names now: a token
 * cached for other settings is reported as such without being sent anywhere.
 */
async function checkAtIam(ctx: Context, profile: OpenProfile, resolved: ResolvedTarget, opts: TokenCheckOptions): Promise<CheckReport> {
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
    if (cached.key !== resolved.key) return { valid: false, checked: 'offline', profile: profile.name, reason: OTHER_SETTINGS };
    caller = cached;
    subject = cached.token;
  }
  ctx.secrets.add(caller.token);
  let validation: Validation;
  try {
    validation = await validate(await ctx.http(profile.tls), caller.issuer, caller.token, subject, opts.quiet ? 'HEAD' : 'GET');
  } catch (error) {
    // Checking its own token, a refused caller *is* the answer: that token is no good.
    if (!(error instanceof RejectedError) || opts.tokenStdin) throw error;
    validation = { valid: false, status: 401, message: error.message };
  }
  if (validation.valid) return reportFrom(profile.name, 'iam', validation.info, ctx.now(), 0);
  const said = validation.message ? `: ${validation.message}` : '';
  return { valid: false, checked: 'iam', profile: profile.name, reason: `IAM does not accept it (${validation.status}${said}): invalid, expired or revoked` };
}

/** Aligned `key: value` lines a person reads at a glance. */
export function humanReport(report: CheckReport): string {
  const rows: [string, string][] = [['valid', report.valid ? 'yes' : `no (${report.reason})`]];
  if (report.user) rows.push(['user', named(report.user)], ['domain', report.user.domain?.name ?? report.user.domain?.id ?? '-']);
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
  if ('domain' in scope) return `domain ${named(scope.domain)}`;
  return `project ${named(scope.project)}${scope.trust ? ` (trust ${scope.trust.id})` : ''}`;
}
