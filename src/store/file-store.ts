import { linkSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../core/errors.js';
import { checkPrivateDir, readPrivateFile } from './private-path.js';
import { writeAtomically } from './atomic-write.js';
import { storageFailure } from './fs-errors.js';
import { UnreadableEntryError, type SecretStore } from './secret-store.js';
import { requireDependency } from '../util/cjs.js';

/**
 * Secrets as files, for machines without a keychain: one file per entry, mode 0600, in a 0700
 * directory, replaced atomically (temp file, fsync, rename) so a crash never leaves half a file.
 *
 * Encrypted (AES-256-GCM, a fresh IV per write, the entry's name as associated data, so a file
 * copied over another entry fails to decrypt) under one of two keys:
 * - AUTHCTL_FILE_KEY: 32 random bytes, used as they are (`kdf: 'none'`); no key derivation at all.
 * - AUTHCTL_FILE_PASSPHRASE: a key derived with scrypt (`kdf: 'scrypt'`) from the passphrase and
 *   the store's salt, kept in `.kdf.json` in the same directory (written once). Every entry names
 *   its salt, so a process derives one key however many entries it reads (token parts, password).
 * With both, new writes use the key; entries written with the passphrase still read with it.
 *
 * Format 1 (earlier versions: a salt of its own in every encrypted file, so one scrypt per entry
 * read) still reads; each entry is written in format 2 on its next write.
 */

/** node:crypto, loaded on the first key use: it costs ~2 ms to load, and a plain-text store never needs it. */
const nodeCrypto = () => requireDependency<typeof import('node:crypto')>('node:crypto');

export const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
/** The per-store salt file (names of entries always hold `%3a`, so it names no entry). */
export const SALT_FILE = '.kdf.json';

/** The key derivation, injectable so tests can count it. */
export type Kdf = (passphrase: string, salt: Buffer) => Buffer;
const scrypt: Kdf = (passphrase, salt) => nodeCrypto().scryptSync(passphrase, salt, 32, SCRYPT);

interface PlainFile {
  v: 1;
  value: string;
}

/** Format 1: the AES key is scrypt(passphrase, salt) itself. */
interface EncryptedFileV1 {
  v: 1;
  alg: 'aes-256-gcm';
  kdf: 'scrypt';
  salt: string;
  iv: string;
  tag: string;
  data: string;
}

/**
 * Format 2: the AES key and the key id are derived (HKDF, HMAC) from the master key: the raw
 * AUTHCTL_FILE_KEY, or scrypt(passphrase, the store's salt). The key id (64 bits of an HMAC of a
 * constant) tells a wrong key or passphrase from an altered file, and reveals nothing a GCM tag
 * does not already.
 */
interface EncryptedFileV2 {
  v: 2;
  alg: 'aes-256-gcm';
  kdf: 'scrypt' | 'none';
  /** With kdf scrypt: the store's salt. */
  salt?: string;
  kid: string;
  iv: string;
  tag: string;
  data: string;
}

interface SaltFile {
  v: 1;
  kdf: 'scrypt';
  salt: string;
}

export interface FileStoreSecrets {
  /** AUTHCTL_FILE_PASSPHRASE. */
  passphrase?: string | undefined;
  /** AUTHCTL_FILE_KEY, decoded: exactly 32 bytes. */
  key?: Buffer | undefined;
}

export interface FileStoreOptions {
  /** Called (once per write) when a write is in plain text. */
  onPlaintextWrite?: () => void;
  /** Replaces scrypt (tests count calls with it). */
  kdf?: Kdf;
  /** For --debug: each key derivation, with its cost. */
  debug?: (message: string) => void;
}

interface Keys {
  aes: Buffer;
  kid: string;
}

function subkeys(master: Buffer): Keys {
  return {
    aes: Buffer.from(nodeCrypto().hkdfSync('sha256', master, Buffer.alloc(0), 'authctl file store v2: aes-256-gcm', 32)),
    kid: nodeCrypto().createHmac('sha256', master).update('authctl file store v2: key id').digest().subarray(0, 8).toString('base64'),
  };
}

const WITH_KEY = 'AUTHCTL_FILE_KEY';
const WITH_PASSPHRASE = 'AUTHCTL_FILE_PASSPHRASE';
const START_OVER = '`authctl logout` and log in again';

export class FileStore implements SecretStore {
  readonly kind = 'file';
  readonly #dir: string;
  readonly #passphrase: string | undefined;
  readonly #rawKey: Keys | undefined;
  readonly #onPlaintextWrite: () => void;
  readonly #kdf: Kdf;
  readonly #debug: (message: string) => void;
  /** Master keys derived from the passphrase, by salt (base64): one scrypt per salt per process. */
  readonly #masters = new Map<string, Buffer>();
  #storeSalt: Buffer | undefined;

  constructor(dir: string, secrets: FileStoreSecrets = {}, options: FileStoreOptions = {}) {
    this.#dir = dir;
    this.#passphrase = secrets.passphrase || undefined;
    if (secrets.key !== undefined && secrets.key.length !== 32) throw new StoreError('the file store key must be 32 bytes');
    this.#rawKey = secrets.key ? subkeys(secrets.key) : undefined;
    this.#onPlaintextWrite = options.onPlaintextWrite ?? (() => {});
    this.#kdf = options.kdf ?? scrypt;
    this.#debug = options.debug ?? (() => {});
  }

  get encrypted(): boolean {
    return this.#passphrase !== undefined || this.#rawKey !== undefined;
  }

  #path(account: string): string {
    // Account names are authctl's own (profile names are validated), but encode anyway so no
    // character can name another directory.
    return join(this.#dir, account.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  }

  #master(salt: Buffer): Buffer {
    const id = salt.toString('base64');
    let master = this.#masters.get(id);
    if (!master) {
      const started = performance.now();
      master = this.#kdf(this.#passphrase!, salt);
      this.#debug(`file store: derived the key from AUTHCTL_FILE_PASSPHRASE (scrypt N=${SCRYPT.N}, ${Math.round(performance.now() - started)} ms)`);
      this.#masters.set(id, master);
    }
    return master;
  }

  async get(account: string): Promise<string | undefined> {
    const path = this.#path(account);
    checkPrivateDir(this.#dir, 'secrets directory');
    let text: string;
    try {
      const read = readPrivateFile(path, { what: 'file store entry', secret: true });
      if (read === undefined) return undefined;
      text = read;
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw new StoreError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    let content: Partial<Omit<PlainFile, 'v'>> & Partial<Omit<EncryptedFileV2, 'v'>> & { v?: unknown };
    try {
      content = JSON.parse(text) as typeof content;
    } catch {
      content = {};
    }
    if (typeof content !== 'object' || content === null || content.alg !== 'aes-256-gcm') {
      // Not encrypted. With a key or passphrase set, only what decrypts under it is a secret: a
      // plain-text entry put in the store's place would sidestep AES-GCM's integrity altogether.
      if (this.encrypted) throw this.#notEncrypted(path);
      if (typeof content === 'object' && content !== null && typeof content.value === 'string') return content.value;
      return text; // not ours, or {"v":1} without a value: the chunked layer reads it as foreign, and the caller warns
    }
    if (!content.iv || !content.tag || !content.data) return undefined;
    if (content.v === 1 && content.kdf === 'scrypt' && content.salt) return this.#readV1(path, account, content as EncryptedFileV1);
    if (content.v === 2 && content.kid && (content.kdf === 'none' || (content.kdf === 'scrypt' && content.salt))) return this.#readV2(path, account, content as EncryptedFileV2);
    return undefined;
  }

  #notEncrypted(path: string): UnreadableEntryError {
    const variable = this.#rawKey ? WITH_KEY : WITH_PASSPHRASE;
    return new UnreadableEntryError(`${path} is not encrypted, although the file store is (${variable} is set); refusing to use it`, {
      reason: 'file-not-encrypted',
      hint: `if it was written before ${variable} was set, or you do not know where it came from: remove it, or ${START_OVER} (entries are then written encrypted)`,
    });
  }

  #needPassphrase(path: string): void {
    if (this.#passphrase) return;
    if (this.#rawKey) {
      throw new UnreadableEntryError(`${path} was encrypted with a passphrase, and ${WITH_KEY} cannot open it`, {
        reason: 'file-written-with-passphrase',
        hint: `set ${WITH_PASSPHRASE} to the passphrase it was written with as well (new writes then use ${WITH_KEY}), or ${START_OVER}`,
      });
    }
    throw new UnreadableEntryError(`${path} is encrypted and no passphrase was given`, { reason: 'file-passphrase-missing' });
  }

  #readV1(path: string, account: string, content: EncryptedFileV1): string {
    this.#needPassphrase(path);
    try {
      return decrypt(this.#master(Buffer.from(content.salt, 'base64')), account, content);
    } catch (error) {
      throw new UnreadableEntryError(`cannot decrypt ${path}: wrong passphrase, or the file was altered`, { reason: 'file-passphrase-wrong', cause: error });
    }
  }

  #readV2(path: string, account: string, content: EncryptedFileV2): string {
    let keys: Keys;
    let variable: string;
    if (content.kdf === 'none') {
      if (!this.#rawKey) {
        throw new UnreadableEntryError(`${path} was encrypted with ${WITH_KEY}, which is not set${this.#passphrase ? ` (${WITH_PASSPHRASE} cannot open it)` : ''}`, {
          reason: 'file-key-missing',
          hint: `set ${WITH_KEY} to the key it was written with, or ${START_OVER}`,
        });
      }
      keys = this.#rawKey;
      variable = WITH_KEY;
    } else {
      this.#needPassphrase(path);
      keys = subkeys(this.#master(Buffer.from(content.salt!, 'base64')));
      variable = WITH_PASSPHRASE;
    }
    if (keys.kid !== content.kid) {
      const what = content.kdf === 'none' ? 'key' : 'passphrase';
      throw new UnreadableEntryError(`cannot decrypt ${path}: wrong ${what} (${variable} is not the one it was written with)`, {
        reason: content.kdf === 'none' ? 'file-key-wrong' : 'file-passphrase-wrong',
        hint: `use the ${what} the file store was written with (${variable}), or ${START_OVER}`,
      });
    }
    try {
      return decrypt(keys.aes, account, content);
    } catch (error) {
      throw new UnreadableEntryError(`cannot decrypt ${path}: the ${content.kdf === 'none' ? 'key' : 'passphrase'} is right, but the file was altered or damaged`, {
        reason: 'file-damaged',
        hint: `${START_OVER} to replace it`,
        cause: error,
      });
    }
  }

  /** The store's salt for new writes: read once, or made once (0600) when there is none yet. */
  #salt(): Buffer {
    if (this.#storeSalt) return this.#storeSalt;
    const path = join(this.#dir, SALT_FILE);
    const existing = readSaltFile(path);
    if (existing) return (this.#storeSalt = existing);
    // A salt already derived from in this process (a format-1 entry just read) costs no second scrypt.
    const known = this.#masters.keys().next().value;
    const salt = known === undefined ? nodeCrypto().randomBytes(16) : Buffer.from(known, 'base64');
    const content: SaltFile = { v: 1, kdf: 'scrypt', salt: salt.toString('base64') };
    const temp = `${path}.${process.pid}.${nodeCrypto().randomBytes(4).toString('hex')}.tmp`;
    writeAtomically(temp, JSON.stringify(content));
    try {
      // A hard link never replaces: of processes racing to make it, one wins and all use its salt.
      linkSync(temp, path);
      this.#storeSalt = salt;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const theirs = readSaltFile(path);
      if (theirs) this.#storeSalt = theirs;
      else {
        writeAtomically(path, JSON.stringify(content)); // a damaged one: entries name their salts, so replacing it loses nothing
        this.#storeSalt = salt;
      }
    } finally {
      unlinkSync(temp);
    }
    return this.#storeSalt;
  }

  async set(account: string, value: string): Promise<void> {
    const path = this.#path(account);
    try {
      // Never chmod or write through a planted symbolic link, nor into someone else's directory.
      checkPrivateDir(this.#dir, 'secrets directory');
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      let content: PlainFile | EncryptedFileV2;
      if (this.#rawKey) {
        content = { v: 2, alg: 'aes-256-gcm', kdf: 'none', ...encrypt(this.#rawKey, account, value) };
      } else if (this.#passphrase) {
        const salt = this.#salt();
        content = { v: 2, alg: 'aes-256-gcm', kdf: 'scrypt', salt: salt.toString('base64'), ...encrypt(subkeys(this.#master(salt)), account, value) };
      } else {
        this.#onPlaintextWrite();
        content = { v: 1, value };
      }
      writeAtomically(path, JSON.stringify(content));
    } catch (error) {
      if (error instanceof StoreError) throw error;
      throw storageFailure(error, 'write', path);
    }
  }

  /** The entries' names, decoded; not the salt file nor the temporary files of writes under way. */
  async accounts(): Promise<string[]> {
    checkPrivateDir(this.#dir, 'secrets directory');
    let names: string[];
    try {
      names = readdirSync(this.#dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw storageFailure(error, 'read', this.#dir);
    }
    return names.filter((name) => !name.startsWith('.') && !name.endsWith('.tmp')).map((name) => name.replace(/%([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))));
  }

  async delete(account: string): Promise<boolean> {
    try {
      unlinkSync(this.#path(account));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw storageFailure(error, 'delete', this.#path(account), 'nothing was removed');
    }
  }
}

function readSaltFile(path: string): Buffer | undefined {
  const text = readPrivateFile(path, { what: 'file store salt file' });
  if (text === undefined) return undefined;
  try {
    const content = JSON.parse(text) as Partial<SaltFile>;
    const salt = content.kdf === 'scrypt' && typeof content.salt === 'string' ? Buffer.from(content.salt, 'base64') : undefined;
    return salt && salt.length >= 16 ? salt : undefined;
  } catch {
    return undefined;
  }
}

function encrypt(keys: Keys, account: string, value: string): Pick<EncryptedFileV2, 'kid' | 'iv' | 'tag' | 'data'> {
  const iv = nodeCrypto().randomBytes(12);
  const cipher = nodeCrypto().createCipheriv('aes-256-gcm', keys.aes, iv);
  // Bound to its entry: a file copied over another profile's (say, its password) fails to decrypt.
  cipher.setAAD(Buffer.from(account));
  const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return { kid: keys.kid, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** GCM's full tag, the only length authctl writes: a shorter one would be a forgery's easier target. */
const TAG_BYTES = 16;

function decrypt(key: Buffer, account: string, content: { iv: string; tag: string; data: string }): string {
  const tag = Buffer.from(content.tag, 'base64');
  if (tag.length !== TAG_BYTES) throw new Error(`an authentication tag of ${tag.length} bytes, not ${TAG_BYTES}`);
  const decipher = nodeCrypto().createDecipheriv('aes-256-gcm', key, Buffer.from(content.iv, 'base64'), { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(account));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(Buffer.from(content.data, 'base64')), decipher.final()]).toString('utf8');
}

/** Format 1, as earlier versions wrote it: for the tests that prove it still reads. */
export function encryptV1(passphrase: string, account: string, value: string, kdf: Kdf = scrypt): string {
  const salt = nodeCrypto().randomBytes(16);
  const iv = nodeCrypto().randomBytes(12);
  const cipher = nodeCrypto().createCipheriv('aes-256-gcm', kdf(passphrase, salt), iv);
  cipher.setAAD(Buffer.from(account));
  const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  const content: EncryptedFileV1 = { v: 1, alg: 'aes-256-gcm', kdf: 'scrypt', salt: salt.toString('base64'), iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
  return JSON.stringify(content);
}
