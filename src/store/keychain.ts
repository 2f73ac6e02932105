import { StoreError } from '../core/errors.js';
import type { SecretStore } from './secret-store.js';
import { requireDependency } from '../util/cjs.js';

type KeyringModule = typeof import('@napi-rs/keyring');
type AsyncEntry = InstanceType<KeyringModule['AsyncEntry']>;

/** The CLI's hint for this reason names the ways out (a Secret Service, or the file store's flag). */
const UNAVAILABLE = { reason: 'keychain-unavailable', hint: 'start a Secret Service (e.g. `gnome-keyring-daemon --unlock --components=secrets` in a D-Bus session), or use the file store' } as const;
/** One that runs and does not answer: the way out is to restart it. */
const UNRESPONSIVE = 'keychain-unresponsive';

/** Platforms whose binding package is loaded directly (napi-rs's names for them). */
const PLATFORM_BINDINGS: Readonly<Record<string, string>> = {
  'linux-x64': 'linux-x64-gnu',
  'linux-arm64': 'linux-arm64-gnu',
  'darwin-x64': 'darwin-x64',
  'darwin-arm64': 'darwin-arm64',
  'win32-x64': 'win32-x64-msvc',
  'win32-arm64': 'win32-arm64-msvc',
};

/**
 * Where to load the binding from, in order. @napi-rs/keyring's own loader finds the platform's
 * package too, but only after telling glibc from musl (it reads /usr/bin/ldd) and failing to
 * require a file it does not ship: about 2 ms of every cached `token get`, more than the rest of
 * authctl's own work. So the platform's package first, and the loader, which knows every platform
 * (and musl, where the glibc build fails to load), when that fails.
 */
export function bindingCandidates(platform: string, arch: string): string[] {
  const own = PLATFORM_BINDINGS[`${platform}-${arch}`];
  return own ? [`@napi-rs/keyring-${own}`, '@napi-rs/keyring'] : ['@napi-rs/keyring'];
}

/** The first candidate that loads (a CommonJS native addon: require(), no ES module loader). */
export function loadBinding(load: <T>(name: string) => T, platform: string = process.platform, arch: string = process.arch): KeyringModule {
  const candidates = bindingCandidates(platform, arch);
  for (const name of candidates.slice(0, -1)) {
    try {
      return load<KeyringModule>(name);
    } catch {
      // not installed, or built for another libc: the next candidate
    }
  }
  return load<KeyringModule>(candidates.at(-1)!);
}

/** The OS keychain through @napi-rs/keyring: Secret Service on Linux, Keychain on macOS, Credential Manager on Windows. */
export class KeychainStore implements SecretStore {
  readonly kind = 'keychain';
  readonly #service: string;
  readonly #timeoutMs: number;
  readonly #busAddress: string | undefined;
  readonly #entries = new Map<string, AsyncEntry>();
  #module: KeyringModule | undefined;
  /** A keychain that did not answer once is not asked again by this process (`status` asks once per profile). */
  #unresponsive: StoreError | undefined;

  /** `busAddress` (DBUS_SESSION_BUS_ADDRESS) only names the bus in messages. */
  constructor(service: string, timeoutMs: number, busAddress?: string) {
    this.#service = service;
    this.#busAddress = busAddress;
    this.#timeoutMs = timeoutMs;
  }

  #binding(): KeyringModule {
    return (this.#module ??= loadBinding(requireDependency));
  }

  #entry(account: string): AsyncEntry {
    let entry = this.#entries.get(account);
    if (!entry) {
      // Pinned: unpinned, the binding silently falls back to the kernel keyring, which is lost on reboot.
      entry = new (this.#binding()).AsyncEntry(this.#service, account, { linux: { store: 'secret-service' } });
      this.#entries.set(account, entry);
    }
    return entry;
  }

  /**
   * The call, or a StoreError once the timeout has passed. No AbortSignal: the binding only
   * cancels a call not yet started on its thread pool, and creating one costs the cached path
   * about 1 ms (Node loads its EventTarget machinery for the first AbortController).
   */
  async #call<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#unresponsive) throw this.#unresponsive;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreError(`keychain unavailable: the Secret Service did not answer within ${this.#timeoutMs / 1000}s`, { ...UNAVAILABLE, reason: UNRESPONSIVE })), this.#timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([operation(), timeout]);
    } catch (error) {
      const failure = error instanceof StoreError ? error : keychainError(error, this.#busAddress);
      if (failure.reason === UNRESPONSIVE) this.#unresponsive = failure;
      throw failure;
    } finally {
      clearTimeout(timer);
    }
  }

  async get(account: string): Promise<string | undefined> {
    return (await this.#call(() => this.#entry(account).getPassword())) ?? undefined;
  }

  async set(account: string, value: string): Promise<void> {
    await this.#call(() => this.#entry(account).setPassword(value));
  }

  async delete(account: string): Promise<boolean> {
    return this.#call(() => this.#entry(account).deleteCredential());
  }

  /** One search of the service (it returns the secrets too, which are dropped here). */
  async accounts(): Promise<string[]> {
    const found = await this.#call(() => this.#binding().findCredentialsAsync(this.#service));
    return found.map((credential) => credential.account);
  }
}

/** Turns the binding's platform messages into a cause a person can act on. */
export function keychainError(error: unknown, busAddress: string | undefined): StoreError {
  const text = error instanceof Error ? error.message : String(error);
  let cause: string;
  let reason: string = UNAVAILABLE.reason;
  if (/DBUS_SESSION_BUS_ADDRESS|autolaunch/i.test(text)) {
    cause = 'no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service can be reached';
  } else if (/Failed to connect to socket|Connection refused|No such file or directory/i.test(text)) {
    cause = `the D-Bus session bus at ${busAddress ?? '(unset)'} is not running`;
  } else if (/org\.freedesktop\.secrets|ServiceUnknown|not provided by any/i.test(text)) {
    cause = 'no Secret Service (gnome-keyring, KeePassXC, ...) is running on the D-Bus session';
  } else if (/unlock prompt|\blocked\b/i.test(text)) {
    cause = 'the keychain is locked and could not be unlocked';
    reason = 'keychain-locked'; // the way out is to unlock it, not to start a Secret Service
  } else if (/no result found/i.test(text)) {
    cause = 'the Secret Service has no default collection (login keyring) to store into';
  } else if (/Did not receive a reply|timed? ?out/i.test(text)) {
    // The binding's own D-Bus timeout (2 s), which can come first: its connection is made on this thread.
    cause = 'the Secret Service did not answer in time';
    reason = UNRESPONSIVE;
  } else {
    cause = `the keychain failed: ${text}`;
  }
  return new StoreError(`keychain unavailable: ${cause}`, { ...UNAVAILABLE, reason, cause: error });
}
