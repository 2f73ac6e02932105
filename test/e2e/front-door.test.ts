/**
 * `token get` and `export` have two doors: dist/fast.cjs (bin/authctl) and the full CLI
 * (dist/authctl.cjs). Whatever the command line, both must answer alike.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { BIN, isolatedEnv, runCli, type CliResult } from '../helpers/cli.js';
import { requireOrSkip } from '../helpers/env.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const FULL = fileURLToPath(new URL('../../dist/authctl.cjs', import.meta.url));
const keyring = inject('keyring');
const haveKeyring = requireOrSkip(keyring.ok ? undefined : keyring.reason, 'front-door parity (OS keychain)');

function runFull(args: string[], env: Record<string, string | undefined>): Promise<CliResult> {
  return new Promise((resolve) => {
    const script = `require(${JSON.stringify(FULL)}).main(JSON.parse(process.argv[1]))`;
    const child = spawn(process.execPath, ['-e', script, JSON.stringify(args)], { env: env as NodeJS.ProcessEnv });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

const COMMAND_LINES = [
  ['token', 'get'],
  ['token', 'get', '--json'],
  ['token', 'get', '--output', 'exec-credential'],
  ['--profile', 'default', 'token', 'get'],
  ['token', '--profile', 'default', 'get'],
  ['token', 'get', '--min-ttl', '10m'],
  ['--min-ttl', '10m', 'token', 'get'],
  ['token', '--json', 'get'],
  ['token get'],
  ['token', 'get', 'extra'],
  ['token', 'get', '--min-ttl', 'soon'],
  ['token', 'get', '--output', 'yaml'],
  ['export'],
  ['export', '--shell', 'fish', '--var', 'API_TOKEN', '--expiry'],
  ['--shell', 'fish', 'export'],
  ['export', '--openstack', '--shell', 'json'],
  ['export', '--var', '1bad'],
  ['export', '--shell', 'tcsh'],
  ['export', '--unset', '--shell', 'powershell'],
  ['export', '--', 'x'],
];

describe.runIf(haveKeyring)('the two front doors agree', () => {
  it.each(COMMAND_LINES)('%j', async (...args) => {
    const realm = await newRealm();
    const env = isolatedEnv(loginEnv(realm));
    expect((await runCli(['login'], { env })).code).toBe(0);
    const bare = { ...env, OS_PASSWORD: undefined };
    const [fast, full] = await Promise.all([runCli(args, { env: bare }), runFull(args, bare)]);
    expect({ code: fast.code, stdout: fast.stdout, stderr: fast.stderr }).toEqual({ code: full.code, stdout: full.stdout, stderr: full.stderr });
  });
});

describe.runIf(haveKeyring)('stdout that cannot be written (a full disk: /dev/full)', () => {
  const toFullDisk = (args: string[], env: Record<string, string | undefined>) => {
    const full = openSync('/dev/full', 'w');
    try {
      return spawnSync(process.execPath, [BIN, ...args], { env: env as NodeJS.ProcessEnv, stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
    } finally {
      closeSync(full);
    }
  };

  it('says so in one line with a hint, exit 1, through either door; the token is still there', async () => {
    const env = isolatedEnv(loginEnv(await newRealm()));
    expect((await runCli(['login'], { env })).code).toBe(0);
    const cached = { ...env, OS_PASSWORD: undefined };
    for (const args of [['token', 'get'], ['export'], ['status'], ['--version'], ['--help']]) {
      const result = toFullDisk(args, cached);
      expect([args, result.status, result.stderr]).toEqual([
        args,
        1,
        'authctl: could not write the output: no space left on the device (ENOSPC)\nhint: check where stdout goes (a full disk, or a file or pipe that cannot be written to)\n',
      ]);
    }
    expect((await runCli(['token', 'get'], { env: cached })).stdout).toMatch(/^\S{20,}\n$/);
  });
});
