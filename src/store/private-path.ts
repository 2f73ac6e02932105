import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { StoreError } from '../core/errors.js';

/**
 * The config directory, the secrets directory and the files in them are trusted only when they
 * are this user's own, real (no symbolic link that points elsewhere) and writable by nobody else:
 * anyone who can swap `config.json` changes where a saved password is sent.
 */

const ownUid = typeof process.getuid === 'function' ? process.getuid() : undefined;

/** Refuses a directory that is a symbolic link, not the user's, or writable by group or others; a missing one is fine. */
export function checkPrivateDir(path: string, what: string): void {
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StoreError(`cannot inspect the ${what} ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (stats.isSymbolicLink()) throw new StoreError(`the ${what} ${path} is a symbolic link; refusing to keep secrets through it`, { hint: `make ${path} a real directory (mkdir -m 700), owned by you` });
  if (!stats.isDirectory()) throw new StoreError(`the ${what} ${path} is not a directory`, { hint: `move it away; authctl creates ${path} itself` });
  if (ownUid !== undefined && stats.uid !== ownUid) throw new StoreError(`the ${what} ${path} belongs to another user (uid ${stats.uid})`, { hint: `use a directory of your own (AUTHCTL_CONFIG_DIR), or chown it` });
  if (process.platform !== 'win32' && (stats.mode & 0o022) !== 0) {
    throw new StoreError(`the ${what} ${path} is writable by ${stats.mode & 0o002 ? 'everyone' : 'its group'} (mode ${(stats.mode & 0o777).toString(8)}): anyone could replace what is in it`, { hint: `chmod 700 ${path}` });
  }
}

/** What a private file holds: a secret (a file store entry) must not even be readable by others. */
export interface PrivateFileKind {
  /** How messages name it: `config file`, `file store entry`, ... */
  what: string;
  /** Refuse it when group or others may read it, too (authctl writes 0600, so someone widened it). */
  secret?: boolean;
}

/**
 * Reads a file of the config directory or the store without following a symbolic link;
 * undefined when there is none. Like the directories, the file must be this user's own, a
 * regular file, and writable by nobody else (a secret: readable by nobody else either): checked
 * on the open descriptor (fstat), so what is checked is what is read.
 */
export function readPrivateFile(path: string, kind: PrivateFileKind): string | undefined {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted in its place must not hang the open (it is refused below).
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new StoreError(`${path} is a symbolic link; refusing to read a secret through it`, { hint: `remove ${path}: authctl writes its files itself` });
    throw error;
  }
  try {
    checkPrivateFile(fstatSync(fd), path, kind);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

function checkPrivateFile(stats: Stats, path: string, { what, secret = false }: PrivateFileKind): void {
  if (!stats.isFile()) throw new StoreError(`the ${what} ${path} is not a regular file`, { hint: `move it away; authctl writes ${path} itself` });
  if (ownUid !== undefined && stats.uid !== ownUid) {
    throw new StoreError(`the ${what} ${path} belongs to another user (uid ${stats.uid}): whoever owns it could change it`, {
      hint: `check what is in it and chown it to yourself, or remove it (authctl writes it itself when you log in again)`,
    });
  }
  if (process.platform === 'win32') return;
  const mode = (stats.mode & 0o777).toString(8);
  if ((stats.mode & 0o022) !== 0) {
    throw new StoreError(`the ${what} ${path} is writable by ${stats.mode & 0o002 ? 'everyone' : 'its group'} (mode ${mode}): anyone could change it`, {
      hint: `check what is in it, then chmod 600 ${path}`,
    });
  }
  if (secret && (stats.mode & 0o044) !== 0) {
    throw new StoreError(`the ${what} ${path} is readable by ${stats.mode & 0o004 ? 'everyone' : 'its group'} (mode ${mode}): the secret in it may have been read`, {
      hint: `chmod 600 ${path}; if others could read it, \`authctl logout\` and log in again to replace the secret`,
    });
  }
}
