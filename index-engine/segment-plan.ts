/**
 * The per-segment planner: which rows a query scores and how (segment-search.ts runs the plan). Split from the
 * search so that a batch (batch-search.ts) can plan every query with the same decisions as a single search, share
 * the per-filter work (FilterFacts) between queries with the same filter, and score the exact plans together.
 */
import type { Condition } from './filter/condition.js';
import { isColumnFilter, matchBound, matchingRows } from './filter/match-rows.js';
import { compileRowPredicate, type RowPredicate } from './filter/row-predicate.js';
import type { HnswGraph } from './hnsw/graph.js';
import { isTombstoned, type SegmentView } from './segment-layout.js';

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

export interface SegmentQuery {
  readonly k: number;
  readonly filter: Condition | null;
  readonly exact: boolean;
  /** Beam width of the graph search (Qdrant's hnsw_ef); at least k is used. */
  readonly ef: number;
  /** Filtered searches matching at most this many rows score them exactly (Qdrant's full_scan_threshold). */
  readonly plainThreshold: number;
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

function countLive(count: number, live: (o: number) => boolean): number {
  let n = 0;
  for (let o = 0; o < count; o++) if (live(o)) n++;
  return n;
}

function exactly(n: number): CardinalityEstimate {
  return { min: n, exp: n, max: n };
}

/**
 * What one filter needs of one segment, each piece computed on first use and kept: its listed matches, its row
 * predicate, the sample estimate, the counted bitmap. A single search makes its own; a batch makes one per distinct
 * filter, so every query with that filter plans from (and scores) the same rows without evaluating it again.
 */
export class FilterFacts {
  readonly segment: SegmentView;
  readonly filter: Condition | null;
  /** Whether the typed columns list the matches (filter/match-rows.ts). */
  readonly columnFilter: boolean;
  private listed: Uint32Array | null = null;
  private columnBound: number | null = null;
  private listedBitmap: Uint8Array | null = null;
  private predicate: RowPredicate | null = null;
  private lazyAccept: ((o: number) => boolean) | null = null;
  private scanned: ((o: number) => boolean) | null = null;
  private estimated: CardinalityEstimate | null = null;
  private countedRows: { readonly bitmap: Uint8Array; readonly n: number } | null = null;
  private acceptedRows: Uint32Array | null = null;

  constructor(segment: SegmentView, filter: Condition | null) {
    this.segment = segment;
    this.filter = filter;
    this.columnFilter = filter !== null && isColumnFilter(filter, segment.columns);
  }

  private need(): Condition {
    if (this.filter === null) throw new TypeError('this fact needs a filter');
    return this.filter;
  }

  /** The live matches, ascending, listed from the columns (only for column filters). */
  rows(): Uint32Array {
    this.listed ??= matchingRows(this.need(), this.segment, this.segment.columnOrder);
    return this.listed;
  }

  /** An upper bound on the matches from a sealed segment's sorted columns (the row count without them). */
  bound(): number {
    this.columnBound ??= matchBound(this.need(), this.segment, this.segment.columnOrder);
    return this.columnBound;
  }

  /** rows() as a bitmap over the segment, for the graph search's accept test. */
  rowsBitmap(): Uint8Array {
    if (this.listedBitmap === null) {
      const rows = this.rows();
      const bitmap = new Uint8Array(this.segment.count);
      for (let i = 0; i < rows.length; i++) bitmap[rows[i]!] = 1;
      this.listedBitmap = bitmap;
    }
    return this.listedBitmap;
  }

  private passes(): RowPredicate {
    this.predicate ??= compileRowPredicate(this.need(), this.segment);
    return this.predicate;
  }

  /** Live and passing; with no deleted row the filter alone decides (one test less per node a graph reaches). */
  lazy(): (o: number) => boolean {
    if (this.lazyAccept === null) {
      const passes = this.passes();
      const { tombstones, liveCount, count } = this.segment;
      this.lazyAccept = liveCount === count ? passes : (o) => !isTombstoned(tombstones, o) && passes(o);
    }
    return this.lazyAccept;
  }

  /** What a full scan keeps: live rows passing the filter (every live row without one). */
  scanAccept(): (o: number) => boolean {
    if (this.scanned === null) {
      const { tombstones } = this.segment;
      const passes = this.filter === null ? null : this.passes();
      this.scanned =
        passes === null ? (o) => !isTombstoned(tombstones, o) : (o) => !isTombstoned(tombstones, o) && passes(o);
    }
    return this.scanned;
  }

  /** Qdrant's planner estimate {min, exp, max} of the lazy() matches, from a sample of the rows. */
  estimate(): CardinalityEstimate {
    this.estimated ??= estimateMatches(this.segment.count, this.lazy());
    return this.estimated;
  }

  /** The lazy() matches counted into a bitmap (when the estimate straddles the threshold). */
  counted(): { readonly bitmap: Uint8Array; readonly n: number } {
    if (this.countedRows === null) {
      const lazy = this.lazy();
      const bitmap = new Uint8Array(this.segment.count);
      let n = 0;
      for (let o = 0; o < bitmap.length; o++) {
        if (lazy(o)) {
          bitmap[o] = 1;
          n++;
        }
      }
      this.countedRows = { bitmap, n };
    }
    return this.countedRows;
  }

  /** The lazy() matches as an ascending list (from the counted bitmap when there is one). */
  accepted(): Uint32Array {
    if (this.acceptedRows === null) {
      const bitmap = this.countedRows?.bitmap;
      const accept = bitmap === undefined ? this.lazy() : (o: number) => bitmap[o] === 1;
      const rows: number[] = [];
      for (let o = 0; o < this.segment.count; o++) if (accept(o)) rows.push(o);
      this.acceptedRows = Uint32Array.from(rows);
    }
    return this.acceptedRows;
  }
}

/** A plan that scores rows exactly. `facts` names the rows' source, so a batch can score its queries together. */
export type ExactStep =
  /** The listed rows (scoreList). */
  | { readonly kind: 'list'; readonly branch: PlanBranch; readonly rows: Uint32Array; readonly facts: FilterFacts }
  /** Every row, keeping the accepted ones: a full scan (block kernels when the scorer has them). */
  | {
      readonly kind: 'scan';
      readonly branch: PlanBranch;
      readonly accept: (o: number) => boolean;
      readonly facts: FilterFacts;
    }
  /** Only the accepted rows, one by one (few matches; the same set as facts.accepted()). */
  | {
      readonly kind: 'rows';
      readonly branch: PlanBranch;
      readonly accept: (o: number) => boolean;
      readonly estimated: CardinalityEstimate;
      readonly facts: FilterFacts;
    };

/** A graph search, once more with a wider beam when short, then `fallback` when still short. */
export interface GraphStep {
  readonly kind: 'graph';
  readonly graph: HnswGraph;
  /** Rows allowed in the results (null: every row, no test). */
  readonly accept: ((o: number) => boolean) | null;
  /** Results the graph must return before it is trusted. */
  readonly wanted: number;
  readonly counted: { readonly estimated: CardinalityEstimate; readonly matches: number | null };
  readonly fallback: ExactStep;
}

export type SegmentStep = ExactStep | GraphStep;

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

/** The plan of `query` over `segment`; `facts` are the query's filter's (shared by a batch, else fresh). */
export function planSegment(
  segment: SegmentView,
  graph: HnswGraph | null,
  query: SegmentQuery,
  facts: FilterFacts = new FilterFacts(segment, query.filter),
): SegmentStep {
  const { count } = segment;
  // A filter the typed columns answer (match / range on indexed fields, has_id, and / or / not of those) can list
  // its exact live matches up front: typed loops over the columns, binary searches in a sealed segment's sorted
  // columns, each conjunct tested only on the rows the previous ones kept. The list then drives the branch.
  if (graph === null || query.exact) {
    if (facts.columnFilter) return { kind: 'list', branch: 'plain', rows: facts.rows(), facts };
    return { kind: 'scan', branch: 'plain', accept: facts.scanAccept(), facts };
  }
  if (query.filter === null) {
    // no filter: the live rows, counted by the writer (no per-query pass over the tombstones)
    const live = facts.scanAccept();
    const matches = segment.liveCount ?? countLive(count, live);
    const estimated = exactly(matches);
    return {
      kind: 'graph',
      graph,
      accept: matches === count ? null : live,
      wanted: Math.min(query.k, matches),
      counted: { estimated, matches },
      fallback: { kind: 'rows', branch: 'graph_fallback', accept: live, estimated, facts },
    };
  }
  // The sorted columns of a sealed segment bound a column filter's matches by binary searches alone: at most the
  // threshold, its matches are listed at once, without sampling the rows one closure call at a time (1,024 calls,
  // ~0.1 ms) for an estimate the list makes exact anyway.
  if (facts.columnFilter && facts.bound() <= query.plainThreshold) return planListed(graph, query, facts, count);
  const lazy = facts.lazy();
  // Qdrant's planner: estimate the filter's cardinality {min, exp, max} from a sample of the rows; only when
  // the estimate straddles the threshold are the matches counted.
  const estimated = facts.estimate();
  // Surely above the threshold, the graph search tests the filter only on the nodes it reaches: listing every
  // match would cost more than those tests. Else a column filter lists its matches (exact count, no sampling).
  if (facts.columnFilter && estimated.min <= query.plainThreshold) return planListed(graph, query, facts, count);
  const graphFirst = filteredGraphCheaper(graph, count, estimated.exp, query, FILTER_TEST_COST, GRAPH_EVAL_COST);
  if (estimated.max <= query.plainThreshold && !graphFirst) {
    return { kind: 'rows', branch: 'plain_filtered', accept: lazy, estimated, facts };
  }
  if (graphFirst || estimated.min > query.plainThreshold) {
    // Results the graph must return before it is trusted: the estimate's lower bound; k when the cost model sent
    // a search below the threshold to the graph (it checks, then falls back to scoring the matches, if fewer come
    // back).
    return {
      kind: 'graph',
      graph,
      accept: lazy,
      wanted: Math.min(query.k, graphFirst ? query.k : estimated.min),
      counted: { estimated, matches: null },
      fallback: { kind: 'rows', branch: 'graph_fallback', accept: lazy, estimated, facts },
    };
  }
  const { bitmap, n } = facts.counted();
  const exact = exactly(n);
  const accept = (o: number) => bitmap[o] === 1;
  if (n <= query.plainThreshold) return { kind: 'rows', branch: 'plain_filtered', accept, estimated: exact, facts };
  return {
    kind: 'graph',
    graph,
    accept,
    wanted: Math.min(query.k, n),
    counted: { estimated: exact, matches: n },
    fallback: { kind: 'rows', branch: 'graph_fallback', accept, estimated: exact, facts },
  };
}

/** A filtered search whose matching rows are listed: score them, or walk the graph through a bitmap of them. */
function planListed(graph: HnswGraph, query: SegmentQuery, facts: FilterFacts, count: number): SegmentStep {
  const rows = facts.rows();
  const n = rows.length;
  if (n <= query.plainThreshold && !filteredGraphCheaper(graph, count, n, query, 0, LISTED_GRAPH_EVAL_COST)) {
    return { kind: 'list', branch: 'plain_filtered', rows, facts };
  }
  const bitmap = facts.rowsBitmap();
  return {
    kind: 'graph',
    graph,
    accept: (o) => bitmap[o] === 1,
    wanted: Math.min(query.k, n),
    counted: { estimated: exactly(n), matches: n },
    fallback: { kind: 'list', branch: 'graph_fallback', rows, facts },
  };
}
