/**
 * A query bound to one segment memory and one distance: what search loops call instead of touching vectors.
 * WASM SIMD when the runtime supports it and a scratch slot was free, else the JS kernels of distance.ts over a
 * view of the same memory. Both compute METRICS[distance].raw: dot for Cosine (rows and query are stored
 * normalized) and Dot, squared L2 for Euclid, L1 for Manhattan. WASM sums in f32, JS in f64, so the two agree
 * to about 1e-6 relative, not bit for bit.
 */
import { type Distance, METRICS } from '../metric.js';
import type { ScoreBatch } from '../scorer.js';
import {
  leaseScratch,
  releaseScratch,
  rowCapacity,
  SCAN_BLOCK,
  scratchOutPtr,
  scratchQueryPtr,
  vectorsByteOffset,
  vectorsView,
} from './memory-layout.js';
import type { SegmentMemory } from './wasm-api.js';
import {
  createWasmKernels,
  type GatherKernel,
  type PairKernel,
  type ScanKernel,
  wasmSimdSupported,
} from './wasm-kernels.js';

/** Rows per gather call: the slot's output block holds the ids in its first half and the scores in the second. */
export const GATHER_ROWS = SCAN_BLOCK / 2;

export interface KernelSet {
  /** Which kernels this query got ('js' when SIMD is unsupported or every scratch slot was leased). */
  readonly backend: 'wasm' | 'js';
  readonly dim: number;
  /** The raw kernel value (metric.raw) between the query and row `rowOffset` of the segment. */
  raw(rowOffset: number): number;
  /** Scores rows [firstRow, firstRow + count) into out[0, count). */
  scanBlock(firstRow: number, count: number, out: Float32Array): void;
  /** Scores a list of rows in one call (the WASM gather kernel over the scratch slot); absent for JS kernels. */
  readonly batch?: ScoreBatch | undefined;
  /** Frees the scratch slot; idempotent. The set must not be used afterwards (the slot is someone else's). */
  release(): void;
}

const KERNEL_NAMES = {
  Cosine: 'dot',
  Dot: 'dot',
  Euclid: 'l2sq',
  Manhattan: 'l1',
} as const satisfies Record<Distance, 'dot' | 'l2sq' | 'l1'>;

export interface BindOptions {
  /** Use the JS kernels even when WASM is available (benchmarks, tests). */
  readonly backend?: 'js';
  /** Who holds the scratch slot (see leaseScratch): the worker's threadId + 1, so the pool can reclaim it. */
  readonly owner?: number;
}

/**
 * Binds `query` (prepared: normalized for Cosine, length dim) to a segment memory laid out by memory-layout.ts.
 * Rows are those the memory holds when binding: read the segment's row count first. Call release() in a
 * `finally`.
 */
export function bindQuery(
  memory: SegmentMemory,
  dim: number,
  distance: Distance,
  query: Float32Array,
  options: BindOptions = {},
): KernelSet {
  if (query.length !== dim) throw new RangeError(`query has ${query.length} dimensions, the segment has ${dim}`);
  const slot = options.backend !== 'js' && wasmSimdSupported() ? leaseScratch(memory, dim, options.owner) : -1;
  return slot < 0 ? bindJs(memory, dim, distance, query) : bindWasm(memory, dim, distance, query, slot);
}

function checkBlock(count: number, out: Float32Array): void {
  if (count > out.length) throw new RangeError(`scanBlock of ${count} rows into ${out.length} scores`);
}

/** What a query needs of one scratch slot: kernels and views bound to it, made once per (memory, slot). */
interface SlotKernels {
  readonly query: Float32Array;
  readonly raw: (rowOffset: number) => number;
  readonly scanBlock: (firstRow: number, count: number, out: Float32Array) => void;
  readonly batch: ScoreBatch;
}

// Keyed by distance then memory; the views are over the scratch area, which never moves when a memory grows.
const slotCache = new Map<Distance, WeakMap<SegmentMemory, (SlotKernels | undefined)[]>>();

function slotKernels(memory: SegmentMemory, dim: number, distance: Distance, slot: number): SlotKernels {
  let byMemory = slotCache.get(distance);
  if (byMemory === undefined) {
    byMemory = new WeakMap();
    slotCache.set(distance, byMemory);
  }
  let slots = byMemory.get(memory);
  if (slots === undefined) {
    slots = [];
    byMemory.set(memory, slots);
  }
  let bound = slots[slot];
  if (bound === undefined) {
    bound = makeSlotKernels(memory, dim, distance, slot);
    slots[slot] = bound;
  }
  return bound;
}

function makeSlotKernels(memory: SegmentMemory, dim: number, distance: Distance, slot: number): SlotKernels {
  const kernels = createWasmKernels(memory);
  const name = KERNEL_NAMES[distance];
  const pair: PairKernel = kernels[name];
  const scan: ScanKernel = kernels[`${name}Scan`];
  const gather: GatherKernel = kernels[`${name}Gather`];
  const queryPtr = scratchQueryPtr(dim, slot);
  const outPtr = scratchOutPtr(dim, slot);
  const scores = new Float32Array(memory.buffer, outPtr, SCAN_BLOCK);
  const base = vectorsByteOffset(dim);
  const rowBytes = dim * 4;
  const scoresPtr = outPtr + GATHER_ROWS * 4;
  return {
    query: new Float32Array(memory.buffer, queryPtr, dim),
    raw: (rowOffset) => pair(queryPtr, base + rowOffset * rowBytes, dim),
    scanBlock(firstRow, count, out) {
      checkBlock(count, out);
      for (let done = 0; done < count; done += SCAN_BLOCK) {
        const n = Math.min(SCAN_BLOCK, count - done);
        scan(queryPtr, base + (firstRow + done) * rowBytes, n, dim, outPtr);
        out.set(n === SCAN_BLOCK ? scores : scores.subarray(0, n), done);
      }
    },
    batch: {
      capacity: GATHER_ROWS,
      ids: new Uint32Array(memory.buffer, outPtr, GATHER_ROWS),
      scores: new Float32Array(memory.buffer, scoresPtr, GATHER_ROWS),
      score: (count) => gather(queryPtr, base, outPtr, count, dim, scoresPtr),
    },
  };
}

function bindWasm(
  memory: SegmentMemory,
  dim: number,
  distance: Distance,
  query: Float32Array,
  slot: number,
): KernelSet {
  const bound = slotKernels(memory, dim, distance, slot);
  bound.query.set(query);
  let released = false;
  return {
    backend: 'wasm',
    dim,
    raw: bound.raw,
    scanBlock: bound.scanBlock,
    batch: bound.batch,
    release() {
      if (released) return;
      released = true;
      releaseScratch(memory, slot);
    },
  };
}

function bindJs(memory: SegmentMemory, dim: number, distance: Distance, query: Float32Array): KernelSet {
  const { raw } = METRICS[distance];
  const vectors = vectorsView(memory, dim, rowCapacity(memory, dim));
  return {
    backend: 'js',
    dim,
    raw: (rowOffset) => raw(query, 0, vectors, rowOffset * dim, dim),
    scanBlock(firstRow, count, out) {
      checkBlock(count, out);
      for (let i = 0; i < count; i++) out[i] = raw(query, 0, vectors, (firstRow + i) * dim, dim);
    },
    release() {},
  };
}
