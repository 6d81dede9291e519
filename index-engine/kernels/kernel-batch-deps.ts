import type { BatchDeps } from '../batch-search.js';
import type { Distance } from '../metric.js';
import { type BindOptions, bindQuery } from './kernel-set.js';
import { bindQueryBlock, MAX_BLOCK_QUERIES } from './query-block-kernels.js';
import { KernelScorer } from './row-scorer.js';
import type { SegmentMemory } from './wasm-api.js';

/**
 * What searchSegmentBatch needs of a segment memory: blocks of queries on the multi-query kernels, and the
 * single-query kernels (as a search of one query binds them) for graph walks. `options` as for bindQuery.
 */
export function kernelBatchDeps(
  memory: SegmentMemory,
  dim: number,
  distance: Distance,
  options: BindOptions = {},
): BatchDeps {
  return {
    blockSize: MAX_BLOCK_QUERIES,
    bindBlock: (vectors) => bindQueryBlock(memory, dim, distance, vectors, options),
    withScorer(vector, run) {
      const kernels = bindQuery(memory, dim, distance, vector, options);
      try {
        return run(new KernelScorer(kernels, distance));
      } finally {
        kernels.release();
      }
    },
  };
}
