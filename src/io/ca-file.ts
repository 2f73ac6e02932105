import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { UsageError } from '../core/errors.js';

/** A CA bundle is a few hundred KB (Mozilla's whole root store: about 220 KB); anything bigger is not one. */
export const MAX_CA_FILE_BYTES = 4 * 1024 * 1024;

const HINT = 'give a PEM file with --cacert (or OS_CACERT / AUTHCTL_CACERT)';
const LIMIT = `${MAX_CA_FILE_BYTES / 1024 / 1024} MiB`;

/**
 * A CA file (--cacert, AUTHCTL_CACERT, OS_CACERT), read within MAX_CA_FILE_BYTES: `/dev/zero` or
 * a file of gigabytes would otherwise exhaust memory (a crash after most of a minute) before
 * anything could refuse it. A regular file is judged by its size before it is read; a pipe
 * (`--cacert <(...)`) is read up to the limit; a device, socket or directory is refused.
 */
export function readCaFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new UsageError(`cannot read the CA file ${path}: ${(error as Error).message}`, { hint: HINT });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() && !stats.isFIFO()) {
      throw new UsageError(`the CA file ${path} is not a file (${stats.isDirectory() ? 'a directory' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : 'a socket'})`, { hint: HINT });
    }
    const tooBig = () => new UsageError(`the CA file ${path} is over ${LIMIT}, more than a CA bundle can sensibly be (authctl reads up to ${LIMIT})`, { hint: HINT });
    if (stats.size > MAX_CA_FILE_BYTES) throw tooBig();
    // Read in pieces up to the limit, whatever fstat said: a file may grow meanwhile, a pipe has no size.
    const pieces: Buffer[] = [];
    const piece = Buffer.alloc(64 * 1024);
    for (let total = 0, read; (read = readSync(fd, piece, 0, piece.length, null)) > 0; ) {
      total += read;
      if (total > MAX_CA_FILE_BYTES) throw tooBig();
      pieces.push(Buffer.from(piece.subarray(0, read)));
    }
    return Buffer.concat(pieces).toString('utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`cannot read the CA file ${path}: ${(error as Error).message}`, { hint: HINT });
  } finally {
    closeSync(fd);
  }
}
