import { createRequire } from 'node:module';
import { KeychainError } from '../core/errors.js';
import type { Env } from '../io/io.js';
import type { SecretStore } from './secret-store.js';

type KeyringModule = typeof import('@napi-rs/keyring');
type AsyncEntry = InstanceType<KeyringModule['AsyncEntry']>;

const WAYS_OUT =
  'start a Secret Service (e.g. `gnome-keyring-daemon --unlock --components=secrets` in a D-Bus session), or keep tokens in an encrypted file with `--store file` / AUTHCTL_STORE=file';

/** The OS keychain through @napi-rs/keyring: Secret Service on Linux, Keychain on macOS, Credential Manager on Windows. */
export class KeychainStore implements SecretStore {
  readonly kind = 'keychain';
  readonly #service: string;
  readonly #timeoutMs: number;
  readonly #env: Env;
  readonly #entries = new Map<string, AsyncEntry>();
  #module: KeyringModule | undefined;

  constructor(service: string, env: Env, timeoutMs: number) {
    this.#service = service;
    this.#env = env;
    this.#timeoutMs = timeoutMs;
  }

  #entry(account: string): AsyncEntry {
    let entry = this.#entries.get(account);
    if (!entry) {
      try {
        // A CommonJS native addon: require() skips the ESM wrapper's cost on the hot path.
        this.#module ??= createRequire(import.meta.url)('@napi-rs/keyring') as KeyringModule;
        // Pinned: unpinned, the binding silently falls back to the kernel keyring, which is lost on reboot.
        entry = new this.#module.AsyncEntry(this.#service, account, { linux: { store: 'secret-service' } });
      } catch (error) {
        throw keychainError(error, this.#env);
      }
      this.#entries.set(account, entry);
    }
    return entry;
  }

  async #call<T>(operation: (entry: AsyncEntry, signal: AbortSignal) => Promise<T>, account: string): Promise<T> {
    const entry = this.#entry(account);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new KeychainError(`the keychain did not answer within ${this.#timeoutMs / 1000}s`, { hint: WAYS_OUT }));
      }, this.#timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([operation(entry, controller.signal), timeout]);
    } catch (error) {
      throw error instanceof KeychainError ? error : keychainError(error, this.#env);
    } finally {
      clearTimeout(timer);
    }
  }

  async get(account: string): Promise<string | undefined> {
    return (await this.#call((entry, signal) => entry.getPassword(signal), account)) ?? undefined;
  }

  async set(account: string, value: string): Promise<void> {
    await this.#call((entry, signal) => entry.setPassword(value, signal), account);
  }

  async delete(account: string): Promise<boolean> {
    return this.#call((entry, signal) => entry.deleteCredential(signal), account);
  }
}

/** Turns the binding's platform messages into a cause a person can act on. */
export function keychainError(error: unknown, env: Env): KeychainError {
  const text = error instanceof Error ? error.message : String(error);
  let cause: string;
  if (/DBUS_SESSION_BUS_ADDRESS|autolaunch/i.test(text)) {
    cause = 'no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service can be reached';
  } else if (/Failed to connect to socket|Connection refused|No such file or directory/i.test(text)) {
    cause = `the D-Bus session bus at ${env.DBUS_SESSION_BUS_ADDRESS ?? '(unset)'} is not running`;
  } else if (/org\.freedesktop\.secrets|ServiceUnknown|not provided by any/i.test(text)) {
    cause = 'no Secret Service (gnome-keyring, KeePassXC, ...) is running on the D-Bus session';
  } else if (/unlock prompt|\blocked\b/i.test(text)) {
    cause = 'the keychain is locked and could not be unlocked';
  } else if (/no result found/i.test(text)) {
    cause = 'the Secret Service has no default collection (login keyring) to store into';
  } else if (/Did not receive a reply|timed? ?out/i.test(text)) {
    cause = 'the keychain did not answer in time';
  } else {
    cause = `the keychain failed: ${text}`;
  }
  return new KeychainError(`keychain unavailable: ${cause}`, { hint: WAYS_OUT, cause: error });
}
