import { UsageError } from '../core/errors.js';
import { tokenJson } from '../core/token-json.js';
import { isoTime, type CachedToken } from '../core/token.js';
import type { Context } from '../session/context.js';
import { checkMinTtl } from '../session/profile.js';
import { cachedOrFresh } from '../session/resolve.js';
import type { TOKEN_OUTPUTS } from '../settings/table.js';
import { jsonOutput } from '../util/json-output.js';

export type TokenOutput = (typeof TOKEN_OUTPUTS)[number];

export interface TokenGetOptions {
  minTtl?: string;
  json?: boolean;
  output?: TokenOutput;
}

/** Prints the token and a newline on stdout, nothing else: `$(authctl token get)` is the token. */
export async function tokenGetRun(ctx: Context, opts: TokenGetOptions): Promise<void> {
  if (opts.json && opts.output !== undefined && opts.output !== 'json') {
    throw new UsageError(`--json and --output ${opts.output} cannot be used together`, { hint: '--json is short for --output json' });
  }
  const output: TokenOutput = opts.json ? 'json' : (opts.output ?? 'token');
  const { token, profile } = await cachedOrFresh(ctx, checkMinTtl(ctx.env, opts.minTtl));
  ctx.io.stdout.write(formatToken(token, profile.name, output));
}

export function formatToken(token: CachedToken, profile: string, output: TokenOutput): string {
  switch (output) {
    case 'token':
      return `${token.token}\n`;
    case 'json':
      return jsonOutput(tokenJson(token, profile, true), 2);
    case 'exec-credential':
      return jsonOutput(execCredential(token));
    case 'id-token':
      if (!token.idToken) throw new UsageError(`profile ${profile} holds no ID token`, { hint: 'only an OpenID Connect sign-in with the openid scope has one (authctl login --oidc-issuer ...)' });
      return `${token.idToken}\n`;
  }
}

/**
 * What a kubeconfig `exec` credential plugin prints (client.authentication.k8s.io/v1): kubectl
 * calls authctl for every command and caches nothing itself, so the expiry lets it reuse the token.
 */
export function execCredential(token: CachedToken): unknown {
  return {
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token: token.token, expirationTimestamp: isoTime(token.expiresAt) },
  };
}
