/**
 * Issue 16 with the built CLI: `status` exit codes on a machine with no keychain, `exec` with no
 * command starting real shells (bash, zsh, fish, sh) with the token and AUTHCTL_PROFILE_ACTIVE, a
 * nested `exec` warning, help and commander's errors through the front door, and completion of
 * positional arguments (profile names, shells) in the real shells.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { posixQuote } from '../../src/shell/quote.js';
import { BIN, isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const COMPLETIONS = fileURLToPath(new URL('../../completions/', import.meta.url));

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

/** A user with no D-Bus session (an SSH login, a container): the keychain cannot be reached. */
function noKeychain(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return isolatedEnv({ DBUS_SESSION_BUS_ADDRESS: undefined, ...extra });
}

/** A user of the encrypted file store, logged in to a fresh realm with OS_* variables. */
async function fileStoreUser(): Promise<Record<string, string | undefined>> {
  const realm = await newRealm();
  const env = noKeychain({ ...loginEnv(realm), AUTHCTL_STORE: 'file', AUTHCTL_FILE_KEY: randomBytes(32).toString('base64') });
  const login = await runCli(['login'], { env });
  expect(login.code, login.stderr).toBe(0);
  return { ...env, OS_PASSWORD: undefined };
}

describe('status, as `gh auth status`', () => {
  it('on a fresh machine without a keychain: not logged in (3), no made-up row, not a keychain error', async () => {
    const env = noKeychain();
    expect(await runCli(['status'], { env })).toMatchObject({ code: 3, stdout: '', stderr: 'authctl: not logged in: there are no profiles yet\nhint: run `authctl login`\n' });
    expect(await runCli(['status', '--json'], { env })).toMatchObject({ code: 3, stdout: '[]\n' });
  });

  it('0 while logged in; after logout the profile stays, "token": "none", exit 3', async () => {
    const env = await fileStoreUser();
    const ok = await runCli(['status'], { env });
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(ok.stdout).toMatch(/^\* default +file +alice \(domain Fiware\) +project \/smartcity in domain Fiware +valid, 59m left\n$/m);
    expect((await runCli(['logout'], { env })).code).toBe(0);
    const out = await runCli(['status', '--json'], { env });
    expect(out.code).toBe(3);
    expect(JSON.parse(out.stdout)).toMatchObject([{ name: 'default', store: 'file', token: 'none', user: 'alice (domain Fiware)' }]);
    expect(out.stderr).toBe('authctl: not logged in: profile default has no token\nhint: run `authctl login`\n');
  });
});

/** The built CLI with `input` on stdin from a regular file. */
function runWithStdinFile(args: string[], env: Record<string, string | undefined>, input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(mkdtempSync(join(tmpdir(), 'authctl-stdin-')), 'typed');
  writeFileSync(file, input);
  const stdin = openSync(file, 'r');
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined)) as Record<string, string>;
    const child = spawn(process.execPath, [BIN, ...args], { env: clean, stdio: [stdin, 'pipe', 'pipe'] });
    closeSync(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const SHELLS = ['bash', 'zsh', 'fish', 'sh'].map((name) => ({ name, path: findExecutable(name) }));

describe('exec with no command: a real shell with the token', () => {
  for (const { name, path } of SHELLS) {
    const present = requireOrSkip(path ? undefined : `${name} is not installed (apt-get install ${name})`, `exec e2e (${name})`);
    it.runIf(present)(`${name}: $Token and AUTHCTL_PROFILE_ACTIVE are set, a nested exec warns and runs, the shell's exit code is authctl's`, async () => {
      const env = await fileStoreUser();
      const token = (await runCli(['token', 'get'], { env })).stdout.trim();
      // What a person types into the shell; the same words in each of the four. The shell, like
      // any command exec runs, has none of authctl's secret variables: the file store's key is given again.
      const typed = [
        'echo "$Token|$AUTHCTL_PROFILE_ACTIVE"',
        "env | grep -c '^AUTHCTL_FILE_KEY='",
        `AUTHCTL_FILE_KEY=${posixQuote(env.AUTHCTL_FILE_KEY!)} ${posixQuote(process.execPath)} ${posixQuote(BIN)} exec -- /bin/sh -c 'echo "inner $AUTHCTL_PROFILE_ACTIVE"'`,
        'exit 4',
        '',
      ].join('\n');
      const shellEnv = name === 'sh' ? { ...env, SHELL: undefined } : { ...env, SHELL: path };
      // From a file, as `authctl exec < commands` would: fish refuses a socket as its stdin, which is what runCli's pipe is.
      const result = await runWithStdinFile(['exec'], shellEnv, typed);
      expect(result.stdout).toBe(`${token}|default\n0\ninner default\n`);
      expect(result.code, result.stderr).toBe(4);
      const started = name === 'sh' ? '/bin/sh' : path!;
      expect(result.stderr).toMatch(
        new RegExp(
          `^starting ${started.replaceAll('/', '\\/')} with Token of profile default \\(until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\); \`exit\` returns here\n` +
            'warning: already inside `authctl exec` for profile default \\(AUTHCTL_PROFILE_ACTIVE is set\\): this one sets the token again, for profile default\n$',
        ),
      );
    });
  }

  it('a command without --: exit 2 with the usage, nothing run', async () => {
    const env = await fileStoreUser();
    expect(await runCli(['exec', 'ls', '-la'], { env })).toMatchObject({
      code: 2,
      stdout: '',
      stderr: "authctl: unknown option '-la': the command to run and its own options go after --\nhint: authctl exec [options] -- COMMAND [ARGS...], e.g. authctl exec -- ls -la\n",
    });
    expect(await runCli(['exec', 'env'], { env })).toMatchObject({ code: 2, stdout: '' });
  });
});

describe('help and errors through the front door', () => {
  it('bare authctl: the help on stdout, exit 0', async () => {
    const result = await runCli([]);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/^Usage: authctl \[options\] \[command\]\n[\s\S]*Commands:\n/);
  });

  it('token get --help (the fast path hands it on) lists the global options', async () => {
    const result = await runCli(['token', 'get', '--help']);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(result.stdout).toMatch(/Global Options:\n[\s\S]*--profile <name>[\s\S]*--os-cloud <name>/);
  });

  it.each([
    [['bogus'], "authctl: unknown command 'bogus'\nhint: did you mean logout? `authctl --help` lists the commands\n"],
    [['token', 'get', '--bogus'], "authctl: unknown option '--bogus'\nhint: `authctl token get --help` lists the options\n"],
    [['export', '--shell', 'tcsh'], "authctl: option '--shell <shell>' argument 'tcsh' is invalid\nhint: use one of: sh, bash, zsh, fish, powershell, cmd, dotenv, json\n"],
  ])('%j: exit 2, one line and a hint', async (argv, said) => {
    expect(await runCli(argv)).toMatchObject({ code: 2, stdout: '', stderr: said });
  });
});

// ---------------------------------------------------------------------------------------------
// Completion of positional arguments in the real shells. The drivers are those of
// test/e2e/completion.test.ts, cut down to what these cases need.

interface Offer {
  words: string[];
  errors: string;
}

function sandbox(shellDir: string): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'authctl-args-completion-'));
  const bin = join(home, 'bin');
  const config = join(home, 'config');
  mkdirSync(bin);
  mkdirSync(config);
  writeFileSync(join(bin, 'authctl'), `#!/bin/sh\nexec ${posixQuote(process.execPath)} ${posixQuote(BIN)} "$@"\n`, { mode: 0o755 });
  writeFileSync(join(config, 'config.json'), JSON.stringify({ profiles: { work: {}, home: {} } }));
  return { PATH: [bin, shellDir, '/usr/bin', '/bin'].join(':'), HOME: home, LANG: 'C.UTF-8', AUTHCTL_CONFIG_DIR: config };
}

function spawnText(file: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
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

const lines = (text: string): string[] => text.split('\n').filter((entry) => entry !== '');

async function bashOffer(bash: string, line: string, env: Record<string, string>): Promise<Offer> {
  const words = line.split(' ');
  const driver = [
    'source "$1"; shift',
    'spec=$(complete -p "$1") || exit 3; fn=${spec#*-F }; fn=${fn%% *}',
    'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}',
    '"$fn"',
    '(( ${#COMPREPLY[@]} )) && printf "%s\\n" "${COMPREPLY[@]}"; true',
  ].join('\n');
  const result = await spawnText(bash, ['--norc', '--noprofile', '-c', driver, 'bash', join(COMPLETIONS, 'authctl.bash'), ...words], env);
  return { words: lines(result.stdout), errors: result.stderr + (result.code === 0 ? '' : `exit ${result.code}`) };
}

async function fishOffer(fish: string, line: string, env: Record<string, string>): Promise<Offer> {
  const result = await spawnText(fish, ['--no-config', '-c', 'source $argv[1]; and complete -C $argv[2]', join(COMPLETIONS, 'authctl.fish'), line], env);
  return { words: lines(result.stdout).map((entry) => entry.split('\t')[0]!), errors: result.stderr + (result.code === 0 ? '' : `exit ${result.code}`) };
}

// zsh completes only inside ZLE: an interactive `zsh -f` on a zpty, the script autoloaded from
// $fpath, `compadd` wrapped to print each match between \x01 and \x03, \x04 when done.
const ZSH_CAPTURE = String.raw`
compadd() {
  if (( ${'$'}{@[(I)-[OAD]]} )); then builtin compadd "$@"; return; fi
  local -a __hits
  local __i
  builtin compadd -A __hits "$@"
  for (( __i = 1; __i <= $#__hits; __i++ )); do print -rn -- $'\x01'${'$'}{(Q)__hits[__i]}$'\x03'; done
  builtin compadd "$@"
}
comppostfuncs=(__capture_done)
__capture_done() { print -rn -- $'\x04'; exit }
`;

const ZSH_DRIVER = String.raw`
zmodload zsh/zpty || exit 90
local zsh=$1 dir=$2 line=$3 errors=$4 capture=$5
zpty z "${'$'}{(q)zsh} -f -i"
zpty -w z "PS1=''; exec 2>>${'$'}{(q)errors}"
zpty -w z "fpath=(${'$'}{(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "source ${'$'}{(q)capture}"
zpty -w -n z "$line"$'\t'
local out chunk
while zpty -r z chunk; do out+=$chunk; [[ $chunk == *$'\x04'* ]] && break; done
zpty -d z
print -rn -- $out
`;

async function zshOffer(zsh: string, line: string, env: Record<string, string>): Promise<Offer> {
  const dir = mkdtempSync(join(tmpdir(), 'authctl-zsh-args-'));
  const driver = join(dir, 'driver.zsh');
  const capture = join(dir, 'capture.zsh');
  const errors = join(dir, 'errors');
  writeFileSync(driver, ZSH_DRIVER);
  writeFileSync(capture, ZSH_CAPTURE);
  writeFileSync(errors, '');
  const result = await spawnText(zsh, ['-f', driver, zsh, COMPLETIONS, line, errors, capture], env);
  if (!result.stdout.includes('\x04')) throw new Error(`zsh never finished completing ${JSON.stringify(line)}:\n${JSON.stringify(result.stdout)}\n${result.stderr}`);
  return { words: [...result.stdout.matchAll(/\x01([^\x03]*)\x03/g)].map((m) => m[1]!), errors: readFileSync(errors, 'utf8') + result.stderr };
}

const COMPLETERS = [
  { shell: 'bash', offer: bashOffer },
  { shell: 'zsh', offer: zshOffer },
  { shell: 'fish', offer: fishOffer },
] as const;

for (const { shell, offer } of COMPLETERS) {
  const executable = findExecutable(shell);
  const present = requireOrSkip(executable ? undefined : `${shell} is not installed (apt-get install ${shell})`, `argument completion e2e (${shell})`);

  describe.runIf(present).concurrent(`completing arguments in ${shell}`, () => {
    const complete = async (line: string): Promise<string[]> => {
      const result = await offer(executable!, line, sandbox(dirname(executable!)));
      expect(result.errors, `${shell} wrote errors completing ${JSON.stringify(line)}`).toBe('');
      return [...result.words].sort();
    };

    for (const sub of ['use', 'show', 'remove']) {
      it(`authctl profile ${sub} <TAB> offers the profile names`, async ({ expect }) => {
        expect(await complete(`authctl profile ${sub} `)).toEqual(['home', 'work']);
      });
    }

    it('authctl profile use w<TAB> offers work', async ({ expect }) => {
      expect(await complete('authctl profile use w')).toEqual(['work']);
    });

    it('authctl completion <TAB> offers the shells', async ({ expect }) => {
      expect(await complete('authctl completion ')).toEqual(['bash', 'fish', 'zsh']);
    });

    it('authctl --profile work profile show <TAB> still offers the names', async ({ expect }) => {
      expect(await complete('authctl --profile work profile show ')).toEqual(['home', 'work']);
    });
  });
}
