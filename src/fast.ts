/**
 * The front door for `token get` and `export`, the commands shells and CI run thousands of times:
 * CommonJS, and no commander, so a cached answer costs little more than starting Node (each of
 * the ES module loader and commander costs more than the rest of the answer; see `npm run bench`).
 *
 * It parses only the flags of those two commands and then runs the very same command functions
 * as the full CLI. Any other command line (another command, --help, a flag it does not know) goes
 * to the full CLI in dist/authctl.cjs. Both parse the same flags into the same options, so the
 * result is the same whichever door a command line takes.
 */
import { parseArgs } from 'node:util';
import { exitWith, processFactory } from './cli/process.js';
import { exportRun, type ExportOptions } from './commands/export.js';
import { tokenGetRun, type TokenGetOptions, type TokenOutput } from './commands/token-get.js';
import { SecretRegistry } from './io/redact.js';
import { debugRequested, Reporter } from './io/reporter.js';
import { Context, type GlobalOptions } from './session/context.js';
import type { Factory } from './session/factory.js';
import { flagKey, settingsFor } from './core/settings.js';
import { parseArgsOptions, SETTINGS, TOKEN_OUTPUTS } from './settings/table.js';
import { SHELL_NAMES, type ShellName } from './shell/formats.js';
import { STORE_KINDS } from './store/secret-store.js';
import { withoutUndefined } from './util/objects.js';

const flagsOf = (path: 'global' | 'token get' | 'export') => new Set(settingsFor(SETTINGS, path).map((setting) => setting.flag!.slice(2)));

/** The flags of `token get` and `export` and the global ones, from the settings table (made once a command line has flags). */
let parser: { options: ReturnType<typeof parseArgsOptions>; global: Set<string>; own: Record<'token get' | 'export', Set<string>> } | undefined;
const flagParser = () => (parser ??= { options: parseArgsOptions(['global', 'token get', 'export']), global: flagsOf('global'), own: { 'token get': flagsOf('token get'), export: flagsOf('export') } });

export type FastCommand =
  | { command: 'token get'; globals: GlobalOptions; options: TokenGetOptions }
  | { command: 'export'; globals: GlobalOptions; options: ExportOptions };


/**
 * The command lines this front door takes; undefined for everything else. Like commander, it
 * takes global options anywhere and a command's own options only after the command's words.
 */
export function recognise(argv: readonly string[]): FastCommand | undefined {
  // What shells and CI run most, no flag given: the parser's answer without the parser (~1.4 ms).
  if (argv.length === 2 && argv[0] === 'token' && argv[1] === 'get') return { command: 'token get', globals: {}, options: {} };
  if (argv.length === 1 && argv[0] === 'export') return { command: 'export', globals: {}, options: { shell: 'sh' } };
  return recogniseFlags(argv);
}

/** `recognise` for any command line, through the parser. */
export function recogniseFlags(argv: readonly string[]): FastCommand | undefined {
  const { options: OPTIONS, global: GLOBAL_OPTIONS, own: OWN_OPTIONS } = flagParser();
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true, tokens: true });
  } catch {
    return undefined; // an unknown flag or a missing value: the full CLI explains it
  }
  const { values, positionals, tokens } = parsed;
  const words = tokens.filter((token) => token.kind === 'positional');
  const commandEnd = words.at(-1)?.index ?? -1;
  if (tokens.some((token) => token.kind === 'option' && !GLOBAL_OPTIONS.has(token.name) && token.index < commandEnd)) return undefined;
  if (tokens.some((token) => token.kind === 'option-terminator')) return undefined;
  if (values.store !== undefined && !(STORE_KINDS as readonly string[]).includes(String(values.store))) return undefined;
  const byKey = (names: ReadonlySet<string>) => withoutUndefined(Object.fromEntries([...names].map((name) => [flagKey(`--${name}`), values[name]]))) as Record<string, string | boolean>;
  const globals: GlobalOptions = byKey(GLOBAL_OPTIONS);
  const command = positionals.length === 2 && positionals[0] === 'token' && positionals[1] === 'get' ? 'token get' : positionals.length === 1 && positionals[0] === 'export' ? 'export' : undefined;
  if (command === undefined) return undefined;
  // A flag of the other command: the full CLI says it is unknown here.
  if (Object.keys(values).some((name) => !GLOBAL_OPTIONS.has(name) && !OWN_OPTIONS[command].has(name))) return undefined;
  const own = byKey(OWN_OPTIONS[command]);
  if (command === 'token get') {
    if (values.output !== undefined && !(TOKEN_OUTPUTS as readonly string[]).includes(String(values.output))) return undefined;
    return { command, globals, options: own as TokenGetOptions & { output?: TokenOutput } };
  }
  const shell = (values.shell as string | undefined) ?? 'sh';
  if (!(SHELL_NAMES as readonly string[]).includes(shell)) return undefined;
  return { command, globals, options: { ...(own as ExportOptions), shell: shell as ShellName } };
}

/** Runs a recognised command line; undefined when it is one for the full CLI. */
export async function runFast(argv: readonly string[], factory: Factory): Promise<number | undefined> {
  const request = recognise(argv);
  if (!request) return undefined;
  const secrets = new SecretRegistry();
  try {
    const ctx = new Context(factory, request.globals, secrets);
    if (request.command === 'token get') await tokenGetRun(ctx, request.options);
    else await exportRun(ctx, request.options);
    return 0;
  } catch (error) {
    // Loaded only for a failure: the cached path never reports one.
    const { reportFailure } = await import('./cli/exit.js');
    return reportFailure(error, new Reporter(() => factory.io.stderr, factory.env, secrets, debugRequested(request.globals.debug, factory.env)));
  }
}

/**
 * The process entry point, used by bin/authctl. `fullCli` runs any other command line in the full
 * CLI (dist/authctl.cjs), which the shim loads as it loads this file, with a code cache.
 */
export function run(argv: readonly string[], fullCli: (argv: readonly string[]) => Promise<void>): void {
  runFast(argv, processFactory())
    .then(async (code) => {
      if (code !== undefined) return exitWith(code);
      await fullCli(argv);
    })
    .catch((error: unknown) => {
      process.stderr.write(`authctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
