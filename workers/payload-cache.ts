import { decodePayload, type SegmentHandle } from '../index-engine/index.js';

/**
 * Decoded payloads per segment, kept between tasks in this worker. Rows are immutable once published (a
 * payload change appends a new row), so a decoded row never goes stale; the cache only needs a bound.
 */
const MAX_SEGMENTS = 256;
const cache = new Map<number, unknown[]>();

export function payloadReader(handle: SegmentHandle): (offset: number) => unknown {
  let rows = cache.get(handle.uid);
  if (rows === undefined) {
    if (cache.size >= MAX_SEGMENTS) cache.delete(cache.keys().next().value as number);
    rows = [];
  } else {
    cache.delete(handle.uid); // re-insert below: Map order doubles as least-recently-used order
  }
  cache.set(handle.uid, rows);
  const decoded = rows;
  return (offset) => {
    let value = decoded[offset];
    if (value === undefined) {
      value = decodePayload(handle, offset);
      decoded[offset] = value;
    }
    return value;
  };
}
