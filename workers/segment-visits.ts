import type { Condition } from '../index-engine/index.js';

/**
 * Per segment, which of a task's queries visit it and with what filter (SearchTask.routes). The coordinator's
 * routing (HQI partition tree) knows per segment and query whether the segment can hold matches at all (else the
 * query skips it) and whether every row of it matches (then the filter is dropped there: no per-row test, and
 * the unfiltered plan, graph or scan, applies).
 */
export const ROUTE = {
  /** The segment holds no match: the query does not visit it. */
  skip: 0,
  /** The query searches the segment with its filter. */
  filtered: 1,
  /** Every row of the segment matches the filter: the query searches it without. */
  complete: 2,
} as const;

export interface SegmentVisit {
  /** Index of the query in the task. */
  readonly query: number;
  /** The filter to apply in this segment (null when the query has none or the segment is complete for it). */
  readonly filter: Condition | null;
}

/** The visits of one segment: every query with its filter when `route` is null or absent, else as it says. */
export function segmentVisits(
  queries: readonly { readonly filter: Condition | null }[],
  route: Uint8Array | null | undefined,
): SegmentVisit[] {
  if (route === null || route === undefined) return queries.map((q, query) => ({ query, filter: q.filter }));
  if (route.length !== queries.length) {
    throw new RangeError(`a segment route has ${route.length} entries for ${queries.length} queries`);
  }
  const visits: SegmentVisit[] = [];
  queries.forEach((q, query) => {
    const how = route[query];
    if (how === ROUTE.skip) return;
    if (how === ROUTE.filtered) visits.push({ query, filter: q.filter });
    else if (how === ROUTE.complete) visits.push({ query, filter: null });
    else throw new RangeError(`route ${how} for query ${query}: expected 0 (skip), 1 (filtered) or 2 (complete)`);
  });
  return visits;
}
