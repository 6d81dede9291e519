import type { Condition } from './condition.js';

/**
 * A canonical string for a filter: structurally identical conditions get the same key, so a batch evaluates each
 * distinct filter once. has_id's Map of Sets (row offsets per segment) is written as sorted entries, since
 * JSON.stringify would drop it to `{}` and two different id lists would collide. Conditions whose fields were
 * built in a different order get different keys: that only costs the sharing, never correctness.
 */
export function filterKey(filter: Condition | null): string {
  if (filter === null) return '';
  // a task's query meets every segment it visits with the same filter object: one key per object
  let key = keys.get(filter);
  if (key === undefined) {
    key = JSON.stringify(filter, (_key, value: unknown) => {
      if (value instanceof Map) return { map: [...value.entries()].sort((a, b) => a[0] - b[0]) };
      if (value instanceof Set) return { set: [...value].sort((a, b) => a - b) };
      return value;
    });
    keys.set(filter, key);
  }
  return key;
}

const keys = new WeakMap<Condition, string>();
