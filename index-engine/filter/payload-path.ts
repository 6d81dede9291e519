/**
 * Payload key paths: `a.b` walks into objects, `a[].b` (or plain `a.b` when `a` is an array) walks into every
 * element of an array. The result is the list of values found at the end of the path, arrays not expanded.
 */
export function parseKey(key: string): string[] {
  return key
    .split('.')
    .map((part) => (part.endsWith('[]') ? part.slice(0, -2) : part))
    .filter((part) => part.length > 0);
}

export function lookup(payload: unknown, path: readonly string[]): unknown[] {
  let current: unknown[] = [payload];
  for (const part of path) {
    const next: unknown[] = [];
    for (const value of current) collectField(value, part, next);
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

function collectField(value: unknown, part: string, out: unknown[]): void {
  if (Array.isArray(value)) {
    for (const element of value) collectField(element, part, out);
  } else if (value !== null && typeof value === 'object' && Object.hasOwn(value, part)) {
    out.push((value as Record<string, unknown>)[part]);
  }
}

/** Values with arrays expanded one level: a condition on an array matches when any element matches. */
export function flatValues(found: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const v of found) {
    if (Array.isArray(v)) for (const e of v) out.push(e);
    else out.push(v);
  }
  return out;
}
