import type { SecretStore } from './secret-store.js';

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
const MIN_ENTRY_LENGTH = 256;
/** With entries of at least 256 characters: values up to 1 MiB, far above the 64 KiB a token may have. */
const MAX_PARTS = 4096;
const MANIFEST = 'authctl1*';

interface Manifest {
  gen: string;
  parts: number;
  sha256: string;
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
    const head = await this.#store.get(account);
    if (head === undefined) return {};
    if (head.startsWith(WHOLE)) return { value: head.slice(WHOLE.length) };
    const manifest = head.startsWith(MANIFEST) ? parseManifest(head.slice(MANIFEST.length)) : undefined;
    if (!manifest) return { problem: 'foreign' };
    const parts = await Promise.all(
      Array.from({ length: manifest.parts }, (_, index) => this.#store.get(partAccount(account, manifest.gen, index))),
    );
    if (parts.some((part) => part === undefined)) return { problem: 'incomplete' };
    const value = parts.join('');
    return (await sha256(value)) === manifest.sha256 ? { value } : { problem: 'incomplete' };
  }

  async write(account: string, value: string): Promise<void> {
    const previous = await this.#store.get(account);
    if (WHOLE.length + value.length <= this.#maxEntryLength) {
      await this.#store.set(account, WHOLE + value);
    } else {
      const parts = splitUtf16(value, this.#maxEntryLength);
      if (parts.length > MAX_PARTS) throw new RangeError(`a value of ${value.length} characters needs over ${MAX_PARTS} keychain entries`);
      const { randomBytes } = process.getBuiltinModule('node:crypto');
      const gen = randomBytes(4).toString('hex');
      for (const [index, part] of parts.entries()) {
        await this.#store.set(partAccount(account, gen, index), part);
      }
      const manifest: Manifest = { gen, parts: parts.length, sha256: await sha256(value) };
      await this.#store.set(account, MANIFEST + JSON.stringify(manifest));
    }
    await this.#deleteParts(account, previous);
  }

  async delete(account: string): Promise<boolean> {
    const previous = await this.#store.get(account);
    const deleted = await this.#store.delete(account);
    await this.#deleteParts(account, previous);
    return deleted;
  }

  async #deleteParts(account: string, head: string | undefined): Promise<void> {
    const manifest = head?.startsWith(MANIFEST) ? parseManifest(head.slice(MANIFEST.length)) : undefined;
    if (!manifest) return;
    for (let index = 0; index < manifest.parts; index++) {
      await this.#store.delete(partAccount(account, manifest.gen, index));
    }
  }
}

function partAccount(account: string, gen: string, index: number): string {
  return `${account}#${gen}.${index}`;
}

/** node:crypto is loaded only for split values: the cached path of a small token never needs it. */
async function sha256(value: string): Promise<string> {
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(value).digest('hex');
}

function parseManifest(text: string): Manifest | undefined {
  try {
    const value = JSON.parse(text) as Partial<Manifest>;
    if (
      typeof value.gen === 'string' &&
      /^[0-9a-f]{8}$/.test(value.gen) &&
      Number.isSafeInteger(value.parts) &&
      (value.parts as number) > 0 &&
      (value.parts as number) <= MAX_PARTS &&
      typeof value.sha256 === 'string'
    ) {
      return value as Manifest;
    }
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
