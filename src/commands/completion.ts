import type { Command } from 'commander';
import type { Context } from '../session/context.js';
import { UsageError } from '../core/errors.js';
import { COMPLETION_SHELLS, completionScript, treeFromCommander, type CompletionShell } from '../shell/completion.js';

/** `authctl completion <shell>`: the completion script, generated from the command tree itself. */
export async function completionRun(ctx: Context, _opts: Record<string, unknown>, command: Command): Promise<void> {
  const shell = command.args[0] ?? '';
  if (!isCompletionShell(shell)) {
    throw new UsageError(`no completion for shell ${JSON.stringify(shell)}`, { hint: `use one of: ${COMPLETION_SHELLS.join(', ')}` });
  }
  ctx.io.stdout.write(completionScript(treeFromCommander(root(command)), shell));
}

/**
 * `authctl __complete-profiles`: profile names, one per line, for the scripts to call at TAB time.
 * A missing or broken config prints nothing: completion must never fail loudly.
 */
export async function completeProfilesRun(ctx: Context): Promise<void> {
  let names: string[];
  try {
    names = Object.keys((await ctx.config()).read().profiles);
  } catch {
    return;
  }
  if (names.length) ctx.io.stdout.write(`${names.join('\n')}\n`);
}

function isCompletionShell(value: string): value is CompletionShell {
  return (COMPLETION_SHELLS as readonly string[]).includes(value);
}

function root(command: Command): Command {
  let top = command;
  while (top.parent) top = top.parent;
  return top;
}
