import type { NormalizerOutput } from '../../index-engine/hubness/index.js';

/** One bank version as held in memory; its vectors sit in a SharedArrayBuffer that every worker task shares. */
export interface Bank {
  readonly version: number;
  readonly count: number;
  readonly vectors: Float32Array;
  /** For a bank sampled from stored points: member index by point key (a point is never its own neighbour). */
  readonly memberIndex: ReadonlyMap<string, number> | null;
  readonly provenance: Record<string, unknown>;
  readonly createdAt: string;
}

export function sharedVectors(source: ArrayLike<number>): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(source.length * 4));
  out.set(source);
  return out;
}

/**
 * The normalizers of one side (query or gallery bank) for one bank version and β: logZ per point, and per
 * bank member its top-1 point, from which the activation set (points that are some member's top-1) follows.
 */
export class Generation {
  readonly bank: Bank;
  readonly beta: number;
  readonly norms = new Map<string, number>();
  readonly top1Score: Float64Array;
  readonly top1Key: (string | null)[];
  /** Members whose top-1 was deleted or replaced: re-found by the next refresh. */
  readonly stale = new Set<number>();
  private readonly active = new Map<string, number>();

  constructor(bank: Bank, beta: number) {
    this.bank = bank;
    this.beta = beta;
    this.top1Score = new Float64Array(bank.count).fill(Number.NEGATIVE_INFINITY);
    this.top1Key = new Array(bank.count).fill(null);
  }

  /** Whether the point is some bank member's top-1 (the DIS gate). */
  isActive(key: string): boolean {
    return this.active.has(key);
  }

  setTop1(member: number, key: string | null, score: number): void {
    const old = this.top1Key[member];
    if (old != null) {
      const n = this.active.get(old)! - 1;
      if (n === 0) this.active.delete(old);
      else this.active.set(old, n);
    }
    this.top1Key[member] = key;
    this.top1Score[member] = score;
    if (key !== null) this.active.set(key, (this.active.get(key) ?? 0) + 1);
  }

  /** Members whose top-1 a block would improve: `(member, row of the block, score)`. */
  improvements(out: NormalizerOutput, live: (row: number) => boolean = () => true): [number, number, number][] {
    const changes: [number, number, number][] = [];
    for (let m = 0; m < this.bank.count; m++) {
      const row = out.bestRow[m]!;
      if (row >= 0 && out.bestScore[m]! > this.top1Score[m]! && live(row)) changes.push([m, row, out.bestScore[m]!]);
    }
    return changes;
  }

  /** Forgets points (deleted or given a new vector): members whose top-1 they were become stale. */
  forget(keys: Iterable<string>): number[] {
    const touched: number[] = [];
    for (const key of keys) {
      this.norms.delete(key);
      if (!this.active.has(key)) continue;
      for (let m = 0; m < this.bank.count; m++) {
        if (this.top1Key[m] !== key) continue;
        this.setTop1(m, null, Number.NEGATIVE_INFINITY);
        this.stale.add(m);
        touched.push(m);
      }
    }
    return touched;
  }
}
