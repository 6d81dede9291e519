/**
 * Several queries over one segment with shared work (HQI's multi-query execution inside a segment): each query is
 * planned exactly as a single search plans it (segment-plan.ts), but
 * - queries with structurally identical filters share one FilterFacts: the filter is listed, sampled, counted and
 *   compiled once for all of them;
 * - queries whose plan scores rows exactly (plain, plain_filtered, and flat segments) are grouped by the rows they
 *   score, and each group is scored in blocks of queries (QueryBlock): every row is read once per block, not once
 *   per query, then each query keeps its own top k;
 * - graph walks go one by one (a walk's rows depend on its query, there is nothing to share).
 * Results are what searchSegment returns for each query: the same rows in the same order, the same branch and
 * counts. The block kernels compute each (query, row) score exactly as the single-query kernels do, and top k
 * breaks ties by row, so the only possible difference is when the block falls back to a different backend than
 * the single search would have used (JS in f64 against WASM in f32: about 1e-6 relative).
 */
import { filterKey } from './filter/filter-key.js';
import type { HnswGraph } from './hnsw/graph.js';
import type { Metric } from './metric.js';
import type { QueryBlock } from './query-block.js';
import type { Scorer } from './scorer.js';
import type { SegmentView } from './segment-layout.js';
import {
  type CardinalityEstimate,
  type ExactStep,
  FilterFacts,
  planSegment,
  type SegmentPlan,
  type SegmentQuery,
} from './segment-plan.js';
import { LIST_SCAN_SHARE, type SegmentHits, searchPlanned } from './segment-search.js';
import { TopK } from './top-k.js';

export interface BatchSegmentQuery extends SegmentQuery {
  /** Prepared query vector (normalized for Cosine), of the segment's dim. */
  readonly vector: Float32Array;
}

/** How a batch reaches the segment's vectors: kernels/kernel-batch-deps.ts binds them to a segment memory. */
export interface BatchDeps {
  /** Most queries bindBlock takes at once. */
  readonly blockSize: number;
  /** Binds up to blockSize query vectors for scoring together; the caller releases the block. */
  bindBlock(vectors: readonly Float32Array[]): QueryBlock;
  /** Runs `run` with a single-query scorer bound to `vector` (graph walks), released afterwards. */
  withScorer<T>(vector: Float32Array, run: (scorer: Scorer) => T): T;
}

/** Queries whose exact plans score the same rows, with those rows. */
interface Group {
  readonly rows: RowSource;
  readonly members: { readonly index: number; readonly step: ExactStep }[];
}

/** Every row of the segment, keeping the accepted ones (a scan); or a list of rows (a gather). */
type RowSource =
  | { readonly kind: 'dense'; readonly accept: (o: number) => boolean }
  | { readonly kind: 'list'; readonly rows: Uint32Array };

/** One result per query, in order: see the module comment. */
export function searchSegmentBatch(
  segment: SegmentView,
  graph: HnswGraph | null,
  queries: readonly BatchSegmentQuery[],
  deps: BatchDeps,
  metric: Metric,
): SegmentHits[] {
  const { count } = segment;
  const results = new Array<SegmentHits | undefined>(queries.length);
  const factsByFilter = new Map<string, FilterFacts>();
  const groups = new Map<string, Group>();
  queries.forEach((query, index) => {
    if (query.vector.length !== segment.dim) {
      throw new RangeError(`query has ${query.vector.length} dimensions, segment ${segment.uid} has ${segment.dim}`);
    }
    const key = filterKey(query.filter);
    let facts = factsByFilter.get(key);
    if (facts === undefined) {
      facts = new FilterFacts(segment, query.filter);
      factsByFilter.set(key, facts);
    }
    const step = planSegment(segment, graph, query, facts);
    if (step.kind === 'graph') {
      results[index] = deps.withScorer(query.vector, (scorer) => searchPlanned(step, query, scorer, metric, count));
      return;
    }
    // Steps of one kind over one filter score the same rows (a 'rows' step's accept test is facts.accepted()).
    const groupKey = `${step.kind}:${key}`;
    let group = groups.get(groupKey);
    if (group === undefined) {
      group = { rows: rowSourceOf(step, count), members: [] };
      groups.set(groupKey, group);
    }
    group.members.push({ index, step });
  });
  for (const group of groups.values()) scoreGroup(group, queries, deps, metric, count, results);
  return results as SegmentHits[];
}

/** The rows an exact step scores, in the form searchSegment would score them (scan or gather). */
function rowSourceOf(step: ExactStep, count: number): RowSource {
  switch (step.kind) {
    case 'scan':
      return { kind: 'dense', accept: step.accept };
    case 'list': {
      // as scoreList: a list above a third of the segment is scanned (sequential reads beat gathers)
      if (step.rows.length * LIST_SCAN_SHARE <= count) return { kind: 'list', rows: step.rows };
      const bitmap = step.facts.rowsBitmap();
      return { kind: 'dense', accept: (o) => bitmap[o] === 1 };
    }
    case 'rows':
      return { kind: 'list', rows: step.facts.accepted() };
  }
}

function scoreGroup(
  group: Group,
  queries: readonly BatchSegmentQuery[],
  deps: BatchDeps,
  metric: Metric,
  count: number,
  results: (SegmentHits | undefined)[],
): void {
  const { members } = group;
  let rows = group.rows;
  // Several blocks would test the accept function once per row each: test it once (it may decode payloads).
  if (rows.kind === 'dense' && members.length > deps.blockSize) rows = { kind: 'dense', accept: maskOf(rows, count) };
  for (let first = 0; first < members.length; first += deps.blockSize) {
    const chunk = members.slice(first, first + deps.blockSize);
    const tops = chunk.map(({ index }) => new TopK(queries[index]!.k, metric.higherIsBetter));
    const block = deps.bindBlock(chunk.map(({ index }) => queries[index]!.vector));
    let scored: { matches: number; evaluations: number };
    try {
      scored = rows.kind === 'dense' ? scanRows(block, count, rows.accept, tops) : gatherRows(block, rows.rows, tops);
    } finally {
      block.release();
    }
    chunk.forEach(({ index, step }, j) => {
      const { keys, values } = tops[j]!.sorted();
      results[index] = { offsets: Uint32Array.from(keys), raws: values, plan: planOf(step, scored) };
    });
  }
}

function maskOf(rows: RowSource & { kind: 'dense' }, count: number): (o: number) => boolean {
  const mask = new Uint8Array(count);
  for (let o = 0; o < count; o++) if (rows.accept(o)) mask[o] = 1;
  return (o) => mask[o] === 1;
}

/** The plan searchSegment reports for the step (the block scans and gathers as scoreRows and scoreList do). */
function planOf(step: ExactStep, scored: { matches: number; evaluations: number }): SegmentPlan {
  const estimated: CardinalityEstimate =
    step.kind === 'rows' ? step.estimated : { min: scored.matches, exp: scored.matches, max: scored.matches };
  return { branch: step.branch, estimated, matches: scored.matches, distanceEvaluations: scored.evaluations };
}

/** Scores every row, block by block, and offers each accepted one to every query's top k. */
function scanRows(
  block: QueryBlock,
  count: number,
  accept: (o: number) => boolean,
  tops: readonly TopK[],
): { matches: number; evaluations: number } {
  const size = block.size;
  let matches = 0;
  for (let first = 0; first < count; first += block.scanCapacity) {
    const n = Math.min(block.scanCapacity, count - first);
    const scores = block.scan(first, n);
    for (let i = 0; i < n; i++) {
      const row = first + i;
      if (!accept(row)) continue;
      matches++;
      for (let q = 0; q < size; q++) tops[q]!.push(row, scores[i * size + q]!);
    }
  }
  return { matches, evaluations: count };
}

/** Scores the listed rows, as many per call as the block takes. */
function gatherRows(
  block: QueryBlock,
  rows: Uint32Array,
  tops: readonly TopK[],
): { matches: number; evaluations: number } {
  const size = block.size;
  const { ids } = block;
  for (let first = 0; first < rows.length; first += block.gatherCapacity) {
    const n = Math.min(block.gatherCapacity, rows.length - first);
    ids.set(rows.subarray(first, first + n));
    const scores = block.gather(n);
    for (let i = 0; i < n; i++) {
      const row = rows[first + i]!;
      for (let q = 0; q < size; q++) tops[q]!.push(row, scores[i * size + q]!);
    }
  }
  return { matches: rows.length, evaluations: rows.length };
}
