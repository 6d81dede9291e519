/** Hubness metrics over k-NN lists (ALGORITHMS.md §2(c)). */

/** N_k(g): in how many lists item g appears. `lists` is `queries × k` item indices, -1 for an empty slot. */
export function kOccurrence(lists: Int32Array, n: number): Uint32Array {
  const counts = new Uint32Array(n);
  for (let i = 0; i < lists.length; i++) {
    const g = lists[i]!;
    if (g >= 0) counts[g]!++;
  }
  return counts;
}

/** Sample skewness mean((x − μ)³) / σ³ (population moments); 0 when every value is the same. */
export function skewness(values: ArrayLike<number>): number {
  const n = values.length;
  if (n === 0) return 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]!;
  mean /= n;
  let m2 = 0;
  let m3 = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  m2 /= n;
  m3 /= n;
  return m2 === 0 ? 0 : m3 / m2 ** 1.5;
}

export interface HubnessStats {
  readonly k: number;
  readonly queries: number;
  readonly points: number;
  /** Skewness of N_k over all points (0: no hubness; > 1 notable). */
  readonly skewness: number;
  readonly max: number;
  /** Share of the filled result slots held by hubs (N_k > 2k). */
  readonly hub_occupancy: number;
  /** Share of points that appear in no list. */
  readonly anti_hub_rate: number;
  /** The largest hubs, most frequent first (index into the point numbering of `lists`). */
  hubs: { index: number; count: number }[];
  /** Points per N_k bin: [0,0], [1,1], [2,3], [4,7], … (powers of two). */
  histogram: { from: number; to: number; points: number }[];
}

export function hubnessStats(lists: Int32Array, k: number, n: number, topHubs = 20): HubnessStats {
  const counts = kOccurrence(lists, n);
  let filled = 0;
  let hubSlots = 0;
  let zero = 0;
  let max = 0;
  for (let g = 0; g < n; g++) {
    const c = counts[g]!;
    filled += c;
    if (c > 2 * k) hubSlots += c;
    if (c === 0) zero++;
    if (c > max) max = c;
  }
  const order = Array.from({ length: n }, (_, i) => i)
    .filter((g) => counts[g]! > 0)
    .sort((a, b) => counts[b]! - counts[a]! || a - b)
    .slice(0, topHubs);
  const histogram: { from: number; to: number; points: number }[] = [{ from: 0, to: 0, points: zero }];
  for (let from = 1; from <= Math.max(1, max); from *= 2) {
    const to = from * 2 - 1;
    let points = 0;
    for (let g = 0; g < n; g++) if (counts[g]! >= from && counts[g]! <= to) points++;
    histogram.push({ from, to, points });
  }
  return {
    k,
    queries: k > 0 ? lists.length / k : 0,
    points: n,
    skewness: skewness(counts),
    max,
    hub_occupancy: filled === 0 ? 0 : hubSlots / filled,
    anti_hub_rate: n === 0 ? 0 : zero / n,
    hubs: order.map((index) => ({ index, count: counts[index]! })),
    histogram,
  };
}
