import { StoreError } from '../core/errors.js';

/** A flat map of secret strings: the OS keychain or an (optionally encrypted) file store. */
export interface SecretStore {
  /** Which store this is, for messages: a StoreKind in production (unit tests have their own). */
  readonly kind: string;
  /** undefined when there is no such entry. */
  get(account: string): Promise<string | undefined>;
  set(account: string, value: string): Promise<void>;
  /** Whether something was deleted. */
  delete(account: string): Promise<boolean>;
  /** Every account it holds (the keychain: those of its service, which is the config directory's). */
  accounts(): Promise<string[]>;
}

export const STORE_KINDS = ['keychain', 'file'] as const;
export type StoreKind = (typeof STORE_KINDS)[number];

/**
 * An entry that is there but cannot be used as it is (the file store: encrypted under another
 * key, altered, or in plain text in an encrypted store). Still a store error (exit 6) when read;
 * removing such an entry (`authctl logout`) goes ahead, since that is the way out it hints at.
 */
export class UnreadableEntryError extends StoreError {}
