import { dot, manhattan, squaredL2 } from './distance.js';

export type Distance = 'Cosine' | 'Dot' | 'Euclid' | 'Manhattan';

/**
 * How a distance turns two vectors into a Qdrant-style score. Cosine and Dot are similarities (higher is
 * better); Euclid and Manhattan are distances (lower is better). Cosine vectors are stored normalized, so its
 * score is a dot product.
 */
export interface Metric {
  readonly distance: Distance;
  readonly higherIsBetter: boolean;
  /** Raw kernel value used while ranking; `finalize` turns it into the score returned to users. */
  raw(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dim: number): number;
  finalize(raw: number): number;
}

const identity = (x: number): number => x;

export const METRICS: Readonly<Record<Distance, Metric>> = {
  Cosine: { distance: 'Cosine', higherIsBetter: true, raw: dot, finalize: identity },
  Dot: { distance: 'Dot', higherIsBetter: true, raw: dot, finalize: identity },
  // Rank on the squared distance (monotone in the distance) and take the root only for results.
  Euclid: { distance: 'Euclid', higherIsBetter: false, raw: squaredL2, finalize: Math.sqrt },
  Manhattan: { distance: 'Manhattan', higherIsBetter: false, raw: manhattan, finalize: identity },
};

/** Normalizes in place; a zero vector stays zero (its cosine with anything is 0). Returns the input. */
export function normalizeInPlace(v: Float32Array): Float32Array {
  let norm = 0;
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!;
  if (norm > 0) {
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < v.length; i++) v[i] = v[i]! * inv;
  }
  return v;
}

/** The vector as stored and searched for this distance (normalized for Cosine). */
export function prepareVector(distance: Distance, values: ArrayLike<number>): Float32Array {
  const v = Float32Array.from(values);
  return distance === 'Cosine' ? normalizeInPlace(v) : v;
}
