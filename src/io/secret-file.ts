import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../core/errors.js';

/** Files such as a CI job's ID token are small; anything bigger is not one. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** A secret file's content, trimmed: refused when missing, unreadable, empty or too big. */
export function readSecretFile(path: string, what: string): string {
  let content: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_SECRET_FILE_BYTES) throw new UsageError(`${what} ${path} is ${size} bytes, more than a token can be`, { hint: 'check that the path names the token file' });
    content = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${what} ${path}${code === 'ENOENT' ? ': no such file' : `: ${(error as Error).message}`}`, {
      hint: code === 'ENOENT' ? 'check the path; a CI platform writes the file only in the job that asks for it' : 'check its permissions',
    });
  }
  const trimmed = content.trim();
  if (trimmed === '') throw new UsageError(`${what} ${path} is empty`, { hint: 'the CI platform did not write the token: check the job asks for an ID token' });
  return trimmed;
}
