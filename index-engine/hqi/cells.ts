import { lookup, parseKey } from '../filter/payload-path.js';
import type { TreeColumn } from './description.js';
import type { CellValue } from './tree.js';

/** A row whose payload does not fit some tree column's kind: it belongs to no leaf (the overflow part). */
export const OVERFLOW = Symbol('overflow');

/**
 * A payload's value at a tree column, in the form the tree's descriptions reason about (description.ts), or
 * OVERFLOW when the value is of another kind. Absent and null are both "absent" for number and keyword columns
 * (no match or range atom holds on either); a tag column's absent value is the empty set, and a lone string is a
 * one-element set (a match on an array holds when any element matches, so "x" and ["x"] behave alike). Anything
 * else — a list in a single-valued column, a null tag set, a value of the wrong type — is OVERFLOW, so routing
 * never reasons about a row it cannot describe.
 */
export function cellOf(payload: unknown, column: TreeColumn, path: readonly string[]): CellValue | typeof OVERFLOW {
  const found = lookup(payload, path);
  if (column.kind === 'tags') {
    const tags: string[] = [];
    for (const v of found) {
      if (typeof v === 'string') tags.push(v);
      else if (Array.isArray(v) && v.every((e) => typeof e === 'string')) tags.push(...(v as string[]));
      else return OVERFLOW;
    }
    return tags;
  }
  if (found.length === 0) return column.required ? OVERFLOW : undefined;
  if (found.length > 1) return OVERFLOW;
  const v = found[0];
  if (v === null) return column.required ? OVERFLOW : undefined;
  if (column.kind === 'number') return typeof v === 'number' && Number.isFinite(v) ? v : OVERFLOW;
  return typeof v === 'string' ? v : OVERFLOW;
}

/** Reads tree cells from decoded payloads: one prepared path per column. */
export function cellReader(
  columns: readonly TreeColumn[],
): (payload: unknown) => Map<string, CellValue> | typeof OVERFLOW {
  const paths = columns.map((c) => ({ column: c, path: parseKey(c.path) }));
  return (payload) => {
    const cells = new Map<string, CellValue>();
    for (const { column, path } of paths) {
      const cell = cellOf(payload, column, path);
      if (cell === OVERFLOW) return OVERFLOW;
      cells.set(column.path, cell);
    }
    return cells;
  };
}
