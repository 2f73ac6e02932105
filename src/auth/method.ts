import type { TemporaryKeys } from '../iam/access-keys.js';
import type { HttpClient } from '../iam/http.js';
import type { ScopeChoice } from '../iam/projects.js';
import type { LoopbackRedirect } from '../io/loopback.js';
import type { Prompter } from '../io/prompter.js';
import type { ProfileSettings } from '../core/profile-settings.js';
import type { Layer, Missing, Setting, Source, Values } from '../core/settings.js';
import type { CachedToken, IssuedToken, TokenInfo } from '../core/token.js';

/**
 * A way of signing in. Each is one module under `methods/`, listed once in `registry.ts`; the
 * commands ask the method for everything that differs between them, and never test its name.
 */

/** What a token is for: which IAM, which identity, which scope. Its shape belongs to its method. */
export interface Target {
  kind: string;
}

/** The store entry, besides the token, that a profile may keep: the secret its method renews with. */
export type SecretRole = string;

export interface SecretInput {
  role: SecretRole;
  /** How a person names it: "password", "client secret". */
  what: string;
  /** Its row: the `--…-stdin` flag, the variables, the clouds.yaml key. */
  setting: Setting;
  /** The `--save-…` switch that keeps it in the secret store for silent renewal; none for one-time codes. */
  save?: Setting;
  /** A one-time passcode: asked for through `AuthIO.passcode` (variable, command, prompt), never saved. */
  oneTime?: boolean;
  /**
   * The method fetches its credential itself at every sign-in, through `AuthIO` (another
   * profile's token, a file a CI platform rotates): nothing is asked for, passed in or saved.
   */
  selfSupplied?: boolean;
  /** A public client has none: no secret is fine, nothing is asked for, and renewals go on without one. */
  optional?: boolean;
}

export interface Resolution<T extends Target> {
  target?: T;
  missing: Missing[];
  /** The values chosen, as the profile saves them (`kind` included). */
  settings: ProfileSettings;
  sources: Record<string, Source>;
  region?: string;
}

export interface Described {
  /** The auth URL or token URL. */
  iam: string | null;
  user: string | null;
  scope: string | null;
  region: string | null;
}

/** What a method may use while it signs in: the network, the clock, and a second factor on demand. */
export interface AuthIO {
  http: HttpClient;
  now: () => number;
  /**
   * A one-time passcode (TOTP): from OS_PASSCODE, AUTHCTL_PASSCODE_COMMAND, or a prompt (with
   * this question) where a person can be asked; undefined when there is no way to get one.
   */
  passcode(question: string): Promise<string | undefined>;
  /** A secret file's content, read now and trimmed (CI platforms rotate such files); never printed. */
  readSecretFile(path: string, what: string): Promise<string>;
  /**
   * A current token of another profile, renewed on the way as `token get` renews (`fresh`: a new
   * one even if the cached one looks valid, after IAM refused it), with the IAM URL it belongs to.
   */
  profileToken(profile: string, options?: { fresh?: boolean }): Promise<ProfileToken>;
  /** The profile's cached token, if any (a refresh may omit what the sign-in gave, such as the ID token). */
  cachedToken(): Promise<CachedToken | undefined>;
  /** The profile's store entry `role` (a refresh token the method keeps itself), if any. */
  readSaved(role: string): Promise<string | undefined>;
  /** Keeps `value` as the profile's entry `role` at once (a rotated refresh token must not be lost). */
  keep(role: string, value: string): Promise<void>;
  /** A person who can finish a sign-in elsewhere (a browser, a second device); absent in silent renewals. */
  person?: PersonIO;
  /** Marks a value a method got (a provider's tokens) as a secret: nothing printed may show it. */
  conceal(secret: string | undefined): void;
  /** A secret row's value from the environment (a second secret a method takes), registered for redaction. */
  secretVariable(setting: Setting): string | undefined;
  /** Waits (device-flow polling), on the injected clock. */
  sleep(ms: number): Promise<void>;
}

export interface PersonIO {
  /** A line for the person, on stderr. */
  tell(line: string): void;
  /** Whether a browser can be opened here ($BROWSER, a display; macOS, Windows). */
  canOpenBrowser: boolean;
  openBrowser(url: string): Promise<boolean>;
  listen(): Promise<LoopbackRedirect>;
  /** `work`, bounded by `timeoutMs` (exit 3, saying that `what` did not finish in time) and by Ctrl-C (exit 130). */
  waitFor<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T>;
}

export interface ProfileToken {
  token: CachedToken;
  /** The Keystone-style IAM base the token works at; undefined for a method without one (OAuth2). */
  iamUrl: string | undefined;
  label: string;
}

export type Validation = { valid: true; info?: TokenInfo } | { valid: false; status: number; message?: string };

export interface AuthMethod<T extends Target = Target> {
  /** Saved in the profile as `kind`, and the first element of every cache key. */
  readonly kind: T['kind'];
  /** How a person reads it: "Keystone password". */
  readonly label: string;
  /** Every flag and variable it reads, its secret's too. */
  readonly settings: readonly Setting[];
  /** Whether a layer's values say that this method is meant (a client id means client credentials). */
  names(values: Values): boolean;
  /** Whether a clouds.yaml entry (--os-cloud, OS_CLOUD) can describe a login of this method. */
  readonly readsCloudsYaml: boolean;
  /** It signs in from an existing token (which `export --openstack` also leaves in a shell). */
  readonly startsFromToken?: boolean;
  /** The names OpenStack's tools give it (`auth_type` in clouds.yaml), as keystoneauth spells them. */
  readonly authTypes: readonly string[];
  readonly secret: SecretInput;

  /** The target the layers (highest first) name, or what is missing. Pure. */
  resolve(layers: readonly Layer[]): Resolution<T>;
  /** Checks a resolution's URLs and values before anything is sent; returns the target to use. */
  check(target: T, allowHttp: boolean): T;
  /** The target's URLs as checked (normalised), in the form a profile saves them. */
  urls(target: T): ProfileSettings;
  /** The identity part of the cache key (IAM and who), then the scope part. */
  identity(target: T): unknown[];
  scopeKey(target: T): unknown[];
  /** Asks IAM for a token with the secret (and a second factor through `io`, if IAM wants one). */
  authenticate(io: AuthIO, target: T, secret: string): Promise<CachedToken>;
  /** Questions for what `resolve` found missing, answered into a layer of values. */
  ask(missing: readonly Missing[], prompter: Prompter): Promise<Values>;
  /** The question that asks for the secret. */
  secretPrompt(target: T): string;

  /** For `profile show`, `profile list` and `status`. */
  describe(settings: ProfileSettings): Described;
  /** The login summary: "Logged in to {iam} as {who}, {scope}". */
  summary(target: T, token: CachedToken): { iam: string; who: string; scope: string | undefined };
  /** What a login learnt that a later one needs (a user's id), saved in the profile with the settings. */
  remember?(target: T, token: CachedToken): ProfileSettings;
  /** The IAM base a Keystone-style extension (login tokens, access keys) hangs off, if any. */
  iamUrl?(target: T): string;

  /** What it can do beyond getting a token. */
  readonly can: {
    /** Ask IAM whether a token is valid. */
    validate?(http: HttpClient, issuer: string, caller: string, subject: string, method: 'GET' | 'HEAD'): Promise<Validation>;
    /** Revoke a token at IAM. */
    revoke?(http: HttpClient, issuer: string, token: string): Promise<'revoked' | 'already-invalid'>;
    /** A new token (possibly rescoped) from the current one, without the secret. */
    renewFromToken?(io: AuthIO, target: T, current: CachedToken): Promise<CachedToken>;
    /** Take scope flags on `token renew`. */
    rescope?: boolean;
    /** `export --openstack`: the variables the OpenStack client reads (some methods hand it their secret). */
    openstackVariables?(token: CachedToken, region: string | undefined, target: T, secret: string | undefined): Map<string, string>;
    /** Temporary access keys (AK/SK and a security token) bought with the method's token (OTC, Huawei Cloud). */
    temporaryKeys?(io: AuthIO, target: T, current: CachedToken, durationSeconds: number): Promise<TemporaryKeys>;
    /** `openstackVariables` wants the secret (the OpenStack client refuses this method's bare token). */
    openstackNeedsSecret?: boolean;
    /**
     * Keystone user tokens: the scopes their user may choose from. A login at a terminal that names
     * no scope lists them with an unscoped token and rescopes it (`renewFromToken`) to the one picked;
     * one whose scoped request is refused tries once without the scope, to tell a wrong secret from
     * a scope without a role; `authctl projects` lists them.
     */
    scopes?: {
      /** The projects and domains the token's user has a role on. */
      list(io: AuthIO, target: T, token: CachedToken): Promise<ScopeChoice[]>;
      /** The same IAM and user, with no scope. */
      unscoped(target: T): T;
      /** The same IAM and user, scoped to `choice`. */
      scoped(target: T, choice: ScopeChoice): T;
    };
  };
}

/**
 * The `reason` of a RejectedError whose request IAM refused for the credentials themselves (a
 * plain 401 to the password): the user, its domain or the secret is wrong, or, when a scope was
 * sent, the user has no role there (Keystone answers both alike).
 */
export const CREDENTIALS_REJECTED = 'credentials-rejected';

/** A stable string identifying a target; equal targets give equal keys. */
export function cacheKey<T extends Target>(method: AuthMethod<T>, target: T): string {
  return JSON.stringify([method.kind, ...method.identity(target), ...method.scopeKey(target)]);
}

/** Whether a cached token's key names the same IAM and identity as `target`, whatever its scope. */
export function sameIdentity<T extends Target>(method: AuthMethod<T>, target: T, key: string): boolean {
  const identity = [method.kind, ...method.identity(target)];
  try {
    return JSON.stringify((JSON.parse(key) as unknown[]).slice(0, identity.length)) === JSON.stringify(identity);
  } catch {
    return false;
  }
}

/** The method kind a cache key was made by. */
export function keyKind(key: string): string | undefined {
  try {
    const parsed = JSON.parse(key) as unknown;
    return Array.isArray(parsed) && typeof parsed[0] === 'string' ? parsed[0] : undefined;
  } catch {
    return undefined;
  }
}

/** What IAM answered, as the store keeps it for `target`. */
export function toCachedToken<T extends Target>(method: AuthMethod<T>, target: T, issued: IssuedToken, issuer: string): CachedToken {
  return { v: 1, key: cacheKey(method, target), token: issued.token, ...issued.info, skewMs: issued.skewMs, issuer };
}
