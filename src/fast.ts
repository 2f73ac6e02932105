/**
 * The front door for `token get` and `export`, the commands shells and CI run thousands of times:
 * CommonJS, and no commander, so a cached answer costs little more than starting Node (each of
 * the ES module loader and commander costs more than the rest of the answer; see `npm run bench`).
 *
 * It parses only the flags of those two commands and then runs the very same command functions
 * as the full CLI. Any other command line (another command, --help, a flag it does not know) goes
 * to the full CLI in dist/authctl.js. Both parse the same flags into the same options, so the
 * result is the same whichever door a command line takes.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Context, type Deps, type GlobalOptions } from './cli/context.js';
import { failureReporter, reportFailure } from './cli/failure.js';
import { exitWith, processDeps } from './cli/process.js';
import { exportRun, type ExportOptions } from './commands/export.js';
import { TOKEN_OUTPUTS, tokenGetRun, type TokenGetOptions, type TokenOutput } from './commands/token-get.js';
import { SecretRegistry } from './io/redact.js';
import { SHELL_NAMES, type ShellName } from './shell/formats.js';
import { STORE_KINDS } from './store/secret-store.js';
import { withoutUndefined } from './util/objects.js';

const OPTIONS = {
  profile: { type: 'string', short: 'p' },
  store: { type: 'string' },
  timeout: { type: 'string' },
  debug: { type: 'boolean' },
  cacert: { type: 'string' },
  insecure: { type: 'boolean' },
  'os-cloud': { type: 'string' },
  'min-ttl': { type: 'string' },
  json: { type: 'boolean' },
  output: { type: 'string' },
  shell: { type: 'string' },
  var: { type: 'string' },
  openstack: { type: 'boolean' },
  expiry: { type: 'boolean' },
  unset: { type: 'boolean' },
} as const;

export type FastCommand =
  | { command: 'token get'; globals: GlobalOptions; options: TokenGetOptions }
  | { command: 'export'; globals: GlobalOptions; options: ExportOptions };

const GLOBAL_OPTIONS = new Set(['profile', 'store', 'timeout', 'debug', 'cacert', 'insecure', 'os-cloud']);

/**
 * The command lines this front door takes; undefined for everything else. Like commander, it
 * takes global options anywhere and a command's own options only after the command's words.
 */
export function recognise(argv: readonly string[]): FastCommand | undefined {
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
  if (values.store !== undefined && !(STORE_KINDS as readonly string[]).includes(values.store)) return undefined;
  const globals: GlobalOptions = withoutUndefined({ profile: values.profile, store: values.store, timeout: values.timeout, debug: values.debug, cacert: values.cacert, insecure: values.insecure, osCloud: values['os-cloud'] });
  const command = positionals.length === 2 && positionals[0] === 'token' && positionals[1] === 'get' ? 'token get' : positionals.length === 1 && positionals[0] === 'export' ? 'export' : undefined;
  if (command === 'token get' && values.shell === undefined && values.var === undefined && !values.openstack && !values.expiry && !values.unset) {
    if (values.output !== undefined && !(TOKEN_OUTPUTS as readonly string[]).includes(values.output)) return undefined;
    return { command, globals, options: withoutUndefined({ minTtl: values['min-ttl'], json: values.json, output: values.output as TokenOutput | undefined }) };
  }
  if (command === 'export' && !values.json && values.output === undefined) {
    const shell = values.shell ?? 'sh';
    if (!(SHELL_NAMES as readonly string[]).includes(shell)) return undefined;
    const options: ExportOptions = withoutUndefined({ minTtl: values['min-ttl'], var: values.var, openstack: values.openstack, expiry: values.expiry, unset: values.unset });
    return { command, globals, options: { ...options, shell: shell as ShellName } };
  }
  return undefined;
}

/** Runs a recognised command line; undefined when it is one for the full CLI. */
export async function runFast(argv: readonly string[], deps: Deps): Promise<number | undefined> {
  const request = recognise(argv);
  if (!request) return undefined;
  const secrets = new SecretRegistry();
  try {
    const ctx = new Context(deps, request.globals, secrets);
    if (request.command === 'token get') await tokenGetRun(ctx, request.options);
    else await exportRun(ctx, request.options);
    return 0;
  } catch (error) {
    return reportFailure(error, failureReporter(deps, secrets, Boolean(request.globals.debug)));
  }
}

/** The process entry point, used by bin/authctl. */
export function run(argv: readonly string[]): void {
  runFast(argv, processDeps())
    .then(async (code) => {
      if (code !== undefined) return exitWith(code);
      const cli = (await import(pathToFileURL(join(__dirname, 'authctl.js')).href)) as typeof import('./main.js');
      await cli.main(argv);
    })
    .catch((error: unknown) => {
      process.stderr.write(`authctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    });
}
