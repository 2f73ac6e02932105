import type { Context } from '../cli/context.js';
import type { ProfileSettings } from '../store/config.js';
import type { ProfileSecrets } from '../store/profile-secrets.js';
import type { Env } from '../io/io.js';
import { durationSetting } from './duration.js';
import { NoTokenError, UsageError } from './errors.js';
import { checkUrl, describeMissing, keystoneEnvLayer, resolveKeystone, type KeystoneSettings } from './settings.js';
import type { Target } from './target.js';

/** A profile as a command needs it: its name, saved settings, and secrets in the store it uses. */
export interface OpenProfile {
  name: string;
  settings: ProfileSettings | undefined;
  secrets: ProfileSecrets;
}

export async function openProfile(ctx: Context, name?: string): Promise<OpenProfile> {
  const profileName = name ?? (await ctx.profileName());
  const settings = (await ctx.config()).profile(profileName);
  ctx.useTlsDefaults({ ...(settings?.cacert ? { cacert: settings.cacert } : {}), ...(settings?.insecure ? { insecure: true } : {}) });
  const secrets = await ctx.profileSecrets(profileName, ctx.storeKind(settings?.store));
  return { name: profileName, settings, secrets };
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
export function profileTarget(env: Env, profile: Pick<OpenProfile, 'name' | 'settings'>, flags: KeystoneSettings = {}): ResolvedTarget {
  const saved = profile.settings;
  const oauth2 = saved?.kind === 'oauth2' || (saved === undefined && Boolean(env[CLIENT_ID_ENV]));
  if (oauth2) {
    const clientId = env[CLIENT_ID_ENV] || saved?.clientId;
    const tokenUrl = saved?.tokenUrl;
    if (!clientId || !tokenUrl) throw notLoggedIn(profile.name, 'has no client-credentials settings');
    return { target: { kind: 'oauth2', clientId, tokenUrl } };
  }
  const layers = [flags, keystoneEnvLayer(env), saved ?? {}];
  const resolution = resolveKeystone(layers);
  if (!resolution.target) {
    if (saved === undefined && Object.keys(layers[1]!).length === 0) throw notLoggedIn(profile.name, 'does not exist');
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
  if (target.kind === 'keystone') return ctx.env.OS_PASSWORD || (await profile.secrets.readSecret('password'));
  return ctx.env[CLIENT_SECRET_ENV] || (await profile.secrets.readSecret('client-secret'));
}

export function checkMinTtl(env: Env, flag: string | undefined): number {
  const text = flag ?? (env.AUTHCTL_MIN_TTL || undefined);
  if (text === undefined) return 5 * 60 * 1000;
  const seconds = durationSetting(text, flag === undefined ? 'AUTHCTL_MIN_TTL' : '--min-ttl');
  if (seconds > 86400 * 7) throw new UsageError(`--min-ttl ${text} is over 7 days`, { hint: 'tokens live hours, not weeks; e.g. --min-ttl 10m' });
  return seconds * 1000;
}
