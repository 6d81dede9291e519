import { type ColumnHandle, columnsByPath, columnView, listsView } from '../column.js';
import type { SegmentView } from '../segment-layout.js';
import { cellPredicate, cellTestOf, withListedRows } from './cell-test.js';
import { compilePayloadPredicate } from './compile.js';
import type { Condition } from './condition.js';
import { isColumnFilter } from './match-rows.js';

/** A filter bound to one segment: does row `offset` pass? */
export type RowPredicate = (offset: number) => boolean;

/**
 * Compiles a condition for one segment. `match` and `range` on a field with a typed column read the column and
 * touch the payload only for rows whose cell is absent (missing, several values, another type); every other
 * condition reads the row's payload, decoded lazily and at most once per row.
 */
export function compileRowPredicate(condition: Condition, segment: SegmentView): RowPredicate {
  const columns = columnsByPath(segment.columns);
  let cachedOffset = -1;
  let cachedPayload: unknown;
  const payloadOf = (offset: number): unknown => {
    if (offset !== cachedOffset) {
      cachedPayload = segment.payload(offset);
      cachedOffset = offset;
    }
    return cachedPayload;
  };
  // Parts of a conjunction or disjunction run cheapest first: a test of a typed column (or of ids) decides most
  // rows without reading the payload, so `tags = t AND ts in [a, b)` reads the payload of the rows in the range
  // only. The parts have no side effects, so the order changes nothing but the cost.
  const cheapFirst = (items: readonly Condition[]): RowPredicate[] =>
    items
      .map((item) => ({ test: compile(item), cheap: readsNoPayload(item) }))
      .sort((a, b) => Number(b.cheap) - Number(a.cheap))
      .map((p) => p.test);
  // a column filter over mostly typed columns (a column of mostly absent cells sends most rows to the payload)
  const readsNoPayload = (c: Condition): boolean =>
    isColumnFilter(c, segment.columns, (column) => mostlyTyped(column, segment.count));
  const compile = (c: Condition): RowPredicate => {
    switch (c.kind) {
      case 'and':
        return allOf(cheapFirst(c.items));
      case 'or':
        return anyOf(cheapFirst(c.items));
      case 'not': {
        const inner = compile(c.item);
        return (o) => !inner(o);
      }
      case 'min_should': {
        const parts = c.items.map(compile);
        return (o) => {
          let hits = 0;
          for (const f of parts) if (f(o) && ++hits >= c.min) return true;
          return hits >= c.min;
        };
      }
      case 'match':
      case 'range': {
        const column = columns.get(c.path.join('.'));
        const test = column && cellTestOf(c, column);
        if (test) return withFallback(cellPredicate(test), column, withListedRows(column, test, fallback(c)));
        return fallback(c);
      }
      case 'has_id': {
        // ids need no payload
        const rows = c.rows.get(segment.uid);
        return (o) => rows?.has(o) === true;
      }
      case 'const': {
        const value = c.value;
        return () => value;
      }
      default:
        return fallback(c);
    }
  };
  const fallback = (c: Condition): RowPredicate => {
    const test = compilePayloadPredicate(c);
    const uid = segment.uid;
    return (o) => test(payloadOf(o), uid, o);
  };
  return compile(condition);
}

// Conjunctions and disjunctions run once per row of a scan: plain loops, and the common two-part forms unrolled
// (no closure per call, as `parts.every((f) => f(o))` would allocate).
function allOf(parts: RowPredicate[]): RowPredicate {
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 2) {
    const [a, b] = parts as [RowPredicate, RowPredicate];
    return (o) => a(o) && b(o);
  }
  return (o) => {
    for (let i = 0; i < parts.length; i++) if (!parts[i]!(o)) return false;
    return true;
  };
}

function anyOf(parts: RowPredicate[]): RowPredicate {
  if (parts.length === 1) return parts[0]!;
  if (parts.length === 2) {
    const [a, b] = parts as [RowPredicate, RowPredicate];
    return (o) => a(o) || b(o);
  }
  return (o) => {
    for (let i = 0; i < parts.length; i++) if (parts[i]!(o)) return true;
    return false;
  };
}

/**
 * Whether most rows have a typed cell or a list of codes in the column (a sample of 32): a column of mostly
 * absent values sends most rows to the payload anyway, so a test of it is not cheap.
 */
function mostlyTyped(column: ColumnHandle, count: number): boolean {
  const cells = columnView(column);
  const starts = listsView(column)?.starts;
  const rows = Math.min(count, cells.length);
  if (rows === 0) return true;
  const samples = Math.min(32, rows);
  let typed = 0;
  for (let i = 0; i < samples; i++) {
    const o = Math.floor((i * rows) / samples);
    const cell = cells[o]!;
    if (
      column.kind === 'keyword'
        ? cell >= 0 || (starts !== undefined && starts[o]! < starts[o + 1]!)
        : !Number.isNaN(cell)
    )
      typed++;
  }
  return typed * 2 > samples;
}

function withFallback(test: (cell: number) => boolean, column: ColumnHandle, fallback: RowPredicate): RowPredicate {
  const cells = columnView(column);
  if (column.kind === 'keyword') return (o) => (cells[o]! >= 0 ? test(cells[o]!) : fallback(o));
  return (o) => {
    const cell = cells[o]!;
    return Number.isNaN(cell) ? fallback(o) : test(cell);
  };
}
