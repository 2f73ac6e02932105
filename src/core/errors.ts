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

interface ErrorDetails {
  hint?: string;
  cause?: unknown;
  /** The command has already said everything (e.g. `token check --quiet`): only the exit code remains. */
  silent?: boolean;
}

/** An error meant for the user: one line of cause, optionally one line of hint, and an exit code. */
export class AuthctlError extends Error {
  readonly hint: string | undefined;
  readonly silent: boolean;
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    details: ErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.hint = details.hint;
    this.silent = details.silent ?? false;
  }
}

export class UsageError extends AuthctlError {
  constructor(message: string, details?: ErrorDetails) {
    super(ExitCode.Usage, message, details);
  }
}

export class NoTokenError extends AuthctlError {
  constructor(message: string, details?: ErrorDetails) {
    super(ExitCode.NoToken, message, details);
  }
}

/** IAM refused the credentials or the caller token (401/403 and the like). */
export class RejectedError extends AuthctlError {
  constructor(message: string, details?: ErrorDetails) {
    super(ExitCode.Rejected, message, details);
  }
}

/** IAM could not be reached, timed out, or failed on its side (5xx, malformed answers). */
export class UnreachableError extends AuthctlError {
  constructor(message: string, details?: ErrorDetails) {
    super(ExitCode.Unreachable, message, details);
  }
}

export class KeychainError extends AuthctlError {
  constructor(message: string, details?: ErrorDetails) {
    super(ExitCode.Keychain, message, details);
  }
}

export class CancelledError extends AuthctlError {
  constructor(message = 'cancelled') {
    super(ExitCode.Cancelled, message);
  }
}
