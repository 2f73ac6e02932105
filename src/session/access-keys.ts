import { durationSetting } from '../core/duration.js';
import { UsageError } from '../core/errors.js';
import { remainingMs } from '../core/token.js';
import { ACCESS_KEY_DURATION, KeysTokenRefusedError, type TemporaryKeys } from '../iam/access-keys.js';
import type { Context } from './context.js';
import { cachedOrFresh, retryIfRefused } from './resolve.js';

/** The store entry, beside the token, that holds a profile's temporary access keys. */
export const ACCESS_KEYS_ROLE = 'access-keys';

export interface CachedKeys extends TemporaryKeys {
  v: 1;
  /** The cache key of the token they were bought with: never served for other settings. */
  key: string;
  durationSeconds: number;
  skewMs: number;
}

/** `--duration` for access keys: 900 s to 24 h, no request otherwise. */
export function checkKeyDuration(text: string | undefined): number {
  if (text === undefined) return ACCESS_KEY_DURATION.default;
  const seconds = durationSetting(text, '--duration', Number.MAX_SAFE_INTEGER); // its own range below says more
  if (seconds < ACCESS_KEY_DURATION.min || seconds > ACCESS_KEY_DURATION.max) {
    throw new UsageError(`--duration ${JSON.stringify(text)} is not between 900 seconds (15m) and 86400 seconds (24h)`, { hint: 'e.g. --duration 1h; temporary access keys live 15 minutes to 24 hours' });
  }
  return seconds;
}

function parseCachedKeys(text: string | undefined): CachedKeys | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<CachedKeys>;
    const strings = [value.key, value.access, value.secret, value.securityToken].every((field) => typeof field === 'string' && field !== '');
    const numbers = [value.expiresAt, value.durationSeconds, value.skewMs].every((field) => typeof field === 'number' && Number.isFinite(field));
    return value.v === 1 && strings && numbers ? (value as CachedKeys) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The profile's temporary access keys: the cached ones while more than `minTtlMs` is left (and,
 * when `--duration` was given, bought for that duration), else new ones bought with the profile's
 * token (renewed on the way). Cached in the OS keychain only, never in a file.
 */
export async function cachedOrFreshKeys(ctx: Context, options: { minTtlMs: number; duration?: string }): Promise<TemporaryKeys> {
  const durationSeconds = checkKeyDuration(options.duration);
  const first = await cachedOrFresh(ctx, options.minTtlMs);
  const { token, profile, resolved } = first;
  const buy = resolved.method.can.temporaryKeys;
  if (!buy) {
    throw new UsageError(`${resolved.method.label} tokens cannot be exchanged for access keys`, { hint: 'temporary access keys come from OTC or Huawei Cloud IAM: log in there (password, agency or ID token)' });
  }
  const inKeychain = profile.secrets.storeKind === 'keychain';
  const cached = inKeychain ? parseCachedKeys(await profile.secrets.readSecret(ACCESS_KEYS_ROLE)) : undefined;
  const fits = cached && cached.key === resolved.key && (options.duration === undefined || cached.durationSeconds === durationSeconds);
  if (cached && fits && remainingMs(cached, ctx.now()) > options.minTtlMs) {
    ctx.secrets.add(cached.secret);
    ctx.secrets.add(cached.securityToken);
    return cached;
  }
  // IAM refusing the token (401) drops it; a new one bought silently is tried once.
  let skewMs = token.skewMs;
  const keys = await retryIfRefused(
    ctx,
    first,
    options.minTtlMs,
    async (result) => {
      // The token goes to IAM now: an answer that echoes it must not print it.
      ctx.secrets.add(result.token.token);
      skewMs = result.token.skewMs;
      return buy(await ctx.authIO(result.profile, false), result.resolved.target, result.token, durationSeconds);
    },
    (error) => (error instanceof KeysTokenRefusedError ? 401 : undefined),
  );
  ctx.secrets.add(keys.secret);
  ctx.secrets.add(keys.securityToken);
  if (inKeychain) {
    const entry: CachedKeys = { v: 1, key: resolved.key, durationSeconds, skewMs, ...keys };
    await profile.secrets.writeSecret(ACCESS_KEYS_ROLE, JSON.stringify(entry));
  }
  return keys;
}
