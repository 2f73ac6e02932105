import { describe, expect, it } from 'vitest';
import { terminalSafe } from '../../src/io/terminal-safe.js';

describe('terminalSafe', () => {
  it('escapes control characters (C0, DEL, C1, line and paragraph separators)', () => {
    expect(terminalSafe('alice\x1b]0;OWNED\x07\t\n\r\x7f\x9b\u2028\u2029')).toBe('alice\\e]0;OWNED\\x07\\t\\n\\r\\x7f\\x9b\\u2028\\u2029');
  });

  it('escapes bidi controls: a name with RIGHT-TO-LEFT OVERRIDE cannot reorder what follows it', () => {
    expect(terminalSafe('admin\u202Egnp.exe')).toBe('admin\\u202egnp.exe');
    for (const code of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c]) {
      expect(terminalSafe(`a${String.fromCharCode(code)}b`)).toBe(`a\\u${code.toString(16).padStart(4, '0')}b`);
    }
  });

  it('escapes invisible format characters: zero-width ones, word joiners, the byte order mark, tags', () => {
    for (let code = 0x200b; code <= 0x200f; code++) expect(terminalSafe(String.fromCharCode(code))).toBe(`\\u${code.toString(16)}`);
    for (let code = 0x2060; code <= 0x2069; code++) expect(terminalSafe(String.fromCharCode(code))).toBe(`\\u${code.toString(16)}`);
    expect(terminalSafe('\uFEFFroot')).toBe('\\ufeffroot');
    expect(terminalSafe('soft\u00ADhyphen')).toBe('soft\\xadhyphen');
    // Outside the BMP: tag characters (invisible text), written as one escape, not two halves.
    expect(terminalSafe('ok\u{E0041}\u{E007F}')).toBe('ok\\u{e0041}\\u{e007f}');
  });

  it('leaves ordinary text alone: letters of every script, emoji, combining marks', () => {
    for (const text of ['Zoë Ångström', 'ユーザー', 'مستخدم', 'שלום', 'cafe\u0301', '👍🏽 ok', 'tab-free text: 100% (ok)']) expect(terminalSafe(text)).toBe(text);
  });
});
