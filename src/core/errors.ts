/**
 * The errors authctl's layers throw. Each class says what kind of failure it is; none knows an
 * exit code or a flag name. `src/cli/exit.ts` maps kinds to exit codes and reasons to hints.
 */

export interface ErrorDetails {
  hint?: string;
  cause?: unknown;
  /**
   * A machine-readable reason the CLI turns into a hint that names flags and variables (see
   * `src/cli/exit.ts`); where it has none for the reason, `hint` is used as it is.
   */
  reason?: string;
  /** The command has already said everything (e.g. `token check --quiet`): only the exit code remains. */
  silent?: boolean;
}

/** An error meant for the user: one line of cause, optionally one line of hint. */
export abstract class AuthctlError extends Error {
  readonly hint: string | undefined;
  readonly reason: string | undefined;
  readonly silent: boolean;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
    this.reason = details.reason;
    this.silent = details.silent ?? false;
  }
}

/** The input was wrong: a flag, a variable, a config or clouds.yaml value. */
export class UsageError extends AuthctlError {}

/** There is no usable token and none can be obtained without the user (not logged in, expired, revoked). */
export class NoTokenError extends AuthctlError {}

/** IAM refused the credentials or the caller token (401/403 and the like). */
export class RejectedError extends AuthctlError {}

/** IAM refused the token that signed the request (expired or revoked before its time): a fresh one may do. */
export class CallerTokenRefusedError extends RejectedError {}

/** IAM could not be reached, timed out, or failed on its side (5xx, malformed answers). */
export class UnreachableError extends AuthctlError {}

/** The secret store (keychain or file store) could not be used. */
export class StoreError extends AuthctlError {}

/** Something on this machine failed that the user can fix (a directory not writable, a lock held). */
export class LocalError extends AuthctlError {}

export class CancelledError extends AuthctlError {
  constructor(message = 'cancelled') {
    super(message);
  }
}

/** `exec`: authctl ends with the child's own exit status, having printed nothing. */
export class ChildExitError extends AuthctlError {
  constructor(readonly status: number) {
    super(`the command exited with ${status}`, { silent: true });
  }
}

/** `exec`: the command could not be started (127: not found, 126: not executable). */
export class CommandNotRunError extends AuthctlError {
  constructor(
    readonly status: 126 | 127,
    message: string,
    details?: ErrorDetails,
  ) {
    super(message, details);
  }
}
