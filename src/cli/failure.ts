import { AuthctlError, ExitCode } from '../core/errors.js';
import type { SecretRegistry } from '../io/redact.js';
import { debugRequested, Reporter } from '../io/reporter.js';
import type { Deps } from './context.js';

/** A reporter for the final error, built without a Context (whose own settings may be what failed). */
export function failureReporter(deps: Deps, secrets: SecretRegistry, debug: boolean): Reporter {
  return new Reporter(() => deps.io.stderr, deps.env, secrets, debugRequested(debug, deps.env));
}

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
