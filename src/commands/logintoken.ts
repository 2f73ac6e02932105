import type { Context } from '../cli/context.js';
import { parseDuration } from '../core/duration.js';
import { NoTokenError, UsageError } from '../core/errors.js';
import { openProfile } from '../core/profile.js';
import { cachedOrFresh } from '../core/resolve.js';
import { checkUrl, KEYSTONE_SOURCES } from '../core/settings.js';
import { isoTime } from '../core/token.js';
import { canPrompt, readStdinSecret } from '../io/io.js';
import { createLoginToken, createSecurityToken, iamBase, LOGIN_TOKEN_DURATION, type AccessKey } from '../iam/logintoken.js';

export interface LoginTokenOptions {
  accessKey?: string;
  secretKeyStdin?: boolean;
  securityTokenStdin?: boolean;
  duration?: string;
  authUrl?: string;
  allowHttp?: boolean;
  json?: boolean;
}

/** Environment variables, authctl's first, then the Huawei Cloud SDK's names for the same things. */
export const ACCESS_KEY_ENV = ['AUTHCTL_ACCESS_KEY', 'HUAWEICLOUD_SDK_AK'] as const;
export const SECRET_KEY_ENV = ['AUTHCTL_SECRET_KEY', 'HUAWEICLOUD_SDK_SK'] as const;
export const SECURITY_TOKEN_ENV = ['AUTHCTL_SECURITY_TOKEN', 'HUAWEICLOUD_SDK_SECURITY_TOKEN'] as const;

function fromEnv(ctx: Context, names: readonly string[]): string | undefined {
  for (const name of names) if (ctx.env[name]) return ctx.env[name];
  return undefined;
}

export function checkLoginTokenDuration(text: string | undefined): number {
  if (text === undefined) return LOGIN_TOKEN_DURATION.default;
  const seconds = parseDuration(text);
  if (seconds === undefined || seconds < LOGIN_TOKEN_DURATION.min || seconds > LOGIN_TOKEN_DURATION.max) {
    throw new UsageError(`--duration ${JSON.stringify(text)} is not between 600 seconds (10m) and 43200 seconds (12h)`, { hint: 'e.g. --duration 600, --duration 30m or --duration 12h' });
  }
  return seconds;
}

/**
 * Prints a login token for a custom identity broker (`X-Subject-LoginToken`). From an access key,
 * secret key and security token; or, with no access key, from the profile's user token, which
 * first buys a temporary access key.
 */
export async function loginTokenRun(ctx: Context, opts: LoginTokenOptions): Promise<void> {
  if (opts.secretKeyStdin && opts.securityTokenStdin) {
    throw new UsageError('--secret-key-stdin and --security-token-stdin cannot both read stdin', { hint: 'pass one of them in the environment (AUTHCTL_SECRET_KEY or AUTHCTL_SECURITY_TOKEN)' });
  }
  const duration = checkLoginTokenDuration(opts.duration);
  const accessKey = opts.accessKey ?? fromEnv(ctx, ACCESS_KEY_ENV);
  const http = async () => ctx.http();

  let base: string;
  let key: AccessKey;
  if (accessKey !== undefined) {
    base = iamBase(await authUrlFor(ctx, opts));
    const secret = opts.secretKeyStdin ? await readStdinSecret(ctx.io, 'secret-key') : fromEnv(ctx, SECRET_KEY_ENV);
    const securityToken = opts.securityTokenStdin ? await readStdinSecret(ctx.io, 'security-token') : fromEnv(ctx, SECURITY_TOKEN_ENV);
    const missing = [
      ...(secret === undefined && !canPrompt(ctx.io) ? ['secret key (--secret-key-stdin, env AUTHCTL_SECRET_KEY or HUAWEICLOUD_SDK_SK)'] : []),
      ...(securityToken === undefined ? ['security token (--security-token-stdin, env AUTHCTL_SECURITY_TOKEN or HUAWEICLOUD_SDK_SECURITY_TOKEN)'] : []),
    ];
    if (missing.length) throw new UsageError(`missing ${missing.join('; ')}`, { hint: 'a login token is made from an access key, its secret key and a security token' });
    key = { access: accessKey, secret: secret ?? (await ctx.prompter().password(`Secret key for ${accessKey}:`)), securityToken: securityToken! };
  } else {
    const result = await cachedOrFresh(ctx, 60_000).catch((error: unknown) => {
      if (error instanceof NoTokenError) {
        throw new NoTokenError(`no access key given, and ${error.message}`, { hint: 'give --access-key (env AUTHCTL_ACCESS_KEY) with its secret key and security token, or `authctl login` first' });
      }
      throw error;
    });
    if (result.resolved.target.kind !== 'keystone') throw new UsageError('a login token needs a Keystone user token or an access key', { hint: 'give --access-key' });
    base = iamBase(opts.authUrl ? checkUrl(opts.authUrl, 'auth URL', '--auth-url', Boolean(opts.allowHttp)) : result.resolved.target.authUrl);
    ctx.secrets.add(result.token.token);
    key = await createSecurityToken(await http(), base, result.token.token);
  }
  ctx.secrets.add(key.secret);
  ctx.secrets.add(key.securityToken);

  const loginToken = await createLoginToken(await http(), base, key, duration);
  const who = loginToken.details.user_name ?? loginToken.details.user_id ?? 'the user';
  const until = loginToken.expiresAt === undefined ? `${duration}s` : isoTime(loginToken.expiresAt);
  ctx.reporter.success(`Login token for ${String(who)}${loginToken.details.domain_id ? ` (domain ${String(loginToken.details.domain_id)})` : ''}, valid until ${until}`);
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify({ token: loginToken.token, logintoken: loginToken.details }, null, 2)}\n`);
  else ctx.io.stdout.write(`${loginToken.token}\n`);
}

/** --auth-url, else OS_AUTH_URL, else the profile's. */
async function authUrlFor(ctx: Context, opts: LoginTokenOptions): Promise<string> {
  const explicit = opts.authUrl ?? (ctx.env[KEYSTONE_SOURCES.authUrl.env] || undefined);
  if (explicit !== undefined) return checkUrl(explicit, 'auth URL', '--auth-url', Boolean(opts.allowHttp));
  const profile = await openProfile(ctx);
  if (profile.settings?.authUrl) return checkUrl(profile.settings.authUrl, 'auth URL', '--auth-url', Boolean(profile.settings.allowHttp));
  throw new UsageError('missing the IAM URL (--auth-url, env OS_AUTH_URL)', { hint: 'e.g. --auth-url https://iam.example.com/v3' });
}
