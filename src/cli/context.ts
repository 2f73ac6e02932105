import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { UsageError } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT_MS, type HttpClient } from '../iam/http.js';
import type { Env, IO } from '../io/io.js';
import { terminalPrompter, type Prompter } from '../io/prompter.js';
import { SecretRegistry } from '../io/redact.js';
import { Reporter } from '../io/reporter.js';
import { ChunkedStore } from '../store/chunked.js';
import { ConfigFile, defaultConfigDir, validateProfileName } from '../store/config.js';
import { ProfileSecrets } from '../store/profile-secrets.js';
import { STORE_KINDS, type SecretStore, type StoreKind } from '../store/secret-store.js';

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

/** Entries over this many UTF-16 units are split (Windows Credential Manager: 2560 bytes). */
const WINDOWS_ENTRY_LIMIT = 1200;

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
  readonly #stores = new Map<string, ChunkedStore>();
  #plaintextWarned = false;

  constructor(deps: Deps, globals: GlobalOptions, secrets = new SecretRegistry()) {
    this.#deps = deps;
    this.secrets = secrets;
    this.#globals = globals;
    this.env = deps.env;
    this.io = deps.io;
    this.now = deps.now;
    this.reporter = new Reporter(deps.io.stderr, deps.env, this.secrets, Boolean(globals.debug) || isTruthy(deps.env.AUTHCTL_DEBUG));
  }

  get version(): string {
    return this.#deps.version;
  }

  async config(): Promise<ConfigFile> {
    this.#config ??= new ConfigFile(await defaultConfigDir(this.env));
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
    return new ProfileSecrets(await this.#chunkedStore(kind), profile, (message) => this.reporter.warn(message));
  }

  async #chunkedStore(kind: StoreKind): Promise<ChunkedStore> {
    let store = this.#stores.get(kind);
    if (!store) {
      store = new ChunkedStore(await this.#openStore(kind), this.#entryLimit());
      this.#stores.set(kind, store);
    }
    return store;
  }

  #entryLimit(): number {
    const forced = this.env.AUTHCTL_KEYCHAIN_CHUNK_SIZE;
    if (forced) return Number(forced) || WINDOWS_ENTRY_LIMIT;
    return this.#deps.platform === 'win32' ? WINDOWS_ENTRY_LIMIT : Number.MAX_SAFE_INTEGER;
  }

  async #openStore(kind: StoreKind): Promise<SecretStore> {
    if (this.#deps.openStore) return this.#deps.openStore(kind);
    const configDir = (await this.config()).dir;
    if (kind === 'file') {
      const { FileStore } = await import('../store/file-store.js');
      const passphrase = this.env.AUTHCTL_FILE_PASSPHRASE || undefined;
      this.secrets.add(passphrase);
      return new FileStore(join(configDir, 'secrets'), passphrase, () => {
        if (this.#plaintextWarned) return;
        this.#plaintextWarned = true;
        this.reporter.warn(`secrets are stored in plain text under ${join(configDir, 'secrets')}; set AUTHCTL_FILE_PASSPHRASE to encrypt them`);
      });
    }
    const { KeychainStore } = await import('../store/keychain.js');
    const timeoutSeconds = this.env.AUTHCTL_KEYCHAIN_TIMEOUT ? this.seconds(this.env.AUTHCTL_KEYCHAIN_TIMEOUT, 'AUTHCTL_KEYCHAIN_TIMEOUT') : 3;
    return new KeychainStore(keychainService(this.env), this.env, timeoutSeconds * 1000);
  }

  /** Parses a duration setting, naming it in the error. */
  seconds(text: string, name: string): number {
    const seconds = parseDuration(text);
    if (seconds === undefined) {
      throw new UsageError(`${name} ${JSON.stringify(text)} is not a duration`, { hint: 'give seconds (300) or a number with a unit: 90s, 5m, 2h, 1d' });
    }
    return seconds;
  }

  http(): Promise<HttpClient> {
    if (this.#deps.http) return Promise.resolve(this.#deps.http);
    this.#http ??= (async () => {
      const timeoutText = this.#globals.timeout ?? (this.env.AUTHCTL_TIMEOUT || undefined);
      const timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_MS : this.seconds(timeoutText, '--timeout') * 1000;
      if (timeoutMs <= 0) throw new UsageError('--timeout must be more than 0', { hint: 'e.g. --timeout 10s' });
      const attempts = this.env.AUTHCTL_RETRIES === undefined || this.env.AUTHCTL_RETRIES === '' ? DEFAULT_ATTEMPTS : Number(this.env.AUTHCTL_RETRIES);
      if (!Number.isInteger(attempts) || attempts < 1 || attempts > 10) {
        throw new UsageError(`AUTHCTL_RETRIES ${JSON.stringify(this.env.AUTHCTL_RETRIES)} is not a number of attempts from 1 to 10`);
      }
      const { createHttpClient } = await import('../iam/http.js');
      return createHttpClient({
        timeoutMs,
        attempts,
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
      ...(wait ? { waitMs: this.seconds(wait, 'AUTHCTL_LOCK_TIMEOUT') * 1000 } : {}),
      onCompromised: (error: Error) => this.reporter.warn(`lost the refresh lock of profile ${profile}: ${error.message}`),
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

/**
 * The keychain service name. A separate config directory (AUTHCTL_CONFIG_DIR) is a separate set
 * of profiles, so it gets its own service name and never sees another directory's tokens.
 */
export function keychainService(env: Env): string {
  if (!env.AUTHCTL_CONFIG_DIR) return 'authctl';
  return `authctl:${createHash('sha256').update(env.AUTHCTL_CONFIG_DIR).digest('hex').slice(0, 12)}`;
}
