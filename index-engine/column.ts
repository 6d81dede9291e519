import { parseDatetime } from './filter/datetime.js';
import { flatValues, lookup } from './filter/payload-path.js';

/**
 * Typed columns for indexed payload fields, one per (segment, field), in shared memory. A row's cell holds the
 * field's value when the row has exactly one scalar of the column's type there; otherwise the cell is
 * "absent" (NaN, or -1 for keyword codes) and filters fall back to the row's payload. So a column only ever
 * speeds a condition up; it never changes an answer.
 *
 * - number:   Float64Array, integer and float fields
 * - bool:     Float64Array, 1 or 0
 * - datetime: Float64Array, epoch milliseconds of an RFC 3339 string
 * - keyword:  Int32Array, codes from the collection's dictionary (keyword and uuid fields)
 */
export type ColumnKind = 'number' | 'bool' | 'datetime' | 'keyword';

export interface ColumnHandle {
  /** Normalized key path, segments joined by '.' (see parseKey). */
  readonly path: string;
  readonly kind: ColumnKind;
  readonly data: SharedArrayBuffer;
}

export const ABSENT_CODE = -1;

export function columnBytes(kind: ColumnKind, capacity: number): number {
  return kind === 'keyword' ? capacity * 4 : capacity * 8;
}

export function columnView(column: ColumnHandle): Float64Array | Int32Array {
  return column.kind === 'keyword' ? new Int32Array(column.data) : new Float64Array(column.data);
}

/**
 * The cell for one payload: the single scalar at `path` in the column's representation, or absent.
 * `codeOf` maps a keyword to its dictionary code (assigning new codes is the caller's business).
 */
export function columnCell(
  kind: ColumnKind,
  payload: unknown,
  path: readonly string[],
  codeOf: (s: string) => number,
): number {
  const values = flatValues(lookup(payload, path));
  const absent = kind === 'keyword' ? ABSENT_CODE : Number.NaN;
  if (values.length !== 1) return absent;
  const v = values[0];
  switch (kind) {
    case 'number':
      return typeof v === 'number' ? v : absent;
    case 'bool':
      return typeof v === 'boolean' ? Number(v) : absent;
    case 'datetime':
      return typeof v === 'string' ? parseDatetime(v) : absent;
    case 'keyword':
      return typeof v === 'string' ? codeOf(v) : absent;
  }
}
