import type { Distance } from '../metric.js';
import { similarityOf } from './similarity.js';

/** Vectors of one bank, row-major `count × dim`. */
export interface BankVectors {
  readonly vectors: Float32Array;
  readonly count: number;
}

export interface NormalizerInput {
  readonly distance: Distance;
  readonly dim: number;
  /** The gallery points to normalize, row-major `count × dim`. */
  readonly vectors: Float32Array;
  readonly count: number;
  readonly bank: BankVectors;
  readonly beta: number;
  /**
   * Per row, the bank member that is this very point (a gallery bank sampled from stored points), or -1: the
   * pair is skipped, so a sampled point neither normalizes itself nor becomes its own top-1.
   */
  readonly selfMember?: Int32Array | null;
}

export interface NormalizerOutput {
  /** Per row: logZ(g; β) = log Σ_b exp(β·s(b, g)), max-shifted so it never overflows. */
  readonly logZ: Float32Array;
  /** Per bank member: its best similarity among these rows (-Infinity when none), and which row (-1). */
  readonly bestScore: Float64Array;
  readonly bestRow: Int32Array;
}

/**
 * The DBNorm normalizers of a block of gallery points against one bank (ALGORITHMS.md §2(b) 1), and each bank
 * member's top-1 among them (the activation set, §2(b) 2). A row's normalizer depends only on that row and the
 * bank, so blocks can be computed anywhere and in any order; top-1s of blocks merge by taking the larger score
 * (earlier block first on ties, like `>` within a block).
 */
export function computeNormalizers(input: NormalizerInput): NormalizerOutput {
  const { dim, vectors, count, bank, beta } = input;
  const s = similarityOf(input.distance);
  const logZ = new Float32Array(count);
  const bestScore = new Float64Array(bank.count).fill(Number.NEGATIVE_INFINITY);
  const bestRow = new Int32Array(bank.count).fill(-1);
  const scaled = new Float64Array(bank.count);
  for (let row = 0; row < count; row++) {
    const self = input.selfMember?.[row] ?? -1;
    let max = Number.NEGATIVE_INFINITY;
    for (let m = 0; m < bank.count; m++) {
      if (m === self) {
        scaled[m] = Number.NEGATIVE_INFINITY;
        continue;
      }
      const sim = s(bank.vectors, m * dim, vectors, row * dim, dim);
      if (sim > bestScore[m]!) {
        bestScore[m] = sim;
        bestRow[m] = row;
      }
      const v = beta * sim;
      scaled[m] = v;
      if (v > max) max = v;
    }
    logZ[row] = max === Number.NEGATIVE_INFINITY ? Number.NEGATIVE_INFINITY : max + Math.log(sumExp(scaled, max));
  }
  return { logZ, bestScore, bestRow };
}

function sumExp(values: Float64Array, shift: number): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i]! - shift);
  return sum;
}
