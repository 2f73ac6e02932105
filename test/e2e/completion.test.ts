/**
 * Shell completion end to end: the checked-in scripts are what `authctl completion <shell>`
 * prints, and each one, loaded into the real shell, offers what a person pressing TAB expects,
 * with profile names read from the config through the `authctl` found on PATH.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bashScript, fishScript, zshScript, type CompletionShell, type CompletionTree } from '../../src/shell/completion.js';
import { posixQuote } from '../../src/shell/quote.js';
import { BIN, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';

const COMPLETIONS = fileURLToPath(new URL('../../completions/', import.meta.url));
const FILES: Record<CompletionShell, string> = { bash: 'authctl.bash', zsh: '_authctl', fish: 'authctl.fish' };
const EXPORT_SHELLS = ['bash', 'cmd', 'dotenv', 'fish', 'json', 'powershell', 'sh', 'zsh'];

describe('checked-in completion scripts', () => {
  for (const [shell, file] of Object.entries(FILES)) {
    it(`completions/${file} is exactly what \`authctl completion ${shell}\` prints`, async () => {
      const result = await runCli(['completion', shell]);
      expect(result.code, result.stderr).toBe(0);
      expect(
        result.stdout,
        `completions/${file} no longer matches the command tree: run \`node scripts/build.js && node scripts/completions.js\` and commit completions/`,
      ).toBe(readFileSync(join(COMPLETIONS, file), 'utf8'));
    });
  }

  it('refuses an unknown shell with a hint naming the ones it knows', async () => {
    const result = await runCli(['completion', 'tcsh']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^authctl: no completion for shell "tcsh"\nhint: use one of: bash, zsh, fish\n$/);
  });
});

describe('__complete-profiles', () => {
  it('prints the profile names, one per line', async () => {
    const { env } = sandbox();
    const result = await runCli(['__complete-profiles'], { env });
    expect(result).toMatchObject({ code: 0, stdout: 'work\nhome\n', stderr: '' });
  });

  it('prints nothing and succeeds without a config, or with a corrupt one', async () => {
    const { env, home } = sandbox();
    expect(await runCli(['__complete-profiles'], { env: { ...env, AUTHCTL_CONFIG_DIR: join(home, 'none') } })).toMatchObject({ code: 0, stdout: '', stderr: '' });
    writeFileSync(join(env.AUTHCTL_CONFIG_DIR, 'config.json'), '{"profiles": ');
    expect(await runCli(['__complete-profiles'], { env })).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('is not offered by the help', async () => {
    expect((await runCli(['--help'])).stdout).not.toContain('__complete-profiles');
  });
});

// ---------------------------------------------------------------------------------------------
// Real shells

interface Offer {
  /** The candidates, in the order the shell produced them. */
  words: string[];
  /** What the shell shows next to them (fish, zsh). */
  descriptions: string[];
  /** Anything the script wrote to stderr: should always be empty. */
  errors: string;
}

/** Completes `line` (the cursor at its end) with `script` loaded; `env` is the whole environment. */
type Completer = (script: string, line: string, env: Record<string, string>) => Promise<Offer>;

function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A HOME with an `authctl` on PATH (this checkout's) and a config with two profiles. */
function sandbox(shellDir = '/usr/bin') {
  const home = mkdtempSync(join(tmpdir(), 'authctl-completion-'));
  const bin = join(home, 'bin');
  const config = join(home, 'config');
  mkdirSync(bin);
  mkdirSync(config);
  writeFileSync(join(bin, 'authctl'), `#!/bin/sh\nexec ${posixQuote(process.execPath)} ${posixQuote(BIN)} "$@"\n`, { mode: 0o755 });
  writeFileSync(join(config, 'config.json'), JSON.stringify({ profiles: { work: {}, home: {} } }));
  const env = { PATH: [bin, shellDir, '/usr/bin', '/bin'].join(':'), HOME: home, LANG: 'C.UTF-8', AUTHCTL_CONFIG_DIR: config };
  return { home, env };
}

function run(file: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

/**
 * bash: source the script and call the function `complete -F` registered, with COMP_WORDS as
 * readline would split the line (the default COMP_WORDBREAKS makes `=` a word of its own).
 */
const bashCompleter =
  (bash: string): Completer =>
  async (script, line, env) => {
    const words = line.split(' ').flatMap((word) => word.split(/(=)/).filter((part) => part !== ''));
    if (line.endsWith(' ')) words.push('');
    const driver = [
      'source "$1"; shift',
      // The function the script registered: `complete -F _authctl authctl`.
      'spec=$(complete -p "$1") || exit 3; fn=${spec#*-F }; fn=${fn%% *}',
      'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}',
      '"$fn"',
      '(( ${#COMPREPLY[@]} )) && printf "%s\\n" "${COMPREPLY[@]}"; true',
    ].join('\n');
    const result = await run(bash, ['--norc', '--noprofile', '-c', driver, 'bash', script, ...words], env);
    return { words: lines(result.stdout), descriptions: [], errors: result.stderr + (result.code === 0 ? '' : `exit ${result.code}`) };
  };

/** fish: `complete -C` prints what TAB would offer, a tab, then the description. */
const fishCompleter =
  (fish: string): Completer =>
  async (script, line, env) => {
    const result = await run(fish, ['--no-config', '-c', 'source $argv[1]; and complete -C $argv[2]', script, line], env);
    const offers = lines(result.stdout).map((entry) => entry.split('\t'));
    return {
      words: offers.map(([word]) => word!),
      descriptions: offers.map(([, description]) => description ?? ''),
      errors: result.stderr + (result.code === 0 ? '' : `exit ${result.code}`),
    };
  };

/**
 * zsh can only complete inside a completion widget, i.e. with ZLE running on a terminal. The
 * driver starts an interactive `zsh -f` on a zpty pseudo-terminal, loads compinit and the script
 * (from $fpath, or sourced after compinit), types the line and a TAB. The capture file, sourced
 * in that shell, wraps `compadd` to print every match (\x01word\x03) and display string
 * (\x02text\x03) as the completion system adds them, and a post-completion hook prints \x04 and
 * exits. Control characters as markers: the echo of what was typed cannot be mistaken for output.
 * Errors go to a file the test reads. (`$\{` below is zsh's `${`: a template would interpolate it.)
 */
const zshSource = (text: string): string => text.replaceAll('$\\{', '${');

const ZSH_CAPTURE = zshSource(String.raw`
compadd() {
  # -O, -A and -D only ask which words would match: _describe and _arguments use them internally.
  if (( $\{@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi
  local -a __hits __shown
  local __i
  (( $\{@[(I)-d]} )) && __shown=("$\{(@P)$\{@[$\{@[(i)-d]}+1]}}")
  builtin compadd -A __hits "$@"
  # The matches come quoted as they would be inserted (\$x): print the words they stand for.
  for (( __i = 1; __i <= $#__hits; __i++ )); do print -rn -- $'\x01'$\{(Q)__hits[__i]}$'\x03'; done
  for (( __i = 1; __i <= $#__shown; __i++ )); do print -rn -- $'\x02'$__shown[__i]$'\x03'; done
  builtin compadd "$@"
}
comppostfuncs=(__capture_done)
__capture_done() { print -rn -- $'\x04'; exit }
`);

const ZSH_DRIVER = zshSource(String.raw`
zmodload zsh/zpty || exit 90
local zsh=$1 mode=$2 script=$3 line=$4 errors=$5 capture=$6
local dir=$script:h
zpty z "$\{(q)zsh} -f -i"
zpty -w z "PS1=''; exec 2>>$\{(q)errors}"
if [[ $mode == fpath ]]; then
  zpty -w z "fpath=($\{(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
else
  zpty -w z "autoload -Uz compinit; compinit -u -D; source $\{(q)script}"
fi
zpty -w z "source $\{(q)capture}"
zpty -w -n z "$line"$'\t'
local out chunk
while zpty -r z chunk; do out+=$chunk; [[ $chunk == *$'\x04'* ]] && break; done
zpty -d z
print -rn -- $out
`);

const zshCompleter =
  (zsh: string, mode: 'fpath' | 'source'): Completer =>
  async (script, line, env) => {
    const dir = mkdtempSync(join(tmpdir(), 'authctl-zsh-'));
    const driver = join(dir, 'driver.zsh');
    const capture = join(dir, 'capture.zsh');
    const errors = join(dir, 'errors');
    writeFileSync(driver, ZSH_DRIVER);
    writeFileSync(capture, ZSH_CAPTURE);
    writeFileSync(errors, '');
    const result = await run(zsh, ['-f', driver, zsh, mode, script, line, errors, capture], env);
    const screen = result.stdout;
    if (!screen.includes('\x04')) throw new Error(`zsh never finished completing ${JSON.stringify(line)}:\n${JSON.stringify(screen)}\n${result.stderr}`);
    return {
      words: [...screen.matchAll(/\x01([^\x03]*)\x03/g)].map((m) => m[1]!),
      descriptions: [...screen.matchAll(/\x02([^\x03]*)\x03/g)].map((m) => m[1]!),
      errors: readFileSync(errors, 'utf8') + result.stderr,
    };
  };

/** Descriptions and choices with everything the shells treat specially. */
const NASTY = `it's "quoted" \`ls\` $HOME \\ [x]: 100% {a,b} *; (y)`;
const NASTY_CHOICES = ["it's", 'a b', '$x', '`y`', 'c\\d', '[e]'];
const nastyTree: CompletionTree = {
  name: 'tool',
  description: NASTY,
  options: [{ flags: ['-p', '--profile'], description: NASTY, takesValue: true, valueName: 'name', valueKind: 'profile' }],
  commands: [{ name: 'do-it', description: NASTY, options: [{ flags: ['--mode'], description: NASTY, takesValue: true, choices: NASTY_CHOICES }], commands: [] }],
};

interface ShellCase {
  shell: CompletionShell;
  label: string;
  executable: string | undefined;
  completer: (executable: string) => Completer;
  /** The script's path in `dir` for program `name`, named as this shell loads it. */
  file: (dir: string, name: string) => string;
  generate: (tree: CompletionTree) => string;
}

const bashPath = findExecutable('bash');
const zshPath = findExecutable('zsh');
const fishPath = findExecutable('fish');
const SHELLS: ShellCase[] = [
  { shell: 'bash', label: 'bash', executable: bashPath, completer: bashCompleter, file: (dir, name) => join(dir, `${name}.bash`), generate: bashScript },
  {
    shell: 'zsh',
    label: 'zsh (autoloaded from $fpath)',
    executable: zshPath,
    completer: (zsh) => zshCompleter(zsh, 'fpath'),
    file: (dir, name) => join(dir, `_${name}`),
    generate: zshScript,
  },
  {
    shell: 'zsh',
    label: 'zsh (sourced after compinit)',
    executable: zshPath,
    completer: (zsh) => zshCompleter(zsh, 'source'),
    file: (dir, name) => join(dir, `_${name}`),
    generate: zshScript,
  },
  { shell: 'fish', label: 'fish', executable: fishPath, completer: fishCompleter, file: (dir, name) => join(dir, `${name}.fish`), generate: fishScript },
];

for (const { shell, label, executable, completer, file, generate } of SHELLS) {
  const present = requireOrSkip(executable ? undefined : `${shell} is not installed (apt-get install ${shell})`, `completion e2e (${shell})`);

  describe.runIf(present).concurrent(`completion in ${label}`, () => {
    const script = file(COMPLETIONS, 'authctl');
    const complete = async (line: string, env?: Record<string, string>): Promise<Offer> => {
      const offer = await completer(executable!)(script, line, env ?? sandbox(dirname(executable!)).env);
      expect(offer.errors, `${label} wrote errors completing ${JSON.stringify(line)}`).toBe('');
      return offer;
    };
    const sorted = (words: string[]) => [...words].sort();

    it('authctl to<TAB> offers token', async ({ expect }) => {
      const offer = await complete('authctl to');
      expect(offer.words).toEqual(['token']);
      if (shell !== 'bash') expect(offer.descriptions.join('\n')).toContain('print, check or renew the token');
    });

    it('authctl token <TAB> offers its subcommands', async ({ expect }) => {
      expect(sorted((await complete('authctl token ')).words)).toEqual(['check', 'get', 'renew']);
    });

    it('authctl export --shell <TAB> offers the output formats', async ({ expect }) => {
      expect(sorted((await complete('authctl export --shell ')).words)).toEqual(EXPORT_SHELLS);
    });

    it('authctl export --shell=<TAB> offers them too', async ({ expect }) => {
      const words = (await complete('authctl export --shell=')).words.map((word) => word.replace(/^--shell=/, ''));
      expect(sorted(words)).toEqual(EXPORT_SHELLS);
    });

    it('authctl --profile <TAB> offers the profiles in the config', async ({ expect }) => {
      expect(sorted((await complete('authctl --profile ')).words)).toEqual(['home', 'work']);
    });

    it('authctl token get --profile <TAB> offers them after a subcommand too', async ({ expect }) => {
      expect(sorted((await complete('authctl token get --profile ')).words)).toEqual(['home', 'work']);
    });

    it('authctl --profile work to<TAB> skips the option value to find the subcommand', async ({ expect }) => {
      expect((await complete('authctl --profile work to')).words).toEqual(['token']);
    });

    it('authctl token get --<TAB> offers its own options and the global ones', async ({ expect }) => {
      const words = (await complete('authctl token get --')).words;
      expect(words).toEqual(expect.arrayContaining(['--min-ttl', '--json', '--profile', '--store', '--timeout', '--debug']));
      expect(words).not.toContain('--all');
    });

    it('authctl --profile <TAB> offers nothing, silently, without a config', async ({ expect }) => {
      const { env, home } = sandbox(dirname(executable!));
      expect((await complete('authctl --profile ', { ...env, AUTHCTL_CONFIG_DIR: join(home, 'none') })).words).toEqual([]);
    });

    it('a script generated from names full of shell syntax completes them literally', async ({ expect }) => {
      const dir = mkdtempSync(join(tmpdir(), 'authctl-nasty-'));
      const nasty = file(dir, 'tool');
      writeFileSync(nasty, generate(nastyTree));
      const { env } = sandbox(dirname(executable!));
      const completeNasty = async (line: string) => {
        const offer = await completer(executable!)(nasty, line, env);
        expect(offer.errors, `${label} wrote errors completing ${JSON.stringify(line)}`).toBe('');
        return offer;
      };
      const subcommand = await completeNasty('tool d');
      expect(subcommand.words).toEqual(['do-it']);
      if (shell !== 'bash') expect(subcommand.descriptions.join('\n')).toContain(NASTY);
      const options = await completeNasty('tool do-it --');
      expect(options.words).toEqual(expect.arrayContaining(['--mode', '--profile']));
      // zsh shows options with the same description on one line: `--mode  --profile  -p  -- ...`.
      if (shell !== 'bash') expect(options.descriptions.join('\n')).toContain(NASTY);
      if (shell === 'fish') expect(options.descriptions[options.words.indexOf('--mode')]).toBe(NASTY);
      expect(sorted((await completeNasty('tool do-it --mode ')).words)).toEqual(sorted(NASTY_CHOICES));
      // `tool` is not on PATH: the profile lookup fails, quietly.
      expect((await completeNasty('tool --profile ')).words).toEqual([]);
    });
  });
}
