import type { Context } from '../cli/context.js';
import { checkMinTtl } from '../core/profile.js';
import { cachedOrFresh } from '../core/resolve.js';
import { posixQuote } from '../shell/quote.js';

export interface ExportOptions {
  minTtl?: string;
}

/** `eval "$(authctl export)"` sets $Token: the output is one assignment, quoted so nothing else can run. */
export async function exportRun(ctx: Context, opts: ExportOptions): Promise<void> {
  const { token } = await cachedOrFresh(ctx, checkMinTtl(ctx, opts.minTtl));
  ctx.io.stdout.write(`export Token=${posixQuote(token.token)}\n`);
}
