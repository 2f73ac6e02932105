import { createRequire } from 'node:module';

/**
 * Loads a CommonJS dependency (or a Node built-in) with require(): a dynamic import() would start
 * Node's ES module loader, which costs the cached path (dist/fast.cjs, CommonJS) several
 * milliseconds. Such dependencies are not bundled; they load from node_modules when a run needs
 * them. The ES module bundle's banner makes a `require`, used as it is; the sources, run as ES
 * modules by the tests, make one from import.meta.url. dist/fast.cjs does not even import
 * node:module (which loads Node's ES module loader): scripts/build.js gives it this module as
 * CommonJS's own `require`.
 */
export const requireDependency = (typeof require === 'function' ? require : createRequire(import.meta.url)) as <T>(name: string) => T;
