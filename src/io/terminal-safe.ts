/**
 * What is never written raw: control characters (C0, DEL, C1, line and paragraph separators), and
 * Unicode's invisible format characters (Cf: bidi embeddings, overrides and isolates U+202A-U+202E
 * and U+2066-U+2069, the marks U+200E/U+200F/U+061C, zero-width characters U+200B-U+200D, word
 * joiners and invisible operators U+2060-U+2064, the byte order mark U+FEFF, tag characters, the
 * soft hyphen ...), with U+2065, unassigned in that block, as well.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u2065\p{Cf}]/gu;

/**
 * Text from servers (user, project and role names, error messages) shown to a terminal: every
 * control and format character is written as an escape, so a name like `alice\e]0;OWNED\a`
 * cannot retitle, clear or fake lines on the terminal, and one with U+202E (RIGHT-TO-LEFT
 * OVERRIDE) or a zero-width space cannot show as something it is not.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    if (c === '\t') return '\\t';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\u001b') return '\\e';
    if (code > 0xffff) return `\\u{${code.toString(16)}}`;
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
