import { parseCachedToken, serializeCachedToken, type CachedToken } from '../core/token.js';
import { partOwner, type ChunkedStore } from './chunked.js';

/** The secret-store entries of one profile, by role. */
/** An entry's role: `token`, or the name of the secret a method renews with (`password`, `client-secret`, ...). */
export type SecretRole = string;

/** The entry `checkWritable` writes and removes at once. */
const WRITE_CHECK_ROLE = 'write-check';

/** A profile's secrets: its cached token, and the password or client secret saved for silent renewal. */
export class ProfileSecrets {
  readonly #store: ChunkedStore;
  readonly #profile: string;
  readonly #warn: (message: string) => void;
  readonly #warned = new Set<string>();

  constructor(store: ChunkedStore, profile: string, warn: (message: string) => void) {
    this.#store = store;
    this.#profile = profile;
    // A token is read again under the refresh lock: say what is wrong with it once.
    this.#warn = (message) => {
      if (this.#warned.has(message)) return;
      this.#warned.add(message);
      warn(message);
    };
  }

  get storeKind(): string {
    return this.#store.store.kind;
  }

  #account(role: SecretRole): string {
    return `${this.#profile}:${role}`;
  }

  /** The cached token, or undefined on a miss. A damaged or foreign entry is a miss with a warning. */
  async readToken(): Promise<CachedToken | undefined> {
    const { value, problem } = await this.#store.read(this.#account('token'));
    if (problem) {
      this.#warn(`the cached token of profile ${this.#profile} is ${problem === 'incomplete' ? 'incomplete' : "not in authctl's format"}; ignoring it`);
      return undefined;
    }
    if (value === undefined) return undefined;
    const token = parseCachedToken(value);
    if (!token) this.#warn(`the cached token of profile ${this.#profile} is damaged; ignoring it`);
    return token;
  }

  /**
   * Proves the store takes a write, by writing and removing a small entry: a locked keychain
   * answers a read of a missing entry as a miss, so only a write finds out before a login sends a
   * password to IAM (and a full or read-only disk is found then too).
   */
  async checkWritable(): Promise<void> {
    const account = this.#account(WRITE_CHECK_ROLE);
    await this.#store.write(account, 'authctl write check');
    await this.#store.delete(account);
  }

  async writeToken(token: CachedToken): Promise<void> {
    await this.#store.write(this.#account('token'), serializeCachedToken(token));
  }

  async readSecret(role: SecretRole): Promise<string | undefined> {
    const { value } = await this.#store.read(this.#account(role));
    return value;
  }

  async writeSecret(role: SecretRole, value: string): Promise<void> {
    await this.#store.write(this.#account(role), value);
  }

  async deleteSecret(role: SecretRole): Promise<boolean> {
    return this.#store.delete(this.#account(role));
  }

  /**
   * Removes every entry of the profile, whatever its role (one of another version's too), found
   * with one listing of the store rather than a delete per role authctl knows (each a keychain
   * round trip). The token goes first: a store that cannot delete then fails with everything as
   * it was. Says whether anything was there (a write check a killed login left is no news).
   */
  async deleteAll(): Promise<boolean> {
    const mine = (await this.#store.store.accounts()).filter((account) => account.startsWith(`${this.#profile}:`));
    const token = this.#account('token');
    const entries = mine.filter((account) => partOwner(account) === undefined).sort((a, b) => Number(b === token) - Number(a === token));
    let deleted = false;
    for (const account of entries) {
      // The chunked store removes the parts an entry's manifest names with it.
      const removed = await this.#store.delete(account);
      if (account !== this.#account(WRITE_CHECK_ROLE)) deleted = removed || deleted;
    }
    // Parts no manifest names (a write killed before its manifest) would stay for good; those it named are gone already.
    for (const part of mine.filter((account) => partOwner(account) !== undefined)) await this.#store.store.delete(part);
    return deleted;
  }
}
