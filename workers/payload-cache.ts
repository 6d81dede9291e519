import { decodePayload, type SegmentHandle } from '../index-engine/index.js';

import { SegmentCache } from './segment-cache.js';

/**
 * Decoded payloads per segment, kept between tasks in this thread. Rows are immutable once published (a
 * payload change appends a new row), so a decoded row never goes stale.
 */
const cache = new SegmentCache<unknown[]>();

export function payloadReader(handle: SegmentHandle): (offset: number) => unknown {
  const decoded = cache.get(handle.uid, () => []);
  return (offset) => {
    let value = decoded[offset];
    if (value === undefined) {
      value = decodePayload(handle, offset);
      decoded[offset] = value;
    }
    return value;
  };
}
