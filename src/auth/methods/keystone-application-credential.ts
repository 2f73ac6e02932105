import { UsageError } from '../../core/errors.js';
import { checkUrl, layer, missingSetting, pick, sourceOf, type Layer, type Missing, type Setting, type Source, type Values } from '../../core/settings.js';
import { describeIamProject, describeIamUser, describeUser } from '../../core/target.js';
import { applicationCredentialPiece, authBody, issueToken, revokeToken, validateToken, type ApplicationCredentialRef } from '../../iam/keystone.js';
import { AUTH_URL, namesScope, REGION, resolveKeystone, SCOPE_SETTINGS, USER_SETTINGS, userKey, type KeystoneSettings } from '../keystone-identity.js';
import { VENDOR } from '../vendors.js';
import { toCachedToken, type AuthMethod, type Resolution } from '../method.js';
import { SAVE_SECRET } from './oauth2-client-credentials.js';

/**
 * Keystone v3 `application_credential`: the way OpenStack users run CI without a password. An id
 * (or a name with its user) and a secret; the credential carries its own scope, so none is
 * requested. Keystone refuses the token method for the tokens it gives (403 "delegated token"):
 * they renew with the secret only, and the OpenStack client needs the credential itself.
 */

export interface ApplicationCredentialTarget {
  kind: 'keystone-application-credential';
  authUrl: string;
  credential: ApplicationCredentialRef;
}

export const APPLICATION_CREDENTIAL_ID: Setting = {
  key: 'applicationCredentialId',
  flag: '--application-credential-id',
  arg: '<id>',
  env: ['OS_APPLICATION_CREDENTIAL_ID'],
  clouds: 'auth.application_credential_id',
  saved: 'profile',
  commands: ['login'],
  help: 'log in with this application credential',
};

export const APPLICATION_CREDENTIAL_NAME: Setting = {
  key: 'applicationCredentialName',
  flag: '--application-credential-name',
  arg: '<name>',
  env: ['OS_APPLICATION_CREDENTIAL_NAME'],
  clouds: 'auth.application_credential_name',
  saved: 'profile',
  commands: ['login'],
  help: 'log in with the application credential of this name (with the user: --username/--user-id)',
};

export const APPLICATION_CREDENTIAL_SECRET: Setting = {
  key: 'applicationCredentialSecretStdin',
  flag: '--application-credential-secret-stdin',
  env: ['OS_APPLICATION_CREDENTIAL_SECRET'],
  clouds: 'auth.application_credential_secret',
  saved: 'secret-store',
  secret: true,
  commands: ['login'],
  help: "read the application credential's secret from stdin (else the variable, else a prompt)",
};

type Values_ = KeystoneSettings & { applicationCredentialId?: string; applicationCredentialName?: string };

const MISSING_CREDENTIAL: Missing = { what: 'application credential', flag: '--application-credential-id or --application-credential-name', env: 'OS_APPLICATION_CREDENTIAL_ID or OS_APPLICATION_CREDENTIAL_NAME' };

function credentialKey(credential: ApplicationCredentialRef): unknown[] {
  return 'id' in credential ? ['id', credential.id] : ['name', credential.name, userKey(credential.user)];
}

function describeCredential(credential: ApplicationCredentialRef): string {
  return 'id' in credential ? `application credential ${credential.id}` : `application credential ${credential.name} of ${describeUser(credential.user)}`;
}

export const keystoneApplicationCredential: AuthMethod<ApplicationCredentialTarget> = {
  kind: 'keystone-application-credential',
  label: 'Keystone application credential',
  // The scope rows are here to be refused: the credential carries its scope.
  settings: [APPLICATION_CREDENTIAL_ID, APPLICATION_CREDENTIAL_NAME, AUTH_URL, VENDOR, ...USER_SETTINGS, ...SCOPE_SETTINGS, REGION, APPLICATION_CREDENTIAL_SECRET, SAVE_SECRET],
  names: (values: Values) => values.applicationCredentialId !== undefined || values.applicationCredentialName !== undefined,
  readsCloudsYaml: true,
  authTypes: ['v3applicationcredential', 'applicationcredential'],
  secret: { role: 'application-credential-secret', what: 'application credential secret', setting: APPLICATION_CREDENTIAL_SECRET, save: SAVE_SECRET },

  resolve(layers: readonly Layer[]): Resolution<ApplicationCredentialTarget> {
    const typed = layers as readonly Layer<Values_>[];
    // A scope from the command line, the environment or the cloud entry is a contradiction; a
    // profile's saved scope (from a password login before) is simply not this method's.
    const scoped = typed.find((from) => from.kind !== 'profile' && namesScope(from.values));
    if (scoped) {
      throw new UsageError(`an application credential carries its own scope; a scope was given too (from ${scoped.kind === 'flag' ? 'the command line' : scoped.origin('project')})`, {
        hint: 'drop the project, domain, trust or system scope, or log in another way (--auth-type v3password)',
      });
    }
    const sources: Record<string, Source> = {};
    const missing: Missing[] = [];
    const authUrl = pick(typed, 'authUrl');
    if (authUrl) sources.authUrl = authUrl.source;
    else missing.push(missingSetting('auth URL', AUTH_URL));
    const settings: Record<string, string> = { kind: 'keystone-application-credential', ...(authUrl ? { authUrl: authUrl.value } : {}) };
    let credential: ApplicationCredentialRef | undefined;
    const from = typed.find((candidate) => candidate.values.applicationCredentialId !== undefined || candidate.values.applicationCredentialName !== undefined);
    if (from?.values.applicationCredentialId !== undefined) {
      credential = { id: from.values.applicationCredentialId };
      settings.applicationCredentialId = credential.id;
      sources.applicationCredentialId = sourceOf(from, 'applicationCredentialId');
    } else if (from?.values.applicationCredentialName !== undefined) {
      const name = from.values.applicationCredentialName;
      settings.applicationCredentialName = name;
      sources.applicationCredentialName = sourceOf(from, 'applicationCredentialName');
      // The user, as a password login names it (by id, or by name and domain).
      const users = typed.map((candidate) => layer(candidate.kind, { ...pickUser(candidate.values), authUrl: 'x' } as KeystoneSettings, candidate.origin));
      const user = resolveKeystone(users);
      if (user.target) {
        credential = { name, user: user.target.user };
        for (const key of ['username', 'userId', 'userDomain', 'userDomainId'] as const) {
          if (user.settings[key] !== undefined) {
            settings[key] = user.settings[key]!;
            sources[key] = user.sources[key]!;
          }
        }
      } else {
        missing.push(...user.missing.filter((item) => item.what !== 'auth URL' && item.what !== "project's domain"));
      }
    } else {
      missing.push(MISSING_CREDENTIAL);
    }
    const region = pick(typed, 'region');
    if (region) {
      settings.region = region.value;
      sources.region = region.source;
    }
    const resolution: Resolution<ApplicationCredentialTarget> = { missing, settings, sources, ...(region ? { region: region.value } : {}) };
    if (authUrl && credential && missing.length === 0) resolution.target = { kind: 'keystone-application-credential', authUrl: authUrl.value, credential };
    return resolution;
  },
  check: (target, allowHttp) => ({ ...target, authUrl: checkUrl(target.authUrl, 'auth URL', '--auth-url', allowHttp) }),
  urls: (target) => ({ authUrl: target.authUrl }),
  identity: (target) => [target.authUrl, credentialKey(target.credential)],
  scopeKey: () => [],

  async authenticate(io, target, secret) {
    const issued = await issueToken(io.http, target.authUrl, authBody([applicationCredentialPiece(target.credential, secret)], undefined), io.now);
    return toCachedToken(keystoneApplicationCredential, target, issued, target.authUrl);
  },
  async ask(missing, prompter) {
    const answers: Values = {};
    for (const item of missing) {
      if (item.what === 'auth URL') answers.authUrl = await prompter.input('Auth URL (the Keystone v3 base, e.g. https://iam.example.com/v3):');
      else if (item === MISSING_CREDENTIAL) answers.applicationCredentialId = await prompter.input('Application credential id:');
      else if (item.what === 'user name') answers.username = await prompter.input('User name:');
      else if (item.what === "user's domain") answers.userDomain = await prompter.input("User's domain:", 'Default');
    }
    return answers;
  },
  secretPrompt: (target) => `Secret of ${describeCredential(target.credential)}:`,

  describe(settings) {
    const credential = settings.applicationCredentialId ?? settings.applicationCredentialName;
    return { iam: settings.authUrl ?? null, user: credential ? `application credential ${credential}` : null, scope: "the credential's", region: settings.region ?? null };
  },
  summary(target, token) {
    const who = token.user?.name ? `${describeIamUser(token.user)} via ${describeCredential(target.credential)}` : describeCredential(target.credential);
    const scope = token.project ? describeIamProject(token.project) : undefined;
    return { iam: target.authUrl, who, scope };
  },
  iamUrl: (target) => target.authUrl,

  can: {
    validate: validateToken,
    revoke: (http, issuer, token) => revokeToken(http, issuer, token, token),
    // No renewFromToken and no rescoping: Keystone answers 403 for a delegated token.
    openstackNeedsSecret: true,
    openstackVariables(token, region, target, secret) {
      if (secret === undefined) {
        throw new UsageError('--openstack needs the application credential secret: the OpenStack client refuses an application-credential token on its own', {
          hint: 'set OS_APPLICATION_CREDENTIAL_SECRET, or log in with --save-secret',
        });
      }
      const result = new Map<string, string>([
        ['OS_AUTH_TYPE', 'v3applicationcredential'],
        ['OS_AUTH_URL', token.issuer],
      ]);
      if ('id' in target.credential) result.set('OS_APPLICATION_CREDENTIAL_ID', target.credential.id);
      else {
        result.set('OS_APPLICATION_CREDENTIAL_NAME', target.credential.name);
        const user = target.credential.user;
        if ('id' in user) result.set('OS_USER_ID', user.id);
        else {
          result.set('OS_USERNAME', user.name);
          result.set('id' in user.domain ? 'OS_USER_DOMAIN_ID' : 'OS_USER_DOMAIN_NAME', 'id' in user.domain ? user.domain.id : user.domain.name);
        }
      }
      result.set('OS_APPLICATION_CREDENTIAL_SECRET', secret);
      if (region) result.set('OS_REGION_NAME', region);
      return result;
    },
  },
};

function pickUser(values: Values_): KeystoneSettings {
  const { username, userId, userDomain, userDomainId } = values;
  return Object.fromEntries(Object.entries({ username, userId, userDomain, userDomainId }).filter(([, value]) => value !== undefined));
}
