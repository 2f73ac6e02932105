import { join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { ChunkedStore } from './chunked.js';
import type { SecretStore, StoreKind } from './secret-store.js';

export { MIN_ENTRY_LENGTH } from './chunked.js';

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
  /** The file store's passphrase; with neither it nor a key, plain text (with a warning). */
  passphrase?: string;
  /** The file store's key (AUTHCTL_FILE_KEY, decoded by `parseFileKey`): no key derivation. Wins over the passphrase for writes. */
  fileKey?: Buffer;
  keychainService: string;
  keychainTimeoutMs: number;
  /** DBUS_SESSION_BUS_ADDRESS, named in keychain errors. */
  busAddress?: string;
  /** Called (once per write) when the file store writes without a passphrase. */
  onPlaintextWrite?: (dir: string) => void;
  /** For --debug. */
  debug?: (message: string) => void;
}

/**
 * AUTHCTL_FILE_KEY: exactly 32 bytes in standard base64 (44 characters, as `openssl rand -base64
 * 32` prints them; surrounding white space, such as the newline of a file, is ignored). Anything
 * else is a usage error that names the variable and never shows the value.
 */
export function parseFileKey(text: string, variable = 'AUTHCTL_FILE_KEY'): Buffer {
  const trimmed = text.trim();
  const key = /^[A-Za-z0-9+/]{43}=?$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
  if (!key || key.length !== 32 || key.toString('base64') !== trimmed.padEnd(44, '=')) {
    // What it is instead, never the value: its length, and how many bytes base64 of that length holds.
    const bytes = /^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64').length : undefined;
    const what = bytes === undefined ? 'not all base64' : bytes === 32 ? 'not canonical base64: its last character' : `${bytes} bytes`;
    throw new UsageError(`${variable} must be a key of 32 random bytes in base64 (44 characters); the value set is not one (${trimmed.length} characters, ${what})`, {
      hint: `make one with \`openssl rand -base64 32\` and keep it as a secret; for a passphrase of your own choosing use AUTHCTL_FILE_PASSPHRASE instead`,
    });
  }
  return key;
}

export async function openSecretStore(kind: StoreKind, options: StoreOptions): Promise<SecretStore> {
  if (kind === 'file') {
    const { FileStore } = await import('./file-store.js');
    const dir = join(options.configDir, 'secrets');
    return new FileStore(
      dir,
      { passphrase: options.passphrase, key: options.fileKey },
      { onPlaintextWrite: () => options.onPlaintextWrite?.(dir), ...(options.debug ? { debug: options.debug } : {}) },
    );
  }
  const { KeychainStore } = await import('./keychain.js');
  return new KeychainStore(options.keychainService, options.keychainTimeoutMs, options.busAddress);
}

export function chunked(store: SecretStore, maxEntryLength: number): ChunkedStore {
  return new ChunkedStore(store, maxEntryLength);
}
