import { type ColumnHandle, columnView } from '../column.js';

/**
 * A column's rows sorted by cell value: a secondary index of an immutable (sealed) segment. A range is a binary
 * search away from a contiguous slice of row offsets, and an equality on an integer or keyword code is the
 * same (the posting list of that value); the slice's length is the exact count of present cells in the range.
 * Rows whose cell is absent are listed apart, since only their payload can answer a condition.
 */
export interface ColumnOrder {
  /** Rows with a present cell, by cell value ascending (ties by row offset). */
  readonly rows: Uint32Array;
  /** Those cells, in the same order. */
  readonly values: Float64Array;
  /** Rows whose cell is absent, ascending. */
  readonly absent: Uint32Array;
}

/** Sorts the first `count` cells of a column (O(n log n), once per sealed segment and field). */
export function buildColumnOrder(column: ColumnHandle, count: number): ColumnOrder {
  const cells = columnView(column);
  const keyword = column.kind === 'keyword';
  const present = new Uint32Array(count);
  const absent = new Uint32Array(count);
  let p = 0;
  let a = 0;
  for (let o = 0; o < count; o++) {
    const cell = cells[o]!;
    if (keyword ? cell < 0 : Number.isNaN(cell)) absent[a++] = o;
    else present[p++] = o;
  }
  const rows = present.subarray(0, p).sort((x, y) => cells[x]! - cells[y]! || x - y);
  const values = new Float64Array(p);
  for (let i = 0; i < p; i++) values[i] = cells[rows[i]!]!;
  return { rows, values, absent: absent.slice(0, a) };
}

/** The first index in `values` (ascending) whose value is >= x. */
export function lowerBound(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index in `values` (ascending) whose value is > x. */
export function upperBound(values: Float64Array, x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
