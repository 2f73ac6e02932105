/** The object without its undefined properties (for `exactOptionalPropertyTypes`-style shapes). */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
