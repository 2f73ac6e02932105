import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StoreError } from '../core/errors.js';
import { writeAtomically } from './atomic-write.js';
import type { SecretStore } from './secret-store.js';

/**
 * Secrets as files, for machines without a keychain: one file per entry, mode 0600, in a 0700
 * directory, replaced atomically (temp file, fsync, rename) so a crash never leaves half a file.
 * With a passphrase each file is AES-256-GCM encrypted under a scrypt key with its own salt.
 */

const SCRYPT = { N: 16384, r: 8, p: 1 } as const;

interface PlainFile {
  v: 1;
  value: string;
}

interface EncryptedFile {
  v: 1;
  alg: 'aes-256-gcm';
  kdf: 'scrypt';
  salt: string;
  iv: string;
  tag: string;
  data: string;
}

export class FileStore implements SecretStore {
  readonly kind = 'file';
  readonly #dir: string;
  readonly #passphrase: string | undefined;
  readonly #onPlaintextWrite: () => void;
  readonly #keys = new Map<string, Buffer>();

  constructor(dir: string, passphrase: string | undefined, onPlaintextWrite: () => void = () => {}) {
    this.#dir = dir;
    this.#passphrase = passphrase || undefined;
    this.#onPlaintextWrite = onPlaintextWrite;
  }

  get encrypted(): boolean {
    return this.#passphrase !== undefined;
  }

  #path(account: string): string {
    // Account names are authctl's own (profile names are validated), but encode anyway so no
    // character can name another directory.
    return join(this.#dir, account.replace(/[^A-Za-z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  }

  #key(salt: Buffer): Buffer {
    const id = salt.toString('base64');
    let key = this.#keys.get(id);
    if (!key) {
      key = scryptSync(this.#passphrase!, salt, 32, SCRYPT);
      this.#keys.set(id, key);
    }
    return key;
  }

  async get(account: string): Promise<string | undefined> {
    const path = this.#path(account);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StoreError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    let content: Partial<PlainFile & EncryptedFile>;
    try {
      content = JSON.parse(text) as Partial<PlainFile & EncryptedFile>;
    } catch {
      return text; // not ours: the chunked layer reads it as foreign, and the caller warns
    }
    if (typeof content.value === 'string') return content.value;
    if (content.alg !== 'aes-256-gcm' || !content.salt || !content.iv || !content.tag || !content.data) return undefined;
    if (!this.#passphrase) {
      throw new StoreError(`${path} is encrypted and no passphrase was given`, { reason: 'file-passphrase-missing' });
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key(Buffer.from(content.salt, 'base64')), Buffer.from(content.iv, 'base64'));
      decipher.setAAD(Buffer.from(account));
      decipher.setAuthTag(Buffer.from(content.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(content.data, 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new StoreError(`cannot decrypt ${path}: wrong passphrase, or the file was altered`, {
        reason: 'file-passphrase-wrong',
        cause: error,
      });
    }
  }

  async set(account: string, value: string): Promise<void> {
    const path = this.#path(account);
    let content: PlainFile | EncryptedFile;
    if (this.#passphrase) {
      const salt = randomBytes(16);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', this.#key(salt), iv);
      // Bound to its entry: a file copied over another profile's (say, its password) fails to decrypt.
      cipher.setAAD(Buffer.from(account));
      const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
      content = {
        v: 1,
        alg: 'aes-256-gcm',
        kdf: 'scrypt',
        salt: salt.toString('base64'),
        iv: iv.toString('base64'),
        tag: cipher.getAuthTag().toString('base64'),
        data: data.toString('base64'),
      };
    } else {
      this.#onPlaintextWrite();
      content = { v: 1, value };
    }
    try {
      mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
      chmodSync(this.#dir, 0o700); // an existing directory may have been created wider
      writeAtomically(path, JSON.stringify(content));
    } catch (error) {
      throw new StoreError(`cannot write ${path}: ${(error as Error).message}`, { cause: error });
    }
  }

  async delete(account: string): Promise<boolean> {
    try {
      unlinkSync(this.#path(account));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw new StoreError(`cannot delete ${this.#path(account)}: ${(error as Error).message}`, { cause: error });
    }
  }
}
