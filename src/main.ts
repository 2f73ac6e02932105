import { CommanderError } from 'commander';
import { Context, type Deps } from './cli/context.js';
import { buildProgram } from './cli/program.js';
import { AuthctlError, ExitCode } from './core/errors.js';
import { SecretRegistry } from './io/redact.js';

declare const AUTHCTL_VERSION: string;

/** Runs one command line and returns its exit code. The only place errors become exit codes. */
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
    const reporter = new Context(deps, { debug: argv.includes('--debug') }, secrets).reporter;
    if (error instanceof AuthctlError) {
      if (!error.silent) reporter.error(error.message, error.hint);
      if (reporter.debugEnabled && error.cause instanceof Error) reporter.debug(error.cause.stack ?? error.cause.message);
      return error.exitCode;
    }
    reporter.error(`unexpected error: ${error instanceof Error ? error.message : String(error)}`, 'this is a bug in authctl; run with --debug and report it');
    if (error instanceof Error && error.stack) reporter.debug(error.stack);
    return ExitCode.Unexpected;
  }
}

/** The process entry point, used by bin/authctl.js. */
export async function main(argv: readonly string[]): Promise<void> {
  const code = await run(argv, {
    env: process.env,
    io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
    now: Date.now,
    platform: process.platform,
    version: AUTHCTL_VERSION,
  });
  // Exit now rather than when the event loop drains: a keep-alive socket or a keychain call
  // abandoned after its timeout must not hold a shell prompt. Flush stdout first.
  process.stdout.write('', () => process.exit(code));
}
