import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, totp } from '../helpers/totp.js';

// RFC 6238 appendix B: the SHA-1 seed is the 20 ASCII bytes "12345678901234567890".
const RFC_SECRET = base32Encode(Buffer.from('12345678901234567890', 'ascii'));

describe('TOTP helper (RFC 6238, HMAC-SHA-1, 30 s)', () => {
  it('encodes the RFC seed as the well-known base32 string', () => {
    expect(RFC_SECRET).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
  });

  it.each([
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ])('T=%i s: %s (8 digits)', (seconds, code) => {
    expect(totp(RFC_SECRET, seconds * 1000, 8)).toBe(code);
  });

  it('6 digits at T=59 s: 287082; the default is 6 digits', () => {
    expect(totp(RFC_SECRET, 59_000)).toBe('287082');
    expect(totp(RFC_SECRET, 59_000, 6)).toBe('287082');
  });

  it('one code per 30 s window', () => {
    expect(totp(RFC_SECRET, 30_000)).toBe(totp(RFC_SECRET, 59_999));
    expect(totp(RFC_SECRET, 60_000)).not.toBe(totp(RFC_SECRET, 59_999));
  });

  it('base32 round-trips any length, and decoding ignores case and padding', () => {
    for (let length = 0; length < 24; length++) {
      const bytes = randomBytes(length);
      expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    }
    expect(base32Decode('mzxw6===')).toEqual(Buffer.from('foo'));
    expect(() => base32Decode('AB1C')).toThrow(/not base32/);
  });
});
