import type { Context } from '../session/context.js';
import { cachedOrFreshKeys } from '../session/access-keys.js';
import { checkMinTtl } from '../session/profile.js';
import { renderVariables, type ShellName } from '../shell/formats.js';
import { keyVariables } from '../shell/variables.js';
import { isoTime } from '../core/token.js';

export interface CredentialsOptions {
  shell?: ShellName;
  aws?: boolean;
  duration?: string;
  minTtl?: string;
}

/**
 * `eval "$(authctl credentials)"`: a temporary access key, its secret and security token, under
 * the names Terraform providers, the Huawei Cloud SDKs and KooCLI (and with --aws, S3 clients) read.
 */
export async function credentialsRun(ctx: Context, opts: CredentialsOptions): Promise<void> {
  const keys = await cachedOrFreshKeys(ctx, { minTtlMs: checkMinTtl(ctx.env, opts.minTtl), ...(opts.duration !== undefined ? { duration: opts.duration } : {}) });
  ctx.reporter.info(`Temporary access key ${keys.access}, valid until ${isoTime(keys.expiresAt)}`);
  ctx.io.stdout.write(renderVariables(opts.shell ?? 'sh', keyVariables(keys, Boolean(opts.aws))));
}
