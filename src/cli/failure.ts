import { AuthctlError, ExitCode } from '../core/errors.js';
import type { Reporter } from '../io/reporter.js';

/** Says what went wrong (one line of cause, one of hint) and returns the exit code for it. */
export function reportFailure(error: unknown, reporter: Reporter): number {
  if (error instanceof AuthctlError) {
    if (!error.silent) reporter.error(error.message, error.hint);
    if (reporter.debugEnabled && error.cause instanceof Error) reporter.debug(error.cause.stack ?? error.cause.message);
    return error.exitCode;
  }
  reporter.error(`unexpected error: ${error instanceof Error ? error.message : String(error)}`, 'this is a bug in authctl; run with --debug and report it');
  if (error instanceof Error && error.stack) reporter.debug(error.stack);
  return ExitCode.Unexpected;
}
