import { resolve as resolvePath } from 'node:path';
import { UsageError } from '../../core/errors.js';
import { checkUrl, layer, missingSetting, pick, sourceOf, type Layer, type Missing, type Setting, type Source, type Values } from '../../core/settings.js';
import { keysFromToken } from '../../iam/access-keys.js';
import { exchangeIdToken } from '../../iam/id-token.js';
import { describeVendorScope, resolveVendorScope, vendorScopeKey, type VendorScope, type VendorScopeValues } from '../vendor-scope.js';
import { revokeToken, validateToken } from '../../iam/keystone.js';
import { iamBase } from '../../iam/logintoken.js';
import { AUTH_URL, MISSING as KEYSTONE_MISSING, REGION, SCOPE_SETTINGS } from '../keystone-identity.js';
import { toCachedToken, type AuthMethod, type Resolution } from '../method.js';
import { openstackTokenVariables } from '../openstack-variables.js';
import { VENDOR } from '../vendors.js';
import { providerTokens, type OidcSignIn } from '../oidc-sign-in.js';
import { CLIENT_SECRET } from './oauth2-client-credentials.js';
import { OIDC_ISSUER, PROVIDER_SETTINGS, resolveSignIn } from './oidc.js';

/**
 * OTC / Huawei Cloud: an OpenID Connect ID token (a CI job's, a Kubernetes service account's) is
 * exchanged for a scoped IAM token (iam-api.md §9). The file is read again at every sign-in, so a
 * renewal takes the token the CI platform rotated into it; only its path is saved.
 */

interface IdTokenTarget {
  kind: 'id-token';
  authUrl: string;
  idpId: string;
  /** Where the ID token comes from: a file a CI platform writes (absolute once checked), or a sign-in at a provider. */
  idTokenFile?: string;
  signIn?: OidcSignIn;
  scope: VendorScope;
}

interface IdTokenSettings extends VendorScopeValues {
  authUrl?: string;
  idTokenFile?: string;
  oidcIssuer?: string;
  idpId?: string;
  region?: string;
  vendor?: string;
}

export const ID_TOKEN_FILE: Setting = {
  key: 'idTokenFile',
  flag: '--id-token-file',
  arg: '<file>',
  env: ['HUAWEICLOUD_SDK_ID_TOKEN_FILE'],
  saved: 'profile',
  commands: ['login'],
  help: "sign in with the OpenID Connect ID token in this file (a CI job's; OTC, Huawei Cloud), read again at each renewal; the path is saved, never the token",
};

export const IDP_ID: Setting = {
  key: 'idpId',
  flag: '--idp-id',
  arg: '<id>',
  env: ['HUAWEICLOUD_SDK_IDP_ID'],
  saved: 'profile',
  commands: ['login'],
  help: "with --id-token-file, or with --oidc-issuer to sign in for the ID token: the identity provider's id in IAM (OTC, Huawei Cloud)",
};

const SCOPE_KEYS = ['projectId', 'project', 'domainId', 'domain', 'unscoped'] as const;
const ID_TOKEN_SCOPE_SETTINGS = SCOPE_SETTINGS.filter((setting) => (SCOPE_KEYS as readonly string[]).includes(setting.key));

const MISSING = {
  authUrl: KEYSTONE_MISSING.authUrl,
  file: missingSetting('ID token file', ID_TOKEN_FILE),
  idp: missingSetting('identity provider id', IDP_ID),
} satisfies Record<string, Missing>;

/** The Go SDK's rule for its two variables: both or neither. One set and the other nowhere is a mistake, not a question. */
function refuseHalfPair(given: { source: Source } | undefined, other: Setting, setting: Setting): void {
  if (given?.source.kind !== 'env') return;
  throw new UsageError(`${given.source.name} is set but ${other.env![0]} is not: the two go together`, {
    hint: `set ${other.env![0]} (or ${other.flag}) too, or unset ${setting.env![0]}`,
  });
}

export const huaweiIdToken: AuthMethod<IdTokenTarget> = {
  kind: 'id-token',
  label: 'OIDC ID token (OTC/Huawei Cloud)',
  settings: [AUTH_URL, VENDOR, ID_TOKEN_FILE, IDP_ID, OIDC_ISSUER, ...PROVIDER_SETTINGS, ...ID_TOKEN_SCOPE_SETTINGS, REGION],
  names: (values: Values) => values.idTokenFile !== undefined || values.idpId !== undefined,
  readsCloudsYaml: false,
  authTypes: ['v3idtoken'],
  secret: { role: 'id-token', what: 'ID token file', setting: ID_TOKEN_FILE, selfSupplied: true },

  resolve(layers: readonly Layer[]): Resolution<IdTokenTarget> {
    const typed = layers as readonly Layer<IdTokenSettings>[];
    const settings: Record<string, string | boolean> = { kind: 'id-token' };
    const sources: Record<string, Source> = {};
    const take = (key: keyof IdTokenSettings, from: Layer<IdTokenSettings>) => {
      settings[key] = from.values[key]!;
      sources[key] = sourceOf(from, key);
    };
    const missing: Missing[] = [];
    const authUrl = pick(typed, 'authUrl');
    const file = pick(typed, 'idTokenFile');
    const issuer = file ? undefined : pick(typed, 'oidcIssuer');
    const idp = pick(typed, 'idpId');
    if (!file && !issuer) refuseHalfPair(idp, ID_TOKEN_FILE, IDP_ID);
    if (!idp) refuseHalfPair(file, IDP_ID, ID_TOKEN_FILE);
    for (const [key, found, what] of [['authUrl', authUrl, MISSING.authUrl], ['idpId', idp, MISSING.idp]] as const) {
      if (!found) missing.push(what);
      else {
        settings[key] = found.value;
        sources[key] = found.source;
      }
    }
    // The ID token from a file (CI), else from a sign-in at the provider (a person, through the browser or a second device).
    let signIn: OidcSignIn | undefined;
    if (file) {
      settings.idTokenFile = file.value;
      sources.idTokenFile = file.source;
    } else if (issuer) {
      settings.oidcIssuer = issuer.value;
      sources.oidcIssuer = issuer.source;
      signIn = resolveSignIn(layers, issuer.value, missing, settings, sources);
    } else missing.push(MISSING.file);
    const scope = resolveVendorScope(typed, take);
    const region = pick(typed, 'region');
    const vendor = pick(typed, 'vendor');
    for (const [key, found] of [['region', region], ['vendor', vendor]] as const) {
      if (!found) continue;
      settings[key] = found.value;
      sources[key] = found.source;
    }
    const resolution: Resolution<IdTokenTarget> = { missing, settings, sources, ...(region ? { region: region.value } : {}) };
    if (authUrl && idp && (file || signIn) && missing.length === 0) {
      resolution.target = { kind: 'id-token', authUrl: authUrl.value, idpId: idp.value, ...(file ? { idTokenFile: file.value } : { signIn: signIn! }), scope };
    }
    return resolution;
  },
  // The path is made absolute here, so the profile saves it absolute and the cache key names one file.
  check: (target, allowHttp) => ({
    ...target,
    authUrl: checkUrl(target.authUrl, 'auth URL', '--auth-url', allowHttp),
    ...(target.idTokenFile ? { idTokenFile: resolvePath(target.idTokenFile) } : {}),
    ...(target.signIn ? { signIn: { ...target.signIn, issuer: checkUrl(target.signIn.issuer, 'issuer URL', '--oidc-issuer', allowHttp) } } : {}),
  }),
  urls: (target) => ({ authUrl: target.authUrl, ...(target.idTokenFile ? { idTokenFile: target.idTokenFile } : {}), ...(target.signIn ? { oidcIssuer: target.signIn.issuer } : {}) }),
  identity: (target) => [target.authUrl, 'idp', target.idpId, target.idTokenFile ?? ['oidc', target.signIn!.issuer, target.signIn!.client.clientId]],
  scopeKey: (target) => [vendorScopeKey(target.scope)],

  async authenticate(io, target) {
    if (target.idTokenFile) {
      const idToken = await io.readSecretFile(target.idTokenFile, 'the ID token file');
      const issued = await exchangeIdToken(io.http, iamBase(target.authUrl), { idpId: target.idpId, idToken, file: target.idTokenFile, scope: target.scope }, io.now);
      return toCachedToken(huaweiIdToken, target, issued, target.authUrl);
    }
    // A person's sign-in (or its refresh token): its ID token is exchanged in one step, scope included (§9).
    const signIn = target.signIn!;
    const { tokens, commit } = await providerTokens(io, signIn, io.secretVariable(CLIENT_SECRET) ?? '');
    if (!tokens.idToken) throw new UsageError(`${signIn.issuer} gave no ID token to exchange`, { hint: 'ask for the openid scope (--scope "openid ...")' });
    const issued = await exchangeIdToken(io.http, iamBase(target.authUrl), { idpId: target.idpId, idToken: tokens.idToken, file: `the answer of ${signIn.issuer}`, scope: target.scope }, io.now);
    await commit();
    return toCachedToken(huaweiIdToken, target, issued, target.authUrl);
  },
  async ask(missing, prompter) {
    const answers: IdTokenSettings = {};
    for (const item of missing) {
      if (item === MISSING.authUrl) answers.authUrl = await prompter.input('Auth URL (the IAM v3 base, e.g. https://iam.eu-de.otc.t-systems.com/v3):');
      else if (item === MISSING.file) answers.idTokenFile = await prompter.input('File holding the ID token:');
      else if (item === MISSING.idp) answers.idpId = await prompter.input('Identity provider id (in IAM):');
    }
    return answers as Values;
  },
  secretPrompt: () => '',
  describe(settings) {
    const { target } = huaweiIdToken.resolve([layer('profile', settings as Values)]);
    return {
      iam: settings.authUrl ?? null,
      user: target ? `ID token ${target.idTokenFile ? `from ${target.idTokenFile}` : `of a sign-in at ${target.signIn!.issuer}`}, identity provider ${target.idpId}` : null,
      scope: target ? describeVendorScope(target.scope) : null,
      region: settings.region ?? null,
    };
  },
  summary: (target, token) => ({
    iam: target.authUrl,
    who: `${token.user?.name ?? 'a federated user'} (identity provider ${target.idpId})`,
    scope: token.project ? `project ${token.project.name ?? token.project.id}` : token.domain ? `domain ${token.domain.name ?? token.domain.id}` : describeVendorScope(target.scope),
  }),
  iamUrl: (target) => target.authUrl,
  can: {
    validate: validateToken,
    revoke: (http, issuer, token) => revokeToken(http, issuer, token, token),
    openstackVariables: openstackTokenVariables,
    // The security-token endpoint takes a federated token with the token method (§6).
    temporaryKeys: (io, target, current, durationSeconds) => keysFromToken(io.http, iamBase(target.authUrl), current.token, durationSeconds),
  },
};
