import { type ColumnHandle, columnsByPath, columnView } from '../column.js';
import { isTombstoned, type SegmentView } from '../segment-layout.js';
import { type CellTest, cellTestOf, withListedRows } from './cell-test.js';
import { type ColumnOrder, type ColumnOrderOf, lowerBound, upperBound } from './column-order.js';
import { compilePayloadPredicate } from './compile.js';
import type { Condition } from './condition.js';

/**
 * Exact filter evaluation over the typed payload columns, producing the matching rows as a list instead of
 * answering one row at a time: tight loops over Float64Array / Int32Array cells, binary searches in sealed
 * segments' sorted columns (column-order.ts), and conjunctions that test each further condition only on the rows
 * the previous ones let through (the most selective first). Rows whose cell is absent are answered by their
 * payload, exactly as the row predicate does (row-predicate.ts), so the set is always the payload predicate's.
 */

/** Ascending row offsets. A null domain stands for every row in [0, count). */
type Rows = Uint32Array;
type Domain = Rows | null;

/**
 * A sorted column slice is used when it holds at most this share of the rows (its rows are then sorted back into
 * row order); above, a scan of the column is cheaper. At 10 % of 100k rows the slice took half the scan's time.
 */
const ORDER_SHARE = 1 / 4;

/**
 * Whether `condition` can be evaluated over whole segments from the columns alone (up to the absent cells): every
 * `match`/`range` it holds has a column that answers it, and it uses no other payload condition. Filters that are
 * not are better tested row by row where the search needs them (payloads decoded lazily).
 */
export function isColumnFilter(
  condition: Condition,
  columns: readonly ColumnHandle[] | undefined,
  /** A further demand on each column a `match`/`range` reads (the row predicate asks that it be mostly typed). */
  columnOk: (column: ColumnHandle) => boolean = () => true,
): boolean {
  const byPath = columnsByPath(columns);
  const check = (c: Condition): boolean => {
    switch (c.kind) {
      case 'and':
      case 'or':
      case 'min_should':
        return c.items.every(check);
      case 'not':
        return check(c.item);
      case 'match':
      case 'range': {
        const column = byPath.get(c.path.join('.'));
        return column !== undefined && cellTestOf(c, column) !== undefined && columnOk(column);
      }
      case 'has_id':
      case 'const':
        return true;
      default:
        return false;
    }
  };
  return check(condition);
}

/**
 * An upper bound on the rows of `segment` passing `condition`, from the sorted columns' slice lengths (binary
 * searches, no pass over the rows): what a planner can read before deciding to list the matches. The segment's
 * row count where the columns cannot tell (no sorted column, payload-only conditions, negations).
 */
export function matchBound(condition: Condition, segment: SegmentColumns, orderOf?: ColumnOrderOf): number {
  return Math.min(segment.count, new ColumnBounds(segment, orderOf).of(condition));
}

/** What bounding a filter needs of a segment (a SegmentView, or the SegmentHandle a task carries). */
type SegmentColumns = Pick<SegmentView, 'uid' | 'count' | 'columns'>;

/** Upper bounds on the rows conditions let through, from the sorted columns' slice lengths. */
class ColumnBounds {
  private readonly columns: ReadonlyMap<string, ColumnHandle>;

  constructor(
    private readonly segment: SegmentColumns,
    private readonly orderOf: ColumnOrderOf | undefined,
  ) {
    this.columns = columnsByPath(segment.columns);
  }

  /**
   * An upper bound on the rows `c` lets through (count when unknown; count + 1 for a payload-only condition, so
   * a conjunction tests it last, on the fewest rows).
   */
  of(c: Condition): number {
    const count = this.segment.count;
    switch (c.kind) {
      case 'const':
        return c.value ? count : 0;
      case 'has_id':
        return c.rows.get(this.segment.uid)?.size ?? 0;
      case 'and':
        return c.items.reduce((least, item) => Math.min(least, this.of(item)), count);
      case 'or':
      case 'min_should': {
        if (c.kind === 'min_should' && c.min <= 0) return count;
        // every passing row passes at least one item
        let sum = 0;
        for (const item of c.items) sum += Math.min(count, this.of(item));
        return Math.min(count, sum);
      }
      case 'match':
      case 'range':
        break;
      default:
        return count;
    }
    const column = this.columns.get(c.path.join('.'));
    const test = column && cellTestOf(c, column);
    if (!column || !test) return count + 1;
    const order = this.orderOf?.(column);
    if (order === undefined) return count;
    let size = order.absent.length;
    for (const [a, b] of slices(order, test)) size += b - a;
    return size;
  }
}

/** The live rows of `segment` passing `condition`, ascending: exactly the rows the payload predicate accepts. */
export function matchingRows(condition: Condition, segment: SegmentView, orderOf?: ColumnOrderOf): Uint32Array {
  const rows = new RowEvaluator(segment, orderOf).rows(condition, null);
  if (segment.liveCount === segment.count) return rows;
  const live = new Uint32Array(rows.length);
  let n = 0;
  for (let i = 0; i < rows.length; i++) {
    const o = rows[i]!;
    if (!isTombstoned(segment.tombstones, o)) live[n++] = o;
  }
  return live.subarray(0, n);
}

class RowEvaluator {
  private readonly columns: ReadonlyMap<string, ColumnHandle>;
  private readonly count: number;
  private readonly bounds: ColumnBounds;
  private cachedOffset = -1;
  private cachedPayload: unknown;

  constructor(
    private readonly segment: SegmentView,
    private readonly orderOf: ColumnOrderOf | undefined,
  ) {
    this.columns = columnsByPath(segment.columns);
    this.count = segment.count;
    this.bounds = new ColumnBounds(segment, orderOf);
  }

  rows(c: Condition, domain: Domain): Rows {
    switch (c.kind) {
      case 'and':
        return this.and(c.items, domain);
      case 'or':
        return this.atLeast(c.items, 1, domain);
      case 'min_should':
        return this.atLeast(c.items, c.min, domain);
      case 'not':
        return difference(domain, this.rows(c.item, domain), this.count);
      case 'const':
        return c.value ? this.all(domain) : new Uint32Array(0);
      case 'has_id': {
        const ids = c.rows.get(this.segment.uid);
        if (ids === undefined) return new Uint32Array(0);
        if (domain !== null) return domain.filter((o) => ids.has(o));
        return Uint32Array.from([...ids].filter((o) => o < this.count)).sort();
      }
      case 'match':
      case 'range': {
        const column = this.columns.get(c.path.join('.'));
        const test = column && cellTestOf(c, column);
        if (column && test) return this.leaf(column, test, this.fallback(c), domain);
        return this.filterDomain(domain, this.fallback(c));
      }
      default:
        return this.filterDomain(domain, this.fallback(c));
    }
  }

  /** Each condition on the rows the previous ones kept, the smallest (by column statistics) first. */
  private and(items: readonly Condition[], domain: Domain): Rows {
    const ordered = items
      .map((c) => ({ c, size: this.bounds.of(c) }))
      .sort((a, b) => a.size - b.size)
      .map((x) => x.c);
    let rows = domain;
    for (const c of ordered) {
      rows = this.rows(c, rows);
      if (rows.length === 0) break;
    }
    return rows ?? this.all(null);
  }

  /** Rows of `domain` passing at least `min` of `items` (an `or` is min = 1). */
  private atLeast(items: readonly Condition[], min: number, domain: Domain): Rows {
    if (min <= 0) return this.all(domain);
    const hits = new Uint16Array(this.count);
    for (const c of items) {
      const rows = this.rows(c, domain);
      for (let i = 0; i < rows.length; i++) hits[rows[i]!]!++;
    }
    return this.filterDomain(domain, (o) => hits[o]! >= min);
  }

  /**
   * A column-backed condition: present cells tested in a typed loop, listed keyword rows by their codes, absent
   * ones by the payload.
   */
  private leaf(column: ColumnHandle, test: CellTest, payloadTest: (o: number) => boolean, domain: Domain): Rows {
    const fallback = withListedRows(column, test, payloadTest);
    const order = domain === null ? this.orderOf?.(column) : undefined;
    if (order !== undefined) {
      const ranges = slices(order, test);
      let size = 0;
      for (const [a, b] of ranges) size += b - a;
      if (size <= this.count * ORDER_SHARE) {
        const out = new Uint32Array(size + order.absent.length);
        let n = 0;
        for (const [a, b] of ranges) {
          out.set(order.rows.subarray(a, b), n);
          n += b - a;
        }
        for (let i = 0; i < order.absent.length; i++) if (fallback(order.absent[i]!)) out[n++] = order.absent[i]!;
        return inRowOrder(out.subarray(0, n), this.count, order.repeats && ranges.length > 1);
      }
    }
    const cells = columnView(column);
    // keyword cells are codes, -1 when absent; numeric cells are NaN when absent
    const absentBelow = column.kind === 'keyword' ? 0 : Number.NEGATIVE_INFINITY;
    return test.kind === 'interval'
      ? scanInterval(cells, absentBelow, test.lo, test.hi, fallback, domain, this.count)
      : this.filterDomain(domain, (o) => {
          const cell = cells[o]!;
          return Number.isNaN(cell) || cell < absentBelow ? fallback(o) : test.values.has(cell);
        });
  }

  private fallback(c: Condition): (o: number) => boolean {
    const test = compilePayloadPredicate(c);
    const uid = this.segment.uid;
    return (o) => test(this.payloadOf(o), uid, o);
  }

  private payloadOf(offset: number): unknown {
    if (offset !== this.cachedOffset) {
      this.cachedPayload = this.segment.payload(offset);
      this.cachedOffset = offset;
    }
    return this.cachedPayload;
  }

  private all(domain: Domain): Rows {
    if (domain !== null) return domain;
    const rows = new Uint32Array(this.count);
    for (let o = 0; o < rows.length; o++) rows[o] = o;
    return rows;
  }

  private filterDomain(domain: Domain, keep: (o: number) => boolean): Rows {
    const size = domain === null ? this.count : domain.length;
    const out = new Uint32Array(size);
    let n = 0;
    if (domain === null) {
      for (let o = 0; o < size; o++) if (keep(o)) out[n++] = o;
    } else {
      for (let i = 0; i < size; i++) if (keep(domain[i]!)) out[n++] = domain[i]!;
    }
    return out.subarray(0, n);
  }
}

/** The [start, end) slices of a sorted column whose values pass `test`. */
function slices(order: ColumnOrder, test: CellTest): [number, number][] {
  const { values } = order;
  if (test.kind === 'interval') {
    if (!(test.lo <= test.hi)) return [];
    return [[lowerBound(values, test.lo), upperBound(values, test.hi)]];
  }
  return [...test.values].map((v) => [lowerBound(values, v), upperBound(values, v)]);
}

/**
 * Above this many rows per row of the segment, `inRowOrder` sorts through a bitset (one pass over count / 32
 * words) instead of TypedArray#sort: at 10,000 of 100,000 rows the sort took ~0.6 ms (n log n comparisons of
 * rows in random order), the bitset ~0.05 ms; at a few hundred rows the two cost about the same.
 */
const BITSET_SORT_SHARE = 1 / 256;

/**
 * `rows` (offsets below `count`; distinct unless `repeats`) in ascending order without repeats, sorted in place. The
 * slices of a sorted column come in value order; one value's slice is already in row order (the column's sort
 * keeps ties by row), so that is checked first.
 */
function inRowOrder(rows: Rows, count: number, repeats = false): Rows {
  const n = rows.length;
  let i = 1;
  while (i < n && rows[i - 1]! < rows[i]!) i++;
  if (i >= n) return rows;
  if (n < count * BITSET_SORT_SHARE) {
    rows.sort();
    if (!repeats) return rows;
    let kept = 1;
    for (let j = 1; j < n; j++) if (rows[j] !== rows[kept - 1]) rows[kept++] = rows[j]!;
    return rows.subarray(0, kept);
  }
  const words = new Int32Array((count + 31) >>> 5);
  for (let j = 0; j < n; j++) {
    const o = rows[j]!;
    words[o >>> 5]! |= 1 << (o & 31);
  }
  let at = 0;
  for (let w = 0; w < words.length; w++) {
    let bits = words[w]!;
    while (bits !== 0) {
      const low = bits & -bits;
      rows[at++] = (w << 5) | (31 - Math.clz32(low));
      bits ^= low;
    }
  }
  return rows.subarray(0, at);
}

/** The typed-array loop of a range (or one value) over the whole segment or a domain. */
function scanInterval(
  cells: Float64Array | Int32Array,
  absentBelow: number,
  lo: number,
  hi: number,
  fallback: (o: number) => boolean,
  domain: Domain,
  count: number,
): Rows {
  const size = domain === null ? count : domain.length;
  const out = new Uint32Array(size);
  let n = 0;
  for (let i = 0; i < size; i++) {
    const o = domain === null ? i : domain[i]!;
    const cell = cells[o]!;
    if (Number.isNaN(cell) || cell < absentBelow) {
      if (fallback(o)) out[n++] = o;
    } else if (cell >= lo && cell <= hi) out[n++] = o;
  }
  return out.subarray(0, n);
}

/** Rows of `domain` (every row when null) that are not in `remove` (a subset of it, ascending). */
function difference(domain: Domain, remove: Rows, count: number): Rows {
  const size = domain === null ? count : domain.length;
  const out = new Uint32Array(size - remove.length);
  let n = 0;
  let j = 0;
  for (let i = 0; i < size; i++) {
    const o = domain === null ? i : domain[i]!;
    if (j < remove.length && remove[j] === o) j++;
    else out[n++] = o;
  }
  return out;
}
