import type { Condition } from '../index-engine/index.js';
import { ROUTE } from './protocol.js';

export { ROUTE };

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
