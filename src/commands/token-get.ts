import type { Context } from '../cli/context.js';
import { checkMinTtl } from '../core/profile.js';
import { cachedOrFresh } from '../core/resolve.js';
import { tokenJson } from '../core/token-json.js';

export interface TokenGetOptions {
  minTtl?: string;
  json?: boolean;
}

/** Prints the token and a newline on stdout, nothing else: `$(authctl token get)` is the token. */
export async function tokenGetRun(ctx: Context, opts: TokenGetOptions): Promise<void> {
  const minTtlMs = checkMinTtl(ctx.env, opts.minTtl);
  const { token, profile } = await cachedOrFresh(ctx, minTtlMs);
  if (opts.json) ctx.io.stdout.write(`${JSON.stringify(tokenJson(token, profile.name, true), null, 2)}\n`);
  else ctx.io.stdout.write(`${token.token}\n`);
}
