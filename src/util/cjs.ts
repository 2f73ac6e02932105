import { createRequire } from 'node:module';

/**
 * Loads a CommonJS dependency (or a Node built-in) with require(): a dynamic import() would start
 * Node's ES module loader, which costs the cached path (dist/fast.cjs, CommonJS) several
 * milliseconds. Such dependencies are not bundled; they load from node_modules when a run needs
 * them. The bundles have a `require` of their own (dist/fast.cjs is CommonJS; the ES module
 * bundle's banner makes one), which costs nothing; only the sources, run as ES modules by the
 * tests, make one from import.meta.url.
 */
export const requireDependency = (typeof require === 'function' ? require : createRequire(import.meta.url)) as <T>(name: string) => T;
