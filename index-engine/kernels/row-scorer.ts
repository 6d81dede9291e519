import { type Distance, METRICS } from '../metric.js';
import { floatScorerFactory, type ScoreBatch, type Scorer, type ScorerFactory } from '../scorer.js';
import type { KernelSet } from './kernel-set.js';
import { vectorsByteOffset, vectorsView } from './memory-layout.js';
import type { SegmentMemory } from './wasm-api.js';
import { createWasmKernels, wasmSimdSupported } from './wasm-kernels.js';

/** Scores one query through a bound kernel set; `scoreBlock` lets full scans use the SIMD scan kernel. */
export class KernelScorer implements Scorer {
  readonly higherIsBetter: boolean;
  readonly batch: ScoreBatch | undefined;
  private readonly kernels: KernelSet;

  constructor(kernels: KernelSet, distance: Distance) {
    this.kernels = kernels;
    this.higherIsBetter = METRICS[distance].higherIsBetter;
    this.batch = kernels.batch;
  }

  score(offset: number): number {
    return this.kernels.raw(offset);
  }

  scoreBlock(firstRow: number, count: number, out: Float32Array): void {
    this.kernels.scanBlock(firstRow, count, out);
  }
}

const PAIR = { Cosine: 'dot', Dot: 'dot', Euclid: 'l2sq', Manhattan: 'l1' } as const;

/**
 * Scorers whose query is a row of the same memory (graph construction): the WASM pair kernel on two row
 * pointers, no scratch needed; the JS kernels where SIMD is unavailable.
 */
export function rowScorerFactory(memory: SegmentMemory, dim: number, rows: number, distance: Distance): ScorerFactory {
  if (!wasmSimdSupported()) return floatScorerFactory(vectorsView(memory, dim, rows), dim, METRICS[distance]);
  const pair = createWasmKernels(memory)[PAIR[distance]];
  const base = vectorsByteOffset(dim);
  const rowBytes = dim * 4;
  const higherIsBetter = METRICS[distance].higherIsBetter;
  return (queryRow) => {
    const queryPtr = base + queryRow * rowBytes;
    return { higherIsBetter, score: (offset) => pair(queryPtr, base + offset * rowBytes, dim) };
  };
}
