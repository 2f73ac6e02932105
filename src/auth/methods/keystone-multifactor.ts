import { UsageError } from '../../core/errors.js';
import { checkUrl, pick, type Layer, type Setting } from '../../core/settings.js';
import { describeUser, type KeystoneTarget } from '../../core/target.js';
import { authBody, issueToken, passwordPiece, totpPiece, type AuthPiece } from '../../iam/keystone.js';
import { KEYSTONE_SETTINGS, PASSCODE, PASSCODE_COMMAND, rememberUserId, resolveKeystone, scopeKey, userKey, userTokenCapabilities, type KeystoneSettings } from '../keystone-identity.js';
import { toCachedToken, type AuthMethod } from '../method.js';
import { SecondFactorNeededError, withVirtualMfa } from '../second-factor.js';
import { keystonePassword, PASSWORD, SAVE_PASSWORD } from './keystone-password.js';

/**
 * Keystone v3 `v3multifactor`: several methods in one request (`OS_AUTH_METHODS=v3password,v3totp`),
 * for accounts whose multi-factor rules want both at once.
 */

interface MultiFactorTarget extends Omit<KeystoneTarget, 'kind'> {
  kind: 'keystone-multifactor';
  methods: ('v3password' | 'v3totp')[];
}

const KNOWN = ['v3password', 'v3totp'] as const;

export const AUTH_METHODS_SETTING: Setting = {
  key: 'authMethods',
  flag: '--auth-methods',
  arg: '<list>',
  env: ['OS_AUTH_METHODS'],
  saved: 'profile',
  commands: ['login'],
  help: 'with --auth-type v3multifactor: the methods sent together, e.g. v3password,v3totp',
};

export const keystoneMultiFactor: AuthMethod<MultiFactorTarget> = {
  kind: 'keystone-multifactor',
  label: 'Keystone multi-factor',
  settings: [...KEYSTONE_SETTINGS, AUTH_METHODS_SETTING, PASSWORD, SAVE_PASSWORD, PASSCODE, PASSCODE_COMMAND],
  names: () => false,
  readsCloudsYaml: true,
  authTypes: ['v3multifactor'],
  secret: { role: 'password', what: 'password', setting: PASSWORD, save: SAVE_PASSWORD },

  resolve(layers: readonly Layer[]) {
    const resolution = resolveKeystone(layers as readonly Layer<KeystoneSettings>[]);
    const listed = pick(layers as readonly Layer<{ authMethods?: string }>[], 'authMethods');
    const methods = (listed?.value ?? 'v3password,v3totp').split(',').map((name) => name.trim()).filter(Boolean);
    const unknown = methods.filter((name) => !(KNOWN as readonly string[]).includes(name));
    if (unknown.length > 0 || methods.length === 0) {
      throw new UsageError(`${listed ? `${listed.source.name} ` : ''}lists ${unknown.join(', ') || 'no method'}; v3multifactor combines ${KNOWN.join(' and ')}`, { hint: 'e.g. OS_AUTH_METHODS=v3password,v3totp' });
    }
    const { target, ...rest } = resolution;
    return {
      ...rest,
      settings: { kind: 'keystone-multifactor', ...resolution.settings, ...(listed ? { authMethods: listed.value } : {}) },
      sources: { ...(resolution.sources as Record<string, never>), ...(listed ? { authMethods: listed.source } : {}) },
      ...(target ? { target: { ...target, kind: 'keystone-multifactor' as const, methods: methods as MultiFactorTarget['methods'] } } : {}),
    };
  },
  check: (target, allowHttp) => ({ ...target, authUrl: checkUrl(target.authUrl, 'auth URL', '--auth-url', allowHttp) }),
  urls: (target) => ({ authUrl: target.authUrl }),
  identity: (target) => [target.authUrl, userKey(target.user)],
  scopeKey: (target) => [scopeKey(target.scope)],

  async authenticate(io, target, password) {
    // OTC/Huawei check the passcode against the user's id: send it by id whenever it is known.
    const userId = 'id' in target.user ? target.user.id : target.knownUserId;
    if (userId !== undefined && target.methods.length === 2) return toCachedToken(keystoneMultiFactor, target, await withVirtualMfa(io, target, password, userId), target.authUrl);
    const pieces: AuthPiece[] = [];
    if (target.methods.includes('v3password')) pieces.push(passwordPiece(target.user, password));
    if (target.methods.includes('v3totp')) {
      const passcode = await io.passcode(`Passcode for ${describeUser(target.user)}:`);
      if (passcode === undefined) throw new SecondFactorNeededError(target.authUrl, target.user);
      pieces.push(totpPiece(target.user, passcode));
    }
    const issued = await issueToken(io.http, target.authUrl, authBody(pieces, target.scope), io.now);
    return toCachedToken(keystoneMultiFactor, target, issued, target.authUrl);
  },
  ask: (missing, prompter) => keystonePassword.ask(missing, prompter),
  secretPrompt: (target) => `Password for ${describeUser(target.user)}:`,
  describe: (settings) => keystonePassword.describe(settings),
  summary: (target, token) => keystonePassword.summary({ ...target, kind: 'keystone' }, token),
  iamUrl: (target) => target.authUrl,
  remember: rememberUserId,
  can: userTokenCapabilities(() => keystoneMultiFactor),
};
