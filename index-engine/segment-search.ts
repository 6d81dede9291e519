import type { HnswGraph } from './hnsw/graph.js';
import { searchHnsw } from './hnsw/search.js';
import { SCAN_BLOCK } from './kernels/memory-layout.js';
import type { Metric } from './metric.js';
import { type Scorer, scoreBatchOf } from './scorer.js';
import type { SegmentView } from './segment-layout.js';
import {
  type CardinalityEstimate,
  type ExactStep,
  FilterFacts,
  type PlanBranch,
  planSegment,
  type SegmentPlan,
  type SegmentQuery,
  type SegmentStep,
} from './segment-plan.js';
import { TopK } from './top-k.js';

// The planner's types and cost model live in segment-plan.ts; these names stay importable from here.
export {
  type CardinalityEstimate,
  estimateMatches,
  filteredGraphCheaper,
  type PlanBranch,
  type SegmentPlan,
  type SegmentQuery,
} from './segment-plan.js';

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

/** Listed rows above 1/LIST_SCAN_SHARE of a segment are scored by a block scan rather than gathered. */
export const LIST_SCAN_SHARE = 3;

/** Plans `query` over the segment (segment-plan.ts) and runs the plan with `scorer`. */
export function searchSegment(
  segment: SegmentView,
  graph: HnswGraph | null,
  query: SegmentQuery,
  scorer: Scorer,
  metric: Metric,
): SegmentHits {
  const step = planSegment(segment, graph, query, new FilterFacts(segment, query.filter));
  return searchPlanned(step, query, scorer, metric, segment.count);
}

/** Runs a plan of planSegment for `query` (the one it was made for) over a segment of `count` rows. */
export function searchPlanned(
  step: SegmentStep,
  query: SegmentQuery,
  scorer: Scorer,
  metric: Metric,
  count: number,
): SegmentHits {
  if (step.kind !== 'graph') return scoreExact(step, query, scorer, metric, count);
  let ef = Math.max(query.ef, query.k);
  const options = step.accept === null ? {} : { accept: step.accept };
  let hits = searchHnsw(step.graph, scorer, query.k, ef, options);
  let evaluations = hits.distanceEvaluations;
  if (hits.offsets.length < step.wanted) {
    ef *= EF_WIDENING;
    hits = searchHnsw(step.graph, scorer, query.k, ef, options);
    evaluations += hits.distanceEvaluations;
  }
  if (hits.offsets.length < step.wanted) {
    const exact = scoreExact(step.fallback, query, scorer, metric, count);
    return withEvaluations(exact, evaluations);
  }
  const branch: PlanBranch = query.filter === null ? 'graph' : 'filtered_graph';
  return {
    offsets: hits.offsets,
    raws: hits.raws,
    plan: { branch, ...step.counted, distanceEvaluations: evaluations },
  };
}

function scoreExact(step: ExactStep, query: SegmentQuery, scorer: Scorer, metric: Metric, count: number): SegmentHits {
  switch (step.kind) {
    case 'list':
      return scoreList(query, scorer, metric, count, step.rows, step.branch);
    case 'scan':
      return scoreRows(query, scorer, metric, count, step.accept, step.branch, 'scan', null);
    case 'rows':
      return scoreRows(query, scorer, metric, count, step.accept, step.branch, 'per-row', step.estimated);
  }
}

function withEvaluations(hits: SegmentHits, evaluations: number): SegmentHits {
  return { ...hits, plan: { ...hits.plan, distanceEvaluations: hits.plan.distanceEvaluations + evaluations } };
}

function scoreRows(
  query: SegmentQuery,
  scorer: Scorer,
  metric: Metric,
  count: number,
  accept: (o: number) => boolean,
  branch: PlanBranch,
  mode: 'scan' | 'per-row',
  estimated: CardinalityEstimate | null,
): SegmentHits {
  const top = new TopK(query.k, metric.higherIsBetter);
  let evaluations = 0;
  let matches = 0;
  if (scorer.scoreBlock !== undefined && mode === 'scan') {
    // A full scan: score whole blocks with the SIMD scan kernel, then keep the accepted rows.
    const block = new Float32Array(Math.min(BLOCK_ROWS, count));
    for (let first = 0; first < count; first += BLOCK_ROWS) {
      const n = Math.min(BLOCK_ROWS, count - first);
      scorer.scoreBlock(first, n, block);
      evaluations += n;
      for (let i = 0; i < n; i++) {
        if (!accept(first + i)) continue;
        matches++;
        top.push(first + i, block[i]!);
      }
    }
  } else {
    // Few matches: score only them.
    for (let o = 0; o < count; o++) {
      if (!accept(o)) continue;
      matches++;
      evaluations++;
      top.push(o, scorer.score(o));
    }
  }
  const { keys, values } = top.sorted();
  return {
    offsets: Uint32Array.from(keys),
    raws: values,
    plan: {
      branch,
      estimated: estimated ?? { min: matches, exp: matches, max: matches },
      matches,
      distanceEvaluations: evaluations,
    },
  };
}

/**
 * Scores listed rows (ascending): through the scorer's batch form (one gather kernel call per batch) when they are
 * a minority of the segment, else a block scan keeping the listed rows (sequential reads beat gathers there).
 */
function scoreList(
  query: SegmentQuery,
  scorer: Scorer,
  metric: Metric,
  count: number,
  rows: Uint32Array,
  branch: PlanBranch,
): SegmentHits {
  const n = rows.length;
  const estimated = { min: n, exp: n, max: n };
  if (scorer.scoreBlock !== undefined && n * LIST_SCAN_SHARE > count) {
    const bitmap = new Uint8Array(count);
    for (let i = 0; i < n; i++) bitmap[rows[i]!] = 1;
    return scoreRows(query, scorer, metric, count, (o) => bitmap[o] === 1, branch, 'scan', estimated);
  }
  const top = new TopK(query.k, metric.higherIsBetter);
  const batch = scoreBatchOf(scorer);
  const { ids, scores } = batch;
  for (let first = 0; first < n; first += batch.capacity) {
    const size = Math.min(batch.capacity, n - first);
    ids.set(rows.subarray(first, first + size));
    batch.score(size);
    for (let i = 0; i < size; i++) top.push(rows[first + i]!, scores[i]!);
  }
  const { keys, values } = top.sorted();
  return {
    offsets: Uint32Array.from(keys),
    raws: values,
    plan: { branch, estimated, matches: n, distanceEvaluations: n },
  };
}
