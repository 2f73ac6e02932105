import { createRequire } from 'node:module';

/**
 * Loads a CommonJS dependency (or a Node built-in) with require(): a dynamic import() would start
 * Node's ES module loader, which costs the cached path (dist/fast.cjs, CommonJS) several
 * milliseconds. Such dependencies are not bundled; they load from node_modules when a run needs
 * them. dist/fast.cjs does not even import node:module here (which loads Node's ES module
 * loader): scripts/build.js gives it this module as CommonJS's own `require`.
 */
export const requireDependency = createRequire(import.meta.url) as <T>(name: string) => T;
