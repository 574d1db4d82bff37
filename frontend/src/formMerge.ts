// A form over a record the server can change while someone edits it (an upload, a stock
// receipt): a new server copy replaces only the fields nobody has edited since the last one,
// so an edit in progress is never lost and the form still shows what the server changed.

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** ``current`` with each field still equal to ``base`` (the last server copy) taken from
 * ``next`` (the new server copy); fields edited since ``base`` stay as they are. */
export function mergeServerCopy<T extends object>(base: T, current: T, next: T): T {
  const merged = { ...current };
  for (const key of Object.keys(next) as (keyof T)[]) {
    if (same(current[key], base[key])) merged[key] = next[key];
  }
  return merged;
}
