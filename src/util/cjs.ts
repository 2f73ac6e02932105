/**
 * A CommonJS package's exports from a dynamic import, bundled or not: esbuild's split chunks
 * expose a CommonJS module only as `default`, while Node exposes both `default` and names.
 */
export async function importCommonJs<T>(module: Promise<T>): Promise<T> {
  const loaded = (await module) as T & { default?: T };
  return loaded.default ?? loaded;
}
