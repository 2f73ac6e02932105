import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { ChildExitError, CommandNotRunError, UsageError } from '../core/errors.js';
import type { Env } from '../io/io.js';
import type { Context } from '../session/context.js';
import { checkMinTtl, renewalSecret } from '../session/profile.js';
import { cachedOrFresh } from '../session/resolve.js';
import { SECRET_VARIABLES } from '../settings/table.js';
import { checkVariableOptions, variables, type VariableOptions } from '../shell/variables.js';

export interface ExecOptions extends VariableOptions {
  minTtl?: string;
  /** With --aksk: the keys' lifetime. */
  duration?: string;
}


/** The command's environment: the caller's, minus authctl's secrets (and, with --openstack, any other OS_* login), plus the token's variables. */
export function childEnvironment(env: Env, set: ReadonlyMap<string, string>, openstack: boolean): Record<string, string> {
  const child: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    // authctl's own secret inputs (the settings table's secret rows): the command gets the token, not what obtained it.
    if (value === undefined || SECRET_VARIABLES.includes(name)) continue;
    // Leftover OS_USERNAME or OS_PROJECT_NAME would mix with the token's own scope in OpenStack's clients.
    if (openstack && name.startsWith('OS_')) continue;
    child[name] = value;
  }
  return { ...child, ...Object.fromEntries(set) };
}

/**
 * Runs a command with the token in its environment: no shell in between, signals forwarded,
 * and authctl exits with the command's own exit code. The calling shell's environment is untouched.
 */
export async function execRun(ctx: Context, opts: ExecOptions, command: { args: string[] }): Promise<void> {
  checkVariableOptions(opts);
  const [program, ...args] = command.args;
  if (program === undefined) throw new UsageError('no command to run', { hint: 'authctl exec -- COMMAND [ARGS...]' });
  const minTtlMs = checkMinTtl(ctx.env, opts.minTtl);
  const { token, resolved, profile } = await cachedOrFresh(ctx, minTtlMs);
  const keys = opts.aksk ? await (await import('../session/access-keys.js')).cachedOrFreshKeys(ctx, { minTtlMs, ...(opts.duration !== undefined ? { duration: opts.duration } : {}) }) : undefined;
  const secret = opts.openstack && resolved.method.can.openstackNeedsSecret ? (await renewalSecret(ctx, profile, resolved)).secret : undefined;
  const env = childEnvironment(ctx.env, variables(token, opts, resolved, secret, keys), Boolean(opts.openstack));
  // At a terminal, Ctrl-C and Ctrl-\ reach the command directly (same process group): forwarding
  // them too would deliver them twice, and many programs take a second Ctrl-C as "quit now".
  const forwarded: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', ...(ctx.io.stdin.isTTY ? [] : (['SIGINT', 'SIGQUIT'] as const))];
  const absorbed: NodeJS.Signals[] = ctx.io.stdin.isTTY ? ['SIGINT', 'SIGQUIT'] : [];

  const code = await new Promise<number>((resolve, reject) => {
    // Handlers first, then the command: a signal arriving in between is held and passed on,
    // rather than killing authctl and leaving the command running unsupervised.
    const early: NodeJS.Signals[] = [];
    let child: ReturnType<typeof spawn> | undefined;
    const forward = (signal: NodeJS.Signals) => (child ? child.kill(signal) : early.push(signal));
    const absorb = () => {};
    for (const signal of forwarded) process.on(signal, forward);
    for (const signal of absorbed) process.on(signal, absorb);
    child = spawn(program, args, { env, stdio: 'inherit' });
    for (const signal of early) child.kill(signal);
    const stop = () => {
      for (const signal of forwarded) process.off(signal, forward);
      for (const signal of absorbed) process.off(signal, absorb);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      stop();
      if (error.code === 'ENOENT') reject(new CommandNotRunError(127, `command not found: ${program}`, { hint: 'check the name and your PATH' }));
      else if (error.code === 'EACCES') reject(new CommandNotRunError(126, `cannot run ${program}: permission denied`, { hint: 'is it executable?' }));
      else reject(error);
    });
    child.on('exit', (exitCode, signal) => {
      stop();
      // Like a shell: a command killed by a signal makes the exit status 128 + the signal's number.
      resolve(exitCode ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
  if (code !== 0) throw new ChildExitError(code);
}
