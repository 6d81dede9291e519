/**
 * A block of queries bound to one segment memory for the multi-query kernels of simd.wat: the queries are copied
 * into a run of consecutive scratch slots (one slot per query, so the run always has room for them and for at
 * least SCAN_BLOCK rows of scores per query), and each call scores rows against all of them. When SIMD is missing
 * or no run is free, the JS block of query-block.ts over a view of the same memory.
 */
import { type Distance, METRICS } from '../metric.js';
import { floatQueryBlock, type QueryBlock } from '../query-block.js';
import type { BindOptions } from './kernel-set.js';
import {
  leaseScratchRun,
  releaseScratchRun,
  rowCapacity,
  SCRATCH_SLOTS,
  scratchQueryPtr,
  slotBytes,
  vectorsByteOffset,
  vectorsView,
} from './memory-layout.js';
import type { SegmentMemory } from './wasm-api.js';
import {
  createWasmKernels,
  type GatherKernel,
  type MultiGatherKernel,
  type MultiScanKernel,
  type ScanKernel,
  wasmSimdSupported,
} from './wasm-kernels.js';

/**
 * Most queries in one block: half the scratch slots, so two workers batching on the same segment still leave
 * slots for single searches. Eight queries share each row read; more would add little (the kernels are
 * compute-bound once the row is in L1) and take slots from other searches.
 */
export const MAX_BLOCK_QUERIES = SCRATCH_SLOTS / 2;

const KERNEL_NAMES = { Cosine: 'dot', Dot: 'dot', Euclid: 'l2sq', Manhattan: 'l1' } as const;

/** Bytes between two packed queries: what the kernels assume (dim f32s rounded up to 16 bytes). */
function queryStride(dim: number): number {
  return Math.ceil((dim * 4) / 16) * 16;
}

/**
 * Binds `queries` (prepared, length dim; at most MAX_BLOCK_QUERIES) to the segment memory. Rows are those the
 * memory holds when binding. Call release() in a `finally`.
 */
export function bindQueryBlock(
  memory: SegmentMemory,
  dim: number,
  distance: Distance,
  queries: readonly Float32Array[],
  options: BindOptions = {},
): QueryBlock {
  const size = queries.length;
  if (size < 1 || size > MAX_BLOCK_QUERIES) {
    throw new RangeError(`a query block holds 1..${MAX_BLOCK_QUERIES} queries, got ${size}`);
  }
  for (const q of queries) {
    if (q.length !== dim) throw new RangeError(`query has ${q.length} dimensions, the segment has ${dim}`);
  }
  const first =
    options.backend !== 'js' && wasmSimdSupported() ? leaseScratchRun(memory, dim, size, options.owner) : -1;
  if (first < 0) {
    return floatQueryBlock(vectorsView(memory, dim, rowCapacity(memory, dim)), dim, METRICS[distance], queries);
  }
  return wasmBlock(memory, dim, distance, queries, first);
}

function wasmBlock(
  memory: SegmentMemory,
  dim: number,
  distance: Distance,
  queries: readonly Float32Array[],
  first: number,
): QueryBlock {
  const size = queries.length;
  const kernels = createWasmKernels(memory);
  const name = KERNEL_NAMES[distance];
  // One query: the single-query scan and gather, whose body is inlined per row (the multi-query kernels call a
  // function per row, which cost a lone query 25-40 % in bench/kernels.ts --multi); same layout, same bits.
  const scanKernel: MultiScanKernel = size === 1 ? singleScan(kernels[`${name}Scan`]) : kernels[`${name}MultiScan`];
  const gatherKernel: MultiGatherKernel =
    size === 1 ? singleGather(kernels[`${name}Gather`]) : kernels[`${name}MultiGather`];
  const { buffer } = memory;
  const stride = queryStride(dim);
  const queriesPtr = scratchQueryPtr(dim, first);
  for (let q = 0; q < size; q++) new Float32Array(buffer, queriesPtr + q * stride, dim).set(queries[q]!);
  // The rest of the run holds the scores: row-major scan output, or the gather's ids followed by its scores.
  const outPtr = queriesPtr + size * stride;
  const outFloats = (size * slotBytes(dim) - size * stride) / 4;
  const scanCapacity = Math.floor(outFloats / size);
  const gatherCapacity = Math.floor(outFloats / (size + 1));
  const gatherPtr = outPtr + gatherCapacity * 4;
  const scanned = new Float32Array(buffer, outPtr, scanCapacity * size);
  const gathered = new Float32Array(buffer, gatherPtr, gatherCapacity * size);
  const base = vectorsByteOffset(dim);
  const rowBytes = dim * 4;
  let released = false;
  return {
    size,
    scanCapacity,
    scan(firstRow, count) {
      if (count > scanCapacity) throw new RangeError(`scan of ${count} rows, the block takes ${scanCapacity}`);
      scanKernel(queriesPtr, size, base + firstRow * rowBytes, count, dim, outPtr);
      return scanned;
    },
    gatherCapacity,
    ids: new Uint32Array(buffer, outPtr, gatherCapacity),
    gather(count) {
      if (count > gatherCapacity) throw new RangeError(`gather of ${count} rows, the block takes ${gatherCapacity}`);
      gatherKernel(queriesPtr, size, base, outPtr, count, dim, gatherPtr);
      return gathered;
    },
    release() {
      if (released) return;
      released = true;
      releaseScratchRun(memory, first, size);
    },
  };
}

function singleScan(scan: ScanKernel): MultiScanKernel {
  return (queriesPtr, _queryCount, basePtr, count, dim, outPtr) => scan(queriesPtr, basePtr, count, dim, outPtr);
}

function singleGather(gather: GatherKernel): MultiGatherKernel {
  return (queriesPtr, _queryCount, basePtr, idsPtr, count, dim, outPtr) =>
    gather(queriesPtr, basePtr, idsPtr, count, dim, outPtr);
}
