import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.js';
import { clockSkew, isExpired, isServable, parseCachedToken, remainingMs, serializeCachedToken, type CachedToken } from '../../src/core/token.js';

const token = (expiresAt: number, skewMs = 0): CachedToken => ({ v: 1, key: 'k', token: 't', expiresAt, skewMs, issuer: 'https://iam' });

describe('expiry arithmetic', () => {
  it('judges on the IAM clock: a server 10 minutes ahead shortens what is left', () => {
    const now = 1_000_000_000;
    expect(remainingMs(token(now + 3_600_000), now)).toBe(3_600_000);
    expect(remainingMs(token(now + 3_600_000, 600_000), now)).toBe(3_000_000);
    expect(isExpired(token(now + 60_000, 120_000), now)).toBe(true);
  });

  it('serves only the same key with more than the minimum left', () => {
    const now = 0;
    expect(isServable(token(301_000), 'k', now, 300_000)).toBe(true);
    expect(isServable(token(300_000), 'k', now, 300_000)).toBe(false);
    expect(isServable(token(3_600_000), 'other', now, 300_000)).toBe(false);
  });

  it('ignores skews under two seconds and unreadable Date headers', () => {
    expect(clockSkew(new Date(10_000).toUTCString(), 9_500)).toBe(0);
    expect(clockSkew(new Date(600_000).toUTCString(), 0)).toBe(600_500); // mid-second: the header drops the milliseconds
    expect(clockSkew('garbage', 0)).toBe(0);
    expect(clockSkew(undefined, 0)).toBe(0);
  });
});

describe('cached token entries', () => {
  it('round-trip', () => {
    const value = { ...token(5), roles: ['member'], user: { name: 'a' } };
    expect(parseCachedToken(serializeCachedToken(value))).toEqual(value);
  });
  it.each(['', 'not json', 'null', '[]', '{"v":2}', JSON.stringify({ ...token(1), token: '' }), JSON.stringify({ ...token(1), expiresAt: 'soon' })])('reads %j as a miss', (text) => {
    expect(parseCachedToken(text)).toBeUndefined();
  });
});

describe('durations', () => {
  it.each([
    ['600', 600],
    ['90s', 90],
    ['10m', 600],
    ['12h', 43200],
    ['1d', 86400],
    ['1h30m', 5400],
  ])('%s is %d seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds));
  it.each(['', '-5', '1.5h', '5 minutes', 'm', '10x'])('%j is not a duration', (text) => expect(parseDuration(text)).toBeUndefined());
  it.each([
    [0, '0s'],
    [59_000, '59s'],
    [60_000, '1m'],
    [3_599_000, '59m'],
    [3_660_000, '1h 01m'],
    [90_000_000, '1d 1h'],
    [-5, '0s'],
  ])('%d ms reads %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
