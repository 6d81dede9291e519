import type { Condition } from './filter/condition.js';
import { compileRowPredicate } from './filter/row-predicate.js';
import type { Metric } from './metric.js';
import { isTombstoned, type SegmentView } from './segment-layout.js';
import { TopK } from './top-k.js';

export interface FlatQuery {
  /** Prepared query (normalized for Cosine), length = dim. */
  readonly vector: Float32Array;
  /** Results wanted (limit + offset). */
  readonly k: number;
  readonly filter: Condition | null;
  /** Qdrant semantics: minimum score for similarities, maximum distance for distances. */
  readonly scoreThreshold: number | null;
}

/** One hit: which segment (index in the list searched), which row, and its final score. */
export interface Hits {
  readonly segmentSlots: Uint32Array;
  readonly offsets: Uint32Array;
  readonly scores: Float64Array;
}

const SLOT_STRIDE = 2 ** 32;

/**
 * Exact search: scores every live row that passes the filter and keeps the best k. Row keys in the heap are
 * slot * 2^32 + offset, so ties break by segment order, then by row.
 */
export function flatSearch(segments: readonly SegmentView[], query: FlatQuery, metric: Metric): Hits {
  const top = new TopK(query.k, metric.higherIsBetter);
  const { vector } = query;
  segments.forEach((segment, slot) => {
    const { dim, count, vectors, tombstones, uid } = segment;
    if (dim !== vector.length) throw new RangeError(`query has ${vector.length} dimensions, segment ${uid} has ${dim}`);
    const passes = query.filter === null ? null : compileRowPredicate(query.filter, segment);
    for (let row = 0; row < count; row++) {
      if (isTombstoned(tombstones, row)) continue;
      if (passes !== null && !passes(row)) continue;
      top.push(slot * SLOT_STRIDE + row, metric.raw(vector, 0, vectors, row * dim, dim));
    }
  });
  const { keys, values } = top.sorted();
  const segmentSlots: number[] = [];
  const offsets: number[] = [];
  const scores: number[] = [];
  const threshold = query.scoreThreshold;
  for (let i = 0; i < keys.length; i++) {
    const score = metric.finalize(values[i]!);
    if (threshold !== null && (metric.higherIsBetter ? score < threshold : score > threshold)) break;
    const key = keys[i]!;
    segmentSlots.push(Math.floor(key / SLOT_STRIDE));
    offsets.push(key % SLOT_STRIDE);
    scores.push(score);
  }
  return {
    segmentSlots: Uint32Array.from(segmentSlots),
    offsets: Uint32Array.from(offsets),
    scores: Float64Array.from(scores),
  };
}
