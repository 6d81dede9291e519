import type { Metric } from './metric.js';

/**
 * Several queries bound to one vector store, scored together row by row: the multi-query form of Scorer. A batch
 * reads each row once per block instead of once per query. Scores are the raw kernel values (metric.raw), laid out
 * row-major: row i of a call, query q at `[i · size + q]`.
 */
export interface QueryBlock {
  /** Queries in the block, in the order they were bound. */
  readonly size: number;
  /** Most rows one scan() call takes. */
  readonly scanCapacity: number;
  /** Scores rows [firstRow, firstRow + count) against every query; count ≤ scanCapacity. */
  scan(firstRow: number, count: number): Float32Array | Float64Array;
  /** Most rows one gather() call takes. */
  readonly gatherCapacity: number;
  /** Where gather() reads its row offsets: write up to gatherCapacity of them, then call gather(n). */
  readonly ids: Uint32Array;
  /** Scores the rows ids[0, count) against every query. */
  gather(count: number): Float32Array | Float64Array;
  /** Frees what the block holds (scratch memory); idempotent. The block must not be used afterwards. */
  release(): void;
}

/** Rows per call of the JS block: the same as the WASM scan block, so both backends walk rows alike. */
const JS_ROWS = 1024;

/**
 * The JS block over a Float32Array of rows (row-major, dim floats each): the fallback when WASM SIMD or a scratch
 * run is unavailable, and the reference in tests. It computes what the per-query JS kernels compute, to the bit:
 * metric.raw in f64, stored in f32 by scan() (as KernelSet.scanBlock stores a block) and in f64 by gather() (as a
 * per-row score or scoreBatchOf returns it).
 */
export function floatQueryBlock(
  vectors: Float32Array,
  dim: number,
  metric: Metric,
  queries: readonly Float32Array[],
): QueryBlock {
  for (const q of queries) {
    if (q.length !== dim) throw new RangeError(`query has ${q.length} dimensions, vectors have ${dim}`);
  }
  const size = queries.length;
  const raw = metric.raw;
  const scanned = new Float32Array(JS_ROWS * size);
  const gathered = new Float64Array(JS_ROWS * size);
  const ids = new Uint32Array(JS_ROWS);
  return {
    size,
    scanCapacity: JS_ROWS,
    scan(firstRow, count) {
      if (count > JS_ROWS) throw new RangeError(`scan of ${count} rows, the block takes ${JS_ROWS}`);
      for (let i = 0; i < count; i++) {
        const at = (firstRow + i) * dim;
        for (let q = 0; q < size; q++) scanned[i * size + q] = raw(queries[q]!, 0, vectors, at, dim);
      }
      return scanned;
    },
    gatherCapacity: JS_ROWS,
    ids,
    gather(count) {
      if (count > JS_ROWS) throw new RangeError(`gather of ${count} rows, the block takes ${JS_ROWS}`);
      for (let i = 0; i < count; i++) {
        const at = ids[i]! * dim;
        for (let q = 0; q < size; q++) gathered[i * size + q] = raw(queries[q]!, 0, vectors, at, dim);
      }
      return gathered;
    },
    release() {},
  };
}
