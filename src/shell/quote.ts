/**
 * Quoting for each shell authctl writes for. Every function returns a literal that the shell
 * evaluates to exactly `value`, whatever it contains, and that runs nothing.
 */

/** POSIX sh, bash, zsh, dash: single quotes keep everything literal; a `'` is closed, escaped, reopened. */
export function posixQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
