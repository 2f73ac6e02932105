/**
 * The file store's encryption: format 2 round trips with a raw key and with a passphrase, format 1
 * still reads (and is rewritten in format 2), one key derivation per process however many entries
 * it reads, messages that say which secret is wrong, and AUTHCTL_FILE_KEY's checks.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError, UsageError } from '../../src/core/errors.js';
import { ChunkedStore } from '../../src/store/chunked.js';
import { UnreadableEntryError } from '../../src/store/secret-store.js';
import { encryptV1, FileStore, SALT_FILE, SCRYPT, type Kdf } from '../../src/store/file-store.js';
import { parseFileKey } from '../../src/store/open.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'authctl-file-store-'));
  dirs.push(dir);
  return join(dir, 'secrets');
}

/** scrypt, counted. */
function countingKdf(): Kdf & { calls: number } {
  const kdf = ((passphrase: string, salt: Buffer) => {
    kdf.calls++;
    return scryptSync(passphrase, salt, 32, SCRYPT);
  }) as Kdf & { calls: number };
  kdf.calls = 0;
  return kdf;
}

const PASSPHRASE = 'correct horse battery staple';
const KEY = randomBytes(32);
const TOKEN = 'gAAAAA' + 'x'.repeat(180);
const file = (dir: string, account: string) => readFileSync(join(dir, account.replace(':', '%3a')), 'utf8');

async function rejection(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StoreError);
  return error as StoreError;
}

describe('listing', () => {
  it('names every entry as it was written (the encoded characters decoded), not the salt file nor a write under way; a missing directory holds none', async () => {
    const dir = newDir();
    const store = new FileStore(dir, { passphrase: 'p' }, { kdf: countingKdf() });
    expect(await store.accounts()).toEqual([]);
    for (const account of ['default:token', 'default:token#0badf00d.1', 'a.b_c-d:client-secret', '100%:x']) await store.set(account, 'v');
    writeFileSync(join(dir, 'default%3atoken.4242.abcd.tmp'), 'half a write');
    expect(readdirSync(dir)).toContain(SALT_FILE);
    expect((await store.accounts()).sort()).toEqual(['100%:x', 'a.b_c-d:client-secret', 'default:token', 'default:token#0badf00d.1']);
  });
});

describe('format 2', () => {
  it('round-trips with a raw key: no key derivation, no token in clear, 0600 in a 0700 directory, no salt file', async () => {
    const dir = newDir();
    const kdf = countingKdf();
    const store = new FileStore(dir, { key: KEY }, { kdf });
    await store.set('default:token', TOKEN);
    expect(await new FileStore(dir, { key: Buffer.from(KEY) }, { kdf }).get('default:token')).toBe(TOKEN);
    expect(kdf.calls).toBe(0);
    const text = file(dir, 'default:token');
    expect(text).not.toContain(TOKEN);
    expect(JSON.parse(text)).toMatchObject({ v: 2, alg: 'aes-256-gcm', kdf: 'none' });
    expect(JSON.parse(text)).not.toHaveProperty('salt');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'default%3atoken')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['default%3atoken']);
  });

  it('round-trips with a passphrase: one salt file (0600), written once, named by every entry', async () => {
    const dir = newDir();
    const store = new FileStore(dir, { passphrase: PASSPHRASE });
    await store.set('default:token', TOKEN);
    await store.set('default:password', 'hunter2');
    const salt = JSON.parse(readFileSync(join(dir, SALT_FILE), 'utf8')) as { salt: string };
    expect(statSync(join(dir, SALT_FILE)).mode & 0o777).toBe(0o600);
    for (const account of ['default:token', 'default:password']) {
      expect(JSON.parse(file(dir, account))).toMatchObject({ v: 2, kdf: 'scrypt', salt: salt.salt });
    }
    // Another process uses the same salt file and does not replace it.
    const other = new FileStore(dir, { passphrase: PASSPHRASE });
    await other.set('work:token', 'gAAAAA-work');
    expect(JSON.parse(readFileSync(join(dir, SALT_FILE), 'utf8'))).toEqual(salt);
    expect(await other.get('default:token')).toBe(TOKEN);
    expect(await other.get('default:password')).toBe('hunter2');
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it.each([4, 8, 12, 15])('a tag cut to %i bytes is an altered file, never a value', async (bytes) => {
    const dir = newDir();
    const store = new FileStore(dir, { key: KEY });
    await store.set('default:token', TOKEN);
    const path = join(dir, 'default%3atoken');
    const entry = JSON.parse(readFileSync(path, 'utf8')) as { tag: string };
    entry.tag = Buffer.from(entry.tag, 'base64').subarray(0, bytes).toString('base64');
    writeFileSync(path, JSON.stringify(entry));
    const error = await rejection(store.get('default:token'));
    expect(error.message).toMatch(/: the key is right, but the file was altered or damaged$/);
  });

  it('an entry copied over another one does not decrypt (the entry name is bound in)', async () => {
    const dir = newDir();
    const store = new FileStore(dir, { key: KEY });
    await store.set('default:password', 'hunter2');
    await store.set('default:token', TOKEN);
    writeFileSync(join(dir, 'default%3atoken'), file(dir, 'default:password'));
    const error = await rejection(store.get('default:token'));
    expect(error.message).toMatch(/: the key is right, but the file was altered or damaged$/);
  });
});

describe('one key derivation per process', () => {
  it('reads a token in 20 parts and a password with a single scrypt', async () => {
    const dir = newDir();
    const writer = new ChunkedStore(new FileStore(dir, { passphrase: PASSPHRASE }), 256);
    const big = 'MII' + 'y'.repeat(20 * 256);
    await writer.write('default:token', big);
    await writer.write('default:password', 'hunter2');
    expect(readdirSync(dir).length).toBeGreaterThan(20);

    const kdf = countingKdf();
    const reader = new ChunkedStore(new FileStore(dir, { passphrase: PASSPHRASE }, { kdf }), 256);
    expect((await reader.read('default:token')).value).toBe(big);
    expect((await reader.read('default:password')).value).toBe('hunter2');
    expect(kdf.calls).toBe(1);
    // and writing in the same process derives nothing more
    await reader.write('default:token', big + 'z');
    expect(kdf.calls).toBe(1);
  });

  it('format 1 costs one scrypt per entry (the reason for format 2), and the first write adopts a salt already derived', async () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (let i = 0; i < 3; i++) writeFileSync(join(dir, `p${i}%3atoken`), encryptV1(PASSPHRASE, `p${i}:token`, `gAAAAA-${i}`), { mode: 0o600 });
    const kdf = countingKdf();
    const store = new FileStore(dir, { passphrase: PASSPHRASE }, { kdf });
    for (let i = 0; i < 3; i++) expect(await store.get(`p${i}:token`)).toBe(`gAAAAA-${i}`);
    expect(kdf.calls).toBe(3);
    await store.set('p0:token', 'gAAAAA-new');
    expect(kdf.calls).toBe(3);
  });
});

describe('format 1 (earlier versions)', () => {
  it('still reads, and is rewritten in format 2 on its next write', async () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'default%3atoken'), encryptV1(PASSPHRASE, 'default:token', TOKEN), { mode: 0o600 });
    const store = new FileStore(dir, { passphrase: PASSPHRASE });
    expect(await store.get('default:token')).toBe(TOKEN);
    expect(JSON.parse(file(dir, 'default:token'))).toMatchObject({ v: 1 });
    await store.set('default:token', 'gAAAAA-renewed');
    expect(JSON.parse(file(dir, 'default:token'))).toMatchObject({ v: 2, kdf: 'scrypt' });
    expect(existsSync(join(dir, SALT_FILE))).toBe(true);
    expect(await new FileStore(dir, { passphrase: PASSPHRASE }).get('default:token')).toBe('gAAAAA-renewed');
  });

  it('a wrong passphrase on format 1 is still an error, never a miss', async () => {
    const dir = newDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'default%3atoken'), encryptV1(PASSPHRASE, 'default:token', TOKEN), { mode: 0o600 });
    const error = await rejection(new FileStore(dir, { passphrase: 'Tr0ub4dor&3' }).get('default:token'));
    expect(error.message).toMatch(/: wrong passphrase, or the file was altered$/);
  });

});

describe('an encrypted store takes nothing in plain text', () => {
  const planted = (dir: string, content: string) => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'default%3atoken'), content, { mode: 0o600 });
  };

  it('a plain-text entry put in place of an encrypted one is refused (exit 6), never served: with the key and with a passphrase', async () => {
    const dir = newDir();
    await new FileStore(dir, { key: KEY }).set('default:token', 'authctl1:' + TOKEN);
    planted(dir, JSON.stringify({ v: 1, value: 'authctl1:planted' }));
    const path = join(dir, 'default%3atoken');
    const withKey = await rejection(new ChunkedStore(new FileStore(dir, { key: KEY }), Number.MAX_SAFE_INTEGER).read('default:token'));
    expect(withKey).toBeInstanceOf(UnreadableEntryError);
    expect(withKey.message).toBe(`${path} is not encrypted, although the file store is (AUTHCTL_FILE_KEY is set); refusing to use it`);
    expect(withKey.hint).toBe('if it was written before AUTHCTL_FILE_KEY was set, or you do not know where it came from: remove it, or `authctl logout` and log in again (entries are then written encrypted)');
    const withPassphrase = await rejection(new FileStore(dir, { passphrase: PASSPHRASE }).get('default:token'));
    expect(withPassphrase.message).toContain('is not encrypted, although the file store is (AUTHCTL_FILE_PASSPHRASE is set)');
    expect((await rejection(new FileStore(dir, { key: KEY, passphrase: PASSPHRASE }).get('default:token'))).message).toContain('(AUTHCTL_FILE_KEY is set)');
  });

  it('so is anything else not encrypted: raw text, a value-less {"v":1}, JSON that is no object', async () => {
    for (const content of ['authctl1:planted', '{"v":1}', 'null', '"authctl1:planted"', '{"v":2,"value":"authctl1:planted","alg":"none"}']) {
      const dir = newDir();
      planted(dir, content);
      const error = await rejection(new FileStore(dir, { key: KEY }).get('default:token'));
      expect(error.message, content).toMatch(/is not encrypted, although the file store is/);
    }
  });

  it('a store with neither still reads its plain-text entries; a value-less {"v":1} there is foreign (a miss the caller warns about)', async () => {
    const dir = newDir();
    await new FileStore(dir).set('default:token', 'authctl1:' + TOKEN);
    expect(await new FileStore(dir).get('default:token')).toBe('authctl1:' + TOKEN);
    planted(dir, '{"v":1}');
    expect(await new ChunkedStore(new FileStore(dir), Number.MAX_SAFE_INTEGER).read('default:token')).toEqual({ problem: 'foreign' });
    planted(dir, 'null');
    expect(await new ChunkedStore(new FileStore(dir), Number.MAX_SAFE_INTEGER).read('default:token')).toEqual({ problem: 'foreign' });
  });

  it('an entry that cannot be read (plain text in an encrypted store, another key) can still be removed: the way out the errors hint at', async () => {
    const dir = newDir();
    planted(dir, JSON.stringify({ v: 1, value: 'authctl1:planted' }));
    const store = new ChunkedStore(new FileStore(dir, { key: KEY }), Number.MAX_SAFE_INTEGER);
    expect(await store.delete('default:token')).toBe(true);
    expect(existsSync(join(dir, 'default%3atoken'))).toBe(false);
    await new FileStore(dir, { key: KEY }).set('default:token', 'authctl1:' + TOKEN);
    const other = new ChunkedStore(new FileStore(dir, { key: randomBytes(32) }), Number.MAX_SAFE_INTEGER);
    await rejection(other.read('default:token'));
    expect(await other.delete('default:token')).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    // Writing over it is still refused: a wrong key stays an error, never a silent overwrite.
    await new FileStore(dir, { key: KEY }).set('default:token', 'authctl1:' + TOKEN);
    await rejection(other.write('default:token', 'authctl1:new'));
  });
});

describe('which secret is wrong', () => {
  it('a wrong key, and a wrong passphrase, each named', async () => {
    const dir = newDir();
    await new FileStore(dir, { key: KEY }).set('a:token', TOKEN);
    await new FileStore(dir, { passphrase: PASSPHRASE }).set('b:token', TOKEN);

    const wrongKey = await rejection(new FileStore(dir, { key: randomBytes(32) }).get('a:token'));
    expect(wrongKey.message).toMatch(/a%3atoken: wrong key \(AUTHCTL_FILE_KEY is not the one it was written with\)$/);
    expect(wrongKey.reason).toBe('file-key-wrong');

    const wrongPassphrase = await rejection(new FileStore(dir, { passphrase: 'Tr0ub4dor&3' }).get('b:token'));
    expect(wrongPassphrase.message).toMatch(/b%3atoken: wrong passphrase \(AUTHCTL_FILE_PASSPHRASE is not the one it was written with\)$/);
    expect(wrongPassphrase.reason).toBe('file-passphrase-wrong');
  });

  it('a file written with the key does not open with a passphrase, nor one written with the passphrase with the key', async () => {
    const dir = newDir();
    await new FileStore(dir, { key: KEY }).set('a:token', TOKEN);
    await new FileStore(dir, { passphrase: PASSPHRASE }).set('b:token', TOKEN);

    const keyEntry = await rejection(new FileStore(dir, { passphrase: PASSPHRASE }).get('a:token'));
    expect(keyEntry.message).toMatch(/a%3atoken was encrypted with AUTHCTL_FILE_KEY, which is not set \(AUTHCTL_FILE_PASSPHRASE cannot open it\)$/);
    expect(keyEntry.hint).toMatch(/^set AUTHCTL_FILE_KEY to the key it was written with/);

    const passphraseEntry = await rejection(new FileStore(dir, { key: KEY }).get('b:token'));
    expect(passphraseEntry.message).toMatch(/b%3atoken was encrypted with a passphrase, and AUTHCTL_FILE_KEY cannot open it$/);
    expect(passphraseEntry.hint).toMatch(/^set AUTHCTL_FILE_PASSPHRASE/);

    const neither = await rejection(new FileStore(dir).get('a:token'));
    expect(neither.message).toMatch(/was encrypted with AUTHCTL_FILE_KEY, which is not set$/);
    expect((await rejection(new FileStore(dir).get('b:token'))).reason).toBe('file-passphrase-missing');
  });

  it('with both set, writes use the key and entries written with the passphrase still read', async () => {
    const dir = newDir();
    await new FileStore(dir, { passphrase: PASSPHRASE }).set('b:token', TOKEN);
    const kdf = countingKdf();
    const both = new FileStore(dir, { passphrase: PASSPHRASE, key: KEY }, { kdf });
    expect(await both.get('b:token')).toBe(TOKEN);
    await both.set('b:token', 'gAAAAA-renewed');
    expect(JSON.parse(file(dir, 'b:token'))).toMatchObject({ v: 2, kdf: 'none' });
    expect(kdf.calls).toBe(1);
    expect(await new FileStore(dir, { key: KEY }).get('b:token')).toBe('gAAAAA-renewed');
    await rejection(new FileStore(dir, { passphrase: PASSPHRASE }).get('b:token'));
  });

  it('an altered file with the right passphrase says the file, not the passphrase, is wrong', async () => {
    const dir = newDir();
    await new FileStore(dir, { passphrase: PASSPHRASE }).set('default:token', TOKEN);
    const content = JSON.parse(file(dir, 'default:token')) as { data: string };
    const data = Buffer.from(content.data, 'base64');
    data[0] = data[0]! ^ 1;
    writeFileSync(join(dir, 'default%3atoken'), JSON.stringify({ ...content, data: data.toString('base64') }));
    const error = await rejection(new FileStore(dir, { passphrase: PASSPHRASE }).get('default:token'));
    expect(error.message).toMatch(/: the passphrase is right, but the file was altered or damaged$/);
    expect(error.reason).toBe('file-damaged');
  });
});

describe('AUTHCTL_FILE_KEY', () => {
  const good = randomBytes(32).toString('base64');

  it('takes what `openssl rand -base64 32` prints, newline and all, and an unpadded one', () => {
    expect(parseFileKey(`${good}\n`)).toEqual(Buffer.from(good, 'base64'));
    expect(parseFileKey(good.replace(/=$/, ''))).toEqual(Buffer.from(good, 'base64'));
  });

  it.each([
    ['empty after trimming', ' '],
    ['a passphrase', 'correct horse battery staple'],
    ['16 bytes', randomBytes(16).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['31 bytes, 44 characters with its padding', randomBytes(31).toString('base64')],
    ['hex', randomBytes(32).toString('hex')],
    ['base64url', Buffer.from(Array(32).fill(0xfb)).toString('base64url')],
    ['non-canonical padding bits', `${'A'.repeat(42)}B=`],
  ])('refuses %s with a usage error naming the variable and how to make one, never the value', (_name, value) => {
    let error: unknown;
    try {
      parseFileKey(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    const { message, hint } = error as UsageError;
    expect(message).toMatch(/^AUTHCTL_FILE_KEY must be a key of 32 random bytes in base64 \(44 characters\); the value set is not one \(\d+ characters, (not all base64|\d+ bytes|not canonical base64: its last character)\)$/);
    expect(hint).toContain('openssl rand -base64 32');
    if (/^[A-Za-z0-9+/]+={0,2}$/.test(value.trim())) expect(message).toContain(`${Buffer.from(value.trim(), 'base64').length === 32 ? 'not canonical' : `${Buffer.from(value.trim(), 'base64').length} bytes`}`);
    if (value.trim()) {
      expect(message).not.toContain(value.trim());
      expect(hint).not.toContain(value.trim());
    }
  });

  it('the store refuses a key that is not 32 bytes', () => {
    expect(() => new FileStore(newDir(), { key: randomBytes(16) })).toThrow(StoreError);
  });
});
