import os from 'node:os';
import { performance } from 'node:perf_hooks';

/** One measured figure: the rate of every repetition (the table quotes their median). */
export interface Measurement {
  /** Operations per second (queries/s or points/s) of each repetition, in run order. */
  readonly reps: number[];
  /** Mean recall@10 over the queries of the last repetition, when the figure is a search. */
  readonly recall?: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `pass` (which performs `ops` operations) `reps` times and returns the rate of each; `setup` is untimed. */
export async function measure(
  reps: number,
  ops: number,
  pass: () => Promise<void> | void,
  setup?: () => Promise<void> | void,
): Promise<number[]> {
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) {
    await setup?.();
    const started = performance.now();
    await pass();
    rates.push((ops * 1000) / (performance.now() - started));
  }
  return rates;
}

/** Runs `count` jobs with at most `concurrency` in flight (job i gets index i). */
export async function runConcurrent(
  count: number,
  concurrency: number,
  job: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, lane));
}

/** Mean of per-query recalls (NaN for none). */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((s, v) => s + v, 0) / values.length;
}

/** The 1-minute load average: other processes on the machine skew every figure, so each row records it. */
export function loadAverage(): number {
  return Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
}

/** A command-line flag's value as a positive integer, or a clear error naming the flag. */
export function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer`);
  return n;
}
