import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { ChildExitError, CommandNotRunError, UsageError } from '../core/errors.js';
import { isoTime } from '../core/token.js';
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

/** Set in the command's environment to the profile's name: an `exec` inside it can tell, and warn (as aws-vault's AWS_VAULT). */
export const ACTIVE_VARIABLE = 'AUTHCTL_PROFILE_ACTIVE';

export const EXEC_USAGE = 'authctl exec [options] -- COMMAND [ARGS...]';

/** What `exec` runs: the command after `--`, else the user's shell ($SHELL, else %ComSpec% on Windows, else /bin/sh). */
export function commandToRun(env: Env, args: readonly string[], raw: readonly string[]): { program: string; args: string[]; shell: boolean } {
  const dashes = raw.indexOf('--');
  if (dashes === -1) {
    if (args.length > 0) {
      // Without `--`, authctl would take the command's own options (-p, --insecure, --debug) for its own.
      throw new UsageError(`the command to run goes after --: ${args.join(' ')}`, { hint: `${EXEC_USAGE}, e.g. authctl exec -- ${args.join(' ')}` });
    }
    const shell = env.SHELL || env.ComSpec || env.COMSPEC || '/bin/sh';
    return { program: shell, args: [], shell: true };
  }
  const after = raw.slice(dashes + 1);
  const [program, ...rest] = args;
  if (program === undefined) throw new UsageError('no command after --', { hint: `${EXEC_USAGE}, or \`authctl exec\` alone for a shell with the token` });
  if (after.length !== args.length || after.some((arg, index) => arg !== args[index])) {
    throw new UsageError(`the command to run goes after --, whole: ${args.join(' ')}`, { hint: `${EXEC_USAGE}, e.g. authctl exec -- ${args.join(' ')}` });
  }
  return { program, args: rest, shell: false };
}

/**
 * Runs a command with the token in its environment: no shell in between, signals forwarded,
 * and authctl exits with the command's own exit code. The calling shell's environment is untouched.
 * Without a command it starts the user's shell with the token, as `aws-vault exec` does.
 */
export async function execRun(ctx: Context, opts: ExecOptions, command: Command): Promise<void> {
  checkVariableOptions(opts);
  let top = command;
  while (top.parent) top = top.parent;
  // commander drops the `--` from `args`; the program's `rawArgs` (the command line as given) still has it.
  const raw = (top as Command & { rawArgs?: string[] }).rawArgs ?? ['--', ...command.args];
  const { program, args, shell } = commandToRun(ctx.env, command.args, raw);
  const minTtlMs = checkMinTtl(ctx.env, opts.minTtl);
  const { token, resolved, profile } = await cachedOrFresh(ctx, minTtlMs);
  const keys = opts.aksk ? await (await import('../session/access-keys.js')).cachedOrFreshKeys(ctx, { minTtlMs, ...(opts.duration !== undefined ? { duration: opts.duration } : {}) }) : undefined;
  const secret = opts.openstack && resolved.method.can.openstackNeedsSecret ? (await renewalSecret(ctx, profile, resolved)).secret : undefined;
  const set = variables(token, opts, resolved, secret, keys);
  const env = { ...childEnvironment(ctx.env, set, Boolean(opts.openstack)), [ACTIVE_VARIABLE]: profile.name };
  const outer = ctx.env[ACTIVE_VARIABLE];
  if (outer) {
    ctx.reporter.warn(`already inside \`authctl exec\` for profile ${outer} (${ACTIVE_VARIABLE} is set): this one sets the token again, for profile ${profile.name}`);
  }
  if (shell) {
    const until = isoTime(token.expiresAt);
    ctx.reporter.info(`starting ${program} with ${[...set.keys()].join(', ')} of profile ${profile.name} (until ${until}); \`exit\` returns here`);
  }
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
