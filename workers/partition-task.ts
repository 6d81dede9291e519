/** HQI on the pool: build a partition tree over segments' rows and assign each row to a leaf (or assign only). */
import { assignRows, buildAndAssign, type PartitionSource } from '../index-engine/hqi/assign.js';
import { decodeTree, encodeTree } from '../index-engine/hqi/tree-codec.js';
import { isTombstoned, type SegmentHandle } from '../index-engine/index.js';
import { payloadReader } from './payload-cache.js';
import type { PartitionResult, PartitionTask } from './protocol.js';

function sourceOf(handle: SegmentHandle): PartitionSource {
  const tombstones = new Uint32Array(handle.tombstones);
  return { count: handle.count, isLive: (row) => !isTombstoned(tombstones, row), payload: payloadReader(handle) };
}

export function partition(task: PartitionTask): PartitionResult {
  const sources = task.segments.map(sourceOf);
  if (task.build !== null) {
    const { tree, leaves } = buildAndAssign(sources, task.build);
    return { tree: encodeTree(tree), leaves };
  }
  if (task.tree === null) throw new TypeError('a partition task needs a workload or a tree');
  return { tree: task.tree, leaves: assignRows(sources, decodeTree(task.tree)) };
}
