/**
 * What `npm pack` ships, installed into an empty directory and run from there as a user would:
 * `authctl --version` and a real `token get`. Also `npm run demo`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv } from '../helpers/cli.js';
import { loginEnv, newRealm } from '../helpers/realm.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('the npm package', () => {
  let tarball: string;
  let files: string[];
  let installed: string;

  beforeAll(() => {
    const out = mkdtempSync(join(tmpdir(), 'authctl-pack-'));
    // --ignore-scripts: `npm test` has just built dist/; rebuilding here would pull it from under the other suites.
    const packed = JSON.parse(execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', out], { cwd: ROOT, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
    tarball = join(out, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path).sort();
    installed = mkdtempSync(join(tmpdir(), 'authctl-install-'));
    execFileSync(NPM, ['init', '-y'], { cwd: installed, stdio: 'ignore' });
    execFileSync(NPM, ['install', '--no-audit', '--no-fund', tarball], { cwd: installed, stdio: 'pipe' });
  }, 180_000);

  it('holds only what runs: bin, dist, completions, README, LICENSE', () => {
    for (const file of files) expect(file).toMatch(/^(bin\/|dist\/|completions\/|README\.md$|LICENSE$|package\.json$)/);
    expect(files).toEqual(expect.arrayContaining(['bin/authctl', 'bin/package.json', 'dist/authctl.cjs', 'dist/fast.cjs', 'completions/authctl.bash', 'completions/_authctl', 'completions/authctl.fish', 'README.md', 'LICENSE']));
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('test/'))).toBe(false);
  });

  it('installed into an empty directory, runs --version and a real login and token get', async () => {
    const bin = join(installed, 'node_modules', '.bin', 'authctl');
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    const realm = await newRealm();
    const env = { ...isolatedEnv(loginEnv(realm)), AUTHCTL_STORE: 'file' } as NodeJS.ProcessEnv;
    const login = spawnSync(bin, ['login'], { env, encoding: 'utf8' });
    expect(login.status, login.stderr).toBe(0);
    const token = spawnSync(bin, ['token', 'get'], { env: { ...env, OS_PASSWORD: undefined }, encoding: 'utf8' });
    expect(token.status).toBe(0);
    expect(token.stdout).toMatch(/^gAAAAA[\w-]+\n$/);
  });
});

describe('npm run demo', () => {
  it('shows the whole tool working against the test IAM server and cleans up', () => {
    const result = spawnSync(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'scripts/demo.ts')], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, NO_COLOR: '1' }, timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('$ authctl login --auth-url http://127.0.0.1:');
    expect(result.stdout).toMatch(/Logged in to .* as alice \(domain Fiware\), project \/smartcity in domain Fiware \[profile default\]/);
    expect(result.stdout).toMatch(/^valid: +yes$/m);
    expect(result.stdout).toMatch(/Token is \d+ characters/);
    expect(result.stdout).toContain('Logged out of profile default: token revoked at IAM');
    expect(result.stdout).toMatch(/no token is cached for profile default[\s\S]*\(exit 3\)/);
  });
});
