import type { Condition } from './filter/condition.js';
import { compileRowPredicate } from './filter/row-predicate.js';
import type { HnswGraph } from './hnsw/graph.js';
import { searchHnsw } from './hnsw/search.js';
import { SCAN_BLOCK } from './kernels/memory-layout.js';
import type { Metric } from './metric.js';
import type { Scorer } from './scorer.js';
import { isTombstoned, type SegmentView } from './segment-layout.js';
import { TopK } from './top-k.js';

/**
 * The plan branches of one segment search, counted by storage and shown by `explain`:
 * - plain:           no graph (growing segment) or `exact`: every live row passing the filter is scored;
 * - plain_filtered:  the filter matches at most `plainThreshold` rows: exactly those rows are scored;
 * - graph:           HNSW without a filter;
 * - filtered_graph:  HNSW where rejected nodes still route the search but never enter the results;
 * - graph_fallback:  the graph returned fewer than min(k, matches) results even with a wider beam, so the
 *                    matching rows were scored exactly: one request always returns `limit` results when that
 *                    many points match.
 */
export type PlanBranch = 'plain' | 'plain_filtered' | 'graph' | 'filtered_graph' | 'graph_fallback';

export interface SegmentPlan {
  readonly branch: PlanBranch;
  /** Rows the filter matches (live rows without a filter), counted before searching. */
  readonly matches: number;
  readonly distanceEvaluations: number;
}

export interface SegmentQuery {
  readonly scorer: Scorer;
  readonly k: number;
  readonly filter: Condition | null;
  readonly exact: boolean;
  /** Beam width of the graph search (Qdrant's hnsw_ef); at least k is used. */
  readonly ef: number;
  /** Filtered searches matching at most this many rows score them exactly (Qdrant's full_scan_threshold). */
  readonly plainThreshold: number;
}

export interface SegmentHits {
  readonly offsets: Uint32Array;
  /** Raw kernel values (metric.raw), best first. */
  readonly raws: Float64Array;
  readonly plan: SegmentPlan;
}

/** Rows per scoreBlock call: the scratch output block of kernels/memory-layout.ts. */
const BLOCK_ROWS = SCAN_BLOCK;

/** A wider beam is tried once before falling back to exact scoring. */
const EF_WIDENING = 4;

export function searchSegment(
  segment: SegmentView,
  graph: HnswGraph | null,
  query: SegmentQuery,
  metric: Metric,
): SegmentHits {
  const { count, tombstones } = segment;
  const live = (o: number) => !isTombstoned(tombstones, o);
  if (graph === null || query.exact) {
    const passes = query.filter === null ? null : compileRowPredicate(query.filter, segment);
    return scoreRows(query, metric, count, (o) => live(o) && (passes === null || passes(o)), 'plain');
  }
  let accept: (o: number) => boolean = live;
  let matches = 0;
  if (query.filter !== null) {
    // Count the matches first (typed columns make this cheap): it decides the plan and bounds the result.
    const passes = compileRowPredicate(query.filter, segment);
    const bitmap = new Uint8Array(count);
    for (let o = 0; o < count; o++) {
      if (live(o) && passes(o)) {
        bitmap[o] = 1;
        matches++;
      }
    }
    accept = (o) => bitmap[o] === 1;
    if (matches <= query.plainThreshold) return scoreRows(query, metric, count, accept, 'plain_filtered', matches);
  } else {
    // no filter: the live rows, counted by the writer (no per-query pass over the tombstones)
    matches = segment.liveCount ?? countLive(count, live);
  }
  const wanted = Math.min(query.k, matches);
  const everyRowLive = matches === count;
  const options = everyRowLive && query.filter === null ? {} : { accept };
  let ef = Math.max(query.ef, query.k);
  let hits = searchHnsw(graph, query.scorer, query.k, ef, options);
  let evaluations = hits.distanceEvaluations;
  if (hits.offsets.length < wanted) {
    ef *= EF_WIDENING;
    hits = searchHnsw(graph, query.scorer, query.k, ef, options);
    evaluations += hits.distanceEvaluations;
  }
  if (hits.offsets.length < wanted) {
    const exact = scoreRows(query, metric, count, accept, 'graph_fallback', matches);
    return { ...exact, plan: { ...exact.plan, distanceEvaluations: exact.plan.distanceEvaluations + evaluations } };
  }
  const branch: PlanBranch = query.filter === null ? 'graph' : 'filtered_graph';
  return { offsets: hits.offsets, raws: hits.raws, plan: { branch, matches, distanceEvaluations: evaluations } };
}

function countLive(count: number, live: (o: number) => boolean): number {
  let n = 0;
  for (let o = 0; o < count; o++) if (live(o)) n++;
  return n;
}

function scoreRows(
  query: SegmentQuery,
  metric: Metric,
  count: number,
  accept: (o: number) => boolean,
  branch: PlanBranch,
  knownMatches?: number,
): SegmentHits {
  const top = new TopK(query.k, metric.higherIsBetter);
  let evaluations = 0;
  const { scorer } = query;
  if (scorer.scoreBlock !== undefined && knownMatches === undefined) {
    // A full scan: score whole blocks with the SIMD scan kernel, then keep the accepted rows.
    const block = new Float32Array(Math.min(BLOCK_ROWS, count));
    for (let first = 0; first < count; first += BLOCK_ROWS) {
      const n = Math.min(BLOCK_ROWS, count - first);
      scorer.scoreBlock(first, n, block);
      evaluations += n;
      for (let i = 0; i < n; i++) if (accept(first + i)) top.push(first + i, block[i]!);
    }
  } else {
    for (let o = 0; o < count; o++) {
      if (!accept(o)) continue;
      evaluations++;
      top.push(o, scorer.score(o));
    }
  }
  const { keys, values } = top.sorted();
  return {
    offsets: Uint32Array.from(keys),
    raws: values,
    plan: { branch, matches: knownMatches ?? evaluations, distanceEvaluations: evaluations },
  };
}
