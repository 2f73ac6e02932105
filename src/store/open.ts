import { join, resolve } from 'node:path';
import { ChunkedStore } from './chunked.js';
import type { SecretStore, StoreKind } from './secret-store.js';

/** Opening a secret store from explicit options; which store and its options are the caller's choice. */

/** A frozen keyring daemon must not hang a shell start-up. */
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = 3000;

/** Entries over this many UTF-16 units are split (Windows Credential Manager: 2560 bytes). */
export const WINDOWS_ENTRY_LIMIT = 1200;

/**
 * The keychain service name. A separate config directory is a separate set of profiles, so it
 * gets its own service name and never sees another directory's tokens.
 */
export function keychainService(configDirOverride: string | undefined): string {
  // Resolved: `./cfg`, `cfg/` and the absolute path name one directory, so one set of entries.
  return configDirOverride ? `authctl:${resolve(configDirOverride)}` : 'authctl';
}

export function entryLimit(forced: number | undefined, platform: NodeJS.Platform): number {
  if (forced !== undefined) return forced || WINDOWS_ENTRY_LIMIT;
  return platform === 'win32' ? WINDOWS_ENTRY_LIMIT : Number.MAX_SAFE_INTEGER;
}

export interface StoreOptions {
  configDir: string;
  /** The file store's passphrase; none means plain text (with a warning). */
  passphrase?: string;
  keychainService: string;
  keychainTimeoutMs: number;
  /** DBUS_SESSION_BUS_ADDRESS, named in keychain errors. */
  busAddress?: string;
  /** Called (once per write) when the file store writes without a passphrase. */
  onPlaintextWrite?: (dir: string) => void;
}

export async function openSecretStore(kind: StoreKind, options: StoreOptions): Promise<SecretStore> {
  if (kind === 'file') {
    const { FileStore } = await import('./file-store.js');
    const dir = join(options.configDir, 'secrets');
    return new FileStore(dir, options.passphrase, () => options.onPlaintextWrite?.(dir));
  }
  const { KeychainStore } = await import('./keychain.js');
  return new KeychainStore(options.keychainService, options.keychainTimeoutMs, options.busAddress);
}

export function chunked(store: SecretStore, maxEntryLength: number): ChunkedStore {
  return new ChunkedStore(store, maxEntryLength);
}
