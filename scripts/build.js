#!/usr/bin/env node
// Bundles src/ into dist/ with esbuild: a CommonJS file for the cached path, and the full CLI as
// ES modules with lazily loaded chunks (prompts, HTTP, config writer). The native keychain addon stays
// external: a .node file cannot be bundled.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

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
  // Bundled CommonJS dependencies (undici, proper-lockfile) call require() for Node built-ins.
  banner: { js: "import { createRequire as __authctlCreateRequire } from 'node:module'; const require = __authctlCreateRequire(import.meta.url);" },
});

// The front door for `token get` and `export`: one CommonJS file, no ES module loader (see
// src/fast.ts). Libraries stay out of it and load from node_modules if a run needs them.
const LOADED_ON_DEMAND = ['commander', 'chalk', 'conf', 'undici', '@inquirer/prompts', 'yaml'];
await build({
  ...common,
  entryPoints: ['src/fast.ts'],
  outfile: 'dist/fast.cjs',
  format: 'cjs',
  external: [...common.external, ...LOADED_ON_DEMAND],
  minify: true,
  define: { ...common.define, 'import.meta.url': '__authctlModuleUrl' },
  banner: { js: "const __authctlModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
