import type { Argument, Command, Option } from 'commander';
import { fishQuote, posixQuote } from './quote.js';

/**
 * Completion scripts for bash, zsh and fish, generated from a plain description of the command
 * tree. Everything here is pure: `treeFromCommander` reads a commander program, the three
 * `*Script` functions turn the tree into static script text. The only thing a script asks the
 * CLI at TAB time is the list of profile names (`<name> __complete-profiles`), for `--profile`
 * and for the arguments that name a profile (`profile use|show|remove NAME`).
 */

/** How an option's value is completed when it has no fixed choices. */
export type ValueKind = 'profile' | 'file' | 'none';

export interface OptionSpec {
  /** Short flag first when there is one: `['-p', '--profile']`. */
  flags: string[];
  description: string;
  takesValue: boolean;
  /** What the help calls the value: `name` in `--profile <name>`. */
  valueName?: string;
  choices?: string[];
  valueKind?: ValueKind;
}

export interface ArgumentSpec {
  name: string;
  description: string;
  variadic: boolean;
  choices?: string[];
  /** A profile name: completed from the config at TAB time. */
  valueKind?: 'profile';
}

export interface CommandSpec {
  name: string;
  description: string;
  options: OptionSpec[];
  commands: CommandSpec[];
  arguments?: ArgumentSpec[];
  hidden?: boolean;
}

/** The root command; its name is the program's name, its options apply to every command. */
export type CompletionTree = CommandSpec;

export const COMPLETION_SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** The hidden command the scripts call at TAB time for profile names. */
export const COMPLETE_PROFILES_COMMAND = '__complete-profiles';

// ---------------------------------------------------------------------------------------------
// Reading commander

export function treeFromCommander(root: Command): CompletionTree {
  return commandSpec(root);
}

function commandSpec(command: Command): CommandSpec {
  // Help.visibleCommands is commander's public notion of "not hidden"; it may add the implicit
  // `help` command, which is not in `command.commands` and so is dropped by the filter.
  const visible = new Set(command.createHelp().visibleCommands(command));
  return {
    name: command.name(),
    description: command.description(),
    options: command.options.filter((option) => !option.hidden).map(optionSpec),
    commands: command.commands.filter((sub) => visible.has(sub)).map(commandSpec),
    arguments: command.registeredArguments.map((argument) => argumentSpec(argument, command)),
  };
}

function optionSpec(option: Option): OptionSpec {
  const flags = [option.short, option.long].filter((flag): flag is string => flag !== undefined);
  const takesValue = option.required || option.optional;
  const spec: OptionSpec = { flags, description: option.description, takesValue };
  if (!takesValue) return spec;
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1]?.replace(/\.\.\.$/, '');
  if (valueName) spec.valueName = valueName;
  if (option.argChoices) spec.choices = [...option.argChoices];
  spec.valueKind = valueKindOf(option.long, valueName);
  return spec;
}

function valueKindOf(long: string | undefined, valueName: string | undefined): ValueKind {
  if (long === '--profile') return 'profile';
  if (long !== undefined && /(cacert|file)$/.test(long)) return 'file';
  if (valueName === 'file' || valueName === 'path') return 'file';
  return 'none';
}

/**
 * What a positional argument completes to: its choices; a profile name for an argument called
 * `profile`, or `name` of a command under `profile`; the shells for `completion <shell>`.
 */
function argumentSpec(argument: Argument, command: Command): ArgumentSpec {
  const spec: ArgumentSpec = { name: argument.name(), description: argument.description, variadic: argument.variadic };
  const under = command.parent?.name();
  if (argument.argChoices) spec.choices = [...argument.argChoices];
  else if (spec.name === 'shell' && command.name() === 'completion' && !command.parent?.parent) spec.choices = [...COMPLETION_SHELLS];
  else if (spec.name === 'profile' || (spec.name === 'name' && under === 'profile')) spec.valueKind = 'profile';
  return spec;
}

// ---------------------------------------------------------------------------------------------
// The tree, flattened: one node per command a command line can reach

interface Node {
  /** Names from the root: `[]` is the root itself, `['token', 'get']` is `token get`. */
  path: string[];
  spec: CommandSpec;
  subcommands: CommandSpec[];
  /** Its own options, then its ancestors' (commander accepts those after the subcommand too). */
  options: OptionSpec[];
  arguments: ArgumentSpec[];
}

type ValueCompletion = { kind: 'choices'; words: string[] } | { kind: 'profile' } | { kind: 'file' } | { kind: 'none' };

function flatten(tree: CompletionTree): Node[] {
  const nodes: Node[] = [];
  const visit = (spec: CommandSpec, path: string[], inherited: OptionSpec[]): void => {
    const options = mergeOptions(spec.options, inherited);
    const subcommands = spec.commands.filter((sub) => !sub.hidden);
    nodes.push({ path, spec, subcommands, options, arguments: spec.arguments ?? [] });
    for (const sub of subcommands) visit(sub, [...path, sub.name], options);
  };
  visit(tree, [], []);
  return nodes;
}

/**
 * Without positional options, commander lets an ancestor consume its options anywhere on the
 * line, so an inherited option wins over the command's own option with the same flag.
 */
function mergeOptions(own: OptionSpec[], inherited: OptionSpec[]): OptionSpec[] {
  const taken = new Set(inherited.flatMap((option) => option.flags));
  return [...own.filter((option) => !option.flags.some((flag) => taken.has(flag))), ...inherited];
}

function valueCompletion(option: OptionSpec): ValueCompletion {
  if (option.choices) return { kind: 'choices', words: option.choices };
  if (option.valueKind === 'profile' || option.valueKind === 'file') return { kind: option.valueKind };
  return { kind: 'none' };
}

/** A name safe in a shell function name: `__complete-profiles` -> `__complete_profiles`. */
function identifier(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, '_');
}

/** Positional arguments a command takes; -1 when the last one is variadic. */
function argumentCount(node: Node): number {
  return node.arguments.some((argument) => argument.variadic) ? -1 : node.arguments.length;
}

const header = (tree: CompletionTree, shell: CompletionShell): string =>
  `# ${shell} completion for ${tree.name}. Generated by \`${tree.name} completion ${shell}\` from the command tree: do not edit.`;

// ---------------------------------------------------------------------------------------------
// bash

/**
 * A `_<name>` function for `complete -F`. It walks COMP_WORDS itself (no bash-completion
 * helpers needed), skipping option values, to find the subcommand the line has reached.
 * Candidates are filtered with `[[ == "$cur"* ]]`, never `compgen -W`, which would expand `$`
 * and backticks in them.
 */
export function bashScript(tree: CompletionTree): string {
  const nodes = flatten(tree);
  const fn = `_${identifier(tree.name)}`;
  const h = `_${fn}`;
  const words = (list: string[]): string => list.map(posixQuote).join(' ');
  const pattern = (node: Node): string => posixQuote(node.path.join(' '));
  const valueCall = (value: ValueCompletion): string | undefined => {
    switch (value.kind) {
      case 'choices':
        return `${h}_add ${words(value.words)}`;
      case 'profile':
        return `${h}_profiles`;
      case 'file':
        return `${h}_files`;
      case 'none':
        return undefined;
    }
  };

  const specCases = nodes.map((node) => {
    const valueFlags = node.options.filter((option) => option.takesValue).flatMap((option) => option.flags);
    return [
      `    ${pattern(node)})`,
      `      subs=(${words(node.subcommands.map((sub) => sub.name))})`,
      `      opts=(${words(node.options.flatMap((option) => option.flags))})`,
      `      vopts=(${words(valueFlags)})`,
      `      nargs=${argumentCount(node)} ;;`,
    ].join('\n');
  });

  const valueCases = nodes.flatMap((node) => {
    const lines = node.options.flatMap((option) => {
      const call = option.takesValue ? valueCall(valueCompletion(option)) : undefined;
      return call ? [`        ${option.flags.map(posixQuote).join('|')}) ${call} ;;`] : [];
    });
    return lines.length ? [`    ${pattern(node)})`, '      case $2 in', ...lines, '      esac ;;'] : [];
  });

  const argumentCases = nodes.flatMap((node) => {
    const lines = node.arguments.flatMap((argument, index) => {
      const call = argument.choices ? `${h}_add ${words(argument.choices)}` : argument.valueKind === 'profile' ? `${h}_profiles` : undefined;
      return call ? [`        ${argument.variadic ? '*' : String(index)}) ${call} ;;`] : [];
    });
    return lines.length ? [`    ${pattern(node)})`, '      case $2 in', ...lines, '      esac ;;'] : [];
  });

  const program = posixQuote(tree.name);
  return `${header(tree, 'bash')}
# Load it from ~/.local/share/bash-completion/completions/${tree.name}, or: source <(${tree.name} completion bash)

# Sets subs, opts, vopts (the options that take a value) and nargs (-1: any number) for the
# command at path $1.
${h}_spec() {
  case $1 in
${specCases.join('\n')}
  esac
}

# Completes the value of option $2 of the command at path $1.
${h}_values() {
  case $1 in
${valueCases.join('\n')}
  esac
}

# Completes positional argument number $2 (from 0) of the command at path $1.
${h}_args() {
  case $1 in
${argumentCases.join('\n')}
  esac
}

# Adds each argument that starts with $cur to COMPREPLY.
${h}_add() {
  local c
  for c in "$@"; do
    [[ $c == "$cur"* ]] && COMPREPLY+=("$prefix$c")
  done
  return 0
}

# Whether $1 is one of the other arguments.
${h}_in() {
  local word=$1 c
  shift
  for c in "$@"; do
    [[ $c == "$word" ]] && return 0
  done
  return 1
}

${h}_profiles() {
  local -a names
  mapfile -t names < <(${program} ${COMPLETE_PROFILES_COMMAND} 2>/dev/null </dev/null)
  ${h}_add "\${names[@]}"
}

${h}_files() {
  local -a names
  compopt -o filenames 2>/dev/null
  mapfile -t names < <(compgen -f -- "$cur")
  COMPREPLY+=("\${names[@]/#/$prefix}")
}

${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prefix= path= word= valopt= nargs=0
  local -i i=1 npos=0
  local -a subs=() opts=() vopts=()
  COMPREPLY=()
  ${h}_spec ''
  while (( i < COMP_CWORD )); do
    word=\${COMP_WORDS[i]}
    if [[ $word == -- ]]; then
      return 0
    elif [[ $word == -* ]]; then
      if ${h}_in "$word" "\${vopts[@]}"; then
        i+=1
        # With = in COMP_WORDBREAKS (the default), --opt=value arrives as --opt, =, value.
        [[ \${COMP_WORDS[i]-} == = ]] && i+=1
        (( i >= COMP_CWORD )) && valopt=$word
      fi
    elif (( npos == 0 )) && ${h}_in "$word" "\${subs[@]}"; then
      path=\${path:+$path }$word
      ${h}_spec "$path"
    else
      npos+=1
    fi
    i+=1
  done

  if [[ -n $valopt ]]; then
    [[ $cur == = ]] && cur=
    ${h}_values "$path" "$valopt"
  elif [[ $cur == --*=* ]]; then
    # --opt=value as one word: = is not in COMP_WORDBREAKS.
    valopt=\${cur%%=*}
    prefix=$valopt=
    cur=\${cur#*=}
    ${h}_in "$valopt" "\${vopts[@]}" && ${h}_values "$path" "$valopt"
  elif [[ $cur == -* ]]; then
    ${h}_add "\${opts[@]}"
  elif (( npos == 0 && \${#subs[@]} > 0 )); then
    ${h}_add "\${subs[@]}"
  else
    ${h}_args "$path" "$npos"
    # No argument is expected here: offer the options rather than nothing.
    if (( \${#COMPREPLY[@]} == 0 && nargs >= 0 && npos >= nargs )); then
      ${h}_add "\${opts[@]}"
    fi
  fi
  return 0
}

complete -F ${fn} ${program}
`;
}

// ---------------------------------------------------------------------------------------------
// zsh

/** Inside `_arguments`' `[description]` and `:message:`, a backslash quotes `\`, `[`, `]` and `:`. */
function zshSpecEscape(text: string): string {
  return text.replace(/[\\[\]:]/g, (c) => `\\${c}`);
}

/** `_describe` takes `name:description`, removing backslashes: `\` and `:` in the name, `\` in the description are escaped. */
function zshDescribeItem(name: string, description: string): string {
  return `${name.replace(/[\\:]/g, (c) => `\\${c}`)}:${description.replace(/\\/g, '\\\\')}`;
}

/**
 * One function per command, `_arguments -C` with `->state` to hand the rest of the line to the
 * subcommand's function. Fixed choices live in small functions so they are plain quoted words,
 * never nested in an `_arguments` action (which is parsed and eval'd twice).
 */
export function zshScript(tree: CompletionTree): string {
  const nodes = flatten(tree);
  const fn = `_${identifier(tree.name)}`;
  const h = `_${fn}`;
  const names = uniqueNames(nodes.map((node) => (node.path.length ? `${h}_${node.path.map(identifier).join('__')}` : fn)));
  const choiceFunctions = new Map<string, string>();
  const choicesAction = (words: string[]): string => {
    const key = JSON.stringify(words);
    let name = choiceFunctions.get(key);
    if (!name) {
      name = `${h}_choices_${choiceFunctions.size + 1}`;
      choiceFunctions.set(key, name);
    }
    return name;
  };
  const valueAction = (option: OptionSpec): string => {
    const value = valueCompletion(option);
    switch (value.kind) {
      case 'choices':
        return choicesAction(value.words);
      case 'profile':
        return `${h}_profiles`;
      case 'file':
        return '_files';
      case 'none':
        return ' ';
    }
  };
  const optionSpecs = (option: OptionSpec): string[] => {
    const description = `[${zshSpecEscape(option.description)}]`;
    const value = option.takesValue ? `:${zshSpecEscape(option.valueName ?? 'value')}:${valueAction(option)}` : '';
    const exclusion = option.flags.length > 1 ? `(${option.flags.join(' ')})` : '';
    return option.flags.map((flag) => {
      // `--opt=`: the value may follow as the next word or after `=`, as commander accepts.
      const name = option.takesValue && flag.startsWith('--') ? `${flag}=` : flag;
      return posixQuote(`${exclusion}${name}${description}${value}`);
    });
  };
  const argumentSpecs = (node: Node): string[] =>
    node.arguments.map((argument, index) => {
      const action = argument.choices ? choicesAction(argument.choices) : argument.valueKind === 'profile' ? `${h}_profiles` : ' ';
      const position = argument.variadic ? '*' : String(index + 1);
      return posixQuote(`${position}:${zshSpecEscape(argument.name)}:${action}`);
    });

  const functions = nodes.map((node, index) => {
    const name = names[index]!;
    const specs = node.options.flatMap(optionSpecs);
    if (node.subcommands.length === 0) {
      const all = [...specs, ...argumentSpecs(node)];
      return `${name}() {\n  _arguments -s -S${all.map((spec) => ` \\\n    ${spec}`).join('')}\n}`;
    }
    const label = posixQuote(`${[tree.name, ...node.path].join(' ')} command`);
    const items = node.subcommands.map((sub) => `        ${posixQuote(zshDescribeItem(sub.name, sub.description))}`);
    const dispatch = node.subcommands.map((sub) => {
      const target = names[nodes.findIndex((other) => other.spec === sub)]!;
      return `        (${posixQuote(sub.name)}) ${target} && ret=0 ;;`;
    });
    return `${name}() {
  local curcontext=$curcontext state state_descr line ret=1
  local -a subcommands
  typeset -A opt_args
  _arguments -C -s -S${specs.map((spec) => ` \\\n    ${spec}`).join('')} \\
    ': :->command' \\
    '*:: :->argument' && ret=0
  case $state in
    (command)
      subcommands=(
${items.join('\n')}
      )
      _describe -t commands ${label} subcommands && ret=0 ;;
    (argument)
      curcontext=\${curcontext%:*:*}:${identifier(tree.name)}-$line[1]:
      case $line[1] in
${dispatch.join('\n')}
      esac ;;
  esac
  return ret
}`;
  });

  const choiceBodies = [...choiceFunctions].map(([key, name]) => {
    const words = JSON.parse(key) as string[];
    return `${name}() {\n  local -a choices\n  choices=(${words.map(posixQuote).join(' ')})\n  compadd "$@" -a choices\n}`;
  });

  return `#compdef ${tree.name}
${header(tree, 'zsh')}
# Put it in a directory on $fpath as _${tree.name} (before compinit runs), or: source <(${tree.name} completion zsh)
# after compinit.

${h}_profiles() {
  local -a profiles
  profiles=(\${(f)"$(${posixQuote(tree.name)} ${COMPLETE_PROFILES_COMMAND} 2>/dev/null </dev/null)"})
  compadd "$@" -a profiles
}

${[...choiceBodies, ...functions].join('\n\n')}

# Autoloaded from $fpath, this file is the body of ${fn}: complete now. Sourced: register.
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${posixQuote(tree.name)}
fi
`;
}

function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const count = seen.get(name) ?? 0;
    seen.set(name, count + 1);
    return count === 0 ? name : `${name}_${count}`;
  });
}

// ---------------------------------------------------------------------------------------------
// fish

/** A string fish evaluates (`-a`, `-n`): each word quoted inside, then the whole quoted again. */
function fishEvaluated(words: string[]): string {
  return fishQuote(words.map(fishQuote).join(' '));
}

/**
 * `complete -c` lines. fish's own `__fish_use_subcommand` / `__fish_seen_subcommand_from` take
 * any word that does not start with `-` for a subcommand, so `--profile work to<TAB>` would
 * offer nothing; `__<name>_state` walks the line knowing which options take a value.
 */
export function fishScript(tree: CompletionTree): string {
  const nodes = flatten(tree);
  const h = `__${identifier(tree.name)}`;
  const program = fishQuote(tree.name);
  const at = (node: Node, position?: number): string =>
    fishQuote([`${h}_at`, fishQuote(node.path.join(' ')), ...(position === undefined ? [] : [String(position)])].join(' '));
  const under = (node: Node): string => fishQuote(`${h}_under ${fishQuote(node.path.join(' '))}`);

  const lookup = (pick: (node: Node) => string[]): string =>
    nodes
      .map((node, index) => {
        const keyword = index === 0 ? 'if' : 'else if';
        const list = pick(node);
        return `    ${keyword} test "$argv[1]" = ${fishQuote(node.path.join(' '))}\n        ${list.length ? `printf '%s\\n' ${list.map(fishQuote).join(' ')}` : 'true'}`;
      })
      .join('\n');

  const lines: string[] = [];
  for (const node of nodes) {
    const subcommandLines = node.subcommands.map(
      (sub) => `complete -c ${program} -n ${at(node, 0)} -a ${fishEvaluated([sub.name])} -d ${fishQuote(sub.description)}`,
    );
    // Options apply to the command and to every subcommand under it; the root's apply everywhere.
    const optionLines = node.spec.options.map((option) => {
      const parts = ['complete', '-c', program];
      if (node.path.length) parts.push('-n', under(node));
      for (const flag of option.flags) {
        if (flag.startsWith('--')) parts.push('-l', fishQuote(flag.slice(2)));
        else if (flag.length === 2) parts.push('-s', fishQuote(flag.slice(1)));
        else parts.push('-o', fishQuote(flag.slice(1)));
      }
      if (option.takesValue) {
        const value = valueCompletion(option);
        if (value.kind === 'file') parts.push('-r', '-F');
        else parts.push('-x');
        if (value.kind === 'choices') parts.push('-a', fishEvaluated(value.words));
        if (value.kind === 'profile') parts.push('-a', fishQuote(`(${h}_profiles)`));
      }
      parts.push('-d', fishQuote(option.description));
      return parts.join(' ');
    });
    const argumentLines = node.arguments.flatMap((argument, index) => {
      const values = argument.choices ? fishEvaluated(argument.choices) : argument.valueKind === 'profile' ? fishQuote(`(${h}_profiles)`) : undefined;
      if (!values) return [];
      const condition = argument.variadic ? fishQuote(`${h}_at ${fishQuote(node.path.join(' '))}; and test (${h}_state)[1] -ge ${index}`) : at(node, index);
      return [`complete -c ${program} -n ${condition} -a ${values} -d ${fishQuote(argument.description || argument.name)}`];
    });
    const block = [...subcommandLines, ...optionLines, ...argumentLines];
    if (block.length) lines.push(`# ${[tree.name, ...node.path].join(' ')}`, ...block);
  }

  return `${header(tree, 'fish')}
# Put it in ~/.config/fish/completions/${tree.name}.fish, or: ${tree.name} completion fish | source

# The options that take a value, for the command at path $argv[1].
function ${h}_value_options
${lookup((node) => node.options.filter((option) => option.takesValue).flatMap((option) => option.flags))}
    end
end

function ${h}_subcommands
${lookup((node) => node.subcommands.map((sub) => sub.name))}
    end
end

# Prints how many arguments follow the subcommand the line has reached, then its path ("token get").
function ${h}_state
    set -l words (commandline -opc)
    set -e words[1]
    set -l path ''
    set -l npos 0
    set -l skip 0
    for word in $words
        if test $skip -eq 1
            set skip 0
        else if test "$word" = --
            set npos -1
            break
        else if string match -q -- '-*' $word
            contains -- $word (${h}_value_options $path); and set skip 1
        else if test $npos -eq 0; and contains -- $word (${h}_subcommands $path)
            if test -n "$path"
                set path "$path $word"
            else
                set path $word
            end
        else
            set npos (math $npos + 1)
        end
    end
    echo $npos
    echo $path
end

# Whether the line is at the command with path $argv[1], and if $argv[2] is given, at its argument number $argv[2].
function ${h}_at
    set -l state (${h}_state)
    test "$state[2]" = "$argv[1]"; or return 1
    test (count $argv) -lt 2; or test "$state[1]" = "$argv[2]"
end

# Profile names from the config; nothing, silently, if that fails (fish reports a missing command itself).
function ${h}_profiles
    type -q ${program}; and ${program} ${COMPLETE_PROFILES_COMMAND} 2>/dev/null </dev/null
end

# Whether the line is at the command with path $argv[1] or under it.
function ${h}_under
    set -l state (${h}_state)
    test "$state[2]" = "$argv[1]"; or string match -q -- "$argv[1] *" "$state[2]"
end

complete -c ${program} -f
${lines.join('\n')}
`;
}

export function completionScript(tree: CompletionTree, shell: CompletionShell): string {
  switch (shell) {
    case 'bash':
      return bashScript(tree);
    case 'zsh':
      return zshScript(tree);
    case 'fish':
      return fishScript(tree);
  }
}
