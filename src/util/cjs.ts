import { createRequire } from 'node:module';

/**
 * Loads a CommonJS dependency with require(): a dynamic import() would start Node's ES module
 * loader, which costs the cached path (dist/fast.cjs, CommonJS) several milliseconds. Such
 * dependencies are not bundled; they load from node_modules when a run needs them.
 */
export const requireDependency = createRequire(import.meta.url) as <T>(name: string) => T;
