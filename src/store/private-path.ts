import { closeSync, constants, lstatSync, openSync, readFileSync } from 'node:fs';
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

/** Reads a file of the store without following a symbolic link; undefined when there is none. */
export function readPrivateFile(path: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new StoreError(`${path} is a symbolic link; refusing to read a secret through it`, { hint: `remove ${path}: authctl writes its files itself` });
    throw error;
  }
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
