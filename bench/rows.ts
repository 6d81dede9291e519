import type { Dataset } from './dataset.js';
import { loadAverage, type Measurement, median } from './measure.js';

/** One line of the result table. */
export interface Row {
  readonly id: string;
  readonly section: 'reference' | 'in-process' | 'http';
  readonly label: string;
  readonly unit: 'points/s' | 'queries/s';
  /** Rate of each repetition, in run order. */
  readonly reps: number[];
  readonly median: number;
  /** Mean recall@10 against the dataset's exact ground truth (null for writes). */
  readonly recall: number | null;
  /** Every query scores all n vectors (unfiltered search): the bytes-scanned view applies. */
  readonly fullScan: boolean;
  /** 1-minute load average right after the measurement. */
  readonly load: number;
}

export function makeRow(
  id: string,
  section: Row['section'],
  label: string,
  unit: Row['unit'],
  m: Measurement,
  fullScan: boolean,
): Row {
  const load = loadAverage();
  return { id, section, label, unit, reps: m.reps, median: median(m.reps), recall: m.recall ?? null, fullScan, load };
}

/** The benchmark's knobs, shared by every part. */
export interface BenchConfig {
  readonly dataset: Dataset;
  /** Queries per unfiltered measurement (and at most this many per filtered set). */
  readonly queries: number;
  readonly reps: number;
  /** Worker threads of the in-process database and of the server. */
  readonly threads: number;
  /** In-flight searches for the concurrent rows (in-process and HTTP clients). */
  readonly concurrency: number;
  readonly upsertBatch: number;
  readonly searchBatch: number;
  readonly k: number;
  /** Queries run untimed before each measured search figure (JIT, worker payload caches). */
  readonly warmup: number;
}
