import { type ColumnHandle, listsView } from '../column.js';
import type { Condition, RangeBounds } from './condition.js';

/**
 * What a `match` or `range` condition asks of a present column cell (column.ts), as data rather than a closure,
 * so that both a per-row predicate and a typed-array loop or a binary search over a sorted column can use it:
 * - interval: lo <= cell <= hi (exclusive bounds moved to the next representable double, so one form serves all);
 * - set:      the cell is one of `values` (a match on several values).
 * Rows whose cell is absent are not covered: callers test their payload instead.
 */
export type CellTest =
  | { readonly kind: 'interval'; readonly lo: number; readonly hi: number }
  | { readonly kind: 'set'; readonly values: ReadonlySet<number> };

/** The test of `c` over `column`'s present cells, or undefined when this column cannot answer this condition. */
export function cellTestOf(c: Condition, column: ColumnHandle): CellTest | undefined {
  if (c.kind === 'match') {
    if (column.kind === 'datetime') return undefined;
    const wanted = new Set<number>();
    if (column.kind === 'keyword') {
      if (c.keywordCodes === undefined) return undefined;
      for (const code of c.keywordCodes) wanted.add(code);
    } else {
      for (const v of c.values) {
        if (column.kind === 'number' && typeof v === 'number') wanted.add(v);
        if (column.kind === 'bool' && typeof v === 'boolean') wanted.add(Number(v));
      }
    }
    if (wanted.size === 1) {
      const only = wanted.values().next().value as number;
      return { kind: 'interval', lo: only, hi: only };
    }
    return { kind: 'set', values: wanted };
  }
  if (c.kind === 'range') {
    if (c.datetime ? column.kind !== 'datetime' : column.kind !== 'number') return undefined;
    return { kind: 'interval', ...closedInterval(c.bounds) };
  }
  return undefined;
}

/** The closed interval equal to `bounds` over non-NaN doubles: x > a is x >= nextUp(a), x < b is x <= nextDown(b). */
export function closedInterval(bounds: RangeBounds): { lo: number; hi: number } {
  let lo = Number.NEGATIVE_INFINITY;
  let hi = Number.POSITIVE_INFINITY;
  if (bounds.gte !== undefined) lo = Math.max(lo, bounds.gte);
  if (bounds.gt !== undefined) lo = Math.max(lo, nextUp(bounds.gt));
  if (bounds.lte !== undefined) hi = Math.min(hi, bounds.lte);
  if (bounds.lt !== undefined) hi = Math.min(hi, -nextUp(-bounds.lt));
  return { lo, hi };
}

const bits = new Float64Array(1);
const word = new BigInt64Array(bits.buffer);

/** The smallest double greater than x (x itself for NaN and +Infinity). */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Number.POSITIVE_INFINITY) return x;
  if (x === 0) return Number.MIN_VALUE;
  bits[0] = x;
  word[0] = word[0]! + (x > 0 ? 1n : -1n);
  return bits[0]!;
}

/** The cell test as a function (one comparison pair for an interval). */
export function cellPredicate(test: CellTest): (cell: number) => boolean {
  if (test.kind === 'interval') {
    const { lo, hi } = test;
    return (cell) => cell >= lo && cell <= hi;
  }
  const values = test.values;
  return (cell) => values.has(cell);
}

/**
 * `fallback` (the payload's answer for a row whose cell is absent) with the rows a keyword column lists answered
 * from their codes instead: such a row passes when one of its codes passes `test`, as the payload predicate's
 * "any element matches" says. The fallback itself when the column has no lists.
 */
export function withListedRows(
  column: ColumnHandle,
  test: CellTest,
  fallback: (offset: number) => boolean,
): (offset: number) => boolean {
  const lists = listsView(column);
  if (lists === undefined) return fallback;
  const { starts, codes } = lists;
  const passes = cellPredicate(test);
  return (o) => {
    const end = starts[o + 1]!;
    let i = starts[o]!;
    if (i === end) return fallback(o);
    for (; i < end; i++) if (passes(codes[i]!)) return true;
    return false;
  };
}
