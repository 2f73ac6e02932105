import { RejectedError } from '../../core/errors.js';
import { checkUrl, type Layer, type Missing, type Setting, type Values } from '../../core/settings.js';
import { describeIamProject, describeIamUser, describeScope, describeUser, type KeystoneTarget } from '../../core/target.js';
import { issueToken, passwordAuthBody, ReceiptRequiredError, VirtualMfaRequiredError } from '../../iam/keystone.js';
import {
  KEYSTONE_SETTINGS,
  MISSING,
  PASSCODE,
  PASSCODE_COMMAND,
  plainLayers,
  resolveKeystone,
  scopeKey,
  userKey,
  rememberUserId,
  userTokenCapabilities,
  type KeystoneSettings,
} from '../keystone-identity.js';
import type { HttpClient } from '../../iam/http.js';
import { CREDENTIALS_REJECTED, toCachedToken, type AuthMethod } from '../method.js';
import { continueWithPasscode, continueWithVirtualMfa } from '../second-factor.js';

/** Keystone v3 `password`: a user (by id, or by name and domain), a password, and a scope. */

export const PASSWORD: Setting = {
  key: 'passwordStdin',
  flag: '--password-stdin',
  env: ['OS_PASSWORD'],
  clouds: 'auth.password',
  saved: 'secret-store',
  secret: true,
  commands: ['login'],
  help: 'read the password from stdin (else the variable, else a prompt)',
};

export const SAVE_PASSWORD: Setting = {
  key: 'savePassword',
  flag: '--save-password',
  commands: ['login'],
  help: 'keep the password in the secret store so tokens renew without asking',
};

export const keystonePassword: AuthMethod<KeystoneTarget> = {
  kind: 'keystone',
  label: 'Keystone password',
  settings: [...KEYSTONE_SETTINGS, PASSWORD, SAVE_PASSWORD, PASSCODE, PASSCODE_COMMAND],
  names: (values: Values) => values.username !== undefined || values.userId !== undefined,
  readsCloudsYaml: true,
  authTypes: ['v3password', 'password'],
  secret: { role: 'password', what: 'password', setting: PASSWORD, save: SAVE_PASSWORD },

  resolve(layers: readonly Layer[]) {
    const resolution = resolveKeystone(layers as readonly Layer<KeystoneSettings>[]);
    return {
      ...resolution,
      settings: { kind: 'keystone', ...resolution.settings },
      sources: resolution.sources as Record<string, never>,
    };
  },
  check: (target, allowHttp) => ({ ...target, authUrl: checkUrl(target.authUrl, 'auth URL', '--auth-url', allowHttp) }),
  urls: (target) => ({ authUrl: target.authUrl }),
  identity: (target) => [target.authUrl, userKey(target.user)],
  scopeKey: (target) => [scopeKey(target.scope)],

  async authenticate(io, target, password) {
    let issued;
    // The status of the password request's answer: a 401 is told apart from a 403 or a 404.
    let status: number | undefined;
    const http: HttpClient = {
      send: async (request) => {
        const response = await io.http.send(request);
        status = response.status;
        return response;
      },
    };
    try {
      issued = await issueToken(http, target.authUrl, passwordAuthBody(target.user, password, target.scope), io.now);
    } catch (error) {
      // Multi-factor rules (Keystone receipts, OTC/Huawei virtual MFA): the password was right, and a passcode completes the login.
      if (error instanceof ReceiptRequiredError) issued = await continueWithPasscode(io, target.authUrl, target.user, target.scope, error);
      else if (error instanceof VirtualMfaRequiredError) issued = await continueWithVirtualMfa(io, target, password, error);
      // A plain 401 to the password: the credentials (or the scope) are wrong; a login at a terminal tells which.
      else if (error instanceof RejectedError && status === 401) throw new RejectedError(error.message, { hint: error.hint, reason: CREDENTIALS_REJECTED, cause: error });
      else throw error;
    }
    return toCachedToken(keystonePassword, target, issued, target.authUrl);
  },

  async ask(missing: readonly Missing[], prompter) {
    const answers: KeystoneSettings = {};
    for (const item of missing) {
      if (item === MISSING.authUrl) answers.authUrl = await prompter.input('Auth URL (the Keystone v3 base, e.g. https://iam.example.com/v3):');
      else if (item === MISSING.user) answers.username = await prompter.input('User name:');
      else if (item === MISSING.userDomain) answers.userDomain = await prompter.input("User's domain:", 'Default');
      else if (item === MISSING.projectDomain) answers.projectDomain = await prompter.input("Project's domain:");
    }
    return answers as Values;
  },
  secretPrompt: (target) => `Password for ${describeUser(target.user)}:`,

  describe(settings) {
    const { target } = resolveKeystone(plainLayers([settings]));
    return {
      iam: settings.authUrl ?? null,
      user: target ? describeUser(target.user) : null,
      scope: target ? describeScope(target.scope) : null,
      region: settings.region ?? null,
    };
  },
  summary(target, token) {
    const who = token.user?.name ? describeIamUser(token.user) : describeUser(target.user);
    let scope: string;
    if (token.project) scope = describeIamProject(token.project);
    else if (token.domain) scope = `domain ${token.domain.name ?? token.domain.id}`;
    else scope = describeScope(target.scope);
    return { iam: target.authUrl, who, scope };
  },
  iamUrl: (target) => target.authUrl,
  remember: rememberUserId,

  can: userTokenCapabilities(() => keystonePassword),
};
