/**
 * Text from servers (user, project and role names, error messages) shown to a terminal: every
 * control character (C0, DEL, C1, line and paragraph separators) is written as an escape, so
 * a name like `alice\e]0;OWNED\a` cannot retitle, clear or fake lines on the terminal.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\t') return '\\t';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\u001b') return '\\e';
    return code > 0xff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
