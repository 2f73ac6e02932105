/**
 * Those of the characters never written raw (src/io/terminal-safe.ts) that JSON.stringify leaves
 * raw: DEL, C1, the line and paragraph separators, bidi and other format characters. (It escapes
 * C0 itself, and its own line breaks must stay.)
 */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029\u2065\p{Cf}]/gu;

/**
 * JSON for stdout: JSON.stringify, with every character `terminalSafe` escapes that JSON leaves
 * raw (DEL, C1, the separators, bidi and other format characters) written as a \u escape. The
 * same value when parsed; nothing in it can reorder or hide what a terminal shows. Ends with a newline.
 */
export function jsonOutput(value: unknown, indent?: number): string {
  // Each UTF-16 unit as its own escape: a character outside the BMP (a tag character) as its pair.
  const text = JSON.stringify(value, null, indent).replace(UNSAFE_IN_JSON, (c) => [...Array(c.length).keys()].map((i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''));
  return `${text}\n`;
}
