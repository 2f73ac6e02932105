import { readFileSync, statSync } from 'node:fs';

const MAX_CLOUDS_YAML_BYTES = 4 * 1024 * 1024;
import type { CloudEntry } from '../auth/clouds-yaml.js';
import { domainAsDefaults, type KeystoneSettings } from '../auth/keystone-identity.js';
import { cacheKey, sameIdentity, type AuthMethod, type Target } from '../auth/method.js';
import { authTypeNames, DEFAULT_METHOD, methodByAuthType, methodByKind, methodNamedBy, METHOD_SETTINGS } from '../auth/registry.js';
import { durationSetting } from '../core/duration.js';
import { NoTokenError, UsageError } from '../core/errors.js';
import type { ProfileSettings } from '../core/profile-settings.js';
import { describeMissing, describeSourced, envLayer, fromEnvironment, layer, type Layer, type Source, type Values } from '../core/settings.js';
import type { Env } from '../io/io.js';
import { withVendorUrl } from '../auth/vendors.js';
import type { ProfileSecrets } from '../store/profile-secrets.js';
import type { Context, TlsChoice } from './context.js';

/** A profile as a command needs it: its name, saved settings, secrets, clouds.yaml entry and TLS choice. */
export interface OpenProfile {
  name: string;
  settings: ProfileSettings | undefined;
  secrets: ProfileSecrets;
  cloud?: CloudEntry;
  /** The TLS choice for requests to this profile's IAM. */
  tls: TlsChoice;
}

/** The method a profile was saved with (profiles from before `kind` was saved are Keystone password ones). */
export function savedMethod(settings: ProfileSettings | undefined): AuthMethod<Target> | undefined {
  return settings ? (methodByKind(settings.kind) ?? DEFAULT_METHOD) : undefined;
}

export async function openProfile(ctx: Context, name?: string): Promise<OpenProfile> {
  const profileName = name ?? (await ctx.profileName());
  const settings = (await ctx.config()).profile(profileName);
  const method = savedMethod(settings);
  const cloudName = ctx.cloudName();
  // clouds.yaml describes Keystone logins: a profile of another method ignores OS_CLOUD, and refuses --os-cloud.
  if (cloudName?.explicit && method && !method.readsCloudsYaml) {
    throw new UsageError(`profile ${profileName} uses ${method.label}; --os-cloud names a Keystone login`, { hint: 'use another --profile for the cloud' });
  }
  const cloud = cloudName === undefined || (method && !method.readsCloudsYaml) ? undefined : await readCloud(ctx, cloudName.name);
  // TLS: the command line and environment first (Context.tls), then the cloud entry, then the profile.
  const cacert = cloud?.cacert ?? settings?.cacert;
  const insecure = cloud?.verify === false || Boolean(settings?.insecure);
  const tls = ctx.tls({ ...(cacert ? { cacert } : {}), ...(insecure ? { insecure } : {}) });
  const secrets = await ctx.profileSecrets(profileName, ctx.storeKind(settings?.store));
  return { name: profileName, settings, secrets, tls, ...(cloud ? { cloud } : {}) };
}

/** The `clouds.yaml` entry named by --os-cloud or OS_CLOUD, found the way OpenStack's tools find it. */
async function readCloud(ctx: Context, name: string): Promise<CloudEntry> {
  const { cloudsYamlCandidates, loadCloud, secureYamlCandidates } = await import('../auth/clouds-yaml.js');
  const files = {
    readFile(path: string): string | undefined {
      try {
        // A clouds.yaml is a few KB; one of gigabytes would only exhaust memory before the parser could refuse it.
        const size = statSync(path).size;
        if (size > MAX_CLOUDS_YAML_BYTES) throw new UsageError(`${path} is ${Math.round(size / 1024 / 1024)} MiB, more than a clouds.yaml can sensibly be (authctl reads up to ${MAX_CLOUDS_YAML_BYTES / 1024 / 1024} MiB)`, { hint: 'point OS_CLIENT_CONFIG_FILE at the real clouds.yaml' });
        return readFileSync(path, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (error instanceof UsageError) throw error;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw new UsageError(`cannot read ${path}: ${(error as Error).message}`, { hint: 'check its permissions' });
      }
    },
  };
  const home = ctx.env.HOME || ctx.home;
  const entry = loadCloud(name, files, cloudsYamlCandidates(ctx.env, ctx.cwd, home), secureYamlCandidates(ctx.env, ctx.cwd, home));
  for (const secret of Object.values(entry.secrets)) ctx.secrets.add(secret);
  ctx.secrets.add(entry.password);
  return entry;
}

function byAuthType(name: string, from: string): AuthMethod<Target> {
  const method = methodByAuthType(name);
  if (!method) throw new UsageError(`unknown auth type ${JSON.stringify(name)} (from ${from})`, { hint: `use one of: ${authTypeNames().join(', ')}` });
  return method;
}

/**
 * The method a command acts with, as keystoneauth chooses: a type named by `--auth-type`, else
 * by the flags' values (a client id, a user, an application credential); else OS_AUTH_TYPE
 * (at login, or where no profile was saved: a saved profile keeps its method, so an
 * `export --openstack` in the shell, which sets OS_AUTH_TYPE=token, does not turn it into
 * another); else the profile's saved method; else the clouds.yaml entry's `auth_type` or
 * values; else the environment's values, in registry order; else Keystone password.
 */
export function chooseMethod(profile: Pick<OpenProfile, 'settings' | 'cloud'>, flags: Values, env: Env, login = false): AuthMethod<Target> {
  if (typeof flags.authType === 'string') return byAuthType(flags.authType, '--auth-type');
  const named = methodNamedBy(flags);
  if (named) return named;
  const saved = savedMethod(profile.settings);
  if (env.OS_AUTH_TYPE && (!saved || (login && !derivedFromToken(env.OS_AUTH_TYPE)))) return byAuthType(env.OS_AUTH_TYPE, 'OS_AUTH_TYPE');
  if (saved) return saved;
  if (profile.cloud) {
    if (profile.cloud.authType) return byAuthType(profile.cloud.authType, `clouds.yaml cloud ${profile.cloud.name}`);
    return methodNamedBy(profile.cloud.settings as Values) ?? DEFAULT_METHOD;
  }
  return methodNamedBy(envLayer(env, METHOD_SETTINGS).values) ?? DEFAULT_METHOD;
}

/**
 * `OS_AUTH_TYPE=token` is what `export --openstack` leaves in a shell: it names a login from the
 * exported token. It does not turn a saved profile into one at `login` either (`--auth-type v3token` does).
 */
function derivedFromToken(authType: string): boolean {
  return Boolean(methodByAuthType(authType)?.startsFromToken);
}

/**
 * A cloud entry as a layer. OpenStack's rule: when a project is named, a cloud's `domain_*` is
 * the default domain of the user and the project rather than a domain scope.
 */
function cloudLayer(cloud: CloudEntry, higher: readonly Layer[]): Layer {
  const entryNamesProject = cloud.settings.project !== undefined || cloud.settings.projectId !== undefined;
  const projectFromAbove = higher.some((from) => from.values.project !== undefined || from.values.projectId !== undefined);
  const values: KeystoneSettings = !entryNamesProject && projectFromAbove ? domainAsDefaults(cloud.settings) : cloud.settings;
  return layer('clouds.yaml', values as Values, `clouds.yaml cloud ${cloud.name}`);
}

/** The layers a method's values come from, highest first: flags, environment, clouds.yaml entry, saved profile. */
export function methodLayers(env: Env, profile: Pick<OpenProfile, 'name' | 'settings' | 'cloud'>, method: AuthMethod<Target>, flags: Layer = layer('flag', {})): Layer[] {
  const environment = envLayer(env, method.settings);
  const layers = [flags, environment];
  if (profile.cloud && method.readsCloudsYaml) layers.push(cloudLayer(profile.cloud, layers));
  if (profile.settings && savedMethod(profile.settings) === method) layers.push(layer('profile', profile.settings as Values, `profile ${profile.name}`));
  return withVendorUrl(layers);
}

export interface ResolvedTarget {
  method: AuthMethod<Target>;
  target: Target;
  /** The cache key of `target`. */
  key: string;
  /** The values chosen, as the profile saves them, and where each came from. */
  settings: ProfileSettings;
  sources: Record<string, Source>;
  region?: string;
}

/**
 * The target a command acts for: what the command line, the environment, the clouds.yaml entry
 * and the profile together name. Commands other than `login` fail here (exit 3) when it is incomplete.
 */
export function resolveTarget(ctx: Context, profile: Pick<OpenProfile, 'name' | 'settings' | 'cloud'>, flags: Layer = layer('flag', {})): ResolvedTarget {
  const method = chooseMethod(profile, flags.values, ctx.env);
  const layers = methodLayers(ctx.env, profile, method, flags);
  const resolution = method.resolve(layers);
  if (!resolution.target) {
    const nothing = profile.settings === undefined && !profile.cloud && layers.every((from) => Object.keys(from.values).length === 0);
    if (nothing) throw notLoggedIn(profile.name, 'does not exist');
    throw new NoTokenError(`profile ${profile.name} is missing ${describeMissing(resolution.missing)}`, {
      hint: 'run `authctl login`, or set the missing values in the environment',
    });
  }
  const target = method.check(resolution.target, Boolean(profile.settings?.allowHttp));
  debugSources(ctx, method, resolution.settings, resolution.sources);
  const resolved: ResolvedTarget = { method, target, key: cacheKey(method, target), settings: resolution.settings, sources: resolution.sources };
  if (resolution.region !== undefined) resolved.region = resolution.region;
  return resolved;
}

/** `--debug`: each value in use and where it came from ("project demo (from OS_PROJECT_NAME)"). */
export function debugSources(ctx: Context, method: AuthMethod<Target>, settings: ProfileSettings, sources: Record<string, Source>): void {
  if (!ctx.reporter.debugEnabled) return;
  const values = settings as Record<string, string | boolean | undefined>;
  const parts = Object.entries(sources).map(([key, source]) => describeSourced(key, values[key] ?? '(derived)', source));
  ctx.reporter.debug(`${method.label}: ${parts.join(', ') || 'no settings'}`);
}

export function notLoggedIn(profile: string, why: string): NoTokenError {
  return new NoTokenError(`not logged in: profile ${profile} ${why}`, {
    hint: `run \`authctl login${profile === 'default' ? '' : ` --profile ${profile}`}\``,
  });
}

/** What renews a profile's token without asking, and why a saved secret was not used. */
export interface RenewalSecret {
  secret?: string;
  /** A secret is saved, but for another IAM or identity: it is never sent elsewhere. */
  savedForOther?: boolean;
}

/**
 * The secret that renews without asking: from the environment, the clouds.yaml entry, else the
 * one saved at login, but only for the IAM and identity it was saved with.
 */
export async function renewalSecret(ctx: Context, profile: OpenProfile, resolved: ResolvedTarget): Promise<RenewalSecret> {
  const { method } = resolved;
  // A passcode is never saved: a renewal has one only from OS_PASSCODE or AUTHCTL_PASSCODE_COMMAND.
  if (method.secret.selfSupplied) return { secret: '' };
  if (method.secret.oneTime) return { secret: await (await ctx.authIO(profile, false)).passcode(`Passcode (${method.label}):`) };
  const fromEnv = fromEnvironment(ctx.env, method.secret.setting);
  if (fromEnv !== undefined) return { secret: fromEnv };
  const fromCloud = cloudSecret(profile, method);
  if (fromCloud !== undefined) return { secret: fromCloud };
  const saved = await savedSecret(profile, method, resolved.target);
  // A public client renews with what the method keeps itself (a refresh token).
  return saved.secret === undefined && method.secret.optional && !saved.savedForOther ? { secret: '' } : saved;
}

/** Whether the profile was saved by `method` for the same IAM and identity as `target`: only then is its saved secret `target`'s. */
export function savedFor(profile: Pick<OpenProfile, 'settings'>, method: AuthMethod<Target>, target: Target): boolean {
  if (savedMethod(profile.settings) !== method) return false;
  const saved = method.resolve([layer('profile', profile.settings as Values)]).target;
  return saved !== undefined && sameIdentity(method, target, cacheKey(method, saved));
}

/** The saved secret, if it was saved for the same IAM and identity as `target`. */
export async function savedSecret(profile: OpenProfile, method: AuthMethod<Target>, target: Target): Promise<RenewalSecret> {
  const secret = await profile.secrets.readSecret(method.secret.role);
  if (secret === undefined) return {};
  return savedFor(profile, method, target) ? { secret } : { savedForOther: true };
}

export function checkMinTtl(env: Env, flag: string | undefined): number {
  const text = flag ?? (env.AUTHCTL_MIN_TTL || undefined);
  if (text === undefined) return 5 * 60 * 1000;
  const seconds = durationSetting(text, flag === undefined ? 'AUTHCTL_MIN_TTL' : '--min-ttl', Number.MAX_SAFE_INTEGER); // its own limit below says more
  if (seconds > 86400 * 7) throw new UsageError(`--min-ttl ${text} is over 7 days`, { hint: 'tokens live hours, not weeks; e.g. --min-ttl 10m' });
  return seconds * 1000;
}

/** The method's secret as the clouds.yaml entry (or its secure.yaml) gives it. */
export function cloudSecret(profile: Pick<OpenProfile, 'cloud'>, method: AuthMethod<Target>): string | undefined {
  const key = method.secret.setting.clouds;
  if (!method.readsCloudsYaml || !key?.startsWith('auth.') || !profile.cloud) return undefined;
  return profile.cloud.secrets[key.slice('auth.'.length)];
}
