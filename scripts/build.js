#!/usr/bin/env node
// Bundles src/ into dist/ with esbuild: one file for the hot path, lazily loaded chunks for the
// rest (login prompts, the HTTP client, the config writer). The native keychain addon stays
// external: a .node file cannot be bundled.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
rmSync(new URL('dist', root), { recursive: true, force: true });

await build({
  absWorkingDir: root.pathname,
  entryPoints: { authctl: 'src/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  chunkNames: 'chunks/[name]-[hash]',
  external: ['@napi-rs/keyring'],
  define: { AUTHCTL_VERSION: JSON.stringify(version) },
  // Bundled CommonJS dependencies (undici, proper-lockfile) call require() for Node built-ins.
  banner: { js: "import { createRequire as __authctlCreateRequire } from 'node:module'; const require = __authctlCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
