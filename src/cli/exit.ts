import {
  AuthctlError,
  CancelledError,
  ChildExitError,
  CommandNotRunError,
  LocalError,
  NoTokenError,
  RejectedError,
  StoreError,
  UnreachableError,
  UsageError,
} from '../core/errors.js';
import type { Reporter } from '../io/reporter.js';

/** Exit codes are part of authctl's interface: scripts branch on them. README documents each. */
export const ExitCode = {
  Ok: 0,
  Unexpected: 1,
  Usage: 2,
  NoToken: 3,
  Rejected: 4,
  Unreachable: 5,
  Keychain: 6,
  Cancelled: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The one place an error becomes an exit code. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof ChildExitError) return error.status;
  if (error instanceof CommandNotRunError) return error.status;
  if (error instanceof UsageError) return ExitCode.Usage;
  if (error instanceof NoTokenError) return ExitCode.NoToken;
  if (error instanceof RejectedError) return ExitCode.Rejected;
  if (error instanceof UnreachableError) return ExitCode.Unreachable;
  if (error instanceof StoreError) return ExitCode.Keychain;
  if (error instanceof CancelledError) return ExitCode.Cancelled;
  if (error instanceof LocalError) return ExitCode.Unexpected;
  return ExitCode.Unexpected;
}

/**
 * Hints that name flags and variables, for the reasons the lower layers give (they know what
 * went wrong, not how the user tells authctl otherwise).
 */
const HINTS: Record<string, string> = {
  'tls-untrusted': 'give the CA that signed it with --cacert FILE (or OS_CACERT / AUTHCTL_CACERT)',
  timeout: 'check the URL, your network and any proxy settings; --timeout (AUTHCTL_TIMEOUT) gives each try longer, AUTHCTL_RETRIES sets how many tries',
  'client-rejected': 'check the client id and secret (--client-id, AUTHCTL_CLIENT_SECRET)',
  'client-rejected-post': 'check the client id and secret (--client-id, AUTHCTL_CLIENT_SECRET); if the server wants the secret in the form body, log in with --client-auth post',
  'client-rejected-basic': 'check the client id and secret (--client-id, AUTHCTL_CLIENT_SECRET); if the server wants HTTP Basic, log in with --client-auth basic',
  'second-factor-needed': 'give the passcode in OS_PASSCODE, or a command that prints it in AUTHCTL_PASSCODE_COMMAND, or log in at a terminal to be asked',
  'keychain-unavailable':
    'start a Secret Service (e.g. `gnome-keyring-daemon --unlock --components=secrets` in a D-Bus session), or keep tokens in an encrypted file with `--store file` / AUTHCTL_STORE=file',
  'keychain-unresponsive':
    'the Secret Service runs but does not answer: restart it (`gnome-keyring-daemon --replace --unlock --components=secrets`), or keep tokens in an encrypted file with `--store file` / AUTHCTL_STORE=file',
  'keychain-locked':
    'unlock the keyring (log in to the desktop session, or `printf %s "$PASSWORD" | gnome-keyring-daemon --replace --unlock --components=secrets`), or keep tokens in an encrypted file with `--store file` / AUTHCTL_STORE=file',
  'file-passphrase-missing': 'set AUTHCTL_FILE_PASSPHRASE to the passphrase the file store was written with',
  'file-passphrase-wrong': 'use the passphrase the file store was written with (AUTHCTL_FILE_PASSPHRASE), or `authctl logout` and log in again',
};

export function hintFor(error: AuthctlError): string | undefined {
  return (error.reason !== undefined ? HINTS[error.reason] : undefined) ?? error.hint;
}

/** Says what went wrong (one line of cause, one of hint) and returns the exit code for it. */
export function reportFailure(error: unknown, reporter: Reporter): number {
  if (error instanceof AuthctlError) {
    if (!error.silent) reporter.error(error.message, hintFor(error));
    if (reporter.debugEnabled && error.cause instanceof Error) reporter.debug(error.cause.stack ?? error.cause.message);
    return exitCodeFor(error);
  }
  const unwritable = outputFailure(error);
  if (unwritable) {
    reporter.error(`could not write the output: ${unwritable}`, 'check where stdout goes (a full disk, or a file or pipe that cannot be written to)');
    return ExitCode.Unexpected;
  }
  reporter.error(`unexpected error: ${error instanceof Error ? error.message : String(error)}`, 'this is a bug in authctl; run with --debug and report it');
  if (error instanceof Error && error.stack) reporter.debug(error.stack);
  return ExitCode.Unexpected;
}

/**
 * What failed, for a write to stdout that the system refused (a full disk, a closed descriptor):
 * the only writes that reach here unwrapped, as the stores name their own files in their errors.
 */
function outputFailure(error: unknown): string | undefined {
  const { code, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  if (syscall !== 'write' || typeof code !== 'string') return undefined;
  const reason: Record<string, string> = { ENOSPC: 'no space left on the device', EDQUOT: 'over the disk quota', EFBIG: 'the file is too large', EIO: 'an input/output error', EBADF: 'stdout is closed' };
  return `${reason[code] ?? 'the system refused it'} (${code})`;
}
