import { buildColumnOrder, type ColumnOrder, type ColumnOrderOf } from '../index-engine/filter/column-order.js';
import type { Condition } from '../index-engine/filter/condition.js';
import { isColumnFilter, matchBound } from '../index-engine/filter/match-rows.js';
import { decodeHnsw } from '../index-engine/hnsw/format.js';
import type { HnswGraph } from '../index-engine/hnsw/graph.js';
import type { ColumnHandle, SegmentHandle } from '../index-engine/index.js';
import type { SegmentMemory } from '../index-engine/kernels/wasm-api.js';
import { decodeSq8Bundle } from '../index-engine/quantization/sq8-bundle.js';
import { SegmentCache } from './segment-cache.js';

/**
 * Decoded index structures (views over a sealed segment's shared buffers, never copies) per segment, kept
 * between tasks: a sealed segment's graph and codes never change.
 */
type Sq8Bundle = ReturnType<typeof decodeSq8Bundle>;
const graphs = new SegmentCache<HnswGraph>();
const quantized = new SegmentCache<Sq8Bundle>();
const memories = new SegmentCache<SegmentMemory>();
const orders = new SegmentCache<Map<string, ColumnOrder>>();

/**
 * The segment's WebAssembly memory: every post delivers a new Memory object for the same shared memory, and
 * kernels are instantiated per object, so the first one seen is kept and reused.
 */
export function memoryOf(handle: SegmentHandle): SegmentMemory {
  return memories.get(handle.uid, () => handle.memory);
}

export function graphOf(handle: SegmentHandle): HnswGraph | null {
  const buffer = handle.graph;
  return buffer === null ? null : graphs.get(handle.uid, () => decodeHnsw(buffer));
}

export function sq8Of(handle: SegmentHandle): Sq8Bundle | null {
  const buffer = handle.sq8;
  return buffer === null ? null : quantized.get(handle.uid, () => decodeSq8Bundle(buffer));
}

/**
 * Sorted columns of a sealed or frozen segment (no row is appended any more; flat HQI leaves included), built on
 * first use by each thread: about 10 ms per field and 100,000 rows, against a scan of the column per filtered
 * query. Keyed by path and kind: a column dropped and created again holds the same cells (rows are immutable;
 * keyword codes are the collection's for good). Growing segments get none (their rows change), and are scanned.
 */
export function columnOrderOf(handle: SegmentHandle): ColumnOrderOf | undefined {
  if (handle.graph === null && handle.frozen !== true) return undefined;
  const byColumn = orders.get(handle.uid, () => new Map());
  return (column: ColumnHandle) => {
    const key = `${column.kind}:${column.path}`;
    let order = byColumn.get(key);
    if (order === undefined) {
      order = buildColumnOrder(column, handle.count);
      byColumn.set(key, order);
    }
    return order;
  };
}

/**
 * An upper bound on the rows of a sealed segment passing `filter`, from this thread's sorted columns (built on
 * first use, like a worker's); Infinity when the filter is not a column filter (it is tested row by row, payloads
 * decoded, however small the segment) or the segment is growing. A bound within full_scan_threshold means the
 * search lists the matches (segment-search.ts) and then scores at most that many rows or walks the graph through
 * them; the listing itself reads the payloads only of rows whose cell is absent, and those count in the bound.
 */
export function matchBoundOf(handle: SegmentHandle, filter: Condition): number {
  const orderOf = columnOrderOf(handle);
  if (orderOf === undefined || !isColumnFilter(filter, handle.columns)) return Number.POSITIVE_INFINITY;
  return matchBound(filter, handle, orderOf);
}
