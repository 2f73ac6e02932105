/**
 * The cached path's budget: a warm `token get` or `export` runs dist/fast.cjs alone, loading no
 * library from node_modules (each of commander, undici, the prompts, yaml costs more than the rest
 * of the answer). Checked twice: statically, in what esbuild put into dist/fast.cjs (the metafile
 * scripts/build.js writes), and at run time, by recording every module a real process loads after
 * a real login against the test IAM server.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, isolatedEnv, runCli, type CliResult } from '../helpers/cli.js';
import { loginEnv, newRealm, type Realm } from '../helpers/realm.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const METAFILE = join(ROOT, 'dist', 'fast.meta.json');

/** Libraries the cached path must never load (the last two are no longer dependencies: keep them out for good). */
const HEAVY = ['commander', 'undici', '@inquirer', 'yaml', 'chalk', 'conf'];
/**
 * node_modules packages allowed inside dist/fast.cjs: env-paths and the name check it imports,
 * is-safe-filename (a few lines each, ES modules only, so bundling them spares a require() of an ES
 * module; evaluated only without AUTHCTL_CONFIG_DIR).
 */
const BUNDLED_INTO_FAST = ['env-paths', 'is-safe-filename'];

/** The package a path or request names: `.../node_modules/@scope/name/x.js` → `@scope/name`. */
function packageOf(path: string): string | undefined {
  const inModules = /(?:^|[/\\])node_modules[/\\]((?:@[^/\\]+[/\\])?[^/\\]+)/.exec(path);
  if (inModules) return inModules[1]!.replace(/\\/g, '/');
  return undefined;
}

const isHeavy = (name: string) => HEAVY.some((heavy) => name === heavy || name.startsWith(`${heavy}/`));

describe('what esbuild put into dist/fast.cjs', () => {
  it('holds no library from node_modules but the tiny ones it is allowed', () => {
    expect(existsSync(METAFILE), `${METAFILE} is missing: run \`node scripts/build.js\``).toBe(true);
    const meta = JSON.parse(readFileSync(METAFILE, 'utf8')) as {
      outputs: Record<string, { inputs: Record<string, unknown>; imports: { path: string; kind: string; external?: boolean }[] }>;
    };
    const output = meta.outputs['dist/fast.cjs'];
    expect(output, 'the metafile has no dist/fast.cjs output').toBeDefined();
    const inputs = Object.keys(output!.inputs);
    expect(inputs.some((input) => input.endsWith('src/fast.ts'))).toBe(true);
    const packages = [...new Set(inputs.map(packageOf).filter((name) => name !== undefined))].sort();
    expect(packages).toEqual(BUNDLED_INTO_FAST);
    // Libraries it may load on demand stay external: a require() or import() at run time, never bundled.
    expect(packages.filter(isHeavy)).toEqual([]);
  });

  it('is ASCII: one other character makes V8 decode and scan all of it as two-byte text on every run', () => {
    const bundle = readFileSync(join(ROOT, 'dist', 'fast.cjs'), 'latin1');
    const first = /[^\x00-\x7f][^]{0,40}/.exec(bundle);
    expect(first?.[0], 'write the character as a \\u escape in src/').toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * Preloaded with --require: records every module request and every CommonJS file loaded, and,
 * through an ES module load hook, every ES module (none are expected: the cached path never
 * starts Node's ES module loader on its own). Written out when the process exits.
 */
const PRELOAD = `'use strict';
const Module = require('node:module');
const { writeFileSync } = require('node:fs');
const { pathToFileURL } = require('node:url');
const log = process.env.AUTHCTL_BUDGET_LOG;
const requests = new Set();
const load = Module._load;
Module._load = function (request) {
  requests.add(request);
  return load.apply(this, arguments);
};
Module.register(pathToFileURL(process.env.AUTHCTL_BUDGET_HOOKS), { data: { log: log + '.esm' } });
process.on('exit', () => {
  writeFileSync(log, JSON.stringify({ requests: [...requests], files: Object.keys(require.cache) }));
});
`;

const HOOKS = `import { appendFileSync } from 'node:fs';
let log;
export function initialize(data) {
  log = data.log;
  appendFileSync(log, '');
}
export async function load(url, context, next) {
  appendFileSync(log, url + '\\n');
  return next(url, context);
}
`;

interface Loaded {
  result: CliResult;
  requests: string[];
  /** Absolute paths of CommonJS files, then file: URLs of ES modules turned into paths. */
  files: string[];
  esm: string[];
}

function runRecorded(args: string[], env: Record<string, string | undefined>, dir: string, name: string, entry = BIN): Promise<Loaded> {
  const log = join(dir, `${name}.json`);
  const childEnv = Object.fromEntries(
    Object.entries({ ...env, AUTHCTL_BUDGET_LOG: log, AUTHCTL_BUDGET_HOOKS: join(dir, 'hooks.mjs') }).filter(([, v]) => v !== undefined),
  ) as NodeJS.ProcessEnv;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', join(dir, 'preload.cjs'), entry, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout, stderr };
      if (!existsSync(log)) return reject(new Error(`the preload wrote no ${log}: ${JSON.stringify(result)}`));
      const recorded = JSON.parse(readFileSync(log, 'utf8')) as { requests: string[]; files: string[] };
      const esm = existsSync(`${log}.esm`) ? readFileSync(`${log}.esm`, 'utf8').split('\n').filter(Boolean) : [];
      const esmFiles = esm.filter((url) => url.startsWith('file:')).map((url) => fileURLToPath(url));
      resolve({ result, requests: recorded.requests, files: [...recorded.files, ...esmFiles], esm });
    });
  });
}

describe('a warm `token get` and `export`, as a process', () => {
  let realm: Realm;
  let env: Record<string, string | undefined>;
  let dir: string;

  beforeAll(async () => {
    realm = await newRealm();
    env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file' });
    dir = env.HOME!;
    writeFileSync(join(dir, 'preload.cjs'), PRELOAD);
    writeFileSync(join(dir, 'hooks.mjs'), HOOKS);
    // A real login: the cached token is whatever authctl itself writes, in whatever format it has today.
    const login = await runCli(['login'], { env });
    expect(login.code, login.stderr).toBe(0);
    env = { ...env, OS_PASSWORD: undefined };
  });

  it('the recorder sees what it should: a library loaded on demand, an ES module, and the full CLI', async () => {
    // Proof that the checks below can fail. A cloud from clouds.yaml on the same front door loads yaml from node_modules...
    const clouds = join(dir, 'clouds.yaml');
    writeFileSync(clouds, `clouds:\n  elsewhere:\n    auth:\n      auth_url: ${realm.authUrl}\n      username: nobody\n`);
    const cloud = await runRecorded(['token', 'get', '--os-cloud', 'elsewhere'], { ...env, OS_CLIENT_CONFIG_FILE: clouds }, dir, 'cloud');
    expect(cloud.requests).toContain('yaml');
    expect(cloud.files.map(packageOf)).toContain('yaml');
    // ...an ES module is seen (none of authctl's own is one)...
    writeFileSync(join(dir, 'probe.mjs'), "import { sep } from 'node:path'; process.stdout.write(sep);");
    const probe = await runRecorded([], env, dir, 'probe', join(dir, 'probe.mjs'));
    expect(probe.result.stdout).toBe('/');
    expect(probe.esm).toContain(pathToFileURL(join(dir, 'probe.mjs')).href);
    // ...and any other command goes on to the full CLI, CommonJS as well: it loads no ES module either.
    const full = await runRecorded(['login', '--help'], env, dir, 'full-cli');
    expect(full.result.code, full.result.stderr).toBe(0);
    expect(full.result.stdout).toMatch(/^Usage: authctl login/);
    expect(full.esm).toEqual([]);
    // commander's node:child_process (for executable subcommands, which authctl has none of) only on first use: ~2.5 ms of every command.
    expect(full.requests).not.toContain('node:child_process');
  });

  it.each([
    ['token get', ['token', 'get'], /^gAAAAA[\w-]+\n$/],
    ['export', ['export'], /^export \w+='gAAAAA[\w-]+'\n$/],
  ])('%s answers from the cache with dist/fast.cjs alone: no library, no ES module', async (name, args, output) => {
    const before = await realm.count('POST');
    const loaded = await runRecorded(args, env, dir, name.replace(' ', '-'));
    expect(loaded.result.code, loaded.result.stderr).toBe(0);
    expect(loaded.result.stdout).toMatch(output);
    expect(await realm.count('POST'), 'it asked IAM: the cache was not warm, so this measured the wrong path').toBe(before);

    // Node's own modules cost too when they are not in its start-up snapshot: node:module (which
    // brings the ES module loader), node:crypto (streams), node:url, node:os, node:http. The shim
    // needs node:vm for its code cache (Node 20; node:module on Node 22+, for its compile cache).
    const builtins = loaded.requests.filter((request) => request.startsWith('node:') || /^[a-z_]+$/.test(request));
    const allowed = ['node:fs', 'node:path', 'node:util', 'fs', 'enableCompileCache' in Module ? 'node:module' : 'node:vm'];
    expect(builtins.filter((request) => !allowed.includes(request)), 'Node built-ins required on the cached path').toEqual([]);
    const heavy = [...loaded.requests, ...loaded.files].filter((entry) => isHeavy(packageOf(entry) ?? entry));
    expect(heavy, 'libraries loaded on the cached path').toEqual([]);
    const fromNodeModules = [...new Set(loaded.files.map(packageOf).filter((pkg) => pkg !== undefined))];
    expect(fromNodeModules, 'node_modules packages loaded on the cached path').toEqual([]);
    expect(loaded.esm, 'ES modules loaded on the cached path').toEqual([]);
    // The whole of authctl that ran: the shim and the one bundle (which the shim compiles itself,
    // with a V8 code cache, where Node has no compile cache of its own: then no loader sees it).
    const ours = loaded.files.filter((file) => file !== join(dir, 'preload.cjs')).map((file) => relative(ROOT, file).replace(/\\/g, '/'));
    expect(ours.filter((file) => file !== 'dist/fast.cjs')).toEqual(['bin/authctl']);
  });
});

describe.runIf(!('enableCompileCache' in Module))('the V8 code cache the shim keeps (Node without module.enableCompileCache)', () => {
  it('is written once (0600, in $XDG_CACHE_HOME/authctl) by the first run the cached path answers, used after, a damaged one replaced, never trusted', async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file', XDG_CACHE_HOME: undefined });
    expect((await runCli(['login'], { env })).code).toBe(0);
    const cacheDir = join(env.HOME!, '.cache', 'authctl');
    const files = () => (existsSync(cacheDir) ? readdirSync(cacheDir) : []);
    // A login is the full CLI's, which has a cache of its own: one of the cached path written then would hold none of its functions.
    expect(files()).toEqual([expect.stringMatching(/^full-.*\.v8cache$/)]);
    rmSync(cacheDir, { recursive: true });
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(join(cacheDir, 'fast-0.0.0-node.1-1234.v8cache'), 'an earlier build');
    const bare = { ...env, OS_PASSWORD: undefined };
    const token = await runCli(['token', 'get'], { env: bare });
    expect(token.code, token.stderr).toBe(0);
    expect(files(), 'one cache, the earlier build\'s removed').toEqual([expect.stringMatching(/^fast-.*\.v8cache$/)]);
    const cache = join(cacheDir, files()[0]!);
    expect(cache).not.toContain('fast-0.0.0');
    expect(statSync(cache).mode & 0o777).toBe(0o600);
    const written = statSync(cache).mtimeMs;
    expect((await runCli(['token', 'get'], { env: bare })).stdout).toBe(token.stdout);
    expect(statSync(cache).mtimeMs).toBe(written);

    writeFileSync(cache, 'not a code cache');
    const again = await runCli(['token', 'get'], { env: bare });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(token.stdout);
    expect(readFileSync(cache).length).toBeGreaterThan(1000);
  });

  it("is named by the build's content: a new build of the same length never runs the old build's code", async () => {
    const realm = await newRealm();
    const env = isolatedEnv({ ...loginEnv(realm), AUTHCTL_STORE: 'file' });
    expect((await runCli(['login'], { env })).code).toBe(0);
    const bare = { ...env, OS_PASSWORD: undefined, XDG_CACHE_HOME: join(env.HOME!, 'cache') };
    // A copy of bin/ and dist/ to rebuild in place (the plain-text file store needs nothing from node_modules).
    const copy = join(env.HOME!, 'copy');
    mkdirSync(join(copy, 'bin'), { recursive: true });
    mkdirSync(join(copy, 'dist'));
    for (const file of ['bin/authctl', 'bin/package.json', 'dist/fast.cjs', 'dist/authctl.cjs']) copyFileSync(join(ROOT, file), join(copy, file));
    const bin = join(copy, 'bin', 'authctl');
    const first = await runCli(['token', 'get', '--debug'], { env: bare, bin });
    expect(first.stderr).toContain('serving the token cached in');
    expect(readdirSync(join(bare.XDG_CACHE_HOME, 'authctl'))).toEqual([expect.stringMatching(/^fast-/)]);

    // Version 0.1.0 to 0.1.1: another build, the same length (V8 compares a cache with its source by length alone).
    const bundle = join(copy, 'dist', 'fast.cjs');
    const before = readFileSync(bundle, 'utf8');
    const rebuilt = before.replace(/^\/\/ authctl build [0-9a-f]{16}/, '// authctl build 0123456789abcdef').replace('the token cached', 'the token CACHED');
    expect(rebuilt.length).toBe(before.length);
    expect(rebuilt).not.toBe(before);
    writeFileSync(bundle, rebuilt);
    const second = await runCli(['token', 'get', '--debug'], { env: bare, bin });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('serving the token CACHED in');
    expect(readdirSync(join(bare.XDG_CACHE_HOME, 'authctl'))).toEqual(['fast-' + process.versions.v8 + '-0123456789abcdef.v8cache']);
  });
});
