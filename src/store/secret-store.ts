/** A flat map of secret strings: the OS keychain, an encrypted file store, or memory in unit tests. */
export interface SecretStore {
  readonly kind: StoreKind;
  /** undefined when there is no such entry. */
  get(account: string): Promise<string | undefined>;
  set(account: string, value: string): Promise<void>;
  /** Whether something was deleted. */
  delete(account: string): Promise<boolean>;
}

export const STORE_KINDS = ['keychain', 'file'] as const;
export type StoreKind = (typeof STORE_KINDS)[number] | 'memory';

/** For unit tests. */
export class MemoryStore implements SecretStore {
  readonly kind = 'memory';
  readonly entries = new Map<string, string>();

  async get(account: string): Promise<string | undefined> {
    return this.entries.get(account);
  }

  async set(account: string, value: string): Promise<void> {
    this.entries.set(account, value);
  }

  async delete(account: string): Promise<boolean> {
    return this.entries.delete(account);
  }
}
