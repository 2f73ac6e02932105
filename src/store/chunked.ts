import { UnreadableEntryError, type SecretStore } from './secret-store.js';

/**
 * Stores values of any size in a store whose entries are capped (Windows Credential Manager
 * refuses secrets over 2560 bytes; PKI tokens are several KB).
 *
 * Layout under `account`:
 * - small value:  `authctl1:` + value
 * - large value:  `authctl1*` + manifest JSON {gen, parts, sha256}; parts live at `account#gen.i`
 *
 * A write puts the new parts under a fresh generation first and the manifest last, then removes
 * the old generation: a crash at any point leaves either the old or the new value readable.
 * A part that is missing or does not match the manifest's hash reads as a miss, never as a
 * wrong value.
 */

const WHOLE = 'authctl1:';
/** A manifest (`authctl1*` + JSON with a 64-hex-digit hash) is about 120 characters. */
export const MIN_ENTRY_LENGTH = 256;
/** With entries of at least 256 characters: values up to 1 MiB, far above the 64 KiB a token may have. */
const MAX_PARTS = 4096;
const MANIFEST = 'authctl1*';

interface Generation {
  gen: string;
  parts: number;
}

interface Manifest extends Generation {
  sha256: string;
  /** The generation this one replaced, kept until the next write. */
  previous?: Generation;
}

/** What went wrong reading an entry; the caller decides whether to warn. */
export type ReadProblem = 'foreign' | 'incomplete';

export class ChunkedStore {
  readonly #store: SecretStore;
  readonly #maxEntryLength: number;

  /** `maxEntryLength` in UTF-16 code units, the unit Windows counts in; at least room for a manifest. */
  constructor(store: SecretStore, maxEntryLength: number) {
    this.#store = store;
    this.#maxEntryLength = Math.max(maxEntryLength, MIN_ENTRY_LENGTH);
  }

  get store(): SecretStore {
    return this.#store;
  }

  async read(account: string): Promise<{ value?: string; problem?: ReadProblem }> {
    let head = await this.#store.get(account);
    // A write may land between reading the manifest and its parts: then read the new manifest once more.
    for (let attempt = 0; ; attempt++) {
      if (head === undefined) return {};
      if (head.startsWith(WHOLE)) return { value: head.slice(WHOLE.length) };
      const manifest = head.startsWith(MANIFEST) ? parseManifest(head.slice(MANIFEST.length)) : undefined;
      if (!manifest) return { problem: 'foreign' };
      const value = await this.#assemble(account, manifest);
      if (value !== undefined) return { value };
      const again = attempt === 0 ? await this.#store.get(account) : head;
      if (again === head) return { problem: 'incomplete' };
      head = again;
    }
  }

  async #assemble(account: string, manifest: Manifest): Promise<string | undefined> {
    const parts = await Promise.all(Array.from({ length: manifest.parts }, (_, index) => this.#store.get(partAccount(account, manifest.gen, index))));
    if (parts.some((part) => part === undefined)) return undefined;
    const value = parts.join('');
    return sha256(value) === manifest.sha256 ? value : undefined;
  }

  async write(account: string, value: string): Promise<void> {
    const replaced = manifestOf(await this.#store.get(account));
    if (WHOLE.length + value.length <= this.#maxEntryLength) {
      await this.#store.set(account, WHOLE + value);
      // A whole value has no manifest to remember the replaced generation by: remove it now.
      await this.#deleteParts(account, replaced);
    } else {
      const parts = splitUtf16(value, this.#maxEntryLength);
      if (parts.length > MAX_PARTS) throw new RangeError(`a value of ${value.length} characters needs over ${MAX_PARTS} keychain entries`);
      const { randomBytes } = process.getBuiltinModule('node:crypto');
      const gen = randomBytes(4).toString('hex');
      for (const [index, part] of parts.entries()) {
        await this.#store.set(partAccount(account, gen, index), part);
      }
      const manifest: Manifest = { gen, parts: parts.length, sha256: sha256(value) };
      if (replaced) manifest.previous = { gen: replaced.gen, parts: replaced.parts };
      await this.#store.set(account, MANIFEST + JSON.stringify(manifest));
    }
    await this.#deleteParts(account, replaced?.previous);
  }

  async delete(account: string): Promise<boolean> {
    const current = manifestOf(await this.#readForDelete(account));
    const deleted = await this.#store.delete(account);
    await this.#deleteParts(account, current);
    await this.#deleteParts(account, current?.previous);
    return deleted;
  }

  /**
   * The entry, to find its parts; one that is there but cannot be read (encrypted under another
   * key, in plain text in an encrypted store) is removed all the same: that is what the hint of
   * its error sends the person to do. Its parts, if any, cannot be named and stay behind.
   */
  async #readForDelete(account: string): Promise<string | undefined> {
    try {
      return await this.#store.get(account);
    } catch (error) {
      if (error instanceof UnreadableEntryError) return undefined;
      throw error;
    }
  }

  async #deleteParts(account: string, generation: Generation | undefined): Promise<void> {
    if (!generation) return;
    for (let index = 0; index < generation.parts; index++) {
      await this.#store.delete(partAccount(account, generation.gen, index));
    }
  }
}

function manifestOf(head: string | undefined): Manifest | undefined {
  return head?.startsWith(MANIFEST) ? parseManifest(head.slice(MANIFEST.length)) : undefined;
}

function partAccount(account: string, gen: string, index: number): string {
  return `${account}#${gen}.${index}`;
}

/** The entry a part's account (`account#gen.i`) belongs to; undefined for an entry's own account. */
export function partOwner(account: string): string | undefined {
  const hash = account.lastIndexOf('#');
  return hash < 0 ? undefined : account.slice(0, hash);
}

/** node:crypto is loaded only for split values: the cached path of a small token never needs it. */
function sha256(value: string): string {
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(value).digest('hex');
}

function isGeneration(value: unknown): value is Generation {
  if (typeof value !== 'object' || value === null) return false;
  const { gen, parts } = value as Partial<Generation>;
  return typeof gen === 'string' && /^[0-9a-f]{8}$/.test(gen) && Number.isSafeInteger(parts) && parts! > 0 && parts! <= MAX_PARTS;
}

function parseManifest(text: string): Manifest | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (!isGeneration(value)) return undefined;
    const { sha256: hash, previous } = value as Partial<Manifest>;
    if (typeof hash === 'string' && (previous === undefined || isGeneration(previous))) return value as Manifest;
  } catch {
    // fall through: not a manifest of ours
  }
  return undefined;
}

/** Splits into pieces of at most `size` code units without cutting a surrogate pair in two. */
export function splitUtf16(value: string, size: number): string[] {
  const parts: string[] = [];
  let start = 0;
  while (start < value.length) {
    let end = Math.min(start + size, value.length);
    const code = value.charCodeAt(end - 1);
    if (end < value.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
    parts.push(value.slice(start, end));
    start = end;
  }
  return parts;
}
