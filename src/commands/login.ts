import { resolve as resolvePath } from 'node:path';
import { checkFlagConflicts, type KeystoneSettings } from '../auth/keystone-identity.js';
import type { AuthMethod, Target } from '../auth/method.js';
import { AUTH_METHODS } from '../auth/registry.js';
import { formatDuration } from '../core/duration.js';
import { UsageError } from '../core/errors.js';
import type { ProfileSettings } from '../core/profile-settings.js';
import { describeMissing, flagLayer, fromEnvironment, layer, missingSetting, type Layer, type Missing, type Setting, type Values } from '../core/settings.js';
import { isoTime, remainingMs, type CachedToken } from '../core/token.js';
import { tokenJson } from '../core/token-json.js';
import { canPrompt, readStdinSecret } from '../io/io.js';
import type { Context } from '../session/context.js';
import { chooseMethod, cloudSecret, debugSources, methodLayers, openProfile, savedFor, savedSecret, type OpenProfile } from '../session/profile.js';
import { SETTINGS } from '../settings/table.js';

export type LoginOptions = Record<string, string | boolean | undefined> & { allowHttp?: boolean; json?: boolean };

const LOGIN_SETTINGS = SETTINGS.filter((setting) => setting.commands.includes('login'));

export async function loginRun(ctx: Context, opts: LoginOptions): Promise<void> {
  const profile = await openProfile(ctx);
  await ctx.withLoginLock(profile.name, () => login(ctx, opts, profile));
}

async function login(ctx: Context, opts: LoginOptions, profile: OpenProfile): Promise<void> {
  const flags = flagLayer(opts, LOGIN_SETTINGS);
  checkFlagConflicts(flags.values as KeystoneSettings);
  // Reach the store before asking for or sending a secret: an unavailable keychain fails now.
  const previousToken = await profile.secrets.readToken();

  const method = chooseMethod(profile, flags.values, ctx.env, true);
  refuseOtherMethodsSecrets(method, opts);
  const { target, secret, settings } = await loginInputs(ctx, opts, profile, method, flags);
  ctx.secrets.add(secret);
  const token = await method.authenticate(await ctx.authIO(profile, true), target, secret);

  const previous = profile.settings;
  const store = ctx.storeChosenExplicitly ? ctx.storeKind(undefined) : previous?.store;
  // TLS settings given now (flags, environment, a clouds.yaml entry) are kept for renewals.
  const tls = ctx.tlsChosenExplicitly || profile.cloud ? profile.tls : { cacert: previous?.cacert, insecure: previous?.insecure };
  const saved: ProfileSettings = { ...settings, ...method.remember?.(target, token) };
  if (opts.allowHttp) saved.allowHttp = true;
  if (store !== undefined) saved.store = store;
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

  // A saved secret belongs to the IAM and identity it was saved for; a login as anyone else drops it.
  if (method.secret.save && opts[method.secret.save.key]) await profile.secrets.writeSecret(method.secret.role, secret);
  else if (previous && !savedFor(profile, method, target)) await profile.secrets.deleteSecret(method.secret.role);

  ctx.reporter.success(loginSummary(profile.name, method, target, token, ctx.now()));
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(tokenJson(token, profile.name, false), null, 2)}\n`);
}

/** `--client-secret-stdin` with a password login (and the like) is a mistake worth hearing about. */
function refuseOtherMethodsSecrets(method: AuthMethod<Target>, opts: LoginOptions): void {
  for (const other of AUTH_METHODS as readonly AuthMethod<Target>[]) {
    if (other === method || other.secret.role === method.secret.role) continue;
    // Rows two methods share (--save-secret) are not the other method's alone.
    const given = [other.secret.setting, other.secret.save].filter((setting): setting is Setting => setting !== undefined && Boolean(opts[setting.key]) && !method.settings.includes(setting));
    if (given.length === 0) continue;
    throw new UsageError(`${given.map((setting) => setting.flag).join(' and ')} ${given.length > 1 ? 'are' : 'is'} for ${other.label} logins`, {
      hint: `this login is ${method.label}: use ${[method.secret.setting.flag, method.secret.save?.flag].filter(Boolean).join(' / ')}${other.authTypes[0] ? `, or log in with --auth-type ${other.authTypes[0]}` : ''}`,
    });
  }
}

interface LoginInputs {
  target: Target;
  secret: string;
  settings: ProfileSettings;
}

async function loginInputs(ctx: Context, opts: LoginOptions, profile: OpenProfile, method: AuthMethod<Target>, flags: Layer): Promise<LoginInputs> {
  const layers = methodLayers(ctx.env, profile, method, flags);
  const allowHttp = Boolean(opts.allowHttp);
  let resolution = method.resolve(layers);
  // A bad URL is worth hearing about before anything else, even before a missing value.
  if (resolution.target) method.check(resolution.target, allowHttp);
  const input = method.secret.setting;
  const missingSecret = missingSetting(method.secret.what, input);
  // A one-time passcode is asked for when it is needed (OS_PASSCODE, AUTHCTL_PASSCODE_COMMAND, a prompt).
  let secret: string | undefined = method.secret.selfSupplied ? '' : undefined;
  if (secret !== undefined) {
    // fetched by the method itself
  } else if (input.flag && opts[input.key]) secret = await readStdinSecret(ctx.io, input.flag.replace(/^--|-stdin$/g, ''));
  else if (!method.secret.oneTime) secret = fromEnvironment(ctx.env, input) ?? cloudSecret(profile, method);
  if (resolution.missing.length > 0 && !canPrompt(ctx.io)) {
    throw missingError([...resolution.missing, ...(secret === undefined ? [missingSecret] : [])]);
  }
  // An answer can reveal another gap (a user name needs its domain), so ask until nothing is missing.
  const answers: Values = {};
  while (resolution.missing.length > 0) {
    const asked = await method.ask(resolution.missing, ctx.prompter());
    if (Object.keys(asked).length === 0) throw missingError(secret === undefined ? [...resolution.missing, missingSecret] : resolution.missing);
    Object.assign(answers, asked);
    resolution = method.resolve([...layers, layer('prompt', answers)]);
  }
  const target = method.check(resolution.target!, allowHttp);
  debugSources(ctx, method, resolution.settings, resolution.sources);
  const settings: ProfileSettings = { ...resolution.settings, ...method.urls(target) };
  if (method.secret.oneTime) secret ??= await (await ctx.authIO(profile, true)).passcode(method.secretPrompt(target));
  else secret ??= (await savedSecret(profile, method, target)).secret;
  if (secret === undefined && method.secret.optional) secret = '';
  if (secret === undefined) {
    if (!canPrompt(ctx.io)) throw missingError([missingSecret]);
    secret = await ctx.prompter().password(method.secretPrompt(target));
  }
  return { target, secret, settings };
}

function missingError(missing: readonly Missing[]): UsageError {
  return new UsageError(`missing ${describeMissing(missing)}`, { hint: 'give them as flags or environment variables, or run `authctl login` at a terminal to be asked' });
}

export function loginSummary(profile: string, method: AuthMethod<Target>, target: Target, token: CachedToken, now: number): string {
  const until = `until ${isoTime(token.expiresAt)} (${formatDuration(remainingMs(token, now))})`;
  const { iam, who, scope } = method.summary(target, token);
  return `Logged in to ${iam} as ${who}${scope ? `, ${scope}` : ''} [profile ${profile}], ${until}`;
}
