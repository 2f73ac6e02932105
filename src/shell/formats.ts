import { UsageError } from '../core/errors.js';
import { cmdSet, dotenvAssign, fishQuote, posixQuote, powershellQuote } from './quote.js';
import { jsonOutput } from '../util/json-output.js';

/** How each shell (or file format) sets and unsets variables. One entry per `--shell` value. */
interface ShellFormat {
  set(name: string, value: string): string;
  unset?(name: string): string;
}

/** JSON is one object, not a line per variable; renderVariables writes it whole. */
const JSON_FORMAT = 'json';

const posix: ShellFormat = { set: (name, value) => `export ${name}=${posixQuote(value)}`, unset: (name) => `unset ${name}` };

export const SHELL_FORMATS = {
  sh: posix,
  bash: posix,
  zsh: posix,
  fish: { set: (name, value) => `set -gx ${name} ${fishQuote(value)}`, unset: (name) => `set -e ${name}` },
  powershell: { set: (name, value) => `$Env:${name} = ${powershellQuote(value)}`, unset: (name) => `Remove-Item Env:${name} -ErrorAction SilentlyContinue` },
  cmd: { set: cmdSet, unset: (name) => `set "${name}="` },
  dotenv: { set: dotenvAssign },
} satisfies Record<string, ShellFormat>;

export type ShellName = keyof typeof SHELL_FORMATS | typeof JSON_FORMAT;
export const SHELL_NAMES = [...Object.keys(SHELL_FORMATS), JSON_FORMAT] as ShellName[];

export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Variables that change how a shell or a program runs (where commands are found, what the
 * dynamic linker or an interpreter loads first): a token there breaks the command, or is run.
 */
const CONTROL_VARIABLES = /^(PATH|HOME|SHELL|IFS|ENV|BASH_ENV|CDPATH|PS[0-4]|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|ZDOTDIR|TMPDIR|LANG|LC_\w+|TERM|LD_\w+|DYLD_\w+|NODE_OPTIONS|NODE_PATH|PYTHONPATH|PYTHONHOME|PYTHONSTARTUP|PERL5?LIB|PERL5OPT|RUBYOPT|RUBYLIB|JAVA_TOOL_OPTIONS|GIT_SSH_COMMAND|GIT_EXEC_PATH)$/;

export function checkVariableName(name: string, flag = '--var'): string {
  if (!VARIABLE_NAME.test(name)) {
    throw new UsageError(`${flag} ${JSON.stringify(name)} is not a valid variable name`, { hint: 'use letters, digits and _, not starting with a digit' });
  }
  if (CONTROL_VARIABLES.test(name)) {
    throw new UsageError(`${flag} ${name} would put the token in a variable that changes how programs run`, { hint: 'name a variable of your own, e.g. --var OS_TOKEN' });
  }
  return name;
}

/** The text that sets (or, with `unset`, removes) `variables` in `shell`. Ends with a newline. */
export function renderVariables(shell: ShellName, variables: ReadonlyMap<string, string>, unset = false): string {
  if (shell === JSON_FORMAT) {
    return jsonOutput(Object.fromEntries([...variables].map(([name, value]) => [name, unset ? null : value])), 2);
  }
  const format: ShellFormat = SHELL_FORMATS[shell as keyof typeof SHELL_FORMATS];
  // No shell variable holds a NUL (they are C strings): bash and dash drop it, fish refuses the whole text.
  const withNul = unset ? undefined : [...variables].find(([, value]) => value.includes('\0'));
  if (withNul) throw new UsageError(`the value of ${withNul[0]} contains a NUL character, which no shell variable can hold`, { hint: 'use --shell json' });
  if (unset && !format.unset) throw new UsageError(`--unset has no meaning for --shell ${shell}`, { hint: 'remove the lines from the file instead' });
  const lines = [...variables].map(([name, value]) => (unset ? format.unset!(name) : format.set(name, value)));
  return `${lines.join('\n')}\n`;
}
