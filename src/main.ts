import { CommanderError } from 'commander';
import { ExitCode, reportFailure } from './cli/exit.js';
import { exitWith, processFactory } from './cli/process.js';
import { buildProgram } from './cli/program.js';
import { SecretRegistry } from './io/redact.js';
import { debugRequested, Reporter } from './io/reporter.js';
import type { Factory } from './session/factory.js';

/** A reporter for the final error, built without a Context (whose own settings may be what failed). */
export function failureReporter(factory: Factory, secrets: SecretRegistry, debug: boolean): Reporter {
  return new Reporter(() => factory.io.stderr, factory.env, secrets, debugRequested(debug, factory.env));
}

/** Runs one command line through the full CLI and returns its exit code. Never exits the process. */
export async function run(argv: readonly string[], factory: Factory): Promise<number> {
  const secrets = new SecretRegistry();
  const program = buildProgram(factory, secrets);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help, --version and the help of a bare `authctl` end here, printed; commander's errors
      // arrive as UsageErrors (cli/program.ts `commanderFailure`) and are reported below.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    return reportFailure(error, failureReporter(factory, secrets, argv.includes('--debug')));
  }
}

/** The full CLI's process entry point (dist/authctl.cjs), reached through bin/authctl and dist/fast.cjs. */
export async function main(argv: readonly string[]): Promise<void> {
  exitWith(await run(argv, processFactory()));
}
