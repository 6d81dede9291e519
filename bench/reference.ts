/**
 * The naive reference: single-threaded brute force in plain JS over one Float32Array, squared L2, top-k kept in
 * a small sorted array (insertion). No unrolling, no workers, no payloads: the floor any engine should beat.
 */
export function naiveTopK(base: Float32Array, dim: number, query: Float32Array, k: number): number[] {
  const n = base.length / dim;
  const ids = new Int32Array(k).fill(-1);
  const dists = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    let d = 0;
    const off = i * dim;
    for (let j = 0; j < dim; j++) {
      const t = query[j]! - base[off + j]!;
      d += t * t;
    }
    if (d >= dists[k - 1]!) continue;
    let pos = k - 1;
    while (pos > 0 && dists[pos - 1]! > d) {
      dists[pos] = dists[pos - 1]!;
      ids[pos] = ids[pos - 1]!;
      pos--;
    }
    dists[pos] = d;
    ids[pos] = i;
  }
  return Array.from(ids).filter((id) => id >= 0);
}
