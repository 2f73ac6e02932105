import { resolve as resolvePath } from 'node:path';
import { checkFlagConflicts, namesScope, SCOPE_SETTINGS, USER_SETTINGS, USERS_DOMAIN, type KeystoneSettings } from '../auth/keystone-identity.js';
import { CREDENTIALS_REJECTED, type AuthIO, type AuthMethod, type Target } from '../auth/method.js';
import { AUTH_METHODS } from '../auth/registry.js';
import { durationSetting, formatDuration } from '../core/duration.js';
import { AuthctlError, RejectedError, UsageError } from '../core/errors.js';
import type { ProfileSettings } from '../core/profile-settings.js';
import { describeMissing, flagLayer, fromEnvironment, layer, missingSetting, type Layer, type Missing, type Setting, type Source, type Values } from '../core/settings.js';
import type { ScopeChoice } from '../iam/projects.js';
import { describeIamProject } from '../core/target.js';
import { isoTime, remainingMs, type CachedToken } from '../core/token.js';
import { tokenJson } from '../core/token-json.js';
import { canPrompt, readStdinSecret, type Env } from '../io/io.js';
import type { Context } from '../session/context.js';
import { chooseMethod, cloudSecret, debugSources, methodLayers, openProfile, savedFor, savedSecret, type OpenProfile } from '../session/profile.js';
import { SETTINGS } from '../settings/table.js';
import { jsonOutput } from '../util/json-output.js';

export type LoginOptions = Record<string, string | boolean | undefined> & { allowHttp?: boolean; json?: boolean };

const LOGIN_SETTINGS = SETTINGS.filter((setting) => setting.commands.includes('login'));

export async function loginRun(ctx: Context, opts: LoginOptions): Promise<void> {
  const profile = await openProfile(ctx);
  await ctx.withLoginLock(profile.name, () => login(ctx, opts, profile));
}

async function login(ctx: Context, opts: LoginOptions, profile: OpenProfile): Promise<void> {
  const flags = flagLayer(opts, LOGIN_SETTINGS);
  checkFlagConflicts(flags.values as KeystoneSettings);
  checkDurations(flags, ctx.env);
  // Reach the store before asking for or sending a secret: an unavailable keychain fails now.
  const previousToken = await profile.secrets.readToken();
  // A locked keychain reads a missing entry as a miss: with nothing to read, it must take a write.
  if (previousToken === undefined) await profile.secrets.checkWritable();

  const method = chooseMethod(profile, flags.values, ctx.env, true);
  refuseOtherMethodsSecrets(method, opts);
  const inputs = await loginInputs(ctx, opts, profile, method, flags);
  ctx.secrets.add(inputs.secret);
  const { token, target, secret, settings } = await signIn(ctx, profile, method, inputs);

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
  // One the IAM refused, and a person replaced at the prompt, is replaced in the store too.
  let secretKept: boolean | undefined;
  const replacesSaved = inputs.secretFrom?.kind === 'saved' && secret !== inputs.secret;
  if (method.secret.save && (opts[method.secret.save.key] || replacesSaved)) {
    await profile.secrets.writeSecret(method.secret.role, secret);
    secretKept = true;
  } else if (previous && !savedFor(profile, method, target)) {
    await profile.secrets.deleteSecret(method.secret.role);
    secretKept = false;
  }

  let summary = loginSummary(profile.name, method, target, token, ctx.now());
  // For a person: what this login left behind. Scripts and CI logs keep the short line.
  if (ctx.io.stderr.isTTY) {
    if (method.secret.save && secretKept === undefined) secretKept = inputs.secretFrom?.kind === 'saved' || (await profile.secrets.readSecret(method.secret.role)) !== undefined;
    summary += savedNote(method, saved, secretKept, ctx.storeKind(saved.store));
  }
  ctx.reporter.success(summary);
  if (opts.json) ctx.io.stdout.write(jsonOutput(tokenJson(token, profile.name, false), 2));
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

/** Where the secret sent came from, for messages: given (flag, variable, clouds.yaml), saved at an earlier login, or typed now. */
interface SecretOrigin {
  kind: 'given' | 'saved' | 'prompt';
  /** `from OS_PASSWORD`, `saved in the keychain`, `typed at the prompt`. */
  label: string;
}

interface LoginInputs {
  target: Target;
  secret: string;
  settings: ProfileSettings;
  /** Where each of `settings` came from. */
  sources: Record<string, Source>;
  /** Absent for a secret nobody gives (a passcode asked for later, a credential the method fetches, none at all). */
  secretFrom?: SecretOrigin;
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
  let secretFrom: SecretOrigin | undefined;
  if (secret !== undefined) {
    // fetched by the method itself
  } else if (input.flag && opts[input.key]) {
    secret = await readStdinSecret(ctx.io, input.flag.replace(/^--|-stdin$/g, ''));
    secretFrom = { kind: 'given', label: `from ${input.flag}` };
  } else if (!method.secret.oneTime) {
    const variable = input.env?.find((name) => ctx.env[name] !== undefined && ctx.env[name] !== '');
    secret = fromEnvironment(ctx.env, input) ?? cloudSecret(profile, method);
    if (secret !== undefined) secretFrom = { kind: 'given', label: variable ? `from ${variable}` : `from clouds.yaml cloud ${profile.cloud?.name}` };
  }
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
  else if (secret === undefined) {
    secret = (await savedSecret(profile, method, target)).secret;
    if (secret !== undefined) secretFrom = { kind: 'saved', label: `saved in the ${storeName(ctx.storeKind(profile.settings?.store))}` };
  }
  if (secret === undefined && method.secret.optional) secret = '';
  if (secret === undefined) {
    if (!canPrompt(ctx.io)) throw missingError([missingSecret]);
    secret = await ctx.prompter().password(method.secretPrompt(target));
    secretFrom = TYPED;
  }
  return { target, secret, settings, sources: resolution.sources, ...(secretFrom ? { secretFrom } : {}) };
}

const TYPED: SecretOrigin = { kind: 'prompt', label: 'typed at the prompt' };

function storeName(kind: string): string {
  return kind === 'keychain' ? 'keychain' : `${kind} store`;
}

/** Tries of a password at a terminal, as sudo gives. */
const TRIES = 3;

interface SignedIn {
  token: CachedToken;
  /** The target the token is for: the one asked for, or the scope picked. */
  target: Target;
  /** The settings to save: the scope picked among them. */
  settings: ProfileSettings;
  /** The secret IAM took (typed again after a refusal). */
  secret: string;
}

/**
 * Signs in with what `loginInputs` gathered. Without a terminal, that is one request and its
 * answer. At a terminal, for a method that can list its user's scopes:
 * - no scope named anywhere: an unscoped token lists the user's projects and domains, the
 *   person picks one (one: taken; none: unscoped), and the token is rescoped to it;
 * - a scoped request refused for the credentials (401): one unscoped attempt with the same
 *   secret tells a right password on a project without a role from a wrong user or password
 *   (only one: lockout policies count failed attempts);
 * - a wrong password typed (or saved) is asked for again, up to three tries in all; after the
 *   first refusal the scope is unproven, so each later try goes unscoped and is rescoped, and a
 *   refusal is again the password's alone.
 * Every refusal says what was sent and where each value came from.
 */
async function signIn(ctx: Context, profile: OpenProfile, method: AuthMethod<Target>, inputs: LoginInputs): Promise<SignedIn> {
  const io = await ctx.authIO(profile, true);
  const atTerminal = canPrompt(ctx.io);
  // Rescoping is Keystone's token method: without it there is nothing to do with a list.
  const scopes = method.can.renewFromToken ? method.can.scopes : undefined;
  const named = namesScope(inputs.settings as KeystoneSettings);
  const hasScope = named && !inputs.settings.unscoped;
  const pick = atTerminal && scopes !== undefined && !named;
  let { secret } = inputs;
  let diagnosed = false;
  for (let tries = 1; ; tries++) {
    const viaUnscoped = scopes !== undefined && (pick || (tries > 1 && hasScope));
    try {
      if (!scopes || !viaUnscoped) return { token: await method.authenticate(io, inputs.target, secret), target: inputs.target, settings: inputs.settings, secret };
      const base = await method.authenticate(io, scopes.unscoped(inputs.target), secret);
      if (pick) return { ...(await pickScope(ctx, io, method, scopes, inputs, base)), secret };
      return { token: await rescope(io, method, scopes, inputs, inputs.target, base), target: inputs.target, settings: inputs.settings, secret };
    } catch (error) {
      if (!(error instanceof RejectedError) || error.reason !== CREDENTIALS_REJECTED) throw withSources(error, method, inputs);
      // A refused unscoped request is the credentials'; a refused scoped one, only an unscoped try tells.
      let credentials = !hasScope || viaUnscoped;
      if (!credentials && atTerminal && scopes && !diagnosed) {
        diagnosed = true;
        credentials = await refusedWithoutScope(ctx, io, method, scopes, inputs, secret);
      }
      // Without a terminal IAM's own words stand; the hint says what was sent.
      if (!credentials || !atTerminal) throw withSources(error, method, inputs);
      // Asked again when a person typed it, or it was saved (and so is stale); never one given on purpose.
      const from = inputs.secretFrom;
      if (from === undefined || from.kind === 'given' || tries >= TRIES) throw credentialsRefused(method, inputs, tries);
      const what = method.secret.what;
      ctx.reporter.warn(`${from.kind === 'saved' ? `the ${what} ${from.label} was refused: ` : ''}wrong ${what}, or no such user (${sentValues(method, inputs, USER_KEYS)}); try again (${tries + 1} of ${TRIES}), or Ctrl-C`);
      secret = await ctx.prompter().password(method.secretPrompt(inputs.target));
      ctx.secrets.add(secret);
      inputs = { ...inputs, secretFrom: TYPED };
    }
  }
}

type Scopes = NonNullable<AuthMethod<Target>['can']['scopes']>;

/**
 * The one unscoped attempt after a scoped refusal. Refused too: the credentials are wrong (true).
 * Taken: the secret is right and the scope is the problem, which is thrown, with the user's
 * scopes. Anything else (IAM failing now): no verdict, and the first refusal stands (false).
 */
async function refusedWithoutScope(ctx: Context, io: AuthIO, method: AuthMethod<Target>, scopes: Scopes, inputs: LoginInputs, secret: string): Promise<boolean> {
  let base: CachedToken;
  try {
    base = await method.authenticate(io, scopes.unscoped(inputs.target), secret);
  } catch (error) {
    if (error instanceof RejectedError && error.reason === CREDENTIALS_REJECTED) return true;
    ctx.reporter.debug(`the unscoped attempt told nothing: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
  throw await scopeRefused(io, method, scopes, inputs, base);
}

/** The token rescoped to `target`; IAM refusing it is the scope's fault, since the secret was just taken. */
async function rescope(io: AuthIO, method: AuthMethod<Target>, scopes: Scopes, inputs: LoginInputs, target: Target, base: CachedToken): Promise<CachedToken> {
  try {
    return await method.can.renewFromToken!(io, target, base);
  } catch (error) {
    if (error instanceof RejectedError) throw await scopeRefused(io, method, scopes, inputs, base, target);
    throw error;
  }
}

/** Lists the user's scopes, then asks which one (one: taken; none: unscoped), and rescopes the token to it. */
async function pickScope(ctx: Context, io: AuthIO, method: AuthMethod<Target>, scopes: Scopes, inputs: LoginInputs, base: CachedToken): Promise<Omit<SignedIn, 'secret'>> {
  const { who } = method.summary(inputs.target, base);
  const unscoped = { token: base, target: scopes.unscoped(inputs.target), settings: inputs.settings };
  let choices: ScopeChoice[];
  try {
    choices = await scopes.list(io, inputs.target, base);
  } catch (error) {
    if (!(error instanceof AuthctlError)) throw error;
    ctx.reporter.warn(`the projects of ${who} could not be listed (${error.message}), so the token is unscoped: give --project or --domain to scope it`);
    return unscoped;
  }
  let choice: ScopeChoice;
  if (choices.length === 0) {
    ctx.reporter.info(`${who} has no role on any project or domain, so the token is unscoped; once one is granted, log in again to pick it`);
    return unscoped;
  } else if (choices.length === 1) {
    choice = choices[0]!;
    ctx.reporter.info(`${who} has a role on ${choiceLabel(choice)} only: scoping the token to it`);
  } else {
    const picked = await ctx.prompter().select(
      `Scope for ${who}, type to filter:`,
      choices.map((entry, index) => ({ name: choiceLabel(entry), value: String(index), description: `id ${entry.id}` })),
    );
    choice = choices[Number(picked)]!;
  }
  const target = scopes.scoped(inputs.target, choice);
  const settings: Record<string, unknown> = { ...inputs.settings };
  for (const key of SCOPE_KEYS) delete settings[key];
  return { token: await rescope(io, method, scopes, inputs, target, base), target, settings: { ...(settings as ProfileSettings), ...choice.settings } };
}

/** `project demo in domain Default`, `domain Default`: as the login summary names a scope. */
export function choiceLabel(choice: ScopeChoice): string {
  return choice.kind === 'domain' ? `domain ${choice.name}` : describeIamProject(choice);
}

/**
 * Every duration the command line or the environment gives login is checked, whether or not the
 * way of signing in uses it (--login-timeout with a password): a malformed one is exit 2, never ignored.
 */
function checkDurations(flags: Layer, env: Env): void {
  for (const setting of LOGIN_SETTINGS.filter((row) => row.arg === '<duration>')) {
    const flagged = flags.values[setting.key];
    if (typeof flagged === 'string') durationSetting(flagged, setting.flag ?? setting.key);
    const variable = setting.env?.find((name) => env[name]);
    if (variable !== undefined) durationSetting(env[variable]!, variable);
  }
}

const SCOPE_KEYS: readonly string[] = SCOPE_SETTINGS.map((setting) => setting.key);
const USER_KEYS: readonly string[] = USER_SETTINGS.map((setting) => setting.key);
const LISTED = 10;

/** The secret was right and the scope was refused: say so, with the scopes the user has and what chose this one. */
async function scopeRefused(io: AuthIO, method: AuthMethod<Target>, scopes: Scopes, inputs: LoginInputs, base: CachedToken, target = inputs.target): Promise<RejectedError> {
  const { iam, who, scope } = method.summary(target, base);
  let yours: string;
  try {
    const choices = await scopes.list(io, inputs.target, base);
    const names = (kind: ScopeChoice['kind']) => choices.filter((choice) => choice.kind === kind).map((choice) => choiceLabel(choice).replace(/^\S+ /, ''));
    const listed = (label: string, all: string[]) => `your ${label}: ${all.slice(0, LISTED).join(', ')}${all.length > LISTED ? ` and ${all.length - LISTED} more` : ''}`;
    const projects = names('project');
    const domains = names('domain');
    yours = choices.length === 0 ? `${who} has no role on any project or domain` : [projects.length ? listed('projects', projects) : 'no projects', ...(domains.length ? [listed('domains', domains)] : [])].join('; ');
  } catch (error) {
    yours = `your projects could not be listed (${error instanceof Error ? error.message : String(error)})`;
  }
  const chosenBy = SCOPE_KEYS.map((key) => inputs.sources[key]).filter((source): source is Source => source !== undefined && !SCOPE_KEYS.includes(source.name) && source.name !== USERS_DOMAIN);
  return new RejectedError(`login to ${iam}: the ${method.secret.what} is right, but ${who} has no role on ${scope ?? 'that scope'} (or it does not exist); ${yours}`, {
    hint: `${scopeFix(chosenBy)}; sent ${sentValues(method, inputs)}`,
    reason: 'scope-refused',
  });
}

/** How to give another scope, by what gave this one: an openrc left in the shell is the usual trap. */
function scopeFix(sources: readonly Source[]): string {
  const variables = [...new Set(sources.filter((source) => source.kind === 'env').map((source) => source.name))];
  if (variables.length) return `${variables.join(' and ')} ${variables.length > 1 ? 'are' : 'is'} set in this shell (an old openrc?): unset ${variables.length > 1 ? 'them' : 'it'}, or give --project NAME (or --domain NAME)`;
  const other = sources.find((source) => source.kind === 'profile' || source.kind === 'clouds.yaml');
  if (other) return `the scope is ${other.name}'s: give --project NAME (or --domain NAME) to change it`;
  return 'give --project NAME (or --domain NAME) with one of yours';
}

/** A refusal of the credentials, told from a scope: wrong secret, or no such user. */
function credentialsRefused(method: AuthMethod<Target>, inputs: LoginInputs, tries: number): RejectedError {
  const iam = method.describe(inputs.settings).iam ?? 'IAM';
  return new RejectedError(`login to ${iam} was rejected (401): wrong ${method.secret.what}, or no such user${tries > 1 ? ` (${tries} tries)` : ''}`, {
    hint: `check what was sent: ${sentValues(method, inputs)}`,
  });
}

/**
 * A refusal of the credentials (the one answer Keystone gives a wrong password, user, domain,
 * project or role) with what was sent, and where each value came from. Refusals with a cause of
 * their own (a passcode, an identity provider) keep their own hint.
 */
function withSources(error: unknown, method: AuthMethod<Target>, inputs: LoginInputs): unknown {
  if (!(error instanceof RejectedError) || error.reason !== CREDENTIALS_REJECTED) return error;
  return new RejectedError(error.message, { hint: `check what was sent: ${sentValues(method, inputs)}`, cause: error });
}

const LABELS: Record<string, string> = {
  authUrl: 'auth URL',
  tokenUrl: 'token URL',
  username: 'user',
  userId: 'user id',
  userDomain: "user's domain",
  userDomainId: "user's domain id",
  projectId: 'project id',
  projectDomain: "project's domain",
  projectDomainId: "project's domain id",
  domainId: 'domain id',
  trustId: 'trust',
  systemScope: 'system scope',
};

function label(method: AuthMethod<Target>, key: string): string {
  const flag = method.settings.find((setting) => setting.key === key)?.flag;
  return LABELS[key] ?? (flag ? flag.replace(/^--/, '').replace(/-/g, ' ') : key);
}

/** `user alice (from OS_USERNAME), project demo (from --project), password (typed at the prompt)`: the values sent, each with its source. */
function sentValues(method: AuthMethod<Target>, inputs: LoginInputs, only?: readonly string[]): string {
  const values = inputs.settings as Record<string, unknown>;
  const parts: string[] = [];
  for (const [key, source] of Object.entries(inputs.sources)) {
    if (key === 'knownUserId' || (only && !only.includes(key))) continue;
    const value = values[key];
    // A value no layer gave itself: a project's domain taken from the user's.
    const from = source.kind === 'prompt' ? 'typed' : source.name === USERS_DOMAIN ? "the user's" : `from ${source.name}`;
    parts.push(`${label(method, key)}${typeof value === 'string' ? ` ${value}` : ''} (${from})`);
  }
  if (!only && inputs.secretFrom) parts.push(`${method.secret.what} (${inputs.secretFrom.label})`);
  return parts.join(', ') || 'nothing';
}

/** What the profile keeps, grouped as a person names it. */
const SAVED_NOUNS: Record<string, string | null> = {
  kind: null,
  knownUserId: null,
  store: null,
  userId: 'user',
  userDomain: 'user',
  userDomainId: 'user',
  username: 'user',
  projectId: 'project',
  projectDomain: 'project',
  projectDomainId: 'project',
  domainId: 'domain',
  unscoped: 'no scope',
  cacert: 'CA file',
  insecure: 'no TLS verification',
  allowHttp: 'plain http allowed',
};

/** `; saved auth URL, user, project; token in the keychain, password not kept (...)`. */
function savedNote(method: AuthMethod<Target>, saved: ProfileSettings, secretKept: boolean | undefined, store: string): string {
  const nouns = new Set<string>();
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) continue;
    const noun = key in SAVED_NOUNS ? SAVED_NOUNS[key] : label(method, key);
    if (noun) nouns.add(noun);
  }
  const { what, save } = method.secret;
  const secret = !save || secretKept === undefined ? '' : secretKept ? '' : `, ${what} not kept (${save.flag} keeps it for silent renewal)`;
  return `; saved ${[...nouns].join(', ') || 'nothing'}; token${secretKept && save ? ` and ${what}` : ''} in the ${storeName(store)}${secret}`;
}

function missingError(missing: readonly Missing[]): UsageError {
  return new UsageError(`missing ${describeMissing(missing)}`, { hint: 'give them as flags or environment variables, or run `authctl login` at a terminal to be asked' });
}

export function loginSummary(profile: string, method: AuthMethod<Target>, target: Target, token: CachedToken, now: number): string {
  const until = `until ${isoTime(token.expiresAt)} (${formatDuration(remainingMs(token, now))})`;
  const { iam, who, scope } = method.summary(target, token);
  return `Logged in to ${iam} as ${who}${scope ? `, ${scope}` : ''} [profile ${profile}], ${until}`;
}
