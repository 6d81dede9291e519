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
 *
 * A keyword field often holds a list of strings (tags). Such a row's cell is absent, but its distinct codes go
 * into the column's lists (a CSR beside the cells), so a match on it reads a few codes instead of decoding the
 * payload; a row whose list could not be stored (the list arena is full) keeps only its absent cell, and is
 * answered by its payload as before.
 */
export type ColumnKind = 'number' | 'bool' | 'datetime' | 'keyword';

export interface ColumnHandle {
  /** Normalized key path, segments joined by '.' (see parseKey). */
  readonly path: string;
  readonly kind: ColumnKind;
  readonly data: SharedArrayBuffer;
  /** Keyword columns with at least one list row: the rows' lists of codes. */
  readonly lists?: ColumnLists | undefined;
}

/** Rows' lists of keyword codes, as compressed sparse rows (a row that is no list has an empty range). */
export interface ColumnLists {
  /** u32[capacity + 1]: row i's codes are codes[starts[i] .. starts[i + 1]). */
  readonly starts: SharedArrayBuffer;
  /** i32 codes, distinct within a row; a growable buffer, appended to like the payload arena. */
  readonly codes: SharedArrayBuffer;
}

export interface ListsView {
  readonly starts: Uint32Array;
  readonly codes: Int32Array;
}

export function listsView(column: ColumnHandle): ListsView | undefined {
  const lists = column.lists;
  return lists && { starts: new Uint32Array(lists.starts), codes: new Int32Array(lists.codes) };
}

export const ABSENT_CODE = -1;

export function columnBytes(kind: ColumnKind, capacity: number): number {
  return kind === 'keyword' ? capacity * 4 : capacity * 8;
}

const byPathCache = new WeakMap<readonly ColumnHandle[], ReadonlyMap<string, ColumnHandle>>();
const NO_COLUMNS: ReadonlyMap<string, ColumnHandle> = new Map();

/**
 * A segment's columns by path. Kept per columns array: a worker resolves a segment reference to the same handle,
 * hence the same array, task after task, and every filter compiled over the segment needs this map.
 */
export function columnsByPath(columns: readonly ColumnHandle[] | undefined): ReadonlyMap<string, ColumnHandle> {
  if (columns === undefined || columns.length === 0) return NO_COLUMNS;
  let map = byPathCache.get(columns);
  if (map === undefined) {
    map = new Map(columns.map((c) => [c.path, c]));
    byPathCache.set(columns, map);
  }
  return map;
}

export function columnView(column: ColumnHandle): Float64Array | Int32Array {
  return column.kind === 'keyword' ? new Int32Array(column.data) : new Float64Array(column.data);
}

/**
 * The cell for one payload: the single scalar at `path` in the column's representation, or absent.
 * `codeOf` maps a keyword to its dictionary code (assigning new codes is the caller's business). For a keyword
 * column given `list`, a value of several strings (and nothing else) has its distinct codes pushed there.
 */
export function columnCell(
  kind: ColumnKind,
  payload: unknown,
  path: readonly string[],
  codeOf: (s: string) => number,
  list?: number[],
): number {
  const values = flatValues(lookup(payload, path));
  const absent = kind === 'keyword' ? ABSENT_CODE : Number.NaN;
  if (values.length > 1 && list !== undefined && kind === 'keyword' && values.every((v) => typeof v === 'string')) {
    for (const v of values) {
      const code = codeOf(v as string);
      if (!list.includes(code)) list.push(code);
    }
  }
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

/** Codes a column's lists may hold per row of capacity, on average, before further lists are left to payloads. */
const LIST_CODES_PER_ROW = 16;
const INITIAL_LIST_BYTES = 4096;

/**
 * A column being filled row after row (a segment's appends, in order): its cells and, for keyword columns, the
 * lists of the rows that hold several strings, created at the first such row. Readers see a row once the
 * segment publishes its count, after this wrote it.
 */
export class ColumnWriter {
  private current: ColumnHandle;
  readonly cells: Float64Array | Int32Array;
  private starts: Uint32Array | null = null;
  private codes: Int32Array | null = null;
  private readonly list: number[] = [];

  constructor(
    readonly path: readonly string[],
    readonly kind: ColumnKind,
    private readonly capacity: number,
  ) {
    this.current = { path: path.join('.'), kind, data: new SharedArrayBuffer(columnBytes(kind, capacity)) };
    this.cells = columnView(this.current);
  }

  /** What a task carries (a new object once lists exist). */
  get handle(): ColumnHandle {
    return this.current;
  }

  /** Writes row `row`'s cell; rows come in order, each once. */
  set(row: number, payload: unknown, codeOf: (s: string) => number): void {
    const list = this.list;
    list.length = 0;
    this.cells[row] = columnCell(this.kind, payload, this.path, codeOf, this.kind === 'keyword' ? list : undefined);
    if (list.length === 0 && this.starts === null) return;
    const starts = this.startsFor();
    const start = starts[row]!;
    let end = start;
    if (list.length > 0 && this.reserve(start + list.length)) {
      this.codes!.set(list, start);
      end = start + list.length;
    }
    starts[row + 1] = end;
  }

  private startsFor(): Uint32Array {
    if (this.starts === null) {
      // rows before the first list have empty ranges: the zeroed buffer already says so
      const starts = new SharedArrayBuffer((this.capacity + 1) * 4);
      const codes = new SharedArrayBuffer(INITIAL_LIST_BYTES, {
        maxByteLength: Math.max(INITIAL_LIST_BYTES, this.capacity * 4 * LIST_CODES_PER_ROW),
      });
      this.current = { ...this.current, lists: { starts, codes } };
      this.starts = new Uint32Array(starts);
      this.codes = new Int32Array(codes);
    }
    return this.starts;
  }

  /** Room for `codes` codes in the arena (doubling it); false when the arena is at its bound. */
  private reserve(codes: number): boolean {
    const buffer = this.current.lists!.codes;
    if (buffer.byteLength >= codes * 4) return true;
    if (codes * 4 > buffer.maxByteLength) return false;
    buffer.grow(Math.min(buffer.maxByteLength, Math.max(codes * 4, buffer.byteLength * 2)));
    return true;
  }
}
