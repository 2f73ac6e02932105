import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';

/**
 * Atomic file replacement, shared by the file store and the config file. Deliberately without
 * node:crypto (the config file must not load it): a temp name only has to be unique, which the
 * process id and a counter make it; 'wx' refuses a leftover of an earlier process with our pid.
 */

let written = 0;

/** Temp file (0600, never pre-existing), fsync, rename over the target: readers see old or new, whole. */
export function writeAtomically(path: string, data: string): void {
  const temp = `${path}.${process.pid}.${(written++).toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      writeFileSync(fd, data); // unlike writeSync, loops until all of it is written
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // the write or rename failure is the error worth reporting
    }
    throw error;
  }
}
