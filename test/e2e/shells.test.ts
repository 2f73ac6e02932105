/**
 * `authctl export` in every shell it writes for, evaluated by the real shell: whatever a value
 * holds, evaluating the output assigns exactly that value and runs nothing else. And `exec`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { renderVariables, SHELL_NAMES, type ShellName } from '../../src/shell/formats.js';
import { BIN, isolatedEnv, runCli } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const HOSTILE = [
  'gAAAAABlPlainToken-_123',
  "it's",
  "'",
  "''''",
  '$(touch PWNED)',
  '`touch PWNED`',
  '${HOME}',
  '$HOME',
  '"double"',
  'back\\slash\\',
  'new\nline',
  'trailing newline\n',
  'tab\there',
  'carriage\rreturn',
  'ünïcødé ✓ 日本語 🎉',
  '; touch PWNED #',
  '&& touch PWNED',
  '| touch PWNED',
  '%PATH%',
  '!!',
  '$Env:HOME',
  '‘curly’ “double”',
  "a'\"$(touch PWNED)`touch PWNED`\\n",
  ' leading and trailing ',
  '*',
  '~',
  '-n',
];

interface ShellRunner {
  name: ShellName;
  binary: string;
  /** Evaluates `file` and prints the variable `Token`, byte for byte. */
  run(file: string, cwd: string): ReturnType<typeof spawnSync>;
}

const SHELLS: ShellRunner[] = [
  { name: 'sh', binary: '/usr/bin/dash', run: (file, cwd) => spawnSync('/usr/bin/dash', ['-c', `. "$1"; printf %s "$Token"`, 'sh', file], { cwd, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }) },
  { name: 'bash', binary: '/usr/bin/bash', run: (file, cwd) => spawnSync('/usr/bin/bash', ['--norc', '--noprofile', '-c', `eval "$(cat "$1")"; printf %s "$Token"`, 'bash', file], { cwd, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }) },
  { name: 'zsh', binary: '/usr/bin/zsh', run: (file, cwd) => spawnSync('/usr/bin/zsh', ['-f', '-c', `eval "$(cat "$1")"; printf %s "$Token"`, 'zsh', file], { cwd, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }) },
  { name: 'fish', binary: '/usr/bin/fish', run: (file, cwd) => spawnSync('/usr/bin/fish', ['--no-config', '-c', 'source $argv[1]; printf %s "$Token"', file], { cwd, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: mkdtempSync(join(tmpdir(), 'authctl-fish-home-')) } }) },
];

const available = SHELLS.filter((shell) => requireOrSkip(existsSync(shell.binary) ? undefined : `${shell.binary} is missing: apt-get install -y bash zsh dash fish`, `export --shell ${shell.name}`));
const pwsh = ['/usr/bin/pwsh', '/opt/microsoft/powershell/7/pwsh'].find((path) => existsSync(path));
if (!pwsh) process.stderr.write('\n!!! export --shell powershell: pwsh is not installed (not in Debian); its output is checked as text only\n\n');

function evaluate(shell: ShellRunner, text: string) {
  const dir = mkdtempSync(join(tmpdir(), `authctl-${shell.name}-`));
  const file = join(dir, 'env');
  writeFileSync(file, text);
  const result = shell.run(file, dir);
  return { result, files: readdirSync(dir) };
}

describe.each(available)('export --shell $name, evaluated by $binary', (shell) => {
  it.each(HOSTILE)('assigns %j exactly and runs nothing', (value) => {
    const { result, files } = evaluate(shell, renderVariables(shell.name, new Map([['Token', value]])));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(value);
    expect(files).toEqual(['env']);
  });

  it('unsets what it set', () => {
    const set = renderVariables(shell.name, new Map([['Token', 'x']]));
    const unset = renderVariables(shell.name, new Map([['Token', '']]), true);
    const { result } = evaluate(shell, `${set}${unset}`);
    expect(result.stdout).toBe('');
  });
});

// PowerShell is not in Debian: the suite exists only where pwsh is installed (README: "where installed").
if (pwsh) describe('export --shell powershell, evaluated by pwsh', () => {
  it.each(HOSTILE)('assigns %j exactly and runs nothing', (value) => {
    const dir = mkdtempSync(join(tmpdir(), 'authctl-pwsh-'));
    writeFileSync(join(dir, 'env.ps1'), renderVariables('powershell', new Map([['Token', value]])));
    const result = spawnSync(pwsh, ['-NoProfile', '-NonInteractive', '-Command', '. ./env.ps1; [Console]::Out.Write($Env:Token)'], { cwd: dir, encoding: 'utf8' });
    expect(result.stdout).toBe(value);
    expect(readdirSync(dir)).toEqual(['env.ps1']);
  });
});

describe('formats without a shell to run them here', () => {
  it('powershell: single quotes, with every kind of single quote doubled', () => {
    expect(renderVariables('powershell', new Map([['Token', "a'b‘c’d"]]))).toBe("$Env:Token = 'a''b‘‘c’’d'\n");
    expect(renderVariables('powershell', new Map([['Token', 'x']]), true)).toBe('Remove-Item Env:Token -ErrorAction SilentlyContinue\n');
  });

  it('cmd: set "NAME=value" with % doubled; a line break or a double quote is refused', () => {
    expect(renderVariables('cmd', new Map([['Token', 'a&b|c>d^e%PATH%f']]))).toBe('set "Token=a&b|c>d^e%%PATH%%f"\n');
    expect(() => renderVariables('cmd', new Map([['Token', 'a\nb']]))).toThrow('cmd.exe cannot take literally');
    // `set "_="&calc"` would run calc: cmd toggles quoting at every double quote.
    expect(() => renderVariables('cmd', new Map([['Token', '"&calc']]))).toThrow('cmd.exe cannot take literally');
  });

  it('a NUL, which no shell variable holds (bash and dash drop it, fish refuses the text), is refused for every shell; json carries it', () => {
    for (const shell of SHELL_NAMES.filter((name) => name !== 'json')) {
      expect(() => renderVariables(shell, new Map([['Token', 'a\0b']])), shell).toThrow('contains a NUL character, which no shell variable can hold');
    }
    expect(JSON.parse(renderVariables('json', new Map([['Token', 'a\0b']])))).toEqual({ Token: 'a\0b' });
  });

  it('json: one object', () => {
    for (const value of HOSTILE) expect(JSON.parse(renderVariables('json', new Map([['Token', value]])))).toEqual({ Token: value });
  });
});

const haveDotenv = requireOrSkip(
  spawnSync('/usr/bin/python3', ['-c', 'import dotenv'], { encoding: 'utf8' }).status === 0 ? undefined : 'python3-dotenv is missing: apt-get install -y python3-dotenv',
  'export --shell dotenv',
);

describe.runIf(haveDotenv)('export --shell dotenv, read by python-dotenv', () => {
  it.each(HOSTILE)('%j is read back exactly, or refused', (value) => {
    let text: string;
    try {
      text = renderVariables('dotenv', new Map([['Token', value]]));
    } catch (error) {
      expect((error as Error).message).toMatch(/cannot be (escaped|written) portably/);
      expect(value).toMatch(/[$\\]/);
      return;
    }
    const read = spawnSync('/usr/bin/python3', ['-c', 'import sys, io; from dotenv import dotenv_values; sys.stdout.write(dotenv_values(stream=io.StringIO(sys.stdin.read()))["Token"])'], { input: text, encoding: 'utf8' });
    expect(read.stdout, `${JSON.stringify(value)} written as ${text}`).toBe(value);
  });
});

const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'export/exec e2e (OS keychain)');
const HOSTILE_TOKEN = `gAAAAA'$(touch\${IFS}PWNED)\`touch\${IFS}PWNED\`"\\%PATH%!;|&<>*~`;

describe.runIf(haveKeyring)('authctl export and exec, end to end', () => {
  it('exports a token full of shell metacharacters so that each real shell assigns exactly it', async () => {
    const realm = await newRealm({ fixedToken: HOSTILE_TOKEN });
    const env = isolatedEnv(loginEnv(realm));
    expect((await runCli(['login'], { env })).code).toBe(0);
    for (const shell of available) {
      const exported = await runCli(['export', '--shell', shell.name], { env });
      expect(exported.code).toBe(0);
      const { result, files } = evaluate(shell, exported.stdout);
      expect(result.stdout).toBe(HOSTILE_TOKEN);
      expect(files).toEqual(['env']);
    }
  });

  it('--var, --expiry and --unset', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const json = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { token: string; expires_at: string };
    const exported = await runCli(['export', '--var', 'API_TOKEN', '--expiry'], { env });
    expect(exported.stdout).toBe(`export API_TOKEN='${json.token}'\nexport API_TOKEN_EXPIRES_AT='${json.expires_at}'\n`);
    const unset = await runCli(['export', '--var', 'API_TOKEN', '--expiry', '--unset'], { env: isolatedEnv() });
    expect([unset.code, unset.stdout]).toEqual([0, 'unset API_TOKEN\nunset API_TOKEN_EXPIRES_AT\n']);
    for (const bad of ['1abc', 'a-b', 'a;b', '', 'A B', '$X']) {
      const result = await runCli(['export', '--var', bad], { env });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('is not a valid variable name');
    }
  });

  it('--openstack exports the scope the token was issued for and the region', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), OS_REGION_NAME: 'region with "odd" $(chars) ünï' });
    await runCli(['login'], { env });
    const json = JSON.parse((await runCli(['token', 'get', '--json'], { env })).stdout) as { token: string };
    const exported = await runCli(['export', '--openstack', '--shell', 'json'], { env });
    expect(JSON.parse(exported.stdout)).toEqual({
      OS_AUTH_TYPE: 'token',
      OS_TOKEN: json.token,
      OS_AUTH_URL: realm.authUrl,
      OS_PROJECT_ID: realm.fixtures.project.id,
      OS_REGION_NAME: 'region with "odd" $(chars) ünï',
    });
    const bash = available.find((s) => s.name === 'bash');
    if (bash) {
      const sh = await runCli(['export', '--openstack'], { env });
      const { files } = evaluate(bash, sh.stdout);
      expect(files).toEqual(['env']);
    }
  });

  it('exec runs the command with the token, without a shell, and exits with its code', async () => {
    const realm = await newRealm({ fixedToken: HOSTILE_TOKEN });
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const printed = await runCli(['exec', '--', process.execPath, '-e', 'process.stdout.write(process.env.Token)'], { env });
    expect([printed.code, printed.stdout]).toEqual([0, HOSTILE_TOKEN]);
    const renamed = await runCli(['exec', '--var', 'X_TOKEN', '--expiry', '--', 'sh', '-c', 'printf "%s|%s" "$X_TOKEN" "${X_TOKEN_EXPIRES_AT%T*}"'], { env });
    expect(renamed.stdout).toMatch(/^gAAAAA'.*\|\d{4}-\d\d-\d\d$/);
    expect((await runCli(['exec', '--', 'sh', '-c', 'exit 7'], { env })).code).toBe(7);
    const missing = await runCli(['exec', '--', 'no-such-command-here'], { env });
    expect([missing.code, missing.stderr]).toEqual([127, 'authctl: command not found: no-such-command-here\nhint: check the name and your PATH\n']);
    // The calling shell never sees the variable.
    const shell = spawnSync('bash', ['--norc', '-c', `"${process.execPath}" "${BIN}" exec -- true; printf %s "\${Token-unset}"`], { env: env as NodeJS.ProcessEnv, encoding: 'utf8' });
    expect(shell.stdout).toBe('unset');
  });

  it('exec forwards signals to the command and exits with what the command makes of them', async () => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    await runCli(['login'], { env });
    const child = spawn(process.execPath, [BIN, 'exec', '--', 'sh', '-c', 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.05; done'], { env: env as NodeJS.ProcessEnv });
    let out = '';
    let signalled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready') && !signalled) {
        signalled = true;
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no exit after SIGTERM; stdout so far: ${JSON.stringify(out)}`));
      }, 15_000);
      // 'close', not 'exit': the command's last words may still be in the pipe when authctl exits.
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(out).toMatch(/^ready\ngot-term\n/);
    expect(code).toBe(42);
  });
});

describe.runIf(haveKeyring)('exec keeps authctl\'s own secrets from the command', () => {
  it('the child sees the token, and none of the secret variables of the settings table', async () => {
    const { SECRET_VARIABLES } = await import('../../src/settings/table.js');
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    expect((await runCli(['login'], { env })).code).toBe(0);
    const secrets = Object.fromEntries(SECRET_VARIABLES.map((name, index) => [name, `secret-value-${index}-${name}`]));
    // The store's passphrase would change where the token is read from: keep the keychain.
    delete secrets.AUTHCTL_FILE_PASSPHRASE;
    const child = await runCli(['exec', '--', 'env'], { env: { ...env, ...secrets } });
    expect(child.code, child.stderr).toBe(0);
    const seen = new Map(child.stdout.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    expect(seen.get('Token')).toMatch(/^\S{8,}$/);
    for (const name of SECRET_VARIABLES) expect(seen.has(name), name).toBe(false);
    for (const value of Object.values(secrets)) expect(child.stdout).not.toContain(value);
    expect(SECRET_VARIABLES).toContain('OS_PASSWORD');
  });
});
