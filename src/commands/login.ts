import { resolve as resolvePath } from 'node:path';
import type { Context } from '../cli/context.js';
import { authenticate } from '../core/auth.js';
import { formatDuration } from '../core/duration.js';
import { UsageError } from '../core/errors.js';
import { CLIENT_ID_ENV, CLIENT_SECRET_ENV, keystoneLayers, openProfile, type OpenProfile } from '../core/profile.js';
import {
  checkFlagConflicts,
  checkUrl,
  describeMissing,
  KEYSTONE_SOURCES,
  MISSING,
  MISSING_PASSWORD,
  PASSWORD_ENV,
  resolveKeystone,
  type KeystoneSettings,
  type Missing,
} from '../core/settings.js';
import { describeScope, describeUser, type Target } from '../core/target.js';
import { defaultTokenUrl } from '../iam/oauth2.js';
import { isoTime, remainingMs, type CachedToken } from '../core/token.js';
import { canPrompt, readStdinSecret } from '../io/io.js';
import type { ProfileSettings } from '../store/config.js';
import { tokenJson } from '../core/token-json.js';

export interface LoginOptions extends KeystoneSettings {
  passwordStdin?: boolean;
  savePassword?: boolean;
  clientId?: string;
  clientSecretStdin?: boolean;
  tokenUrl?: string;
  saveSecret?: boolean;
  allowHttp?: boolean;
  json?: boolean;
}

/** Every Keystone setting a flag can give: the documented ones, and --unscoped. */
const KEYSTONE_FLAG_KEYS = [...(Object.keys(KEYSTONE_SOURCES) as (keyof typeof KEYSTONE_SOURCES)[]), 'unscoped'] as const;

export async function loginRun(ctx: Context, opts: LoginOptions): Promise<void> {
  const profile = await openProfile(ctx);
  const flags: KeystoneSettings = {};
  for (const key of KEYSTONE_FLAG_KEYS) if (opts[key] !== undefined) (flags as Record<string, unknown>)[key] = opts[key];
  checkFlagConflicts(flags);
  // Reach the store before asking for or sending a password: an unavailable keychain fails now.
  const previousToken = await profile.secrets.readToken();

  const useOAuth2 =
    opts.clientId !== undefined ||
    opts.tokenUrl !== undefined ||
    (flags.username === undefined && flags.userId === undefined && !profile.cloud && (Boolean(ctx.env[CLIENT_ID_ENV]) || profile.settings?.kind === 'oauth2'));
  const { target, secret, settings, saveSecret } = useOAuth2 ? await oauth2Inputs(ctx, opts, profile) : await keystoneInputs(ctx, opts, profile, flags);

  const token = await authenticate(ctx, target, secret);

  const previous = profile.settings;
  const store = ctx.storeChosenExplicitly ? ctx.storeKind(undefined) : previous?.store;
  // TLS settings given now (flags, environment, a clouds.yaml entry) are kept for renewals.
  const tls = ctx.tlsChosenExplicitly || profile.cloud ? ctx.tls() : { cacert: previous?.cacert, insecure: previous?.insecure };
  const saved: ProfileSettings = { ...settings };
  if (store !== undefined && store !== 'memory') saved.store = store;
  if (tls.cacert) saved.cacert = resolvePath(tls.cacert);
  if (tls.insecure) saved.insecure = true;

  // The token and the settings it belongs to change together: if the config cannot be written,
  // the previous token is put back, so a failed login loses nothing.
  await profile.secrets.writeToken(token);
  try {
    await (await ctx.config()).update((data) => {
      data.profiles[profile.name] = saved;
    });
  } catch (error) {
    if (previousToken) await profile.secrets.writeToken(previousToken);
    else await profile.secrets.deleteSecret('token');
    throw error;
  }

  const secretRole = target.kind === 'keystone' ? 'password' : 'client-secret';
  if (saveSecret) await profile.secrets.writeSecret(secretRole, secret);
  else if (previous && !sameSavedIdentity(previous, settings)) await profile.secrets.deleteSecret(secretRole);

  ctx.reporter.success(loginSummary(profile.name, target, token, ctx.now()));
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(tokenJson(token, profile.name, false), null, 2)}\n`);
}

/** Whether a saved secret belongs to these settings: a saved password must never be sent for another user. */
function sameSavedIdentity(saved: ProfileSettings, chosen: ProfileSettings): boolean {
  const identity = (s: ProfileSettings) => JSON.stringify([s.kind, s.authUrl, s.tokenUrl, s.clientId, s.userId, s.username, s.userDomain, s.userDomainId]);
  return identity(saved) === identity(chosen);
}

interface LoginInputs {
  target: Target;
  secret: string;
  settings: ProfileSettings;
  saveSecret: boolean;
}

async function keystoneInputs(ctx: Context, opts: LoginOptions, profile: OpenProfile, flags: KeystoneSettings): Promise<LoginInputs> {
  if (opts.clientSecretStdin || opts.saveSecret) {
    throw new UsageError('--client-secret-stdin and --save-secret are for client-credentials logins', {
      hint: 'add --client-id, or use --password-stdin / --save-password',
    });
  }
  const layers = keystoneLayers(ctx.env, profile, flags);
  let resolution = resolveKeystone(layers);
  // A bad URL is worth hearing about before anything else, even before a missing value.
  if (resolution.settings.authUrl !== undefined) checkUrl(resolution.settings.authUrl, 'auth URL', '--auth-url', Boolean(opts.allowHttp));
  let password = opts.passwordStdin ? await readStdinSecret(ctx.io, 'password') : ctx.env[PASSWORD_ENV] || profile.cloud?.password;
  if (resolution.missing.length > 0 && !canPrompt(ctx.io)) {
    throw missingError([...resolution.missing, ...(password === undefined ? [MISSING_PASSWORD] : [])]);
  }
  // An answer can reveal another gap (a user name needs its domain), so ask until nothing is missing.
  const answers: KeystoneSettings = {};
  while (resolution.missing.length > 0) {
    const asked = await promptFor(ctx, resolution.missing);
    if (Object.keys(asked).length === 0) throw missingError(resolution.missing);
    Object.assign(answers, asked);
    resolution = resolveKeystone([...layers, answers]);
  }
  const target = resolution.target!;
  const authUrl = checkUrl(target.authUrl, 'auth URL', '--auth-url', Boolean(opts.allowHttp));
  const settings: ProfileSettings = { kind: 'keystone', ...resolution.settings, authUrl };
  if (opts.allowHttp) settings.allowHttp = true;
  password ??= await savedSecret(profile, settings, 'password');
  if (password === undefined) {
    if (!canPrompt(ctx.io)) throw missingError([MISSING_PASSWORD]);
    password = await ctx.prompter().password(`Password for ${describeUser(target.user)}:`);
  }
  return { target: { ...target, authUrl }, secret: password, settings, saveSecret: Boolean(opts.savePassword) };
}

async function promptFor(ctx: Context, missing: readonly Missing[]): Promise<KeystoneSettings> {
  const prompter = ctx.prompter();
  const answers: KeystoneSettings = {};
  for (const item of missing) {
    if (item === MISSING.authUrl) answers.authUrl = await prompter.input('Auth URL (the Keystone v3 base, e.g. https://iam.example.com/v3):');
    else if (item === MISSING.user) answers.username = await prompter.input('User name:');
    else if (item === MISSING.userDomain) answers.userDomain = await prompter.input("User's domain:", 'Default');
    else if (item === MISSING.projectDomain) answers.projectDomain = await prompter.input("Project's domain:");
  }
  return answers;
}

function missingError(missing: readonly Missing[]): UsageError {
  return new UsageError(`missing ${describeMissing(missing)}`, { hint: 'give them as flags or environment variables, or run `authctl login` at a terminal to be asked' });
}

/** A saved password or client secret, but only for the identity it was saved with. */
async function savedSecret(profile: OpenProfile, chosen: ProfileSettings, role: 'password' | 'client-secret'): Promise<string | undefined> {
  if (!profile.settings || !sameSavedIdentity(profile.settings, chosen)) return undefined;
  return profile.secrets.readSecret(role);
}

async function oauth2Inputs(ctx: Context, opts: LoginOptions, profile: OpenProfile): Promise<LoginInputs> {
  if (opts.passwordStdin || opts.savePassword) {
    throw new UsageError('--password-stdin and --save-password are for password logins', { hint: 'use --client-secret-stdin / --save-secret with --client-id' });
  }
  const saved = profile.settings?.kind === 'oauth2' ? profile.settings : undefined;
  const clientId = opts.clientId ?? (ctx.env[CLIENT_ID_ENV] || saved?.clientId);
  let tokenUrl: string | undefined;
  if (opts.tokenUrl !== undefined) tokenUrl = checkUrl(opts.tokenUrl, 'token URL', '--token-url', Boolean(opts.allowHttp));
  else if (opts.authUrl !== undefined || ctx.env.OS_AUTH_URL) {
    const base = checkUrl((opts.authUrl ?? ctx.env.OS_AUTH_URL)!, 'auth URL', '--auth-url', Boolean(opts.allowHttp));
    tokenUrl = defaultTokenUrl(base);
  } else tokenUrl = saved?.tokenUrl;

  let secret = opts.clientSecretStdin ? await readStdinSecret(ctx.io, 'client-secret') : ctx.env[CLIENT_SECRET_ENV] || undefined;
  const missing: Missing[] = [];
  if (!clientId) missing.push({ what: 'client id', flag: '--client-id', env: CLIENT_ID_ENV });
  if (!tokenUrl) missing.push({ what: 'token URL', flag: '--token-url or --auth-url', env: 'OS_AUTH_URL' });
  if (!clientId || !tokenUrl) throw missingError(secret === undefined ? [...missing, MISSING_CLIENT_SECRET] : missing);

  const settings: ProfileSettings = { kind: 'oauth2', clientId, tokenUrl };
  if (opts.allowHttp) settings.allowHttp = true;
  secret ??= await savedSecret(profile, settings, 'client-secret');
  if (secret === undefined) {
    if (!canPrompt(ctx.io)) throw missingError([MISSING_CLIENT_SECRET]);
    secret = await ctx.prompter().password(`Client secret for ${clientId}:`);
  }
  return { target: { kind: 'oauth2', clientId, tokenUrl }, secret, settings, saveSecret: Boolean(opts.saveSecret) };
}

const MISSING_CLIENT_SECRET: Missing = { what: 'client secret', flag: '--client-secret-stdin', env: CLIENT_SECRET_ENV };

export function loginSummary(profile: string, target: Target, token: CachedToken, now: number): string {
  const until = `until ${isoTime(token.expiresAt)} (${formatDuration(remainingMs(token, now))})`;
  if (target.kind === 'oauth2') return `Logged in to ${target.tokenUrl} as client ${target.clientId} [profile ${profile}], ${until}`;
  const user = token.user?.name ? `${token.user.name}${token.user.domain?.name ? `@${token.user.domain.name}` : ''}` : describeUser(target.user);
  let scope: string;
  if (token.project) scope = `project ${token.project.name ?? token.project.id}${token.project.domain?.name ? ` in ${token.project.domain.name}` : ''}`;
  else if (token.domain) scope = `domain ${token.domain.name ?? token.domain.id}`;
  else scope = describeScope(target.scope);
  return `Logged in to ${target.authUrl} as ${user}, ${scope} [profile ${profile}], ${until}`;
}
