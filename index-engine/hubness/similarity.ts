import { type Distance, METRICS } from '../metric.js';

/** s(a, b) with "higher is more similar" for every distance: the score for Cosine and Dot, minus the distance else. */
export type Similarity = (a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dim: number) => number;

export function similarityOf(distance: Distance): Similarity {
  const metric = METRICS[distance];
  if (metric.higherIsBetter) return (a, ao, b, bo, dim) => metric.finalize(metric.raw(a, ao, b, bo, dim));
  return (a, ao, b, bo, dim) => -metric.finalize(metric.raw(a, ao, b, bo, dim));
}

/** A returned score as a similarity (higher is better), the form every rescoring formula takes. */
export function scoreToSimilarity(distance: Distance, score: number): number {
  return METRICS[distance].higherIsBetter ? score : -score;
}
