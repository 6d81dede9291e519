import type { Condition } from './filter/condition.js';
import { isColumnFilter, matchBound, matchingRows } from './filter/match-rows.js';
import { compileRowPredicate } from './filter/row-predicate.js';
import type { HnswGraph } from './hnsw/graph.js';
import { searchHnsw } from './hnsw/search.js';
import { SCAN_BLOCK } from './kernels/memory-layout.js';
import type { Metric } from './metric.js';
import { type Scorer, scoreBatchOf } from './scorer.js';
import { isTombstoned, type SegmentView } from './segment-layout.js';
import { TopK } from './top-k.js';

/**
 * The plan branches of one segment search, counted by storage and shown by `explain`:
 * - plain:           no graph (growing segment) or `exact`: every live row passing the filter is scored;
 * - plain_filtered:  the filter matches at most `plainThreshold` rows, and the cost model does not expect the
 *                    filtered graph to be cheaper (filteredGraphCheaper): exactly those rows are scored (listed
 *                    from the payload columns when the filter only uses indexed fields, filter/match-rows.ts);
 * - graph:           HNSW without a filter;
 * - filtered_graph:  HNSW where rejected nodes still route the search but never enter the results;
 * - graph_fallback:  the graph returned fewer than min(k, matches) results even with a wider beam, so the
 *                    matching rows were scored exactly: one request always returns `limit` results when that
 *                    many points match.
 */
export type PlanBranch = 'plain' | 'plain_filtered' | 'graph' | 'filtered_graph' | 'graph_fallback';

/** A filter's cardinality in one segment: bounds and expectation (exact when the rows were counted). */
export interface CardinalityEstimate {
  readonly min: number;
  readonly exp: number;
  readonly max: number;
}

export interface SegmentPlan {
  readonly branch: PlanBranch;
  /** The planner's estimate of the rows the filter matches (live rows without a filter). */
  readonly estimated: CardinalityEstimate;
  /** Rows that really matched, when the search counted them (null for graph searches). */
  readonly matches: number | null;
  readonly distanceEvaluations: number;
}

/** Rows sampled to estimate a filter's cardinality; smaller segments are counted exactly. */
const SAMPLE_ROWS = 1024;

/**
 * Estimates how many rows pass `accept` from an evenly spaced sample: expectation and a ±3σ binomial interval
 * (plus one sample's worth), clamped to [0, count]. Exact when the segment has at most SAMPLE_ROWS rows.
 */
export function estimateMatches(count: number, accept: (o: number) => boolean): CardinalityEstimate {
  if (count <= SAMPLE_ROWS) {
    const n = countLive(count, accept);
    return { min: n, exp: n, max: n };
  }
  const step = count / SAMPLE_ROWS;
  let hits = 0;
  for (let i = 0; i < SAMPLE_ROWS; i++) if (accept(Math.floor(i * step))) hits++;
  const p = hits / SAMPLE_ROWS;
  const margin = 3 * Math.sqrt((p * (1 - p)) / SAMPLE_ROWS) + 1 / SAMPLE_ROWS;
  return {
    min: Math.max(0, Math.floor((p - margin) * count)),
    exp: Math.round(p * count),
    max: Math.min(count, Math.ceil((p + margin) * count)),
  };
}

export interface SegmentQuery {
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
  scorer: Scorer,
  metric: Metric,
): SegmentHits {
  const { count, tombstones } = segment;
  const live = (o: number) => !isTombstoned(tombstones, o);
  // A filter the typed columns answer (match / range on indexed fields, has_id, and / or / not of those) can list
  // its exact live matches up front: typed loops over the columns, binary searches in a sealed segment's sorted
  // columns, each conjunct tested only on the rows the previous ones kept. The list then drives the branch.
  const filter = query.filter;
  const columnFilter = filter !== null && isColumnFilter(filter, segment.columns);
  if (graph === null || query.exact) {
    if (columnFilter) {
      const rows = matchingRows(filter, segment, segment.columnOrder);
      return scoreList(query, scorer, metric, count, rows, 'plain');
    }
    const passes = query.filter === null ? null : compileRowPredicate(query.filter, segment);
    const accept = (o: number) => live(o) && (passes === null || passes(o));
    return scoreRows(query, scorer, metric, count, accept, 'plain', 'scan', null);
  }
  let accept: (o: number) => boolean = live;
  let matches: number | null;
  let graphFirst = false;
  let estimated: CardinalityEstimate;
  if (query.filter !== null) {
    // The sorted columns of a sealed segment bound a column filter's matches by binary searches alone: at most
    // the threshold, its matches are listed at once, without sampling the rows one closure call at a time
    // (1,024 calls, ~0.1 ms) for an estimate the list makes exact anyway.
    if (columnFilter && matchBound(query.filter, segment, segment.columnOrder) <= query.plainThreshold) {
      const rows = matchingRows(query.filter, segment, segment.columnOrder);
      return searchListed(graph, query, scorer, metric, count, rows);
    }
    const passes = compileRowPredicate(query.filter, segment);
    // with no deleted row, the filter alone decides (one test less per node the graph search reaches)
    const lazy = segment.liveCount === count ? passes : (o: number) => live(o) && passes(o);
    // Qdrant's planner: estimate the filter's cardinality {min, exp, max} from a sample of the rows; only when
    // the estimate straddles the threshold are the matches counted.
    estimated = estimateMatches(count, lazy);
    // Surely above the threshold, the graph search tests the filter only on the nodes it reaches: listing every
    // match would cost more than those tests. Else a column filter lists its matches (exact count, no sampling).
    if (columnFilter && estimated.min <= query.plainThreshold) {
      const rows = matchingRows(query.filter, segment, segment.columnOrder);
      return searchListed(graph, query, scorer, metric, count, rows);
    }
    graphFirst = filteredGraphCheaper(graph, count, estimated.exp, query, FILTER_TEST_COST, GRAPH_EVAL_COST);
    if (estimated.max <= query.plainThreshold && !graphFirst) {
      return scoreRows(query, scorer, metric, count, lazy, 'plain_filtered', 'per-row', estimated);
    }
    if (graphFirst || estimated.min > query.plainThreshold) {
      accept = lazy;
      matches = null;
    } else {
      const bitmap = new Uint8Array(count);
      let n = 0;
      for (let o = 0; o < count; o++) {
        if (lazy(o)) {
          bitmap[o] = 1;
          n++;
        }
      }
      matches = n;
      estimated = { min: n, exp: n, max: n };
      accept = (o) => bitmap[o] === 1;
      if (n <= query.plainThreshold)
        return scoreRows(query, scorer, metric, count, accept, 'plain_filtered', 'per-row', estimated);
    }
  } else {
    // no filter: the live rows, counted by the writer (no per-query pass over the tombstones)
    matches = segment.liveCount ?? countLive(count, live);
    estimated = { min: matches, exp: matches, max: matches };
  }
  // Results the graph must return before it is trusted: every match when they were counted, else the estimate's
  // lower bound; k when the cost model sent a search below the threshold to the graph (it checks, then falls
  // back to scoring the matches, if fewer come back).
  const wanted = Math.min(query.k, matches ?? (graphFirst ? query.k : estimated.min));
  const everyRowLive = matches === count;
  const options = everyRowLive && query.filter === null ? {} : { accept };
  return searchGraph(graph, query, scorer, options, wanted, { estimated, matches }, (evaluations) =>
    withEvaluations(
      scoreRows(query, scorer, metric, count, accept, 'graph_fallback', 'per-row', estimated),
      evaluations,
    ),
  );
}

/** A filtered search whose matching rows are listed: score them, or walk the graph through a bitmap of them. */
function searchListed(
  graph: HnswGraph,
  query: SegmentQuery,
  scorer: Scorer,
  metric: Metric,
  count: number,
  rows: Uint32Array,
): SegmentHits {
  const n = rows.length;
  if (n <= query.plainThreshold && !filteredGraphCheaper(graph, count, n, query, 0, LISTED_GRAPH_EVAL_COST)) {
    return scoreList(query, scorer, metric, count, rows, 'plain_filtered');
  }
  const bitmap = new Uint8Array(count);
  for (let i = 0; i < n; i++) bitmap[rows[i]!] = 1;
  const estimated = { min: n, exp: n, max: n };
  return searchGraph(
    graph,
    query,
    scorer,
    { accept: (o) => bitmap[o] === 1 },
    Math.min(query.k, n),
    { estimated, matches: n },
    (evaluations) => withEvaluations(scoreList(query, scorer, metric, count, rows, 'graph_fallback'), evaluations),
  );
}

/**
 * The graph search, once more with a wider beam when it returns fewer than `wanted` results, then `fallback`
 * (exact scoring, given the evaluations spent so far) when still short.
 */
function searchGraph(
  graph: HnswGraph,
  query: SegmentQuery,
  scorer: Scorer,
  options: { accept?: (o: number) => boolean },
  wanted: number,
  counted: { estimated: CardinalityEstimate; matches: number | null },
  fallback: (evaluations: number) => SegmentHits,
): SegmentHits {
  let ef = Math.max(query.ef, query.k);
  let hits = searchHnsw(graph, scorer, query.k, ef, options);
  let evaluations = hits.distanceEvaluations;
  if (hits.offsets.length < wanted) {
    ef *= EF_WIDENING;
    hits = searchHnsw(graph, scorer, query.k, ef, options);
    evaluations += hits.distanceEvaluations;
  }
  if (hits.offsets.length < wanted) return fallback(evaluations);
  const branch: PlanBranch = query.filter === null ? 'graph' : 'filtered_graph';
  return {
    offsets: hits.offsets,
    raws: hits.raws,
    plan: { branch, ...counted, distanceEvaluations: evaluations },
  };
}

function withEvaluations(hits: SegmentHits, evaluations: number): SegmentHits {
  return { ...hits, plan: { ...hits.plan, distanceEvaluations: hits.plan.distanceEvaluations + evaluations } };
}

/**
 * The planner's cost model for filters tested row by row (not listed from the columns), in units of one distance
 * evaluation during a scan. Scoring the matches exactly tests the filter on every row (about a sixth of an
 * evaluation each) and scores each match once. A node the filtered graph search reaches (graphEvaluations) costs
 * about 3 evaluations' worth (random rows, larger heaps, the filter). At 10 % of 100k rows the graph wins
 * 2.5-3.5×; at 1 % scoring the matches wins 3-5×. (Measured with the earlier node model, 0.5 · (ef + k) · m ·
 * s^-0.75, which agrees with today's within 15 % at ef 64-128, s 0.1-0.01.)
 */
const FILTER_TEST_COST = 1 / 6;
const GRAPH_EVAL_COST = 3;

/**
 * The same comparison when the matches are listed (match-rows.ts): no filter test per row, the matches are scored
 * by the gather kernel in batches, and a node the graph search reaches costs about 2.8 listed rows. Measured on
 * clustered-128 (100k, m 16), 10 % (a price range: 10,000 listed rows), both branches run on the same captured
 * search tasks in one process, alternating, four runs at load 6-8 on the 2-core machine: time per graph
 * evaluation over time per scored listed row was 2.5-3.3 at ef 32-128 (median 2.8), the graph's ~0.5-1.3 ms
 * per 1,000 nodes against 0.36-0.58 ms per 1,000 listed rows. At 10 % that puts the two within 5 % of each other
 * at ef 64 (graph 0.85-1.01× the list's time); at ef 128 the list is 1.2-1.4× faster, and it is exact (the walk's
 * recall is 0.992-0.996). The earlier 5 was measured at load 11-24, before the listing lost its sort.
 */
const LISTED_GRAPH_EVAL_COST = 2.8;

/**
 * Nodes the filtered graph search reaches (distance evaluations) at beam `ef`, selectivity s: about
 * 2.8 · m · (ef + k)^0.62 · s^-0.75. Fitted on clustered-128 (100k, m 16, k 10), the walk forced for every query
 * of the filtered sets: within 15 % at s 0.1 and 0.01 for ef 16-256 (s 0.1: 2,209 / 3,590 / 5,235 / 8,147 at ef
 * 16 / 64 / 128 / 256); it overestimates at 0.1 % (1.7×: the walk then visits most of the graph) and
 * underestimates at 50 % (0.5×: the unfiltered search's own cost dominates). The beam matters less than linearly:
 * a wider beam revisits the same neighbourhood.
 */
function graphEvaluations(m: number, ef: number, k: number, selectivity: number): number {
  return 2.8 * m * (ef + k) ** 0.62 * selectivity ** -0.75;
}

/** Listed rows above 1/LIST_SCAN_SHARE of a segment are scored by a block scan rather than gathered. */
const LIST_SCAN_SHARE = 3;

/**
 * Whether the filtered graph search is expected to cost less than scoring the `matches` matching rows, when
 * finding them costs `filterTestCost` per row of the segment (0 when they are already listed) and a node the graph
 * search reaches costs `graphEvalCost` (both in units of scoring one match).
 */
export function filteredGraphCheaper(
  graph: HnswGraph,
  count: number,
  matches: number,
  query: SegmentQuery,
  filterTestCost: number,
  graphEvalCost: number,
): boolean {
  if (matches <= 0 || count === 0) return false;
  const selectivity = Math.min(1, matches / count);
  const plain = count * filterTestCost + matches;
  const graphEvals = graphEvaluations(graph.m, Math.max(query.ef, query.k), query.k, selectivity);
  return graphEvals * graphEvalCost < plain;
}

function countLive(count: number, live: (o: number) => boolean): number {
  let n = 0;
  for (let o = 0; o < count; o++) if (live(o)) n++;
  return n;
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
