import { decodeHnsw } from '../index-engine/hnsw/format.js';
import type { HnswGraph } from '../index-engine/hnsw/graph.js';
import type { SegmentHandle } from '../index-engine/index.js';

/** Decoded graphs (views over the segment's shared graph buffer) per segment, kept between tasks. */
const MAX_GRAPHS = 256;
const cache = new Map<number, HnswGraph>();

export function graphOf(handle: SegmentHandle): HnswGraph | null {
  if (handle.graph === null) return null;
  let graph = cache.get(handle.uid);
  if (graph === undefined) {
    if (cache.size >= MAX_GRAPHS) cache.delete(cache.keys().next().value as number);
    graph = decodeHnsw(handle.graph);
    cache.set(handle.uid, graph);
  }
  return graph;
}
