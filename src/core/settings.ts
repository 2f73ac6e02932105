import type { ProfileSettings } from '../store/config.js';
import type { Env } from '../io/io.js';
import { withoutUndefined } from '../util/objects.js';
import { UsageError } from './errors.js';
import type { DomainRef, KeystoneTarget, Scope, UserRef } from './target.js';

/**
 * Where a Keystone login's values come from: each value from the first layer that has it, in
 * the order flags, environment, saved profile (then a prompt, added by the caller as a last
 * layer). The user and the scope are each taken whole from the first layer that names one, so
 * `--project-id` on the command line is never combined with an `OS_PROJECT_NAME` from the
 * environment.
 */

export type KeystoneSettings = Pick<
  ProfileSettings,
  | 'authUrl'
  | 'username'
  | 'userId'
  | 'userDomain'
  | 'userDomainId'
  | 'projectId'
  | 'project'
  | 'projectDomain'
  | 'projectDomainId'
  | 'domain'
  | 'domainId'
  | 'unscoped'
  | 'region'
>;

type StringSetting = Exclude<keyof KeystoneSettings, 'unscoped'>;

/** Each setting's flag and environment variable, as README documents them. */
export const KEYSTONE_SOURCES: Record<StringSetting, { flag: string; env: string }> = {
  authUrl: { flag: '--auth-url', env: 'OS_AUTH_URL' },
  username: { flag: '--username', env: 'OS_USERNAME' },
  userId: { flag: '--user-id', env: 'OS_USER_ID' },
  userDomain: { flag: '--user-domain', env: 'OS_USER_DOMAIN_NAME' },
  userDomainId: { flag: '--user-domain-id', env: 'OS_USER_DOMAIN_ID' },
  projectId: { flag: '--project-id', env: 'OS_PROJECT_ID' },
  project: { flag: '--project', env: 'OS_PROJECT_NAME' },
  projectDomain: { flag: '--project-domain', env: 'OS_PROJECT_DOMAIN_NAME' },
  projectDomainId: { flag: '--project-domain-id', env: 'OS_PROJECT_DOMAIN_ID' },
  domain: { flag: '--domain', env: 'OS_DOMAIN_NAME' },
  domainId: { flag: '--domain-id', env: 'OS_DOMAIN_ID' },
  region: { flag: '--region', env: 'OS_REGION_NAME' },
};

export const PASSWORD_ENV = 'OS_PASSWORD';

/** Names, ids and URLs never hold control characters; one that does is a mistake or an attack. */
export function checkText(value: string, name: string): string {
  if (/[\u0000-\u001f\u007f]/.test(value)) {
    throw new UsageError(`${name} contains a control character (a line break, tab, NUL...)`, { hint: `check the value of ${name}` });
  }
  return value;
}

export function keystoneEnvLayer(env: Env): KeystoneSettings {
  const layer: KeystoneSettings = {};
  for (const [key, { env: name }] of Object.entries(KEYSTONE_SOURCES) as [StringSetting, { env: string }][]) {
    const value = env[name];
    if (value !== undefined && value !== '') layer[key] = checkText(value, name);
  }
  return layer;
}

/** A value nobody supplied, named the way the user can supply it. */
export interface Missing {
  what: string;
  flag: string;
  env?: string;
}

export const MISSING_PASSWORD: Missing = { what: 'password', flag: '--password-stdin', env: PASSWORD_ENV };

/** The values `resolveKeystone` can find missing; a prompt asks for exactly these. */
export const MISSING = {
  authUrl: { what: 'auth URL', ...KEYSTONE_SOURCES.authUrl },
  user: { what: 'user name', flag: '--username or --user-id', env: 'OS_USERNAME or OS_USER_ID' },
  userDomain: { what: "user's domain", flag: '--user-domain', env: 'OS_USER_DOMAIN_NAME' },
  projectDomain: { what: "project's domain", flag: '--project-domain', env: 'OS_PROJECT_DOMAIN_NAME' },
} as const satisfies Record<string, Missing>;

export function describeMissing(missing: readonly Missing[]): string {
  return missing.map((m) => `${m.what} (${m.flag}${m.env ? `, env ${m.env}` : ''})`).join('; ');
}

export interface KeystoneResolution {
  target?: KeystoneTarget;
  missing: Missing[];
  /** The values chosen, in the form a profile saves them. */
  settings: KeystoneSettings;
  region?: string;
}

function first<K extends StringSetting>(layers: readonly KeystoneSettings[], key: K): string | undefined {
  for (const layer of layers) if (layer[key] !== undefined) return layer[key];
  return undefined;
}

/** The domain from the first layer naming one by id or name (the id wins within a layer). */
function firstDomain(layers: readonly KeystoneSettings[], idKey: StringSetting, nameKey: StringSetting): DomainRef | undefined {
  for (const layer of layers) {
    if (layer[idKey] !== undefined) return { id: layer[idKey] };
    if (layer[nameKey] !== undefined) return { name: layer[nameKey] };
  }
  return undefined;
}

function conflict(flags: string[]): UsageError {
  return new UsageError(`${flags.join(' and ')} cannot be used together`, { hint: 'give one way of naming it' });
}

/** Checks a layer typed on the command line: values and contradictions the user should hear about. */
export function checkFlagConflicts(flags: KeystoneSettings): void {
  for (const [key, { flag }] of Object.entries(KEYSTONE_SOURCES) as [StringSetting, { flag: string }][]) {
    const value = flags[key];
    if (value !== undefined) checkText(value, flag);
  }
  if (flags.username !== undefined && flags.userId !== undefined) throw conflict(['--username', '--user-id']);
  if (flags.userDomain !== undefined && flags.userDomainId !== undefined) throw conflict(['--user-domain', '--user-domain-id']);
  if (flags.projectDomain !== undefined && flags.projectDomainId !== undefined) throw conflict(['--project-domain', '--project-domain-id']);
  const scopes = (
    [
      ['--project-id', flags.projectId],
      ['--project', flags.project],
      ['--domain', flags.domain],
      ['--domain-id', flags.domainId],
      ['--unscoped', flags.unscoped || undefined],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (scopes.length > 1) throw conflict(scopes.map(([flag]) => flag));
}

function scopeFrom(layer: KeystoneSettings): 'projectId' | 'project' | 'domainId' | 'domain' | 'unscoped' | undefined {
  if (layer.projectId !== undefined) return 'projectId';
  if (layer.project !== undefined) return 'project';
  if (layer.domainId !== undefined) return 'domainId';
  if (layer.domain !== undefined) return 'domain';
  if (layer.unscoped) return 'unscoped';
  return undefined;
}

export function resolveKeystone(layers: readonly KeystoneSettings[]): KeystoneResolution {
  const missing: Missing[] = [];
  const settings: KeystoneSettings = {};

  const authUrl = first(layers, 'authUrl');
  if (authUrl === undefined) missing.push(MISSING.authUrl);
  else settings.authUrl = authUrl;

  let user: UserRef | undefined;
  const userLayer = layers.find((layer) => layer.userId !== undefined || layer.username !== undefined);
  if (userLayer?.userId !== undefined) {
    user = { id: userLayer.userId };
    settings.userId = userLayer.userId;
  } else if (userLayer?.username !== undefined) {
    settings.username = userLayer.username;
    const domain = firstDomain(layers, 'userDomainId', 'userDomain');
    if (domain) {
      user = { name: userLayer.username, domain };
      if ('id' in domain) settings.userDomainId = domain.id;
      else settings.userDomain = domain.name;
    } else {
      missing.push(MISSING.userDomain);
    }
  } else {
    missing.push(MISSING.user);
  }

  let scope: Scope = { kind: 'unscoped' };
  for (const layer of layers) {
    const kind = scopeFrom(layer);
    if (!kind) continue;
    if (kind === 'projectId') {
      scope = { kind: 'project', id: layer.projectId! };
      settings.projectId = layer.projectId!;
    } else if (kind === 'project') {
      settings.project = layer.project!;
      const domain = firstDomain(layers, 'projectDomainId', 'projectDomain') ?? (user && 'domain' in user ? user.domain : undefined);
      if (domain) {
        scope = { kind: 'project', name: layer.project!, domain };
        if ('id' in domain) settings.projectDomainId = domain.id;
        else settings.projectDomain = domain.name;
      } else if (user) {
        missing.push(MISSING.projectDomain);
      }
    } else if (kind === 'domainId') {
      scope = { kind: 'domain', domain: { id: layer.domainId! } };
      settings.domainId = layer.domainId!;
    } else if (kind === 'domain') {
      scope = { kind: 'domain', domain: { name: layer.domain! } };
      settings.domain = layer.domain!;
    } else {
      settings.unscoped = true;
    }
    break;
  }

  const region = first(layers, 'region');
  if (region !== undefined) settings.region = region;

  const resolution: KeystoneResolution = { missing, settings };
  if (region !== undefined) resolution.region = region;
  if (missing.length === 0 && authUrl !== undefined && user) resolution.target = { kind: 'keystone', authUrl, user, scope };
  return resolution;
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Checks a URL before anything is sent to it, and normalises it (no trailing slash).
 * Plain http is only for loopback unless explicitly allowed: passwords must not cross a network in clear.
 */
export function checkUrl(text: string, what: string, flag: string, allowHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${what} ${JSON.stringify(text)} is not a URL`, { hint: `give a full https:// URL with ${flag}` });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UsageError(`${what} ${JSON.stringify(text)} is not an http(s) URL`, { hint: `give a full https:// URL with ${flag}` });
  }
  if (url.username || url.password) {
    throw new UsageError(`${what} must not contain credentials`, { hint: 'remove the user:password@ part; authctl asks for the password itself' });
  }
  if (url.search || url.hash) {
    throw new UsageError(`${what} ${JSON.stringify(text)} must not have a query or fragment`, { hint: `give the base URL with ${flag}` });
  }
  if (url.protocol === 'http:' && !allowHttp && !isLoopback(url.hostname)) {
    throw new UsageError(`refusing plain http:// for ${url.host}: credentials would cross the network unencrypted`, {
      hint: 'use https://, or pass --allow-http if you really mean it',
    });
  }
  return url.href.replace(/\/+$/, '');
}

/**
 * openstacksdk's `_handle_domain_id`: when a project is named, `domain_id`/`domain_name` are not a
 * domain scope but the default for the user's and the project's domain (each only where not set).
 * Without a project they stay a domain scope. Exported for a caller whose higher layer (flags,
 * environment) names the project while the cloud entry names only `domain_*`.
 */
export function domainAsDefaults(settings: KeystoneSettings): KeystoneSettings {
  const { domain, domainId, ...rest } = settings;
  return withoutUndefined({
    ...rest,
    userDomainId: rest.userDomainId ?? domainId,
    projectDomainId: rest.projectDomainId ?? domainId,
    userDomain: rest.userDomain ?? domain,
    projectDomain: rest.projectDomain ?? domain,
  });
}
