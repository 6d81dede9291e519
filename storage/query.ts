import type { Collection } from './collection.js';
import { StrataError } from './errors.js';
import type { FilterJson } from './filter-json.js';
import { parsePointId } from './point-id.js';
import { scrollCollection } from './scroll.js';
import type { SearchOutcome } from './search.js';
import { MAX_SEARCH_RESULTS } from './search.js';
import type { SearchInput } from './types.js';

export type QueryInput = Omit<SearchInput, 'vector' | 'limit'> & { query?: unknown; limit?: number | null | undefined };

export const DEFAULT_QUERY_LIMIT = 10;

type Search = (inputs: readonly SearchInput[]) => Promise<SearchOutcome[]>;

/**
 * Qdrant's universal query: `query` is a vector, a point id (its stored vector; the point itself is left out
 * through the filter, so `limit` and `offset` count other points) or `{nearest: ...}`. Without `query`, points
 * come in id order with score 0, paged by `limit` and `offset` like any other query.
 */
export async function queryCollection(
  collection: Collection,
  inputs: readonly QueryInput[],
  search: Search,
): Promise<SearchOutcome[]> {
  const out: SearchOutcome[] = new Array(inputs.length);
  const searches: SearchInput[] = [];
  const slots: number[] = [];
  for (const [index, input] of inputs.entries()) {
    const limit = input.limit ?? DEFAULT_QUERY_LIMIT;
    const offset = input.offset ?? 0;
    const q = input.query;
    const target = q !== null && typeof q === 'object' && !Array.isArray(q) && 'nearest' in q ? q.nearest : q;
    if (target === undefined || target === null) {
      if (limit + offset > MAX_SEARCH_RESULTS) throw new StrataError('STRATA_ERR_SEARCH_LIMIT', [MAX_SEARCH_RESULTS]);
      const page = await scrollCollection(collection, {
        filter: input.filter,
        limit: limit + offset,
        with_payload: input.with_payload ?? false,
        with_vector: input.with_vector,
      });
      out[index] = { points: page.points.slice(offset).map((p) => ({ ...p, version: 0, score: 0 })), plans: [] };
      continue;
    }
    if (Array.isArray(target)) {
      searches.push({ ...input, vector: target as number[], limit });
    } else {
      const id = parsePointId(target);
      const [record] = collection.retrieve([id], false, true);
      if (!record?.vector) throw new StrataError('STRATA_ERR_POINT_NOT_FOUND', [String(target)]);
      const notSelf: FilterJson = { must_not: [{ has_id: [target] }] };
      const filter: FilterJson = input.filter ? { must: [input.filter, notSelf] } : notSelf;
      searches.push({ ...input, vector: record.vector, limit, filter });
    }
    slots.push(index);
  }
  const results = await search(searches);
  slots.forEach((index, i) => {
    out[index] = results[i]!;
  });
  return out;
}
