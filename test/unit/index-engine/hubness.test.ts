import { describe, expect, it } from 'vitest';
import {
  computeNormalizers,
  hubnessStats,
  kOccurrence,
  RESCORE_METHODS,
  rescore,
  skewness,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/hubness/index.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { uniformRandom } from '../../../dist/index-engine/random.js';

type Rng = () => number;

/** Unit vectors, row-major. */
function unitRows(rng: Rng, count: number, dim: number): Float32Array {
  const out = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    let norm = 0;
    for (let j = 0; j < dim; j++) {
      const v = rng() * 2 - 1;
      out[r * dim + j] = v;
      norm += v * v;
    }
    for (let j = 0; j < dim; j++) out[r * dim + j] = out[r * dim + j]! / Math.sqrt(norm);
  }
  return out;
}

function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += a[ai * dim + j]! * b[bi * dim + j]!;
  return s;
}

/** The formulas of ALGORITHMS.md §2(a), written directly: logZ = log Σ exp(β·s), no shift. */
function naiveLogZ(
  bank: Float32Array,
  nb: number,
  gallery: Float32Array,
  g: number,
  dim: number,
  beta: number,
): number {
  let sum = 0;
  for (let b = 0; b < nb; b++) sum += Math.exp(beta * dot(bank, b, gallery, g, dim));
  return Math.log(sum);
}

/** Naive reference of every method for one query over the whole gallery: the score of each item. */
function naiveScores(
  method: string,
  q: Float32Array,
  gallery: Float32Array,
  n: number,
  dim: number,
  banks: { Q: Float32Array; nQ: number; G: Float32Array; nG: number },
  b1: number,
  b2: number,
): number[] {
  const s = (g: number) => dot(q, 0, gallery, g, dim);
  const top1 = (bank: Float32Array, nb: number) => {
    const set = new Set<number>();
    for (let b = 0; b < nb; b++) {
      let best = -1;
      let bestS = Number.NEGATIVE_INFINITY;
      for (let g = 0; g < n; g++) {
        const v = dot(bank, b, gallery, g, dim);
        if (v > bestS) {
          bestS = v;
          best = g;
        }
      }
      set.add(best);
    }
    return set;
  };
  let gStar = 0;
  for (let g = 1; g < n; g++) if (s(g) > s(gStar)) gStar = g;
  const aQ = top1(banks.Q, banks.nQ).has(gStar);
  const aG = top1(banks.G, banks.nG).has(gStar);
  return Array.from({ length: n }, (_, g) => {
    const zQ = naiveLogZ(banks.Q, banks.nQ, gallery, g, dim, b1);
    const zG = naiveLogZ(banks.G, banks.nG, gallery, g, dim, b2);
    switch (method) {
      case 'none':
        return s(g);
      case 'is':
        return Math.log(Math.exp(b1 * s(g)) / Math.exp(zQ));
      case 'dis':
        return aQ ? b1 * s(g) - zQ : b1 * s(g);
      case 'dual_is':
        return Math.log((Math.exp(b1 * s(g)) / Math.exp(zQ)) * (Math.exp(b2 * s(g)) / Math.exp(zG)));
      default:
        return (b1 + b2) * s(g) - (aQ ? zQ : 0) - (aG ? zG : 0);
    }
  });
}

describe('DBNorm math (index-engine/hubness)', () => {
  const dim = 8;
  const n = 60;
  const rng: Rng = uniformRandom(7);
  const gallery = unitRows(rng, n, dim);
  const Q = unitRows(rng, 25, dim);
  const G = unitRows(rng, 15, dim);
  const banks = { Q, nQ: 25, G, nG: 15 };

  it('normalizers equal the naive log-sum-exp and each member gets its true top-1', () => {
    const out = computeNormalizers({
      distance: 'Dot',
      dim,
      vectors: gallery,
      count: n,
      bank: { vectors: Q, count: 25 },
      beta: 20,
    });
    for (let g = 0; g < n; g++) expect(out.logZ[g]).toBeCloseTo(naiveLogZ(Q, 25, gallery, g, dim, 20), 4);
    for (let b = 0; b < 25; b++) {
      let best = 0;
      for (let g = 1; g < n; g++) if (dot(Q, b, gallery, g, dim) > dot(Q, b, gallery, best, dim)) best = g;
      expect(out.bestRow[b]).toBe(best);
    }
  });

  it('log-sum-exp stays finite where the direct sum overflows', () => {
    const out = computeNormalizers({
      distance: 'Dot',
      dim,
      vectors: gallery,
      count: 3,
      bank: { vectors: Q, count: 25 },
      beta: 1000,
    });
    for (let g = 0; g < 3; g++) expect(Number.isFinite(out.logZ[g])).toBe(true);
  });

  it('a sampled member skips itself (selfMember)', () => {
    const self = new Int32Array(n).fill(-1);
    self[4] = 0;
    const bank = { vectors: gallery.slice(4 * dim, 5 * dim), count: 1 };
    const out = computeNormalizers({
      distance: 'Dot',
      dim,
      vectors: gallery,
      count: n,
      bank,
      beta: 5,
      selfMember: self,
    });
    expect(out.bestRow[0]).not.toBe(4);
    expect(out.logZ[4]).toBe(Number.NEGATIVE_INFINITY);
  });

  it.each(RESCORE_METHODS)('%s rescoring of the full candidate list equals the naive formula', (method: string) => {
    for (let trial = 0; trial < 5; trial++) {
      const q = unitRows(rng, 1, dim);
      const expected = naiveScores(method, q, gallery, n, dim, banks, 20, 5);
      const zQ = computeNormalizers({
        distance: 'Cosine',
        dim,
        vectors: gallery,
        count: n,
        bank: { vectors: Q, count: 25 },
        beta: 20,
      });
      const zG = computeNormalizers({
        distance: 'Cosine',
        dim,
        vectors: gallery,
        count: n,
        bank: { vectors: G, count: 15 },
        beta: 5,
      });
      const sims = Array.from({ length: n }, (_, g) => dot(q, 0, gallery, g, dim));
      let gStar = 0;
      for (let g = 1; g < n; g++) if (sims[g]! > sims[gStar]!) gStar = g;
      const actQ = new Set(Array.from(zQ.bestRow as Int32Array));
      const actG = new Set(Array.from(zG.bestRow as Int32Array));
      const got = rescore({
        method,
        betaQ: 20,
        betaG: 5,
        sims,
        logZQ: zQ.logZ,
        logZG: zG.logZ,
        gateQ: actQ.has(gStar),
        gateG: actG.has(gStar),
      });
      for (let g = 0; g < n; g++) expect(got[g]).toBeCloseTo(expected[g]!, 3);
    }
  });

  it('incremental normalizers (blocks added after the banks) equal a full recomputation', () => {
    const bank = { vectors: Q, count: 25 };
    const full = computeNormalizers({ distance: 'Cosine', dim, vectors: gallery, count: n, bank, beta: 20 });
    // first 40 points at once, then the last 20 one by one, top-1s merged by the larger score
    const first = computeNormalizers({
      distance: 'Cosine',
      dim,
      vectors: gallery.subarray(0, 40 * dim),
      count: 40,
      bank,
      beta: 20,
    });
    const logZ = Array.from(first.logZ as Float32Array);
    const bestScore = Array.from(first.bestScore as Float64Array);
    const bestRow = Array.from(first.bestRow as Int32Array);
    for (let g = 40; g < n; g++) {
      const one = computeNormalizers({
        distance: 'Cosine',
        dim,
        vectors: gallery.subarray(g * dim, (g + 1) * dim),
        count: 1,
        bank,
        beta: 20,
      });
      logZ.push(one.logZ[0]);
      for (let m = 0; m < 25; m++) {
        if (one.bestScore[m] > bestScore[m]!) {
          bestScore[m] = one.bestScore[m];
          bestRow[m] = g;
        }
      }
    }
    for (let g = 0; g < n; g++) expect(Math.abs(logZ[g]! - full.logZ[g])).toBeLessThan(1e-4);
    expect(bestRow).toEqual(Array.from(full.bestRow as Int32Array));
  });

  it('k-occurrence, skewness and hub statistics match a direct count', () => {
    const k = 3;
    const points = 10;
    const lists = Int32Array.from([0, 1, 2, 0, 1, 3, 0, 4, 5, 0, 1, -1]);
    const counts = Array.from(kOccurrence(lists, points) as Uint32Array);
    expect(counts).toEqual([4, 3, 1, 1, 1, 1, 0, 0, 0, 0]);
    const mean = counts.reduce((a, b) => a + b, 0) / points;
    const m2 = counts.reduce((a, c) => a + (c - mean) ** 2, 0) / points;
    const m3 = counts.reduce((a, c) => a + (c - mean) ** 3, 0) / points;
    expect(skewness(counts)).toBeCloseTo(m3 / m2 ** 1.5, 10);
    expect(skewness([2, 2, 2])).toBe(0);
    const stats = hubnessStats(lists, k, points, 2);
    expect(stats.queries).toBe(4);
    expect(stats.hub_occupancy).toBeCloseTo(0, 10); // hub: N_k > 2k = 6; none here
    expect(stats.anti_hub_rate).toBeCloseTo(0.4, 10);
    expect(stats.hubs).toEqual([
      { index: 0, count: 4 },
      { index: 1, count: 3 },
    ]);
    expect(stats.histogram).toEqual([
      { from: 0, to: 0, points: 4 },
      { from: 1, to: 1, points: 4 },
      { from: 2, to: 3, points: 1 },
      { from: 4, to: 7, points: 1 },
    ]);
    const hubby = hubnessStats(Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1]), 1, 2);
    expect(hubby.hub_occupancy).toBeCloseTo(8 / 9, 10);
  });
});
