import { UsageError } from '../core/errors.js';
import { keysFromToken } from '../iam/access-keys.js';
import { issueToken, revokeToken, tokenAuthBody, validateToken } from '../iam/keystone.js';
import { iamBase } from '../iam/logintoken.js';
import { listScopeChoices } from '../iam/projects.js';
import { toCachedToken, type AuthMethod } from './method.js';
import { openstackTokenVariables } from './openstack-variables.js';
import type { ProfileSettings } from '../core/profile-settings.js';
import { layer, missingSetting, pick, sourceOf, type Layer, type Missing, type Setting, type Source } from '../core/settings.js';
import type { DomainRef, KeystoneTarget, Scope, UserRef } from '../core/target.js';
import type { CachedToken } from '../core/token.js';
import { withoutUndefined } from '../util/objects.js';
import { VENDOR } from './vendors.js';

/**
 * What every Keystone v3 method shares: the auth URL, who the user is, and what the token is
 * scoped to. Each value is taken from the first layer that has it (flags, environment,
 * clouds.yaml, profile, prompt); the user and the scope are each taken whole from the first
 * layer that names one, so `--project-id` is never combined with an `OS_PROJECT_NAME` from the
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
  | 'trustId'
  | 'systemScope'
  | 'unscoped'
  | 'region'
  | 'vendor'
  | 'knownUserId'
>;

type StringKey = Exclude<keyof KeystoneSettings, 'unscoped'>;

const SCOPE_COMMANDS = ['login', 'token renew'] as const;

function row(key: StringKey | 'unscoped', setting: Omit<Setting, 'key' | 'saved'>): Setting & { key: keyof KeystoneSettings } {
  return { key, saved: 'profile', ...setting };
}

export const AUTH_URL = row('authUrl', {
  flag: '--auth-url',
  arg: '<url>',
  env: ['OS_AUTH_URL'],
  clouds: 'auth.auth_url',
  commands: ['login', 'logintoken'],
  help: { login: 'Keystone v3 base URL', logintoken: "IAM URL (default: the profile's)" },
});

export const USER_SETTINGS = [
  row('username', { flag: '--username', arg: '<name>', env: ['OS_USERNAME'], clouds: 'auth.username', commands: ['login'], help: 'user name' }),
  row('userId', { flag: '--user-id', arg: '<id>', env: ['OS_USER_ID'], clouds: 'auth.user_id', commands: ['login'], help: 'user id, instead of name and domain' }),
  row('userDomain', { flag: '--user-domain', arg: '<name>', env: ['OS_USER_DOMAIN_NAME'], clouds: 'auth.user_domain_name', commands: ['login'], help: "user's domain name" }),
  row('userDomainId', { flag: '--user-domain-id', arg: '<id>', env: ['OS_USER_DOMAIN_ID'], clouds: 'auth.user_domain_id', commands: ['login'], help: "user's domain id" }),
] as const;

export const SCOPE_SETTINGS = [
  row('projectId', { flag: '--project-id', arg: '<id>', env: ['OS_PROJECT_ID'], clouds: 'auth.project_id', commands: SCOPE_COMMANDS, help: { login: 'scope to a project by id', 'token renew': 'rescope to a project by id' } }),
  row('project', { flag: '--project', arg: '<name>', env: ['OS_PROJECT_NAME'], clouds: 'auth.project_name', commands: SCOPE_COMMANDS, help: { login: 'scope to a project by name', 'token renew': 'rescope to a project by name' } }),
  row('projectDomain', { flag: '--project-domain', arg: '<name>', env: ['OS_PROJECT_DOMAIN_NAME'], clouds: 'auth.project_domain_name', commands: SCOPE_COMMANDS, help: "the project's domain; default: the user's" }),
  row('projectDomainId', { flag: '--project-domain-id', arg: '<id>', env: ['OS_PROJECT_DOMAIN_ID'], clouds: 'auth.project_domain_id', commands: SCOPE_COMMANDS, help: "the project's domain id" }),
  row('domain', { flag: '--domain', arg: '<name>', env: ['OS_DOMAIN_NAME'], clouds: 'auth.domain_name', commands: SCOPE_COMMANDS, help: { login: 'scope to a domain by name', 'token renew': 'rescope to a domain by name' } }),
  row('domainId', { flag: '--domain-id', arg: '<id>', env: ['OS_DOMAIN_ID'], clouds: 'auth.domain_id', commands: SCOPE_COMMANDS, help: { login: 'scope to a domain by id', 'token renew': 'rescope to a domain by id' } }),
  row('trustId', { flag: '--trust-id', arg: '<id>', env: ['OS_TRUST_ID'], clouds: 'auth.trust_id', commands: SCOPE_COMMANDS, help: { login: 'scope to a trust (as its trustee)', 'token renew': 'rescope to a trust' } }),
  row('systemScope', { flag: '--system-scope', arg: '<all>', env: ['OS_SYSTEM_SCOPE'], clouds: 'auth.system_scope', commands: SCOPE_COMMANDS, help: { login: 'scope to the system (the only value is "all")', 'token renew': 'rescope to the system' } }),
  row('unscoped', { flag: '--unscoped', commands: SCOPE_COMMANDS, help: { login: 'get an unscoped token', 'token renew': 'renew as an unscoped token' } }),
] as const;

export const REGION = row('region', { flag: '--region', arg: '<name>', env: ['OS_REGION_NAME'], clouds: 'region_name', commands: ['login'], help: 'region: with --vendor it names the IAM; kept for `export --openstack`' });

/** Not a flag: what login learnt (`token.user.id`) for a user given by name, for a later virtual-MFA login. */
export const KNOWN_USER_ID = row('knownUserId', { arg: '<id>', commands: ['login'], help: "the user id IAM named at the last login (kept for OTC/Huawei virtual MFA, which needs it); OS_USER_ID gives it instead", hidden: true });

/** A TOTP passcode for a second factor (Keystone's multi-factor rules, or the v3totp method). */
export const PASSCODE: Setting = {
  key: 'passcode',
  env: ['OS_PASSCODE'],
  clouds: 'auth.passcode',
  secret: true,
  commands: ['login', 'token get'],
  help: 'the TOTP passcode, where the account asks for a second factor (else AUTHCTL_PASSCODE_COMMAND, else a prompt at a terminal)',
};

export const PASSCODE_COMMAND: Setting = {
  key: 'passcodeCommand',
  env: ['AUTHCTL_PASSCODE_COMMAND'],
  commands: ['login', 'token get'],
  help: 'a command line that prints the current TOTP passcode (oathtool, ykman, a password manager): lets renewals answer a second factor',
};

/** Every setting of a Keystone v3 login but its secret. */
export const KEYSTONE_SETTINGS: readonly (Setting & { key: keyof KeystoneSettings })[] = [AUTH_URL, VENDOR as Setting & { key: 'vendor' }, ...USER_SETTINGS, ...SCOPE_SETTINGS, REGION, KNOWN_USER_ID];

const byKey = (key: keyof KeystoneSettings): Setting => KEYSTONE_SETTINGS.find((setting) => setting.key === key)!;

/** Where a project's domain comes from when nothing names it: the user's (Keystone's default too). */
export const USERS_DOMAIN = "the user's domain";

/** The values `resolveKeystone` can find missing; a prompt asks for exactly these. */
export const MISSING = {
  authUrl: { what: 'auth URL', flag: '--auth-url (or --vendor with --region)', env: 'OS_AUTH_URL' },
  user: { what: 'user name', flag: '--username or --user-id', env: 'OS_USERNAME or OS_USER_ID' },
  userDomain: missingSetting("user's domain", byKey('userDomain')),
  projectDomain: missingSetting("project's domain", byKey('projectDomain')),
} as const satisfies Record<string, Missing>;

export interface KeystoneResolution {
  target?: KeystoneTarget;
  missing: Missing[];
  /** The values chosen, in the form a profile saves them. */
  settings: KeystoneSettings;
  /** Where each chosen value came from. */
  sources: { [key in keyof KeystoneSettings]?: Source };
  region?: string;
}

/**
 * The domain of the user or project that `owner` names by `ownerKey`: from the first layer naming
 * one by id or name (the id wins within a layer). A layer below the owner's that names another user
 * (or another scope) keeps its domain: a profile's saved domain belongs to its saved user or
 * project, not to another one the environment names now.
 */
function domainOf(
  layers: readonly Layer<KeystoneSettings>[],
  owner: Layer<KeystoneSettings>,
  ownerKey: 'username' | 'project',
  idKey: StringKey,
  nameKey: StringKey,
): { domain: DomainRef; key: StringKey; from: Layer<KeystoneSettings> } | undefined {
  const ownerIndex = layers.indexOf(owner);
  const namesAnother = (values: KeystoneSettings) =>
    values[ownerKey] !== owner.values[ownerKey] && (ownerKey === 'username' ? values.username !== undefined || values.userId !== undefined : scopeFrom(values) !== undefined);
  for (const [index, from] of layers.entries()) {
    if (index > ownerIndex && namesAnother(from.values)) continue;
    if (from.values[idKey] !== undefined) return { domain: { id: from.values[idKey] }, key: idKey, from };
    if (from.values[nameKey] !== undefined) return { domain: { name: from.values[nameKey] }, key: nameKey, from };
  }
  return undefined;
}

function conflict(flags: string[]): UsageError {
  return new UsageError(`${flags.join(' and ')} cannot be used together`, { hint: 'give one way of naming it' });
}

/** Checks the values typed on the command line for contradictions the user should hear about. */
export function checkFlagConflicts(flags: KeystoneSettings): void {
  if (flags.username !== undefined && flags.userId !== undefined) throw conflict(['--username', '--user-id']);
  if (flags.userDomain !== undefined && flags.userDomainId !== undefined) throw conflict(['--user-domain', '--user-domain-id']);
  if (flags.projectDomain !== undefined && flags.projectDomainId !== undefined) throw conflict(['--project-domain', '--project-domain-id']);
  const scopes = (
    [
      ['--project-id', flags.projectId],
      ['--project', flags.project],
      ['--domain', flags.domain],
      ['--domain-id', flags.domainId],
      ['--trust-id', flags.trustId],
      ['--system-scope', flags.systemScope],
      ['--unscoped', flags.unscoped || undefined],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (scopes.length > 1) throw conflict(scopes.map(([flag]) => flag));
}

/** Whether the values name a scope (rescoping, or a scope given alongside a credential that carries its own). */
export function namesScope(values: KeystoneSettings): boolean {
  return scopeFrom(values) !== undefined;
}

function scopeFrom(values: KeystoneSettings): 'projectId' | 'project' | 'domainId' | 'domain' | 'trustId' | 'systemScope' | 'unscoped' | undefined {
  if (values.trustId !== undefined) return 'trustId';
  if (values.systemScope !== undefined) return 'systemScope';
  if (values.projectId !== undefined) return 'projectId';
  if (values.project !== undefined) return 'project';
  if (values.domainId !== undefined) return 'domainId';
  if (values.domain !== undefined) return 'domain';
  if (values.unscoped) return 'unscoped';
  return undefined;
}

export function resolveKeystone(layers: readonly Layer<KeystoneSettings>[]): KeystoneResolution {
  const missing: Missing[] = [];
  const settings: KeystoneSettings = {};
  const sources: KeystoneResolution['sources'] = {};
  const take = <K extends keyof KeystoneSettings>(key: K, value: KeystoneSettings[K], from: Layer<KeystoneSettings>) => {
    settings[key] = value;
    sources[key] = sourceOf(from, key);
  };

  const authUrl = pick(layers, 'authUrl');
  if (authUrl === undefined) missing.push(MISSING.authUrl);
  else {
    settings.authUrl = authUrl.value;
    sources.authUrl = authUrl.source;
  }

  let user: UserRef | undefined;
  let userDomain: ReturnType<typeof domainOf>;
  const userLayer = layers.find((from) => from.values.userId !== undefined || from.values.username !== undefined);
  if (userLayer?.values.userId !== undefined) {
    user = { id: userLayer.values.userId };
    take('userId', userLayer.values.userId, userLayer);
  } else if (userLayer?.values.username !== undefined) {
    take('username', userLayer.values.username, userLayer);
    const found = domainOf(layers, userLayer, 'username', 'userDomainId', 'userDomain');
    userDomain = found;
    if (found) {
      user = { name: userLayer.values.username, domain: found.domain };
      take(found.key, 'id' in found.domain ? found.domain.id : found.domain.name, found.from);
    } else {
      missing.push(MISSING.userDomain);
    }
  } else {
    missing.push(MISSING.user);
  }

  let scope: Scope = { kind: 'unscoped' };
  for (const from of layers) {
    const kind = scopeFrom(from.values);
    if (!kind) continue;
    const values = from.values;
    if (kind === 'projectId') {
      scope = { kind: 'project', id: values.projectId! };
      take('projectId', values.projectId!, from);
    } else if (kind === 'project') {
      take('project', values.project!, from);
      const found = domainOf(layers, from, 'project', 'projectDomainId', 'projectDomain');
      const domain = found?.domain ?? (user && 'domain' in user ? user.domain : undefined);
      if (domain) {
        scope = { kind: 'project', name: values.project!, domain };
        if (found) take(found.key, 'id' in found.domain ? found.domain.id : found.domain.name, found.from);
        else {
          const key = 'id' in domain ? 'projectDomainId' : 'projectDomain';
          settings[key] = 'id' in domain ? domain.id : domain.name;
          if (userDomain) sources[key] = { kind: userDomain.from.kind, name: USERS_DOMAIN };
        }
      } else if (user) {
        missing.push(MISSING.projectDomain);
      }
    } else if (kind === 'domainId') {
      scope = { kind: 'domain', domain: { id: values.domainId! } };
      take('domainId', values.domainId!, from);
    } else if (kind === 'domain') {
      scope = { kind: 'domain', domain: { name: values.domain! } };
      take('domain', values.domain!, from);
    } else if (kind === 'trustId') {
      scope = { kind: 'trust', trustId: values.trustId! };
      take('trustId', values.trustId!, from);
    } else if (kind === 'systemScope') {
      if (values.systemScope !== 'all') {
        throw new UsageError(`system scope ${JSON.stringify(values.systemScope)} (from ${from.origin('systemScope')}) is not "all"`, { hint: 'Keystone has one system scope: --system-scope all' });
      }
      scope = { kind: 'system' };
      take('systemScope', 'all', from);
    } else {
      take('unscoped', true, from);
    }
    break;
  }

  const region = pick(layers, 'region');
  if (region !== undefined) {
    settings.region = region.value;
    sources.region = region.source;
  }

  const vendor = pick(layers, 'vendor');
  if (vendor !== undefined) {
    settings.vendor = vendor.value;
    sources.vendor = vendor.source;
  }

  const resolution: KeystoneResolution = { missing, settings, sources };
  if (region !== undefined) resolution.region = region.value;
  if (missing.length === 0 && authUrl !== undefined && user) {
    const knownUserId = user && 'name' in user ? knownIdOf(layers, user) : undefined;
    if (knownUserId !== undefined) settings.knownUserId = knownUserId;
    resolution.target = { kind: 'keystone', authUrl: authUrl.value, user, scope, ...(knownUserId !== undefined ? { knownUserId } : {}) };
  }
  return resolution;
}

/** The id a saved profile learnt for this very user (same name and domain), if any. */
function knownIdOf(layers: readonly Layer<KeystoneSettings>[], user: { name: string; domain: DomainRef }): string | undefined {
  const saved = layers.find((from) => from.kind === 'profile')?.values;
  if (!saved?.knownUserId || saved.username !== user.name) return undefined;
  const sameDomain = 'id' in user.domain ? saved.userDomainId === user.domain.id : saved.userDomain === user.domain.name;
  return sameDomain ? saved.knownUserId : undefined;
}

/**
 * The auth URL and scope of a login whose user only IAM's answer names (a token, a federated
 * sign-in): the scope resolved as a password login resolves it, a user id standing in.
 */
export function resolveFromToken(layers: readonly Layer[], kind: string): { authUrl?: string; scope?: Scope; missing: Missing[]; settings: Record<string, string | boolean>; sources: Record<string, Source>; region?: string } {
  const typed = layers as readonly Layer<KeystoneSettings>[];
  const sources: Record<string, Source> = {};
  const authUrl = pick(typed, 'authUrl');
  if (authUrl) sources.authUrl = authUrl.source;
  const scoped = resolveKeystone(typed.map((from) => ({ ...from, values: { ...from.values, authUrl: 'x', userId: 'token' } })));
  const settings: Record<string, string | boolean> = { kind, ...(authUrl ? { authUrl: authUrl.value } : {}) };
  for (const setting of SCOPE_SETTINGS) {
    const value = scoped.settings[setting.key];
    if (value === undefined) continue;
    settings[setting.key] = value;
    const from = typed.find((candidate) => candidate.values[setting.key] !== undefined);
    if (from) sources[setting.key] = sourceOf(from, setting.key);
  }
  const region = pick(typed, 'region');
  if (region) settings.region = region.value;
  const vendor = pick(typed, 'vendor');
  if (vendor) settings.vendor = vendor.value;
  const missing = authUrl ? scoped.missing.filter((item) => item.what === "project's domain") : [missingSetting('auth URL', AUTH_URL)];
  return {
    missing,
    settings,
    sources,
    ...(region ? { region: region.value } : {}),
    ...(authUrl ? { authUrl: authUrl.value } : {}),
    ...(authUrl && scoped.target && missing.length === 0 ? { scope: scoped.target.scope } : {}),
  };
}

/** Plain values as layers, for callers (and tests) that have no sources to name. */
export function plainLayers(values: readonly KeystoneSettings[], kind: Layer['kind'] = 'profile'): Layer<KeystoneSettings>[] {
  return values.map((value) => layer(kind, value));
}

/**
 * openstacksdk's `_handle_domain_id`: when a project is named, `domain_id`/`domain_name` are not a
 * domain scope but the default for the user's and the project's domain (each only where not set).
 * Without a project they stay a domain scope.
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

function domainKey(domain: DomainRef): string[] {
  return 'id' in domain ? ['id', domain.id] : ['name', domain.name];
}

/** The user as the cache key names it. */
export function userKey(user: UserRef): unknown[] {
  return 'id' in user ? ['id', user.id] : ['name', user.name, domainKey(user.domain)];
}

/** The scope as the cache key names it. */
export function scopeKey(scope: Scope): unknown[] {
  switch (scope.kind) {
    case 'unscoped':
      return ['unscoped'];
    case 'domain':
      return ['domain', domainKey(scope.domain)];
    case 'project':
      return 'id' in scope ? ['project', 'id', scope.id] : ['project', 'name', scope.name, domainKey(scope.domain)];
    case 'system':
      return ['system', 'all'];
    case 'trust':
      return ['trust', scope.trustId];
  }
}

/** What a login of a user named by name learnt for the next: the user's id (virtual MFA needs it). */
export function rememberUserId(target: { user: UserRef }, token: CachedToken): ProfileSettings {
  return 'name' in target.user && token.user?.id ? { knownUserId: token.user.id } : {};
}

/**
 * What a Keystone token got with a user's own factors can do: be validated and revoked, renew
 * (or rescope) from itself with the token method, and serve the OpenStack client as a token.
 */
export function userTokenCapabilities<T extends { kind: string; authUrl: string; scope: Scope }>(method: () => AuthMethod<T>): AuthMethod<T>['can'] {
  return {
    validate: validateToken,
    revoke: (http, issuer, token) => revokeToken(http, issuer, token, token),
    async renewFromToken(io, target, current) {
      const issued = await issueToken(io.http, target.authUrl, tokenAuthBody(current.token, target.scope), io.now, { 'x-auth-token': current.token });
      return toCachedToken(method(), target, issued, target.authUrl);
    },
    rescope: true,
    openstackVariables: openstackTokenVariables,
    temporaryKeys: (io, target, current, durationSeconds) => keysFromToken(io.http, iamBase(target.authUrl), current.token, durationSeconds),
    scopes: {
      list: (io, target, current) => listScopeChoices(io.http, target.authUrl, current.token, [current.user?.domain, current.project?.domain, current.domain]),
      unscoped: (target) => ({ ...target, scope: { kind: 'unscoped' } }),
      // Resolved as the saved settings will be, so the token's cache key is the profile's.
      scoped: (target, choice) => ({ ...target, scope: resolveKeystone(plainLayers([{ authUrl: target.authUrl, userId: '-', ...choice.settings }])).target!.scope }),
    },
  };
}
