import { routeFilter } from '../index-engine/hqi/tree.js';
import { METRICS } from '../index-engine/index.js';
import type { PlanBranch } from '../index-engine/segment-search.js';
import { type QueryHits, ROUTE, type SearchQuery } from '../workers/protocol.js';
import type { Collection, RowRef } from './collection.js';
import { StrataError } from './errors.js';
import { applyRescore, planRescore } from './hubness/rescore-step.js';
import type { Hubness } from './hubness/state.js';
import { selectPayload } from './payload.js';
import type { Segment } from './segment.js';
import type { ScoredPoint, SearchInput } from './types.js';

/** How one segment was searched for one query (`params.explain`). */
export interface PlanReport {
  /** The sealed segment's id, or `growing-<n>` for a segment still taking writes. */
  readonly segment: number | string;
  readonly rows: number;
  /** `pruned`: the partition tree ruled the segment out for this query's filter (HQI routing), nothing ran. */
  readonly branch: PlanBranch | 'pruned';
  /** The partition-tree leaf the segment holds, or null (not partitioned, or the overflow part). */
  readonly leaf: number | null;
  /** Whether the filter was tested per row: false without a filter or in a leaf that implies it (complete). */
  readonly filtered: boolean;
  /** The planner's estimate {min, exp, max} of the rows the filter matches. */
  readonly estimated_matches: { readonly min: number; readonly exp: number; readonly max: number };
  /** Rows that really matched, when the search counted them (null for graph searches). */
  readonly matches: number | null;
  readonly distance_evaluations: number;
  readonly quantized: boolean;
}

export interface SearchOutcome {
  readonly points: ScoredPoint[];
  readonly plans: PlanReport[];
}

/** Candidates re-ranked per result when searching int8 codes (ALGORITHMS.md §4.1: K' = 4k). */
export const DEFAULT_OVERSAMPLING = 4;

/** Documented limit: `limit + offset` of one search. */
export const MAX_SEARCH_RESULTS = 10_000;

export type SearchRunner = (
  segments: readonly Segment[],
  queries: readonly SearchQuery[],
  collection: Collection,
  routes: SegmentRoutes | null,
) => Promise<QueryHits[][]>;
// result[q] = the hit lists of query q, one per task that searched a part of the segments

/**
 * Plans and runs a batch of searches on one collection: validate and prepare the queries, fan out over the
 * pool (queries split across workers, and segments split when there are fewer queries than workers), merge
 * the per-task top-k lists, skip `offset`, and build the response rows on the main thread.
 */
export async function searchCollection(
  collection: Collection,
  inputs: readonly SearchInput[],
  run: SearchRunner,
  hubness: Hubness | null = null,
): Promise<SearchOutcome[]> {
  // DBNorm: a rescored search fetches K' candidates by raw score; its threshold applies to rescored scores
  const rescoring = inputs.map((input) => planRescore(collection.name, collection.config.hubness, hubness, input));
  const queries: SearchQuery[] = inputs.map((input, i) => {
    const offset = input.offset ?? 0;
    if (input.limit + offset > MAX_SEARCH_RESULTS)
      throw new StrataError('STRATA_ERR_SEARCH_LIMIT', [MAX_SEARCH_RESULTS]);
    const { hnsw_config } = collection.config;
    const plan = rescoring[i];
    return {
      vector: collection.prepareVector(input.vector, `of query ${i}`),
      k: plan ? plan.candidates : input.limit + offset,
      filter: input.filter ? collection.resolveFilter(input.filter) : null,
      scoreThreshold: plan ? null : (input.score_threshold ?? null),
      exact: input.params?.exact === true,
      ef: input.params?.hnsw_ef ?? hnsw_config.ef_construct,
      plainThreshold: hnsw_config.full_scan_threshold,
      quantization: {
        ignore: input.params?.quantization?.ignore === true,
        rescore: input.params?.quantization?.rescore !== false,
        oversampling: input.params?.quantization?.oversampling ?? DEFAULT_OVERSAMPLING,
      },
    };
  });
  const visible = collection.searchableSegments();
  const { segments, routes, pruned } = routeQueries(collection.partition, visible, queries);
  if (segments.length === 0) return inputs.map((_, qi) => ({ points: [], plans: prunedPlans(pruned, qi) }));
  const perQuery = await run(segments, queries, collection, routes);
  const metric = METRICS[collection.distance];
  const byUid = new Map(segments.map((s) => [s.uid, s]));
  const position = new Map(segments.map((s, i) => [s.uid, i]));
  return inputs.map((input, qi) => {
    const rows = mergeRows(perQuery[qi]!, byUid, segments, metric.higherIsBetter);
    const offset = input.offset ?? 0;
    const plan = rescoring[qi];
    const rescored = plan ? applyRescore(plan, collection.distance, rows) : null;
    const threshold = input.score_threshold;
    const ranked = rescored
      ? rescored.filter((r) => threshold == null || r.score >= threshold).map((r) => ranked3(r.row.ref, r.score, r.raw))
      : plan && threshold != null
        ? rows
            .filter((r) => (metric.higherIsBetter ? r.score >= threshold : r.score <= threshold))
            .map((r) => ranked3(r.ref, r.score, r.score))
        : rows.map((r) => ranked3(r.ref, r.score, r.score));
    const withPayload = input.with_payload ?? false;
    const points = ranked.slice(offset, offset + input.limit).map(({ ref, score, raw }): ScoredPoint => {
      const payload =
        withPayload === false ? null : (selectPayload(ref.segment.payload(ref.offset), withPayload) ?? null);
      const id = ref.segment.ids[ref.offset]!;
      const vector = input.with_vector ? Array.from(ref.segment.vector(ref.offset)) : null;
      // literal objects (no spreads): the response is built for every search
      return input.with_raw_score
        ? { id, version: 0, score, raw_score: raw, payload, vector }
        : { id, version: 0, score, payload, vector };
    });
    const plans: PlanReport[] = [];
    for (const h of perQuery[qi]!) {
      for (const p of h.plans) {
        const segment = byUid.get(p.uid)!;
        const route = routes?.[position.get(p.uid)!]?.[qi] ?? ROUTE.filtered;
        plans.push({
          segment: segment.sealedId ?? `growing-${p.uid}`,
          rows: segment.count,
          branch: p.branch,
          leaf: segment.leaf,
          filtered: queries[qi]!.filter !== null && route === ROUTE.filtered,
          estimated_matches: p.estimated,
          matches: p.matches,
          distance_evaluations: p.distanceEvaluations,
          quantized: p.quantized,
        });
      }
    }
    plans.push(...prunedPlans(pruned, qi));
    return { points, plans };
  });
}

/** Per searched segment (aligned with the segments), per query: a ROUTE (null: every query, filter applied). */
export type SegmentRoutes = readonly (Uint8Array | null)[];

/**
 * HQI routing (ALGORITHMS.md §1(a) step 4): each filtered query is routed through the live partition tree;
 * segments placed under it are skipped when the filter cannot match their leaf and searched without the filter
 * when the leaf implies it. Segments not placed under the live tree (the growing one, the overflow part, older
 * layouts) are searched with the filter. Segments no query visits are left out of the search.
 */
function routeQueries(
  layout: Collection['partition'],
  visible: readonly Segment[],
  queries: readonly SearchQuery[],
): { segments: Segment[]; routes: SegmentRoutes | null; pruned: { segment: Segment; queries: Uint8Array }[] } {
  const placed = (s: Segment) => layout !== null && s.treeVersion === layout.version && s.leaf !== null;
  if (layout === null || !queries.some((q) => q.filter !== null) || !visible.some(placed)) {
    return { segments: [...visible], routes: null, pruned: [] };
  }
  const byQuery = queries.map((q) =>
    q.filter === null ? null : new Map(routeFilter(layout.tree, q.filter).map((l) => [l.leaf, l.complete])),
  );
  const segments: Segment[] = [];
  const routes: (Uint8Array | null)[] = [];
  const pruned: { segment: Segment; queries: Uint8Array }[] = [];
  for (const segment of visible) {
    if (!placed(segment)) {
      segments.push(segment);
      routes.push(null);
      continue;
    }
    const route = new Uint8Array(queries.length);
    let visited = false;
    byQuery.forEach((leaves, qi) => {
      const complete = leaves === null ? true : leaves.get(segment.leaf!);
      route[qi] = complete === undefined ? ROUTE.skip : complete ? ROUTE.complete : ROUTE.filtered;
      if (complete !== undefined) visited = true;
    });
    if (route.includes(ROUTE.skip)) pruned.push({ segment, queries: route });
    if (!visited) continue;
    segments.push(segment);
    routes.push(route);
  }
  return { segments, routes, pruned };
}

function prunedPlans(pruned: readonly { segment: Segment; queries: Uint8Array }[], qi: number): PlanReport[] {
  const out: PlanReport[] = [];
  for (const { segment, queries } of pruned) {
    if (queries[qi] !== ROUTE.skip) continue;
    out.push({
      segment: segment.sealedId ?? `growing-${segment.uid}`,
      rows: segment.count,
      branch: 'pruned',
      leaf: segment.leaf,
      filtered: false,
      estimated_matches: { min: 0, exp: 0, max: 0 },
      matches: 0,
      distance_evaluations: 0,
      quantized: false,
    });
  }
  return out;
}

function ranked3(ref: RowRef, score: number, raw: number): { ref: RowRef; score: number; raw: number } {
  return { ref, score, raw };
}

/**
 * The hit lists of one query (one per task, each best first) as one list: by score, then the segment's
 * position in `segments`, then offset. A single list is already in that order.
 */
function mergeRows(
  lists: readonly QueryHits[],
  byUid: ReadonlyMap<number, Segment>,
  segments: readonly Segment[],
  higherIsBetter: boolean,
): { ref: RowRef; score: number }[] {
  const rows: { ref: RowRef; score: number }[] = [];
  for (const h of lists) {
    for (let i = 0; i < h.offsets.length; i++) {
      rows.push({ ref: { segment: byUid.get(h.uids[i]!)!, offset: h.offsets[i]! }, score: h.scores[i]! });
    }
  }
  if (lists.length > 1) {
    const order = new Map(segments.map((s, i) => [s.uid, i]));
    rows.sort(
      (a, b) =>
        (higherIsBetter ? b.score - a.score : a.score - b.score) ||
        order.get(a.ref.segment.uid)! - order.get(b.ref.segment.uid)! ||
        a.ref.offset - b.ref.offset,
    );
  }
  return rows;
}

/** Splits n items into at most `parts` contiguous, nearly equal chunks. */
export function chunk<T>(items: readonly T[], parts: number): T[][] {
  const n = Math.max(1, Math.min(parts, items.length));
  const out: T[][] = [];
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * items.length) / n);
    const to = Math.floor(((i + 1) * items.length) / n);
    out.push(items.slice(from, to));
  }
  return out;
}
