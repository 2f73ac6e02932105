import { UsageError } from '../core/errors.js';
import { durationSetting } from '../core/duration.js';
import type { HttpClient } from '../iam/http.js';
import type { Env, IO } from '../io/io.js';
import { terminalPrompter, type Prompter } from '../io/prompter.js';
import { SecretRegistry } from '../io/redact.js';
import { Reporter } from '../io/reporter.js';
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
  #http: Promise<HttpClient> | undefined;
  readonly #stores = new Map<StoreKind, ChunkedStore>();
  #plaintextWarned = false;

  constructor(deps: Deps, globals: GlobalOptions, secrets = new SecretRegistry()) {
    this.#deps = deps;
    this.#globals = globals;
    this.secrets = secrets;
    this.env = deps.env;
    this.io = deps.io;
    this.now = deps.now;
    this.reporter = new Reporter(() => deps.io.stderr, deps.env, this.secrets, Boolean(globals.debug) || isTruthy(deps.env.AUTHCTL_DEBUG));
  }

  get version(): string {
    return this.#deps.version;
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

  http(): Promise<HttpClient> {
    if (this.#deps.http) return Promise.resolve(this.#deps.http);
    this.#http ??= (async () => {
      const timeoutText = this.#globals.timeout ?? (this.env.AUTHCTL_TIMEOUT || undefined);
      const timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_MS : durationSetting(timeoutText, '--timeout') * 1000;
      if (timeoutMs <= 0) throw new UsageError('--timeout must be more than 0', { hint: 'e.g. --timeout 10s' });
      const attempts = this.env.AUTHCTL_RETRIES === undefined || this.env.AUTHCTL_RETRIES === '' ? DEFAULT_ATTEMPTS : Number(this.env.AUTHCTL_RETRIES);
      if (!Number.isInteger(attempts) || attempts < 1 || attempts > 10) {
        throw new UsageError(`AUTHCTL_RETRIES ${JSON.stringify(this.env.AUTHCTL_RETRIES)} is not a number of attempts from 1 to 10`);
      }
      const { createHttpClient } = await import('../iam/http.js');
      return createHttpClient({
        timeoutMs,
        attempts,
        env: this.env,
        userAgent: `authctl/${this.version} node/${process.versions.node}`,
        debug: (message) => this.reporter.debug(message),
      });
    })();
    return this.#http;
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

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}
