import type { Context } from '../session/context.js';
import { checkMinTtl, renewalSecret } from '../session/profile.js';
import { cachedOrFresh } from '../session/resolve.js';
import { renderVariables, type ShellName } from '../shell/formats.js';
import { checkVariableOptions, variableNames, variables, type VariableOptions } from '../shell/variables.js';

export interface ExportOptions extends VariableOptions {
  minTtl?: string;
  /** With --aksk: the keys' lifetime. */
  duration?: string;
  shell?: ShellName;
  unset?: boolean;
}

/**
 * `eval "$(authctl export)"` sets $Token. Each `--shell` gets what it evaluates natively, quoted
 * so that whatever a value contains, evaluating the output assigns it and runs nothing else.
 */
export async function exportRun(ctx: Context, opts: ExportOptions): Promise<void> {
  checkVariableOptions(opts);
  const shell = opts.shell ?? 'sh';
  if (opts.unset) {
    // Removing variables needs no token, no keychain and no network.
    ctx.io.stdout.write(renderVariables(shell, new Map(variableNames(opts).map((name) => [name, ''])), true));
    return;
  }
  const minTtlMs = checkMinTtl(ctx.env, opts.minTtl);
  const { token, resolved, profile } = await cachedOrFresh(ctx, minTtlMs);
  const keys = opts.aksk ? await (await import('../session/access-keys.js')).cachedOrFreshKeys(ctx, { minTtlMs, ...(opts.duration !== undefined ? { duration: opts.duration } : {}) }) : undefined;
  const secret = opts.openstack && resolved.method.can.openstackNeedsSecret ? (await renewalSecret(ctx, profile, resolved)).secret : undefined;
  ctx.io.stdout.write(renderVariables(shell, variables(token, opts, resolved, secret, keys)));
}
