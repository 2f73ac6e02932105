#!/usr/bin/env node
// Regenerates the checked-in completion scripts in completions/ from the built CLI's command
// tree (run `node scripts/build.js` first). test/e2e/completion.test.ts fails when they drift.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('..', import.meta.url);
const bin = fileURLToPath(new URL('bin/authctl', root));
const files = { bash: 'authctl.bash', zsh: '_authctl', fish: 'authctl.fish' };

mkdirSync(new URL('completions/', root), { recursive: true });
for (const [shell, file] of Object.entries(files)) {
  const script = execFileSync(process.execPath, [bin, 'completion', shell], { encoding: 'utf8' });
  writeFileSync(new URL(`completions/${file}`, root), script);
  process.stdout.write(`completions/${file}\n`);
}
