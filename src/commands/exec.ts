import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Context } from '../cli/context.js';
import { AuthctlError, ExitCode, UsageError } from '../core/errors.js';
import { checkMinTtl } from '../core/profile.js';
import { cachedOrFresh } from '../core/resolve.js';
import { checkVariableOptions, variables, type VariableOptions } from '../shell/variables.js';

export interface ExecOptions extends VariableOptions {
  minTtl?: string;
}

const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Thrown to end authctl with the child's own exit code, having printed nothing. */
export class ChildExit extends AuthctlError {
  constructor(code: number) {
    super(code as ExitCode, `the command exited with ${code}`, { silent: true });
  }
}

/**
 * Runs a command with the token in its environment: no shell in between, signals forwarded,
 * and authctl exits with the command's own exit code. The calling shell's environment is untouched.
 */
export async function execRun(ctx: Context, opts: ExecOptions, command: { args: string[] }): Promise<void> {
  checkVariableOptions(opts);
  const [program, ...args] = command.args;
  if (program === undefined) throw new UsageError('no command to run', { hint: 'authctl exec -- COMMAND [ARGS...]' });
  const { token, resolved } = await cachedOrFresh(ctx, checkMinTtl(ctx.env, opts.minTtl));
  const env = { ...ctx.env, ...Object.fromEntries(variables(token, opts, resolved.region)) };

  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const stopForwarding = () => FORWARDED_SIGNALS.forEach((signal) => process.off(signal, forward));
    child.on('error', (error: NodeJS.ErrnoException) => {
      stopForwarding();
      if (error.code === 'ENOENT') reject(new AuthctlError(127 as ExitCode, `command not found: ${program}`, { hint: 'check the name and your PATH' }));
      else if (error.code === 'EACCES') reject(new AuthctlError(126 as ExitCode, `cannot run ${program}: permission denied`, { hint: 'is it executable?' }));
      else reject(error);
    });
    child.on('exit', (exitCode, signal) => {
      stopForwarding();
      // Like a shell: a child killed by a signal makes the exit status 128 + the signal's number.
      resolve(exitCode ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
  if (code !== 0) throw new ChildExit(code);
}
