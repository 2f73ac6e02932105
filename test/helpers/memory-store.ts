import type { SecretStore } from '../../src/store/secret-store.js';

/** A secret store in a Map, for unit tests: production code cannot open one. */
export class MemoryStore implements SecretStore {
  readonly kind = 'memory';
  readonly entries = new Map<string, string>();
  /** Set to make every delete fail with it, as a read-only disk or a locked keychain would. */
  failDeletes: Error | undefined;

  async get(account: string): Promise<string | undefined> {
    return this.entries.get(account);
  }

  async set(account: string, value: string): Promise<void> {
    this.entries.set(account, value);
  }

  async delete(account: string): Promise<boolean> {
    if (this.failDeletes) throw this.failDeletes;
    return this.entries.delete(account);
  }

  async accounts(): Promise<string[]> {
    return [...this.entries.keys()];
  }
}
