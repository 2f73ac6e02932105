import { UsageError } from '../core/errors.js';

/**
 * Quoting for each shell authctl writes for. Every function returns a literal that the shell
 * evaluates to exactly `value`, whatever it contains, and that runs nothing.
 */

/** POSIX sh, bash, zsh, dash: single quotes keep everything literal; a `'` is closed, escaped, reopened. */
export function posixQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** fish: inside single quotes only `\\` and `\'` are escapes. */
export function fishQuote(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** PowerShell: single-quoted, quotes doubled; PowerShell also takes the typographic single quotes (U+2018-U+201B) as quotes. */
export function powershellQuote(value: string): string {
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (c) => c + c)}'`;
}

/**
 * cmd.exe, for a batch file: `set "NAME=value"` keeps `&|<>^` literal; `%` is doubled. cmd turns
 * quoting on and off at every `"` and has no way to write a line break, so a value with either is
 * refused rather than written in a way that could run something.
 */
export function cmdSet(name: string, value: string): string {
  if (/[\r\n\0"]/.test(value)) {
    throw new UsageError(`the value of ${name} contains a line break or a double quote, which cmd.exe cannot take literally`, { hint: 'use --shell powershell or --shell json' });
  }
  return `set "${name}=${value.replace(/%/g, '%%')}"`;
}

/**
 * .env files, as python-dotenv, docker compose and dotenv (npm) read them: single quotes when the
 * value has no `'` and no line break; else double quotes with `\\`, `\"`, `\n` and `\r` escapes.
 * These readers expand `$` in ways that cannot be escaped portably (python-dotenv expands `${X}`
 * even inside single quotes; compose expands `$X` inside double quotes), so such a value is
 * refused rather than written wrong.
 */
export function dotenvAssign(name: string, value: string): string {
  const singleQuotable = !/['\r\n]/.test(value);
  if (value.includes('${') || (!singleQuotable && value.includes('$'))) {
    throw new UsageError(`the value of ${name} holds a "$" that .env readers would expand, which cannot be escaped portably`, { hint: 'use --shell json' });
  }
  // python-dotenv unescapes \\ and \' even in single quotes, dotenv (npm) never does.
  if (value.includes('\\')) {
    throw new UsageError(`the value of ${name} holds a "\\" that .env readers take differently, which cannot be written portably`, { hint: 'use --shell json' });
  }
  if (singleQuotable) return `${name}='${value}'`;
  return `${name}="${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}
