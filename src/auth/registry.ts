import type { ProfileSchema } from '../core/profile-settings.js';
import type { Setting, Values } from '../core/settings.js';
import { keyKind, type AuthMethod, type Target } from './method.js';
import { agencyAssumeRole } from './methods/agency.js';
import { huaweiIdToken } from './methods/huawei-id-token.js';
import { keystoneApplicationCredential } from './methods/keystone-application-credential.js';
import { keystoneMultiFactor } from './methods/keystone-multifactor.js';
import { keystoneOAuth2 } from './methods/keystone-oauth2.js';
import { keystoneOidcAccessToken, keystoneOidcAuthCode, keystoneOidcClientCredentials, keystoneOidcDevice, keystoneOidcPassword } from './methods/keystone-oidc.js';
import { keystonePassword } from './methods/keystone-password.js';
import { keystoneToken } from './methods/keystone-token.js';
import { keystoneTotp } from './methods/keystone-totp.js';
import { oauth2ClientCredentials } from './methods/oauth2-client-credentials.js';
import { openIdConnect } from './methods/oidc.js';

/**
 * Every way of signing in, in the order they are tried when the values present must decide.
 * A new method is a module under `methods/` and one line here.
 */
export const AUTH_METHODS: readonly AuthMethod<never>[] = [agencyAssumeRole, keystoneApplicationCredential, huaweiIdToken, keystonePassword, keystoneTotp, keystoneMultiFactor, keystoneToken, keystoneOAuth2, keystoneOidcAuthCode, keystoneOidcDevice, keystoneOidcClientCredentials, keystoneOidcPassword, keystoneOidcAccessToken, openIdConnect, oauth2ClientCredentials] as unknown as readonly AuthMethod<never>[];

/** The default when nothing names a method. */
export const DEFAULT_METHOD = keystonePassword as unknown as AuthMethod<Target>;

export function methodByKind(kind: string | undefined): AuthMethod<Target> | undefined {
  return AUTH_METHODS.find((method) => method.kind === kind) as AuthMethod<Target> | undefined;
}

/** The method whose token a cached entry holds (by its key), if it is one authctl knows. */
export function methodForKey(key: string): AuthMethod<Target> | undefined {
  return methodByKind(keyKind(key));
}

/** The first method the values name, in registry order. */
export function methodNamedBy(values: Values): AuthMethod<Target> | undefined {
  return AUTH_METHODS.find((method) => method.names(values)) as AuthMethod<Target> | undefined;
}

/** `--auth-type` / OS_AUTH_TYPE / clouds.yaml `auth_type`: the method by the name OpenStack's tools give it. */
export const AUTH_TYPE: Setting = {
  key: 'authType',
  flag: '--auth-type',
  arg: '<type>',
  env: ['OS_AUTH_TYPE'],
  clouds: 'auth_type',
  commands: ['login'],
  help: `the way of signing in: ${AUTH_METHODS.map((method) => method.authTypes[0]).filter(Boolean).join(', ')} (default: what the values given name, else v3password)`,
};

/** Every method's settings, each row once. */
export const METHOD_SETTINGS: readonly Setting[] = [...new Set([AUTH_TYPE, ...DEFAULT_METHOD.settings, ...AUTH_METHODS.flatMap((method) => method.settings)])];

/** What a profile in the config file may hold, derived from the settings a login saves. */
export function profileSchema(settings: readonly Setting[]): ProfileSchema {
  const saved = settings.filter((setting) => setting.saved === 'profile');
  return {
    kinds: AUTH_METHODS.map((method) => method.kind),
    strings: saved.filter((setting) => setting.arg !== undefined).map((setting) => setting.key) as ProfileSchema['strings'],
    booleans: saved.filter((setting) => setting.arg === undefined).map((setting) => setting.key) as ProfileSchema['booleans'],
    choices: Object.fromEntries(saved.filter((setting) => setting.choices).map((setting) => [setting.key, setting.choices!])),
  };
}

/** clouds.yaml `auth.*` keys and the setting each becomes, from the methods that read clouds.yaml. */
export function cloudsAuthKeys(): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const method of AUTH_METHODS.filter((candidate) => candidate.readsCloudsYaml)) {
    for (const setting of method.settings) {
      if (setting.clouds?.startsWith('auth.') && !setting.secret) keys[setting.clouds.slice('auth.'.length)] = setting.key;
    }
  }
  return keys;
}

/** The clouds.yaml `auth_type` values some method logs in with. */
export function cloudsAuthTypes(): string[] {
  return AUTH_METHODS.filter((method) => method.readsCloudsYaml).flatMap((method) => method.authTypes);
}

/** The secret `auth.*` keys of clouds.yaml some method reads. */
export function cloudsSecretKeys(): string[] {
  const keys = AUTH_METHODS.filter((method) => method.readsCloudsYaml).flatMap((method) =>
    method.settings.filter((setting) => setting.secret && setting.clouds?.startsWith('auth.')).map((setting) => setting.clouds!.slice('auth.'.length)),
  );
  return [...new Set(keys)];
}

/** The method OpenStack's tools name `name` (`v3applicationcredential`, `password`, ...), if authctl has it. */
export function methodByAuthType(name: string): AuthMethod<Target> | undefined {
  return AUTH_METHODS.find((method) => method.authTypes.includes(name)) as AuthMethod<Target> | undefined;
}

/** Every auth type name authctl knows, for messages and help. */
export function authTypeNames(): string[] {
  return AUTH_METHODS.flatMap((method) => method.authTypes);
}
