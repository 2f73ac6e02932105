import { CommanderError } from 'commander';
import type { Deps } from './cli/context.js';
import { failureReporter, reportFailure } from './cli/failure.js';
import { exitWith, processDeps } from './cli/process.js';
import { buildProgram } from './cli/program.js';
import { ExitCode } from './core/errors.js';
import { SecretRegistry } from './io/redact.js';

/** Runs one command line through the full CLI and returns its exit code. */
export async function run(argv: readonly string[], deps: Deps): Promise<number> {
  const secrets = new SecretRegistry();
  const program = buildProgram(deps, secrets);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with a CommanderError too; commander has printed what it had to.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    return reportFailure(error, failureReporter(deps, secrets, argv.includes('--debug')));
  }
}

/** The full CLI's process entry point (dist/authctl.js), reached through bin/authctl and dist/fast.cjs. */
export async function main(argv: readonly string[]): Promise<void> {
  exitWith(await run(argv, processDeps()));
}
