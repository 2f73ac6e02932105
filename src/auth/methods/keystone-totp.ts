import { checkUrl, type Layer } from '../../core/settings.js';
import { describeUser, type KeystoneTarget } from '../../core/target.js';
import { authBody, issueToken, totpPiece } from '../../iam/keystone.js';
import { KEYSTONE_SETTINGS, PASSCODE, PASSCODE_COMMAND, resolveKeystone, scopeKey, userKey, userTokenCapabilities, type KeystoneSettings } from '../keystone-identity.js';
import { toCachedToken, type AuthMethod } from '../method.js';
import { keystonePassword } from './keystone-password.js';

/** Keystone v3 `totp` alone: a user and a one-time passcode (`--auth-type v3totp`). */

interface TotpTarget extends Omit<KeystoneTarget, 'kind'> {
  kind: 'keystone-totp';
}

export const keystoneTotp: AuthMethod<TotpTarget> = {
  kind: 'keystone-totp',
  label: 'Keystone TOTP',
  settings: [...KEYSTONE_SETTINGS, PASSCODE, PASSCODE_COMMAND],
  // Only an auth type names it: a passcode alone says nothing about how to log in.
  names: () => false,
  readsCloudsYaml: true,
  authTypes: ['v3totp'],
  secret: { role: 'passcode', what: 'passcode', setting: PASSCODE, oneTime: true },

  resolve(layers: readonly Layer[]) {
    const resolution = resolveKeystone(layers as readonly Layer<KeystoneSettings>[]);
    const { target, ...rest } = resolution;
    return { ...rest, settings: { kind: 'keystone-totp', ...resolution.settings }, sources: resolution.sources as Record<string, never>, ...(target ? { target: { ...target, kind: 'keystone-totp' as const } } : {}) };
  },
  check: (target, allowHttp) => ({ ...target, authUrl: checkUrl(target.authUrl, 'auth URL', '--auth-url', allowHttp) }),
  urls: (target) => ({ authUrl: target.authUrl }),
  identity: (target) => [target.authUrl, userKey(target.user)],
  scopeKey: (target) => [scopeKey(target.scope)],

  async authenticate(io, target, passcode) {
    const issued = await issueToken(io.http, target.authUrl, authBody([totpPiece(target.user, passcode)], target.scope), io.now);
    return toCachedToken(keystoneTotp, target, issued, target.authUrl);
  },
  ask: (missing, prompter) => keystonePassword.ask(missing, prompter),
  secretPrompt: (target) => `Passcode for ${describeUser(target.user)}:`,
  describe: (settings) => keystonePassword.describe(settings),
  summary: (target, token) => keystonePassword.summary({ ...target, kind: 'keystone' }, token),
  iamUrl: (target) => target.authUrl,
  can: userTokenCapabilities(() => keystoneTotp),
};
