import { readFileSync } from 'node:fs';
import type { Context } from '../cli/context.js';
import type { ProfileSettings } from '../store/config.js';
import type { ProfileSecrets } from '../store/profile-secrets.js';
import type { Env } from '../io/io.js';
import { durationSetting } from './duration.js';
import type { CloudEntry } from './clouds.js';
import { NoTokenError, UsageError } from './errors.js';
import { checkUrl, describeMissing, domainAsDefaults, keystoneEnvLayer, resolveKeystone, type KeystoneSettings } from './settings.js';
import type { Target } from './target.js';

/** A profile as a command needs it: its name, saved settings, secrets, and the clouds.yaml entry in use. */
export interface OpenProfile {
  name: string;
  settings: ProfileSettings | undefined;
  secrets: ProfileSecrets;
  cloud?: CloudEntry;
}

export async function openProfile(ctx: Context, name?: string): Promise<OpenProfile> {
  const profileName = name ?? (await ctx.profileName());
  const settings = (await ctx.config()).profile(profileName);
  const cloudName = ctx.cloudName();
  // clouds.yaml describes Keystone logins: an OAuth2 profile ignores OS_CLOUD, and refuses --os-cloud.
  if (cloudName?.explicit && settings?.kind === 'oauth2') {
    throw new UsageError(`profile ${profileName} uses OAuth2 client credentials; --os-cloud names a Keystone login`, { hint: 'use another --profile for the cloud' });
  }
  const cloud = cloudName === undefined || settings?.kind === 'oauth2' ? undefined : await readCloud(ctx, cloudName.name);
  // TLS: the command line and environment first (Context.tls), then the cloud entry, then the profile.
  const cacert = cloud?.cacert ?? settings?.cacert;
  const insecure = cloud?.verify === false || Boolean(settings?.insecure);
  ctx.useTlsDefaults({ ...(cacert ? { cacert } : {}), ...(insecure ? { insecure } : {}) });
  const secrets = await ctx.profileSecrets(profileName, ctx.storeKind(settings?.store));
  return cloud ? { name: profileName, settings, secrets, cloud } : { name: profileName, settings, secrets };
}

/** The `clouds.yaml` entry named by --os-cloud or OS_CLOUD, found the way OpenStack's tools find it. */
async function readCloud(ctx: Context, name: string): Promise<CloudEntry> {
  const { cloudsYamlCandidates, loadCloud, secureYamlCandidates } = await import('./clouds.js');
  const files = {
    readFile(path: string): string | undefined {
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw new UsageError(`cannot read ${path}: ${(error as Error).message}`, { hint: 'check its permissions' });
      }
    },
  };
  const home = ctx.env.HOME || ctx.home;
  const entry = loadCloud(name, files, cloudsYamlCandidates(ctx.env, ctx.cwd, home), secureYamlCandidates(ctx.env, ctx.cwd, home));
  ctx.secrets.add(entry.password);
  return entry;
}

/**
 * A cloud entry as a settings layer. OpenStack's rule: when a project is named, a cloud's
 * `domain_*` is the default domain of the user and the project rather than a domain scope.
 */
function cloudLayer(cloud: CloudEntry | undefined, higher: readonly KeystoneSettings[]): KeystoneSettings {
  if (!cloud) return {};
  const entryNamesProject = cloud.settings.project !== undefined || cloud.settings.projectId !== undefined;
  const projectFromAbove = higher.some((layer) => layer.project !== undefined || layer.projectId !== undefined);
  return !entryNamesProject && projectFromAbove ? domainAsDefaults(cloud.settings) : cloud.settings;
}

export const CLIENT_ID_ENV = 'AUTHCTL_CLIENT_ID';
export const CLIENT_SECRET_ENV = 'AUTHCTL_CLIENT_SECRET';

export interface ResolvedTarget {
  target: Target;
  region?: string;
  /** For Keystone targets: the values chosen, in the form a profile saves them. */
  settings?: KeystoneSettings;
}

/**
 * The target a command acts for: what the command line, the environment and the profile
 * together name. Commands other than `login` fail here (exit 3) when it is incomplete.
 */
/** The settings layers of a Keystone login, in precedence order: flags, environment, clouds.yaml entry, saved profile. */
export function keystoneLayers(env: Env, profile: Pick<OpenProfile, 'settings' | 'cloud'>, flags: KeystoneSettings): KeystoneSettings[] {
  const environment = keystoneEnvLayer(env);
  const saved = profile.settings?.kind === 'oauth2' ? {} : (profile.settings ?? {});
  return [flags, environment, cloudLayer(profile.cloud, [flags, environment]), saved];
}

export function profileTarget(env: Env, profile: Pick<OpenProfile, 'name' | 'settings' | 'cloud'>, flags: KeystoneSettings = {}): ResolvedTarget {
  const saved = profile.settings;
  const oauth2 = !profile.cloud && (saved?.kind === 'oauth2' || (saved === undefined && Boolean(env[CLIENT_ID_ENV])));
  if (oauth2) {
    const clientId = env[CLIENT_ID_ENV] || saved?.clientId;
    const tokenUrl = saved?.tokenUrl;
    if (!clientId || !tokenUrl) throw notLoggedIn(profile.name, 'has no client-credentials settings');
    return { target: { kind: 'oauth2', clientId, tokenUrl } };
  }
  const layers = keystoneLayers(env, profile, flags);
  const resolution = resolveKeystone(layers);
  if (!resolution.target) {
    if (saved === undefined && !profile.cloud && Object.keys(layers[1]!).length === 0) throw notLoggedIn(profile.name, 'does not exist');
    throw new NoTokenError(`profile ${profile.name} is missing ${describeMissing(resolution.missing)}`, {
      hint: 'run `authctl login`, or set the missing values in the environment',
    });
  }
  const target = { ...resolution.target, authUrl: checkUrl(resolution.target.authUrl, 'auth URL', '--auth-url', Boolean(saved?.allowHttp)) };
  const result: ResolvedTarget = { target, settings: resolution.settings };
  if (resolution.region !== undefined) result.region = resolution.region;
  return result;
}

export function notLoggedIn(profile: string, why: string): NoTokenError {
  return new NoTokenError(`not logged in: profile ${profile} ${why}`, {
    hint: `run \`authctl login${profile === 'default' ? '' : ` --profile ${profile}`}\``,
  });
}

/** The secret that renews a profile's token without asking: from the environment, else saved. */
export async function renewalSecret(ctx: Context, profile: OpenProfile, target: Target): Promise<string | undefined> {
  if (target.kind === 'keystone') return ctx.env.OS_PASSWORD || profile.cloud?.password || (await profile.secrets.readSecret('password'));
  return ctx.env[CLIENT_SECRET_ENV] || (await profile.secrets.readSecret('client-secret'));
}

export function checkMinTtl(env: Env, flag: string | undefined): number {
  const text = flag ?? (env.AUTHCTL_MIN_TTL || undefined);
  if (text === undefined) return 5 * 60 * 1000;
  const seconds = durationSetting(text, flag === undefined ? 'AUTHCTL_MIN_TTL' : '--min-ttl');
  if (seconds > 86400 * 7) throw new UsageError(`--min-ttl ${text} is over 7 days`, { hint: 'tokens live hours, not weeks; e.g. --min-ttl 10m' });
  return seconds * 1000;
}
