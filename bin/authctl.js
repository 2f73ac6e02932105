#!/usr/bin/env node
// Thin shim: everything lives in the bundle that `npm run build` (run by `prepare`) writes.
import('../dist/authctl.js').then(
  (cli) => cli.main(process.argv.slice(2)),
  (error) => {
    const missing = error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/authctl.js');
    process.stderr.write(
      missing
        ? 'authctl: the build output is missing (dist/authctl.js)\nhint: run `npm install` or `npm run build` in the authctl checkout\n'
        : `authctl: ${error?.stack ?? error}\n`,
    );
    process.exitCode = 1;
  },
);
