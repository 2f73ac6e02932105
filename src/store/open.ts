import { join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { durationSetting } from '../core/duration.js';
import type { Env } from '../io/io.js';
import { ChunkedStore } from './chunked.js';
import { STORE_KINDS, type SecretStore, type StoreKind } from './secret-store.js';

/** Choosing and opening the secret store: shared by the CLI and the cached fast path. */

/** A frozen keyring daemon must not hang a shell start-up. */
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = 3000;

/** Entries over this many UTF-16 units are split (Windows Credential Manager: 2560 bytes). */
const WINDOWS_ENTRY_LIMIT = 1200;

/** --store, else AUTHCTL_STORE, else what the profile saved, else the OS keychain. */
export function chooseStoreKind(flag: string | undefined, env: Env, saved: StoreKind | undefined): StoreKind {
  const chosen = flag ?? (env.AUTHCTL_STORE || undefined);
  if (chosen === undefined) return saved ?? 'keychain';
  if (!(STORE_KINDS as readonly string[]).includes(chosen)) {
    throw new UsageError(`unknown store ${JSON.stringify(chosen)}`, { hint: `use one of: ${STORE_KINDS.join(', ')}` });
  }
  return chosen as StoreKind;
}

/**
 * The keychain service name. A separate config directory (AUTHCTL_CONFIG_DIR) is a separate set
 * of profiles, so it gets its own service name and never sees another directory's tokens.
 */
export function keychainService(env: Env): string {
  // Resolved: `./cfg`, `cfg/` and the absolute path name one directory, so one set of entries.
  return env.AUTHCTL_CONFIG_DIR ? `authctl:${resolve(env.AUTHCTL_CONFIG_DIR)}` : 'authctl';
}

export function entryLimit(env: Env, platform: NodeJS.Platform): number {
  const forced = env.AUTHCTL_KEYCHAIN_CHUNK_SIZE;
  if (forced) return Number(forced) || WINDOWS_ENTRY_LIMIT;
  return platform === 'win32' ? WINDOWS_ENTRY_LIMIT : Number.MAX_SAFE_INTEGER;
}

export interface StoreOptions {
  env: Env;
  configDir: string;
  platform: NodeJS.Platform;
  /** Called (once per write) when the file store writes without a passphrase. */
  onPlaintextWrite?: (dir: string) => void;
}

export async function openSecretStore(kind: StoreKind, options: StoreOptions): Promise<SecretStore> {
  const { env } = options;
  if (kind === 'file') {
    const { FileStore } = await import('./file-store.js');
    const dir = join(options.configDir, 'secrets');
    return new FileStore(dir, env.AUTHCTL_FILE_PASSPHRASE || undefined, () => options.onPlaintextWrite?.(dir));
  }
  if (kind === 'memory') throw new Error('the memory store exists only in unit tests');
  const { KeychainStore } = await import('./keychain.js');
  const timeoutMs = env.AUTHCTL_KEYCHAIN_TIMEOUT ? durationSetting(env.AUTHCTL_KEYCHAIN_TIMEOUT, 'AUTHCTL_KEYCHAIN_TIMEOUT') * 1000 : DEFAULT_KEYCHAIN_TIMEOUT_MS;
  return new KeychainStore(keychainService(env), env, timeoutMs);
}

export function chunked(store: SecretStore, options: Pick<StoreOptions, 'env' | 'platform'>): ChunkedStore {
  return new ChunkedStore(store, entryLimit(options.env, options.platform));
}
