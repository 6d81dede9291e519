import type { Collection, RowRef } from './collection.js';
import { encodePointId, type PointId, parsePointId } from './point-id.js';
import type { PointRecord, ScrollInput } from './types.js';

export const DEFAULT_SCROLL_LIMIT = 10;

/** One page of points in id order, with the id to start the next page from (Qdrant's scroll). */
export async function scrollCollection(
  collection: Collection,
  input: ScrollInput,
): Promise<{ points: PointRecord[]; next_page_offset: PointId | null }> {
  const limit = input.limit ?? DEFAULT_SCROLL_LIMIT;
  const from = input.offset === undefined || input.offset === null ? null : parsePointId(input.offset);
  let rows: RowRef[];
  if (!input.filter) {
    rows = collection.idsFrom(from, limit + 1);
  } else {
    const fromKey = from === null ? null : encodePointId(from);
    const keyed = (await collection.matchingRows(collection.resolveFilter(input.filter)))
      .map((row) => ({ row, key: encodePointId(row.segment.ids[row.offset]!) }))
      .filter((r) => fromKey === null || Buffer.compare(r.key, fromKey) >= 0)
      .sort((a, b) => Buffer.compare(a.key, b.key));
    rows = keyed.slice(0, limit + 1).map((r) => r.row);
  }
  const page = rows.slice(0, limit);
  const next = rows[limit];
  return {
    points: page.map((row) => collection.record(row, input.with_payload ?? true, input.with_vector ?? false)),
    next_page_offset: next ? next.segment.ids[next.offset]! : null,
  };
}
