/**
 * `token get` and `export` have two doors: dist/fast.cjs (bin/authctl) and the full CLI
 * (dist/authctl.cjs). Whatever the command line, both must answer alike.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { isolatedEnv, runCli, type CliResult } from '../helpers/cli.js';
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
