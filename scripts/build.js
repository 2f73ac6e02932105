#!/usr/bin/env node
// Bundles src/ into dist/ with esbuild, as two CommonJS files: the cached path (dist/fast.cjs) and
// the full CLI (dist/authctl.cjs). CommonJS, not ES modules: Node's ES module loader alone costs
// ~20 ms of every command (measured: `authctl --version` 54 ms as ES module chunks, 34 ms as one
// CommonJS file); bin/authctl keeps a V8 code cache of each. Modules a command loads with import()
// are evaluated only when it does (esbuild's lazy module wrappers). The native keychain addon
// stays external: a .node file cannot be bundled.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
rmSync(new URL('dist', root), { recursive: true, force: true });

const common = {
  absWorkingDir: root.pathname,
  bundle: true,
  platform: 'node',
  target: 'node20.19',
  external: ['@napi-rs/keyring'],
  define: { AUTHCTL_VERSION: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
};

// src/util/cjs.ts makes a require from import.meta.url through node:module, which would also load
// Node's ES module loader; a CommonJS file has a require of its own.
const commonjsRequire = {
  name: 'commonjs-require',
  setup(builder) {
    builder.onLoad({ filter: /[\\/]src[\\/]util[\\/]cjs\.ts$/ }, () => ({ contents: 'export const requireDependency = require;', loader: 'ts' }));
  },
};
const commonjs = {
  ...common,
  format: 'cjs',
  minify: true,
  // ASCII: a single other character makes V8 decode and scan the whole file as two-byte text.
  charset: 'ascii',
  // import.meta.url made only when something asks for it: node:url's conversion costs the cached path.
  define: { ...common.define, 'import.meta.url': '__authctlModule.url' },
  banner: { js: "const __authctlModule = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" },
  plugins: [commonjsRequire],
};

/**
 * commander requires node:child_process as it loads (for subcommands that are executables, which
 * authctl has none of): 12M instructions, ~2.5 ms of every command. It gets the module on first use.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(builder) {
    builder.onResolve({ filter: /^(node:)?child_process$/ }, (args) => (/[\\/]node_modules[\\/]commander[\\/]/.test(args.importer) ? { path: 'child_process', namespace: 'lazy' } : undefined));
    builder.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });",
      loader: 'js',
    }));
  },
};

// The full CLI, every library in it but the keychain addon and undici (src/util/cjs.ts loads it).
await build({ ...commonjs, entryPoints: ['src/main.ts'], outfile: 'dist/authctl.cjs', plugins: [...commonjs.plugins, lazyChildProcessForCommander] });

// The front door for `token get` and `export`: one CommonJS file, no ES module loader (see
// src/fast.ts). Libraries stay out of it and load from node_modules if a run needs them.
const LOADED_ON_DEMAND = ['commander', 'undici', '@inquirer/prompts', 'yaml'];
const fast = await build({
  ...commonjs,
  entryPoints: ['src/fast.ts'],
  outfile: 'dist/fast.cjs',
  external: [...common.external, ...LOADED_ON_DEMAND],
  metafile: true,
});
/**
 * A first line naming the build by its content, which bin/authctl names its code cache by: V8
 * checks a cache against the source's length only, so a new version of the same length (0.1.0 to
 * 0.1.1) would run the old one's code.
 */
function stamp(file) {
  const path = new URL(file, root);
  const code = readFileSync(path, 'utf8');
  writeFileSync(path, `// authctl build ${createHash('sha256').update(code).digest('hex').slice(0, 16)}\n${code}`);
}
stamp('dist/authctl.cjs');
stamp('dist/fast.cjs');

// What went into dist/fast.cjs, for the test that keeps libraries out of it (test/e2e/budget.test.ts).
writeFileSync(new URL('dist/fast.meta.json', root), JSON.stringify(fast.metafile, undefined, 2));
