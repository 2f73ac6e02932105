import { describe, expect, it } from 'vitest';
import { fingerprint, SecretRegistry } from '../../src/io/redact.js';
import { oneLine } from '../../src/iam/response.js';

describe('SecretRegistry', () => {
  const stand = (secret: string) => `<${fingerprint(secret)}>`;

  it('redacts short secrets too (from 4 characters), every occurrence', () => {
    const secrets = new SecretRegistry();
    secrets.add('pw8chars');
    expect(secrets.redact('bad password pw8chars, pw8chars again')).toBe(`bad password ${stand('pw8chars')}, ${stand('pw8chars')} again`);
    secrets.add('abc');
    expect(secrets.redact('abc')).toBe('abc');
  });

  it.each([
    ['JSON-escaped', 'Pw"quoted\\slash', (s: string) => JSON.stringify(s).slice(1, -1)],
    ['form-encoded', 'Cs+Zm9v/bar=&x y', (s: string) => new URLSearchParams({ s }).toString().slice(2)],
    ['percent-encoded', 'Cs+Zm9v/bar=&x y', encodeURIComponent],
    ['whitespace-folded', '  leading and  doubled\tspaces ', (s: string) => oneLine(s)],
  ])('redacts a secret echoed %s', (_, secret, transform) => {
    const secrets = new SecretRegistry();
    secrets.add(secret);
    const echoed = `server said: ${transform(secret)} is wrong`;
    expect(echoed).not.toContain(secret);
    expect(secrets.redact(echoed)).toBe(`server said: ${stand(secret)} is wrong`);
  });

  it('redacts the longest form first, so no part of a secret is left around another', () => {
    const secrets = new SecretRegistry();
    secrets.add('abcd');
    secrets.add('abcdefgh');
    expect(secrets.redact('abcdefgh')).toBe(stand('abcdefgh'));
  });

  it('redacts the first part of a secret that a shortened server message cut off', () => {
    const secrets = new SecretRegistry();
    const jwt = `eyJhbGciOiJSUzI1NiJ9.${'a'.repeat(400)}.sig`;
    secrets.add(jwt);
    const message = oneLine(`Invalid token ${jwt}`);
    expect(message.endsWith('…')).toBe(true);
    const redacted = secrets.redact(`authctl: ${message}`);
    expect(redacted).toBe(`authctl: Invalid token ${stand(jwt)}…`);
    expect(redacted).not.toContain('eyJhbGci');
    // An ordinary shortened word that merely shares a few letters with a secret stays.
    expect(secrets.redact('a message about eyJhb…')).toBe('a message about eyJhb…');
  });
});
