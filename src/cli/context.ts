import { readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { durationSetting } from '../core/duration.js';
import type { HttpClient } from '../iam/http.js';
import type { Env, IO } from '../io/io.js';
import { terminalPrompter, type Prompter } from '../io/prompter.js';
import { SecretRegistry } from '../io/redact.js';
import { debugRequested, Reporter } from '../io/reporter.js';
import type { ChunkedStore } from '../store/chunked.js';
import { ConfigFile, chooseProfileName, defaultConfigDir } from '../store/config.js';
import { chooseStoreKind, chunked, openSecretStore } from '../store/open.js';
import { ProfileSecrets } from '../store/profile-secrets.js';
import type { SecretStore, StoreKind } from '../store/secret-store.js';

/** The outside world as commands see it. Everything is built on first use, then reused. */
export interface Deps {
  env: Env;
  io: IO;
  now: () => number;
  platform: NodeJS.Platform;
  version: string;
  cwd: () => string;
  home: () => string;
  /** Unit tests replace the secret store, the network and the terminal. */
  openStore?: (kind: StoreKind) => SecretStore;
  http?: HttpClient;
  prompter?: Prompter;
}

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

/** TLS settings a profile saved at login; the command line and environment come first. */
export interface TlsDefaults {
  cacert?: string;
  insecure?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_ATTEMPTS = 3;

export class Context {
  readonly env: Env;
  readonly io: IO;
  readonly now: () => number;
  readonly secrets: SecretRegistry;
  readonly reporter: Reporter;
  readonly #deps: Deps;
  readonly #globals: GlobalOptions;
  #config: ConfigFile | undefined;
  /** One client per TLS setting: `status --check` and `logout --all` go through profiles with different CAs. */
  readonly #http = new Map<string, Promise<HttpClient>>();
  readonly #stores = new Map<StoreKind, ChunkedStore>();
  #plaintextWarned = false;
  #tlsDefaults: TlsDefaults = {};
  readonly #network: { timeoutMs: number; attempts: number };

  constructor(deps: Deps, globals: GlobalOptions, secrets = new SecretRegistry()) {
    this.#deps = deps;
    this.#globals = globals;
    this.secrets = secrets;
    this.env = deps.env;
    this.io = deps.io;
    this.now = deps.now;
    this.#network = networkSettings(globals, deps.env);
    this.reporter = new Reporter(() => deps.io.stderr, deps.env, this.secrets, debugRequested(globals.debug, deps.env));
  }

  get version(): string {
    return this.#deps.version;
  }

  get cwd(): string {
    return this.#deps.cwd();
  }

  get home(): string {
    return this.#deps.home();
  }

  /** --os-cloud, else OS_CLOUD: a clouds.yaml entry to read settings from, and whether the command line named it. */
  cloudName(): { name: string; explicit: boolean } | undefined {
    if (this.#globals.osCloud !== undefined) return { name: this.#globals.osCloud, explicit: true };
    return this.env.OS_CLOUD ? { name: this.env.OS_CLOUD, explicit: false } : undefined;
  }

  async config(): Promise<ConfigFile> {
    this.#config ??= new ConfigFile(await defaultConfigDir(this.env));
    return this.#config;
  }

  async profileName(): Promise<string> {
    return chooseProfileName(this.#globals.profile, this.env, await this.config());
  }

  storeKind(saved: StoreKind | undefined): StoreKind {
    return chooseStoreKind(this.#globals.store, this.env, saved);
  }

  /** Whether the store was chosen for this run (flag or environment) rather than by the profile. */
  get storeChosenExplicitly(): boolean {
    return (this.#globals.store ?? (this.env.AUTHCTL_STORE || undefined)) !== undefined;
  }

  async profileSecrets(profile: string, kind: StoreKind): Promise<ProfileSecrets> {
    let store = this.#stores.get(kind);
    if (!store) {
      const opened = this.#deps.openStore
        ? this.#deps.openStore(kind)
        : await openSecretStore(kind, {
            env: this.env,
            configDir: (await this.config()).dir,
            platform: this.#deps.platform,
            onPlaintextWrite: (dir) => {
              if (this.#plaintextWarned) return;
              this.#plaintextWarned = true;
              this.reporter.warn(`secrets are stored in plain text under ${dir}; set AUTHCTL_FILE_PASSPHRASE to encrypt them`);
            },
          });
      if (kind === 'file') this.secrets.add(this.env.AUTHCTL_FILE_PASSPHRASE);
      store = chunked(opened, { env: this.env, platform: this.#deps.platform });
      this.#stores.set(kind, store);
    }
    return new ProfileSecrets(store, profile, (message) => this.reporter.warn(message));
  }

  /** The profile in use supplies TLS settings saved at login (see `tls()`). */
  useTlsDefaults(defaults: TlsDefaults): void {
    this.#tlsDefaults = defaults;
  }

  /** --cacert, else AUTHCTL_CACERT, else OS_CACERT, else the profile's; --insecure from the flag or the profile. */
  tls(): TlsDefaults {
    const cacert = this.#globals.cacert ?? (this.env.AUTHCTL_CACERT || this.env.OS_CACERT || this.#tlsDefaults.cacert);
    const insecure = Boolean(this.#globals.insecure || this.#tlsDefaults.insecure);
    return { ...(cacert ? { cacert } : {}), ...(insecure ? { insecure } : {}) };
  }

  /** Whether TLS settings were given for this run (flag or environment), so login saves them. */
  get tlsChosenExplicitly(): boolean {
    return Boolean(this.#globals.cacert ?? (this.env.AUTHCTL_CACERT || this.env.OS_CACERT)) || Boolean(this.#globals.insecure);
  }

  /** An HTTP client with the TLS settings of the profile opened last (see `useTlsDefaults`). */
  http(): Promise<HttpClient> {
    if (this.#deps.http) return Promise.resolve(this.#deps.http);
    const tls = this.tls();
    const key = JSON.stringify(tls);
    let client = this.#http.get(key);
    if (!client) {
      client = this.#createHttp(tls);
      this.#http.set(key, client);
    }
    return client;
  }

  async #createHttp({ cacert, insecure }: TlsDefaults): Promise<HttpClient> {
    let ca: string | undefined;
    if (cacert) {
      try {
        ca = readFileSync(cacert, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read the CA file ${cacert}: ${(error as Error).message}`, { hint: 'give a PEM file with --cacert (or OS_CACERT / AUTHCTL_CACERT)' });
      }
    }
    if (insecure) this.reporter.warn('--insecure: TLS certificates are not verified, so anyone on the network path can read passwords and tokens');
    const { createHttpClient } = await import('../iam/http.js');
    return createHttpClient({
      ...this.#network,
      env: this.env,
      tls: { ...(ca ? { ca } : {}), ...(insecure ? { insecure } : {}) },
      userAgent: `authctl/${this.version} node/${process.versions.node}`,
      debug: (message) => this.reporter.debug(message),
    });
  }

  /** Runs `work` holding the profile's refresh lock (AUTHCTL_LOCK_TIMEOUT bounds the wait). */
  async withRefreshLock<T>(profile: string, work: () => Promise<T>): Promise<T> {
    const { withProfileLock, DEFAULT_LOCK_OPTIONS } = await import('../store/lock.js');
    const wait = this.env.AUTHCTL_LOCK_TIMEOUT;
    const options = {
      ...DEFAULT_LOCK_OPTIONS,
      ...(wait ? { waitMs: durationSetting(wait, 'AUTHCTL_LOCK_TIMEOUT') * 1000 } : {}),
    };
    return withProfileLock((await this.config()).dir, profile, options, work);
  }

  prompter(): Prompter {
    return this.#deps.prompter ?? terminalPrompter(this.io);
  }
}

/** --timeout / AUTHCTL_TIMEOUT and AUTHCTL_RETRIES, checked up front so a bad one fails every command. */
function networkSettings(globals: GlobalOptions, env: Env): { timeoutMs: number; attempts: number } {
  const timeoutText = globals.timeout ?? (env.AUTHCTL_TIMEOUT || undefined);
  const timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_MS : durationSetting(timeoutText, globals.timeout === undefined ? 'AUTHCTL_TIMEOUT' : '--timeout') * 1000;
  if (timeoutMs <= 0) throw new UsageError('--timeout must be more than 0', { hint: 'e.g. --timeout 10s' });
  const retries = env.AUTHCTL_RETRIES;
  const attempts = retries === undefined || retries === '' ? DEFAULT_ATTEMPTS : Number(retries);
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 10) {
    throw new UsageError(`AUTHCTL_RETRIES ${JSON.stringify(retries)} is not a number of attempts from 1 to 10`, { hint: 'e.g. AUTHCTL_RETRIES=3' });
  }
  return { timeoutMs, attempts };
}

