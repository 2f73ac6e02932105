import { UsageError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parses `600`, `90s`, `10m`, `12h`, `1d` or combinations such as `1h30m` into whole seconds.
 * Returns undefined for anything else, so callers can name the bad value in their own error.
 */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number.isSafeInteger(Number(trimmed)) ? Number(trimmed) : undefined;
  if (!/^(\d+[smhd])+$/.test(trimmed)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)([smhd])/g)) {
    seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  }
  return Number.isSafeInteger(seconds) ? seconds : undefined;
}

/** A short human reading of a span: `42s`, `17m`, `1h 05m`, `3d 4h`. Negative spans read as `0s`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${String(minutes).padStart(2, '0')}m`;
  if (minutes > 0) return `${minutes}m`;
  return `${seconds}s`;
}

/** The longest wait any duration setting may ask for: Node's timers hold at most 2^31-1 ms (24.8 days). */
export const MAX_DURATION_SECONDS = 24 * 86400;

/**
 * A duration from a flag or variable, in seconds; a bad one, or one over `maxSeconds` (a timer
 * could not wait that long, and would fire at once), is a usage error naming `name`.
 */
export function durationSetting(text: string, name: string, maxSeconds = MAX_DURATION_SECONDS): number {
  const seconds = parseDuration(text);
  if (seconds === undefined) {
    throw new UsageError(`${name} ${JSON.stringify(text)} is not a duration`, { hint: 'give seconds (300) or a number with a unit: 90s, 5m, 2h, 1d' });
  }
  if (seconds > maxSeconds) {
    const max = maxSeconds % 86400 === 0 ? `${maxSeconds / 86400}d` : maxSeconds % 3600 === 0 ? `${maxSeconds / 3600}h` : `${maxSeconds}s`;
    throw new UsageError(`${name} ${JSON.stringify(text)} is over the maximum of ${max}`, { hint: `give at most ${max}` });
  }
  return seconds;
}
