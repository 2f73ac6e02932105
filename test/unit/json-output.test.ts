import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonOutput } from '../../src/util/json-output.js';

const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u2065\p{Cf}]/u;

describe('JSON written to stdout', () => {
  it('escapes bidi overrides, separators, C1 and tag characters, and parses back to the same value', () => {
    const value = { project: { name: 'evil\u202eTXT.exe', id: 'a\u2028b\u0085c\u{e0041}d\u200be' }, n: 1, list: ['\u2066x\u2069'] };
    const text = jsonOutput(value, 2);
    expect(text).not.toMatch(RAW_UNSAFE);
    expect(text).toContain('evil\\u202eTXT.exe');
    expect(text).toContain('\\udb40\\udc41');
    expect(JSON.parse(text)).toEqual(value);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('for any value: valid JSON of the same value, nothing unsafe raw, pretty-printed or not', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), fc.constantFrom(undefined, 2), (value, indent) => {
        const text = jsonOutput(value, indent);
        expect(text.slice(0, -1)).not.toMatch(RAW_UNSAFE);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { seed: 2026, numRuns: 500 },
    );
  });
});
