import { parseDuration } from '../core/duration.js';
import { NoTokenError, UsageError } from '../core/errors.js';
import { checkUrl, flagLayer, fromEnvironment, pick, type Setting } from '../core/settings.js';
import { AUTH_URL } from '../auth/keystone-identity.js';
import { describeIamUser } from '../core/target.js';
import { isoTime } from '../core/token.js';
import { canPrompt, readStdinSecret } from '../io/io.js';
import type { Context } from '../session/context.js';
import { chooseMethod, methodLayers, openProfile } from '../session/profile.js';
import { SETTINGS } from '../settings/table.js';
import { cachedOrFresh, retryIfRefused } from '../session/resolve.js';
import { keysFromToken, KeysTokenRefusedError } from '../iam/access-keys.js';
import { createLoginToken, iamBase, LOGIN_TOKEN_DURATION, type AccessKey } from '../iam/logintoken.js';
import { jsonOutput } from '../util/json-output.js';

export interface LoginTokenOptions {
  accessKey?: string;
  secretKeyStdin?: boolean;
  securityTokenStdin?: boolean;
  duration?: string;
  authUrl?: string;
  allowHttp?: boolean;
  json?: boolean;
}

const row = (key: string): Setting => SETTINGS.find((setting) => setting.key === key)!;
/** Variables, authctl's first, then the Huawei Cloud SDK's names for the same things (the settings table). */
const ACCESS_KEY = row('accessKey');
const SECRET_KEY = row('secretKeyStdin');
const SECURITY_TOKEN = row('securityTokenStdin');


const sources = (setting: Setting) => `${setting.flag}, env ${(setting.env ?? []).join(' or ')}`;

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
  const accessKey = opts.accessKey ?? fromEnvironment(ctx.env, ACCESS_KEY);
  const profile = await openProfile(ctx);
  const http = async () => ctx.http(profile.tls);

  let base: string;
  let key: AccessKey;
  if (accessKey !== undefined) {
    base = iamBase(authUrlFor(ctx, opts, profile));
    const secret = opts.secretKeyStdin ? await readStdinSecret(ctx.io, 'secret-key') : fromEnvironment(ctx.env, SECRET_KEY);
    const securityToken = opts.securityTokenStdin ? await readStdinSecret(ctx.io, 'security-token') : fromEnvironment(ctx.env, SECURITY_TOKEN);
    const missing = [
      ...(secret === undefined && !canPrompt(ctx.io) ? [`secret key (${sources(SECRET_KEY)})`] : []),
      ...(securityToken === undefined ? [`security token (${sources(SECURITY_TOKEN)})`] : []),
    ];
    if (missing.length) throw new UsageError(`missing ${missing.join('; ')}`, { hint: 'a login token is made from an access key, its secret key and a security token' });
    key = { access: accessKey, secret: secret ?? (await ctx.prompter().password(`Secret key for ${accessKey}:`)), securityToken: securityToken! };
  } else {
    const minTtlMs = 60_000;
    const result = await cachedOrFresh(ctx, minTtlMs).catch((error: unknown) => {
      if (error instanceof NoTokenError) {
        throw new NoTokenError(`no access key given, and ${error.message}`, { hint: 'give --access-key (env AUTHCTL_ACCESS_KEY) with its secret key and security token, or `authctl login` first' });
      }
      throw error;
    });
    const { method, target } = result.resolved;
    if (!method.iamUrl) throw new UsageError('a login token needs a Keystone user token or an access key', { hint: 'give --access-key' });
    const own = method.iamUrl(target);
    // The profile's token goes to the IAM that issued it, never to one named now (both as checkUrl writes URLs).
    if (opts.authUrl !== undefined && checkUrl(opts.authUrl, 'auth URL', '--auth-url', Boolean(opts.allowHttp)) !== own) {
      throw new UsageError(`--auth-url names another IAM than the one that issued profile ${result.profile.name}'s token (${own}), and the token is not sent there`, {
        hint: `drop --auth-url to use ${own}, or give --access-key with its secret key and security token for the other IAM`,
      });
    }
    base = iamBase(own);
    // IAM refusing the token (401) drops it; a new one got silently is tried once.
    key = await retryIfRefused(
      ctx,
      result,
      minTtlMs,
      async (used) => {
        ctx.secrets.add(used.token.token);
        return keysFromToken(await http(), base, used.token.token);
      },
      (error) => (error instanceof KeysTokenRefusedError ? 401 : undefined),
    );
  }
  ctx.secrets.add(key.secret);
  ctx.secrets.add(key.securityToken);

  const loginToken = await createLoginToken(await http(), base, key, duration);
  const { user_name: name, user_id: id, domain_id: domainId } = loginToken.details;
  const who = name || id ? describeIamUser({ ...(name ? { name: String(name) } : { id: String(id) }), ...(domainId ? { domain: { id: String(domainId) } } : {}) }) : 'the user';
  const until = loginToken.expiresAt === undefined ? `${duration}s` : isoTime(loginToken.expiresAt);
  ctx.reporter.success(`Login token for ${who}, valid until ${until}`);
  if (opts.json) ctx.io.stdout.write(jsonOutput({ token: loginToken.token, logintoken: loginToken.details }, 2));
  else ctx.io.stdout.write(`${loginToken.token}\n`);
}

/** --auth-url, else OS_AUTH_URL, else the clouds.yaml entry's, else the profile's. */
function authUrlFor(ctx: Context, opts: LoginTokenOptions, profile: Awaited<ReturnType<typeof openProfile>>): string {
  const flags = flagLayer(opts as Record<string, unknown>, [AUTH_URL]);
  const found = pick(methodLayers(ctx.env, profile, chooseMethod(profile, {}, ctx.env), flags), 'authUrl');
  if (found === undefined) throw new UsageError('missing the IAM URL (--auth-url, env OS_AUTH_URL)', { hint: 'e.g. --auth-url https://iam.example.com/v3' });
  const allowHttp = found.source.kind === 'profile' ? Boolean(profile.settings?.allowHttp) : Boolean(opts.allowHttp);
  return checkUrl(String(found.value), 'auth URL', '--auth-url', allowHttp);
}
