import { durationSetting } from '../core/duration.js';
import { NoTokenError, UnreachableError, UsageError } from '../core/errors.js';
import { fromEnvironment } from '../core/settings.js';
import type { AuthIO, PersonIO } from '../auth/method.js';
import { canOpenBrowser } from '../io/browser.js';
import { readCaFile } from '../io/ca-file.js';
import { formatDuration } from '../core/duration.js';
import type { HttpClient } from '../iam/http.js';
import { canPrompt, type Env, type IO } from '../io/io.js';
import type { Prompter } from '../io/prompter.js';
import { SecretRegistry } from '../io/redact.js';
import { debugRequested, Reporter } from '../io/reporter.js';
import { PROFILE_SCHEMA, SECRET_VARIABLES } from '../settings/table.js';
import type { ChunkedStore } from '../store/chunked.js';
import type { LockOptions } from '../store/lock.js';
import { ConfigFile, validateProfileName } from '../store/config.js';
import { chunked, DEFAULT_KEYCHAIN_TIMEOUT_MS, entryLimit, keychainService, MIN_ENTRY_LENGTH, parseFileKey } from '../store/open.js';
import { ProfileSecrets } from '../store/profile-secrets.js';
import { STORE_KINDS, type StoreKind } from '../store/secret-store.js';
import type { Factory } from './factory.js';

/** Options every command accepts. */
export interface GlobalOptions {
  profile?: string;
  store?: string;
  debug?: boolean;
  timeout?: string;
  cacert?: string;
  insecure?: boolean;
  osCloud?: string;
}

/** Which CAs to trust and whether to verify at all, for the requests to one profile's IAM. */
export interface TlsChoice {
  cacert?: string;
  insecure?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_ATTEMPTS = 3;
/** A token another profile signs with is renewed when less than this is left. */
const SOURCE_MIN_TTL_MS = 5 * 60 * 1000;

/** One command's run: the Factory's world, the global options, and what they make (reporter, config, stores, HTTP clients). */
export class Context {
  readonly env: Env;
  readonly io: IO;
  readonly secrets: SecretRegistry;
  readonly reporter: Reporter;
  readonly #factory: Factory;
  readonly #globals: GlobalOptions;
  #config: ConfigFile | undefined;
  /** One client per TLS choice: `status --check` and `logout --all` go through profiles with different CAs. */
  readonly #http = new Map<string, Promise<HttpClient>>();
  readonly #stores = new Map<StoreKind, Promise<ChunkedStore>>();
  #plaintextWarned = false;
  /** The profiles whose tokens are being fetched to sign for another (an agency's source), innermost last. */
  readonly #signingWith: string[] = [];
  readonly #network: { timeoutMs: number; attempts: number };
  readonly #storeSettings: ReturnType<typeof storeSettings>;
  /** The login lock this run holds, while it does: marked once the login waits for a person. */
  #loginLock: { mark: () => () => void; unmark?: () => void } | undefined;
  /** Time this command has spent waiting for IAM, and the tighter limits `withShortNetworkBudget` sets (innermost last). */
  readonly #waited = { spentMs: 0, limits: [] as number[] };

  constructor(factory: Factory, globals: GlobalOptions, secrets = new SecretRegistry()) {
    this.#factory = factory;
    this.#globals = globals;
    this.secrets = secrets;
    this.env = factory.env;
    this.io = factory.io;
    // A secret in the environment is one the run has seen, used or not: a keychain or server
    // message that quotes it must not print it (status --json, warnings before it is sent).
    for (const name of SECRET_VARIABLES) this.secrets.add(factory.env[name]);
    this.#network = networkSettings(globals, factory.env);
    this.#storeSettings = storeSettings(factory.env);
    this.reporter = new Reporter(() => factory.io.stderr, factory.env, this.secrets, debugRequested(globals.debug, factory.env));
  }

  /** The injected clock: every expiry decision and the lock read it. */
  now(): number {
    return this.#factory.clock.now();
  }

  get version(): string {
    return this.#factory.version;
  }

  get cwd(): string {
    return this.#factory.cwd();
  }

  get home(): string {
    return this.#factory.home();
  }

  /** --os-cloud, else OS_CLOUD: a clouds.yaml entry to read settings from, and whether the command line named it. */
  cloudName(): { name: string; explicit: boolean } | undefined {
    if (this.#globals.osCloud !== undefined) return { name: this.#globals.osCloud, explicit: true };
    return this.env.OS_CLOUD ? { name: this.env.OS_CLOUD, explicit: false } : undefined;
  }

  async config(): Promise<ConfigFile> {
    this.#config ??= new ConfigFile(this.env.AUTHCTL_CONFIG_DIR || (await this.#factory.defaultConfigDir()), PROFILE_SCHEMA);
    return this.#config;
  }

  /** --profile, else AUTHCTL_PROFILE, else the profile chosen with `profile use`, else `default`. */
  async profileName(): Promise<string> {
    const explicit = this.#globals.profile ?? (this.env.AUTHCTL_PROFILE || undefined);
    if (explicit !== undefined) return validateProfileName(explicit);
    return (await this.config()).read().defaultProfile ?? 'default';
  }

  /** --store, else AUTHCTL_STORE, else what the profile saved, else the OS keychain. */
  storeKind(saved: StoreKind | undefined): StoreKind {
    const chosen = this.#globals.store ?? (this.env.AUTHCTL_STORE || undefined);
    if (chosen === undefined) return saved ?? 'keychain';
    if (!(STORE_KINDS as readonly string[]).includes(chosen)) {
      throw new UsageError(`unknown store ${JSON.stringify(chosen)}`, { hint: `use one of: ${STORE_KINDS.join(', ')}` });
    }
    return chosen as StoreKind;
  }

  /** Whether the store was chosen for this run (flag or environment) rather than by the profile. */
  get storeChosenExplicitly(): boolean {
    return (this.#globals.store ?? (this.env.AUTHCTL_STORE || undefined)) !== undefined;
  }

  async profileSecrets(profile: string, kind: StoreKind): Promise<ProfileSecrets> {
    let store = this.#stores.get(kind);
    if (!store) {
      store = this.#openStore(kind);
      this.#stores.set(kind, store);
    }
    return new ProfileSecrets(await store, profile, (message) => this.reporter.warn(message));
  }

  async #openStore(kind: StoreKind): Promise<ChunkedStore> {
    const env = this.env;
    const passphrase = env.AUTHCTL_FILE_PASSPHRASE || undefined;
    if (kind === 'file') this.secrets.add(passphrase);
    // Checked only where it is used: a malformed key fails the file store (exit 2), not the keychain.
    const fileKey = kind === 'file' && env.AUTHCTL_FILE_KEY ? parseFileKey(env.AUTHCTL_FILE_KEY) : undefined;
    const opened = await this.#factory.openStore(kind, {
      configDir: (await this.config()).dir,
      ...(passphrase ? { passphrase } : {}),
      ...(fileKey ? { fileKey } : {}),
      debug: (message) => this.reporter.debug(message),
      keychainService: keychainService(env.AUTHCTL_CONFIG_DIR || undefined),
      ...(env.DBUS_SESSION_BUS_ADDRESS ? { busAddress: env.DBUS_SESSION_BUS_ADDRESS } : {}),
      keychainTimeoutMs: this.#storeSettings.keychainTimeoutMs,
      onPlaintextWrite: (dir) => {
        if (this.#plaintextWarned) return;
        this.#plaintextWarned = true;
        this.reporter.warn(`secrets are stored in plain text under ${dir}; set AUTHCTL_FILE_PASSPHRASE to encrypt them`);
      },
    });
    return chunked(opened, entryLimit(this.#storeSettings.chunkSize, this.#factory.platform));
  }

  /**
   * The TLS choice for a profile: --cacert, else AUTHCTL_CACERT, else OS_CACERT, else what the
   * profile (or its clouds.yaml entry) saved; --insecure from the flag or the profile.
   */
  tls(saved: TlsChoice = {}): TlsChoice {
    const cacert = this.#globals.cacert ?? (this.env.AUTHCTL_CACERT || this.env.OS_CACERT || saved.cacert);
    const insecure = Boolean(this.#globals.insecure || saved.insecure);
    return { ...(cacert ? { cacert } : {}), ...(insecure ? { insecure } : {}) };
  }

  /** Whether TLS settings were given for this run (flag or environment), so login saves them. */
  get tlsChosenExplicitly(): boolean {
    return Boolean(this.#globals.cacert ?? (this.env.AUTHCTL_CACERT || this.env.OS_CACERT)) || Boolean(this.#globals.insecure);
  }

  /** An HTTP client for one TLS choice (a profile's `tls`). */
  http(tls: TlsChoice): Promise<HttpClient> {
    const key = JSON.stringify([tls.cacert ?? null, Boolean(tls.insecure)]);
    let client = this.#http.get(key);
    if (!client) {
      client = this.#createHttp(tls);
      this.#http.set(key, client);
    }
    return client;
  }

  async #createHttp({ cacert, insecure }: TlsChoice): Promise<HttpClient> {
    let ca: string | undefined;
    if (cacert) {
      ca = readCaFile(cacert);
    }
    if (insecure) this.reporter.warn('--insecure: TLS certificates are not verified, so anyone on the network path can read passwords and tokens');
    return this.#factory.httpClient({
      ...this.#network,
      env: this.env,
      tls: { ...(ca ? { ca } : {}), ...(insecure ? { insecure } : {}) },
      userAgent: `authctl/${this.version} node/${process.versions.node}`,
      debug: (message) => this.reporter.debug(message),
      now: () => this.#factory.clock.now(),
      sleep: (ms) => this.#factory.sleep(ms),
      // One budget for all of the command's requests: what one request's tries and pauses may take
      // (--timeout × AUTHCTL_RETRIES, the backoff's ceiling, 250 ms × 2^n, between them, and 250 ms
      // a try for abandoning it: a hung request always gets all its tries, on a busy machine too).
      budget: {
        remainingMs: () => Math.min((this.#network.timeoutMs + 250) * this.#network.attempts + 250 * (2 ** this.#network.attempts - 2), ...this.#waited.limits) - this.#waited.spentMs,
        spend: (ms) => void (this.#waited.spentMs += Math.max(0, ms)),
      },
      // Progress for a person at a terminal; scripts and CI logs get only the outcome.
      // Asked at a retry, not now: looking at stderr makes Node build its stream (~2 ms of every renewal).
      onRetry: (notice: { line: string }) => {
        if (this.io.stderr.isTTY) this.reporter.info(notice.line);
      },
    });
  }

  /** Runs `work` with at most one per-try timeout (--timeout) of waiting for IAM in all, retries included. */
  async withShortNetworkBudget<T>(work: () => Promise<T>): Promise<T> {
    this.#waited.limits.push(this.#waited.spentMs + this.#network.timeoutMs);
    try {
      return await work();
    } finally {
      this.#waited.limits.pop();
    }
  }

  /** The global options as given on the command line (not the environment), e.g. for a hint that repeats them. */
  get globals(): Readonly<GlobalOptions> {
    return this.#globals;
  }

  /** Runs `work` holding the profile's refresh lock (AUTHCTL_LOCK_TIMEOUT bounds the wait). */
  async withRefreshLock<T>(profile: string, work: () => Promise<T>): Promise<T> {
    const { withProfileLock, DEFAULT_LOCK_OPTIONS } = await import('../store/lock.js');
    return withProfileLock((await this.config()).dir, profile, this.#lockOptions(DEFAULT_LOCK_OPTIONS), work);
  }

  /** The lock defaults, with AUTHCTL_LOCK_TIMEOUT's wait and the injected clock. */
  #lockOptions(defaults: LockOptions): LockOptions {
    const wait = this.#storeSettings.lockWaitMs;
    return { ...defaults, ...(wait !== undefined ? { waitMs: wait } : {}), now: () => this.now() };
  }

  /**
   * Runs a login holding the profile's login lock. At a terminal, a second login while this one
   * waits for a person is refused (exit 2); without one (CI jobs logging in side by side) it
   * waits its turn, as long as AUTHCTL_LOCK_TIMEOUT allows.
   */
  async withLoginLock<T>(profile: string, work: () => Promise<T>): Promise<T> {
    const { withExclusiveLock, withProfileLock, waitingForPerson, markWaitingForPerson, DEFAULT_LOCK_OPTIONS } = await import('../store/lock.js');
    const dir = (await this.config()).dir;
    const name = `${profile}.login`;
    const refused = (pid: number | undefined) =>
      new UsageError(`another \`authctl login\` for profile ${profile} is running${pid === undefined ? '' : ` (pid ${pid})`}, perhaps waiting for its sign-in`, { hint: 'finish or stop that one first (Ctrl-C there)' });
    const held: { mark: () => () => void; unmark?: () => void } = { mark: () => markWaitingForPerson(dir, name) };
    this.#loginLock = held;
    try {
      if (!canPrompt(this.io)) {
        // Its turn comes unless the one holding it waits for a person, which may take minutes.
        const refuse = () => {
          const pid = waitingForPerson(dir, name);
          return pid === undefined ? undefined : refused(pid);
        };
        return await withProfileLock(dir, profile, { ...this.#lockOptions(DEFAULT_LOCK_OPTIONS), holder: 'another `authctl login`', refuse }, work, name);
      }
      return await withExclusiveLock(dir, name, refused, work);
    } finally {
      held.unmark?.();
      this.#loginLock = undefined;
    }
  }

  /** Says, on the login lock this run holds, that it now waits for a person (once). */
  #waitingForPerson(): void {
    const held = this.#loginLock;
    if (held && !held.unmark) held.unmark = held.mark();
  }

  prompter(): Prompter {
    return this.#factory.prompter();
  }

  /**
   * What an auth method may use to sign in for a profile. A second factor comes from
   * OS_PASSCODE, else AUTHCTL_PASSCODE_COMMAND, else (when `ask` and a person is at the
   * terminal) a masked prompt; otherwise there is none, and the method says so.
   */
  async authIO(profile: { tls: TlsChoice; secrets?: ProfileSecrets }, ask: boolean): Promise<AuthIO> {
    const http = await this.http(profile.tls);
    const store = () => {
      if (!profile.secrets) throw new Error('authIO: this sign-in has no profile store');
      return profile.secrets;
    };
    return {
      http,
      now: () => this.now(),
      sleep: (ms) => this.#factory.sleep(ms),
      secretVariable: (setting) => {
        const value = fromEnvironment(this.env, setting);
        this.secrets.add(value);
        return value;
      },
      conceal: (secret) => this.secrets.add(secret),
      cachedToken: () => store().readToken(),
      readSaved: async (role) => {
        const value = await store().readSecret(role);
        this.secrets.add(value);
        return value;
      },
      keep: async (role, value) => {
        this.secrets.add(value);
        await store().writeSecret(role, value);
      },
      ...(ask ? { person: this.#person() } : {}),
      passcode: async (question) => {
        const code = await this.#passcode(question, ask);
        this.secrets.add(code);
        return code;
      },
      readSecretFile: async (path, what) => {
        const { readSecretFile } = await import('../io/secret-file.js');
        const content = readSecretFile(path, what);
        this.secrets.add(content);
        return content;
      },
      profileToken: async (name, options = {}) => {
        validateProfileName(name);
        if (this.#signingWith.includes(name) || name === (await this.profileName())) {
          throw new UsageError(`profile ${name} would sign with its own token (${[await this.profileName(), ...this.#signingWith, name].join(' → ')})`, { hint: 'give --source-profile a profile that logs in with its own secret' });
        }
        const { cachedOrFresh } = await import('./resolve.js');
        this.#signingWith.push(name);
        try {
          const result = await cachedOrFresh(this, options.fresh ? Number.POSITIVE_INFINITY : SOURCE_MIN_TTL_MS, name);
          this.secrets.add(result.token.token);
          const { method, target } = result.resolved;
          return { token: result.token, iamUrl: method.iamUrl?.(target), label: method.label };
        } finally {
          this.#signingWith.pop();
        }
      },
    };
  }

  /** The environment for a program authctl starts (a passcode command, a browser): without authctl's secret variables, as `exec` gives it. */
  #childEnv(): Env {
    return Object.fromEntries(Object.entries(this.env).filter(([name]) => !SECRET_VARIABLES.includes(name)));
  }

  /** The person at the terminal, for a sign-in finished in a browser or on a second device. */
  #person(): PersonIO {
    const factory = this.#factory;
    return {
      tell: (line) => {
        this.#waitingForPerson();
        this.reporter.info(line);
      },
      canOpenBrowser: canOpenBrowser(this.env, factory.platform),
      openBrowser: async (url) => {
        // A provider names the page: only a web page is opened, never a file or another scheme's handler.
        if (!/^https?:$/.test(new URL(url).protocol)) {
          throw new UnreachableError(`the sign-in page the provider named is not a web page (${new URL(url).protocol} URL), so it was not opened`, { hint: 'check the issuer: its discovery document names the authorization endpoint' });
        }
        return factory.openBrowser(url, this.#childEnv());
      },
      listen: async () => {
        this.#waitingForPerson();
        return (await import('../io/loopback.js')).listenForRedirect();
      },
      waitFor: (work, timeoutMs, what) =>
        factory.untilInterrupted(async (interrupted) => {
          this.#waitingForPerson();
          let timer: ReturnType<typeof setTimeout> | undefined;
          const timedOut = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new NoTokenError(`${what} did not finish within ${formatDuration(timeoutMs)}; nothing was stored`, { hint: 'run `authctl login` again (--login-timeout gives more time)' })), timeoutMs);
          });
          try {
            return await Promise.race([work, interrupted, timedOut]);
          } finally {
            clearTimeout(timer);
          }
        }),
    };
  }

  async #passcode(question: string, ask: boolean): Promise<string | undefined> {
    const given = this.env.OS_PASSCODE;
    if (given) return given.trim();
    const command = this.env.AUTHCTL_PASSCODE_COMMAND;
    if (command) {
      let output: string;
      const timeoutMs = this.#network.timeoutMs * 3;
      try {
        output = await this.#factory.runCommand(command, this.#childEnv(), timeoutMs);
      } catch (error) {
        if ((error as { timedOut?: boolean }).timedOut) {
          throw new UsageError(`AUTHCTL_PASSCODE_COMMAND did not finish within ${formatDuration(timeoutMs)}, so it was stopped`, {
            hint: 'run it by hand: it must print the current code on stdout without waiting for input (it gets 3 x --timeout)',
            cause: error,
          });
        }
        const status = (error as { code?: unknown; signal?: unknown }).code ?? (error as { signal?: unknown }).signal;
        throw new UsageError(`AUTHCTL_PASSCODE_COMMAND failed${status === undefined ? '' : ` (${String(status)})`}`, { hint: 'run it by hand: it must print the current code on stdout', cause: error });
      }
      const code = output.trim();
      if (!/^\d{6,8}$/.test(code)) throw new UsageError('AUTHCTL_PASSCODE_COMMAND did not print a passcode (6 to 8 digits)', { hint: 'run it by hand: it must print the current code and nothing else on stdout' });
      return code;
    }
    if (!ask || !canPrompt(this.io)) return undefined;
    return this.prompter().password(question);
  }
}

/** --timeout / AUTHCTL_TIMEOUT and AUTHCTL_RETRIES, checked up front so a bad one fails every command. */
function networkSettings(globals: GlobalOptions, env: Env): { timeoutMs: number; attempts: number } {
  const timeoutText = globals.timeout ?? (env.AUTHCTL_TIMEOUT || undefined);
  const timeoutName = globals.timeout === undefined ? 'AUTHCTL_TIMEOUT' : '--timeout';
  const timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_MS : positiveDuration(timeoutText, timeoutName) * 1000;
  const retries = env.AUTHCTL_RETRIES;
  const attempts = retries === undefined || retries === '' ? DEFAULT_ATTEMPTS : Number(retries);
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 10) {
    throw new UsageError(`AUTHCTL_RETRIES ${JSON.stringify(retries)} is not a number of attempts from 1 to 10`, { hint: 'e.g. AUTHCTL_RETRIES=3' });
  }
  return { timeoutMs, attempts };
}

/** A duration setting that must be more than nothing. */
function positiveDuration(text: string, name: string): number {
  const seconds = durationSetting(text, name);
  if (seconds <= 0) throw new UsageError(`${name} must be more than 0`, { hint: `e.g. ${name.startsWith('--') ? `${name} 10s` : `${name}=10s`}` });
  return seconds;
}

/** The store settings every command may use, checked up front like the network's: a typo fails at once, wherever it is used. */
function storeSettings(env: Env): { keychainTimeoutMs: number; lockWaitMs: number | undefined; chunkSize: number | undefined } {
  const keychainTimeout = env.AUTHCTL_KEYCHAIN_TIMEOUT || undefined;
  const lockWait = env.AUTHCTL_LOCK_TIMEOUT || undefined;
  const chunk = env.AUTHCTL_KEYCHAIN_CHUNK_SIZE || undefined;
  const chunkSize = chunk === undefined ? undefined : Number(chunk);
  if (chunkSize !== undefined && (!/^\d+$/.test(chunk!) || chunkSize < MIN_ENTRY_LENGTH || !Number.isSafeInteger(chunkSize))) {
    throw new UsageError(`AUTHCTL_KEYCHAIN_CHUNK_SIZE ${JSON.stringify(chunk)} is not a number of characters of at least ${MIN_ENTRY_LENGTH}`, { hint: 'e.g. AUTHCTL_KEYCHAIN_CHUNK_SIZE=1200, or unset it' });
  }
  return {
    keychainTimeoutMs: keychainTimeout === undefined ? DEFAULT_KEYCHAIN_TIMEOUT_MS : positiveDuration(keychainTimeout, 'AUTHCTL_KEYCHAIN_TIMEOUT') * 1000,
    lockWaitMs: lockWait === undefined ? undefined : durationSetting(lockWait, 'AUTHCTL_LOCK_TIMEOUT') * 1000,
    chunkSize,
  };
}
