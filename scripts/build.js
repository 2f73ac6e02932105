#!/usr/bin/env node
// Bundles src/ into dist/ with esbuild: a CommonJS file for the cached path, and the full CLI as
// ES modules with lazily loaded chunks (each command, prompts, secret stores, clouds.yaml). The
// native keychain addon stays external: a .node file cannot be bundled.
import { build } from 'esbuild';
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

// The full CLI: ES modules, split so that each command loads only what it uses.
await build({
  ...common,
  entryPoints: { authctl: 'src/main.ts' },
  outdir: 'dist',
  splitting: true,
  format: 'esm',
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS dependencies (commander, yaml, and the prompts' mute-stream, iconv-lite and
  // others) call require() for Node built-ins. (undici is not bundled: src/util/cjs.ts loads it.)
  banner: { js: "import { createRequire as __authctlCreateRequire } from 'node:module'; const require = __authctlCreateRequire(import.meta.url);" },
});

// The front door for `token get` and `export`: one CommonJS file, no ES module loader (see
// src/fast.ts). Libraries stay out of it and load from node_modules if a run needs them.
const LOADED_ON_DEMAND = ['commander', 'undici', '@inquirer/prompts', 'yaml'];
const fast = await build({
  ...common,
  entryPoints: ['src/fast.ts'],
  outfile: 'dist/fast.cjs',
  format: 'cjs',
  external: [...common.external, ...LOADED_ON_DEMAND],
  minify: true,
  // import.meta.url made only when something asks for it: node:url's conversion costs the cached path.
  define: { ...common.define, 'import.meta.url': '__authctlModule.url' },
  banner: { js: "const __authctlModule = { get url() { return require('node:url').pathToFileURL(__filename).href; } };" },
  metafile: true,
  plugins: [
    {
      // src/util/cjs.ts makes a require from import.meta.url through node:module, which would also
      // load Node's ES module loader here; a CommonJS file has a require of its own.
      name: 'commonjs-require',
      setup(builder) {
        builder.onLoad({ filter: /[\\/]src[\\/]util[\\/]cjs\.ts$/ }, () => ({ contents: 'export const requireDependency = require;', loader: 'ts' }));
      },
    },
  ],
});
// What went into dist/fast.cjs, for the test that keeps libraries out of it (test/e2e/budget.test.ts).
writeFileSync(new URL('dist/fast.meta.json', root), JSON.stringify(fast.metafile, undefined, 2));
