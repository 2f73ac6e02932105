import { Argument, Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { bashScript, fishScript, treeFromCommander, zshScript, type CommandSpec, type CompletionTree, type OptionSpec } from '../../src/shell/completion.js';

/** A small program shaped like authctl's, with every case the extraction has to handle. */
function sampleProgram(): Command {
  const program = new Command('tool').description('a tool').helpOption('-h, --help', 'show help');
  program
    .option('-p, --profile <name>', 'profile to use')
    .addOption(new Option('--store <kind>', 'where secrets are kept').choices(['keychain', 'file']))
    .option('--debug', 'log requests')
    .addOption(new Option('--secret-flag', 'not shown').hideHelp());
  const token = program.command('token').description('token things');
  token.command('get').description('print the token').option('--json', 'as JSON').option('--cacert <pem>', 'CA bundle');
  program
    .command('export')
    .description('print shell code')
    .addOption(new Option('--shell <shell>', 'output for this shell').choices(['sh', 'bash', 'zsh', 'fish', 'powershell', 'cmd', 'dotenv', 'json']))
    .option('--env-file <where>', 'read this file')
    .option('--var [name]', 'variable name');
  program.command('completion').description('print a script').addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']));
  program.command('exec').description('run a command').argument('<command...>', 'the command');
  program.command('__complete-profiles', { hidden: true }).description('internal');
  return program;
}

const find = (spec: CommandSpec, ...path: string[]): CommandSpec => {
  let node = spec;
  for (const name of path) {
    const next = node.commands.find((sub) => sub.name === name);
    if (!next) throw new Error(`no command ${path.join(' ')}`);
    node = next;
  }
  return node;
};
const option = (spec: CommandSpec, flag: string): OptionSpec | undefined => spec.options.find((o) => o.flags.includes(flag));

describe('treeFromCommander', () => {
  const tree = treeFromCommander(sampleProgram());

  it('lists the visible commands in order, nested, without hidden ones or the implicit help command', () => {
    expect(tree.name).toBe('tool');
    expect(tree.commands.map((c) => c.name)).toEqual(['token', 'export', 'completion', 'exec']);
    expect(find(tree, 'token').commands.map((c) => c.name)).toEqual(['get']);
    expect(find(tree, 'token', 'get').description).toBe('print the token');
  });

  it('reads the root options as global options, without the help option or hidden options', () => {
    expect(tree.options.map((o) => o.flags)).toEqual([['-p', '--profile'], ['--store'], ['--debug']]);
    expect(tree.options.some((o) => o.flags.includes('--help') || o.flags.includes('--secret-flag'))).toBe(false);
  });

  it('knows which options take a value, names it, and marks profile values', () => {
    expect(option(tree, '--profile')).toEqual({ flags: ['-p', '--profile'], description: 'profile to use', takesValue: true, valueName: 'name', valueKind: 'profile' });
    expect(option(tree, '--debug')).toEqual({ flags: ['--debug'], description: 'log requests', takesValue: false });
    expect(option(find(tree, 'export'), '--var')).toMatchObject({ takesValue: true, valueName: 'name', valueKind: 'none' });
  });

  it('picks up .choices() on options and arguments', () => {
    expect(option(tree, '--store')?.choices).toEqual(['keychain', 'file']);
    expect(option(find(tree, 'export'), '--shell')?.choices).toEqual(['sh', 'bash', 'zsh', 'fish', 'powershell', 'cmd', 'dotenv', 'json']);
    expect(find(tree, 'completion').arguments).toEqual([{ name: 'shell', description: 'the shell', variadic: false, choices: ['bash', 'zsh', 'fish'] }]);
    expect(find(tree, 'exec').arguments).toEqual([{ name: 'command', description: 'the command', variadic: true }]);
  });

  it('completes files for options named like *cacert and *file', () => {
    expect(option(find(tree, 'token', 'get'), '--cacert')?.valueKind).toBe('file');
    expect(option(find(tree, 'export'), '--env-file')?.valueKind).toBe('file');
  });
});

/** Descriptions and choices with everything the shells treat specially. */
const NASTY = `it's "quoted" \`ls\` $HOME \\ [x]: 100% {a,b} *; (y)`;
const nastyTree: CompletionTree = {
  name: 'tool',
  description: 'a tool',
  options: [{ flags: ['-p', '--profile'], description: NASTY, takesValue: true, valueName: 'name', valueKind: 'profile' }],
  commands: [
    {
      name: 'do-it',
      description: NASTY,
      options: [
        { flags: ['--mode'], description: 'mode', takesValue: true, valueName: 'm:x', choices: ["it's", 'a b', '$x'] },
        // commander hands --profile to the root even after `do-it`: this one is never seen.
        { flags: ['--profile'], description: 'own profile flag', takesValue: false },
      ],
      commands: [],
    },
    { name: 'secret', description: 'hidden', options: [], commands: [], hidden: true },
  ],
};

describe('bashScript', () => {
  const script = bashScript(treeFromCommander(sampleProgram()));

  it('registers a function for the program and needs nothing from bash-completion', () => {
    expect(script).toMatch(/\ncomplete -F _tool 'tool'\n$/);
    expect(script).not.toMatch(/_init_completion|_get_comp_words_by_ref|compgen -W/);
  });

  it('gives each command its subcommands and options, global ones included', () => {
    expect(script).toContain(
      [
        "    'token get')",
        '      subs=()',
        "      opts=('--json' '--cacert' '-p' '--profile' '--store' '--debug')",
        "      vopts=('--cacert' '-p' '--profile' '--store')",
        '      nargs=0 ;;',
      ].join('\n'),
    );
    expect(script).toContain("subs=('token' 'export' 'completion' 'exec')");
    expect(script).not.toContain('__complete-profiles\'');
    expect(script).toContain('\n    \'exec\')\n      subs=()\n      opts=(');
    expect(script).toMatch(/'exec'\)\n(.*\n){3}\s+nargs=-1 ;;/);
  });

  it('completes choices, profiles (from the CLI at TAB time) and files', () => {
    expect(script).toContain("'--shell') __tool_add 'sh' 'bash' 'zsh' 'fish' 'powershell' 'cmd' 'dotenv' 'json' ;;");
    expect(script).toContain("'-p'|'--profile') __tool_profiles ;;");
    expect(script).toContain("'--cacert') __tool_files ;;");
    expect(script).toContain("mapfile -t names < <('tool' __complete-profiles 2>/dev/null </dev/null)");
    expect(script).toContain("0) __tool_add 'bash' 'zsh' 'fish' ;;");
  });

  it('quotes choices as literal words and skips hidden commands', () => {
    const nasty = bashScript(nastyTree);
    expect(nasty).toContain(`'--mode') __tool_add 'it'\\''s' 'a b' '$x' ;;`);
    expect(nasty).not.toContain('secret');
  });

  it('lets a global option win over a command option with the same flag, as commander does', () => {
    const nasty = bashScript(nastyTree);
    expect(nasty).toContain("    'do-it')\n      subs=()\n      opts=('--mode' '-p' '--profile')\n      vopts=('--mode' '-p' '--profile')");
  });
});

describe('zshScript', () => {
  const script = zshScript(treeFromCommander(sampleProgram()));

  it('is a #compdef file that completes when autoloaded and registers itself when sourced', () => {
    expect(script.startsWith('#compdef tool\n')).toBe(true);
    expect(script).toMatch(/if \[\[ \$\{zsh_eval_context\[-1\]\} == loadautofunc \]\]; then\n {2}_tool "\$@"\nelse\n {2}compdef _tool 'tool'\nfi\n$/);
  });

  it('describes subcommands and dispatches to one function per command', () => {
    expect(script).toContain("'token:token things'");
    expect(script).toContain("('token') __tool_token && ret=0 ;;");
    expect(script).toContain("('get') __tool_token__get && ret=0 ;;");
    expect(script).not.toContain('__complete-profiles)');
  });

  it('writes option specs with exclusions, value names and actions', () => {
    expect(script).toContain("'(-p --profile)-p[profile to use]:name:__tool_profiles'");
    expect(script).toContain("'(-p --profile)--profile=[profile to use]:name:__tool_profiles'");
    expect(script).toContain("'--cacert=[CA bundle]:pem:_files'");
    expect(script).toContain("'--debug[log requests]'");
    expect(script).toMatch(/'--shell=\[output for this shell\]:shell:(__tool_choices_\d+)'/);
    const choices = /'--shell=\[output for this shell\]:shell:(__tool_choices_\d+)'/.exec(script)![1]!;
    expect(script).toContain(`${choices}() {\n  local -a choices\n  choices=('sh' 'bash' 'zsh' 'fish' 'powershell' 'cmd' 'dotenv' 'json')\n  compadd "$@" -a choices\n}`);
    expect(script).toMatch(/'1:shell:__tool_choices_\d+'/);
    expect(script).toContain("'*:command: '");
  });

  it('escapes what _arguments and _describe treat specially', () => {
    const nasty = zshScript(nastyTree);
    expect(nasty).toContain(`'(-p --profile)--profile=[it'\\''s "quoted" \`ls\` $HOME \\\\ \\[x\\]\\: 100% {a,b} *; (y)]:name:__tool_profiles'`);
    expect(nasty).toContain(`'--mode=[mode]:m\\:x:__tool_choices_1'`);
    expect(nasty).toContain(`choices=('it'\\''s' 'a b' '$x')`);
    expect(nasty).toContain(`'do-it:it'\\''s "quoted" \`ls\` $HOME \\\\ [x]: 100% {a,b} *; (y)'`);
    expect(nasty).toContain('__tool_do_it() {');
    expect(nasty).not.toContain('secret');
  });
});

describe('fishScript', () => {
  const script = fishScript(treeFromCommander(sampleProgram()));

  it('turns off file completion, then offers subcommands only where the line has reached their parent', () => {
    expect(script).toContain("\ncomplete -c 'tool' -f\n");
    expect(script).toContain(`complete -c 'tool' -n '__tool_at \\'\\' 0' -a '\\'token\\'' -d 'token things'`);
    expect(script).toContain(`complete -c 'tool' -n '__tool_at \\'token\\' 0' -a '\\'get\\'' -d 'print the token'`);
  });

  it('declares options with their values: global ones everywhere, the others under their command', () => {
    expect(script).toContain(`complete -c 'tool' -s 'p' -l 'profile' -x -a '(__tool_profiles)' -d 'profile to use'`);
    expect(script).toContain(`function __tool_profiles\n    type -q 'tool'; and 'tool' __complete-profiles 2>/dev/null </dev/null\nend`);
    expect(script).toContain(`complete -c 'tool' -l 'store' -x -a '\\'keychain\\' \\'file\\'' -d 'where secrets are kept'`);
    expect(script).toContain(`complete -c 'tool' -n '__tool_under \\'token get\\'' -l 'cacert' -r -F -d 'CA bundle'`);
    expect(script).toContain(`complete -c 'tool' -n '__tool_at \\'completion\\' 0' -a '\\'bash\\' \\'zsh\\' \\'fish\\'' -d 'the shell'`);
  });

  it('knows which options take a value when it walks the line', () => {
    expect(script).toContain(`    if test "$argv[1]" = ''\n        printf '%s\\n' '-p' '--profile' '--store'`);
  });

  it('quotes descriptions and choices for fish', () => {
    const nasty = fishScript(nastyTree);
    expect(nasty).toContain(`-d 'it\\'s "quoted" \`ls\` $HOME \\\\ [x]: 100% {a,b} *; (y)'`);
    expect(nasty).toContain(`-a '\\'it\\\\\\'s\\' \\'a b\\' \\'$x\\''`);
    expect(nasty).not.toContain('secret');
  });
});
