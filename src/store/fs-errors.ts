import { StoreError } from '../core/errors.js';

/**
 * A file-system failure of the store (a full or read-only disk, a directory not ours) as the
 * storage error it is: exit 6, the path named, and what the person can do (`outcome`: what became of
 * the change, e.g. "nothing was changed").
 */
export function storageFailure(error: unknown, doing: string, path: string, outcome?: string): StoreError {
  const code = (error as NodeJS.ErrnoException).code;
  const [why, hint] =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? ['the disk is full', 'free some space (the previous token, if any, is kept)']
      : code === 'EROFS'
        ? ['the file system is read-only', 'remount it read-write, or point AUTHCTL_CONFIG_DIR at a writable directory']
        : code === 'EACCES' || code === 'EPERM'
          ? ['permission denied', 'check the permissions of the config directory (or set AUTHCTL_CONFIG_DIR)']
          : [(error as Error).message, 'check that the config directory is writable (or set AUTHCTL_CONFIG_DIR)'];
  return new StoreError(`cannot ${doing} ${path}: ${why}${code && !why.includes(code) ? ` (${code})` : ''}`, { hint: outcome ? `${hint}; ${outcome}` : hint, cause: error });
}
