/**
 * Binary heaps of (offset, distance) over typed arrays, for graph search. Distances are "smaller is closer"
 * (callers negate similarities). Both grow on demand and are meant to be reused across queries (`clear()`).
 */

/** Storage shared by both heaps: parallel typed arrays of ids and distances that double when full. */
abstract class PairHeap {
  protected ids: Uint32Array;
  protected dists: Float64Array;
  size = 0;

  constructor(capacity = 64) {
    this.ids = new Uint32Array(Math.max(1, capacity));
    this.dists = new Float64Array(Math.max(1, capacity));
  }

  clear(): void {
    this.size = 0;
  }

  protected grow(): void {
    const ids = new Uint32Array(this.ids.length * 2);
    const dists = new Float64Array(this.dists.length * 2);
    ids.set(this.ids);
    dists.set(this.dists);
    this.ids = ids;
    this.dists = dists;
  }
}

/** Nearest on top: the frontier of a best-first search. */
export class CandidateHeap extends PairHeap {
  /** Distance of the nearest entry; only meaningful while size > 0. */
  topDist(): number {
    return this.dists[0]!;
  }

  topId(): number {
    return this.ids[0]!;
  }

  push(id: number, dist: number): void {
    if (this.size === this.ids.length) this.grow();
    const ids = this.ids;
    const dists = this.dists;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pd = dists[p]!;
      if (pd <= dist) break;
      ids[i] = ids[p]!;
      dists[i] = pd;
      i = p;
    }
    ids[i] = id;
    dists[i] = dist;
  }

  /** Removes the nearest entry and returns its id. */
  pop(): number {
    const ids = this.ids;
    const dists = this.dists;
    const top = ids[0]!;
    const n = --this.size;
    if (n === 0) return top;
    const id = ids[n]!;
    const dist = dists[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let cd = dists[c]!;
      const r = c + 1;
      if (r < n) {
        const rd = dists[r]!;
        if (rd < cd) {
          c = r;
          cd = rd;
        }
      }
      if (cd >= dist) break;
      ids[i] = ids[c]!;
      dists[i] = cd;
      i = c;
    }
    ids[i] = id;
    dists[i] = dist;
    return top;
  }
}

/**
 * Farthest on top: the kept results of a search, bounded by the caller (push, then pop while over its limit).
 * Equal distances rank by offset (the larger offset is the farther), so the kept set does not depend on the
 * order in which nodes were reached.
 */
export class ResultHeap extends PairHeap {
  /** Distance of the farthest kept entry; only meaningful while size > 0. */
  worstDist(): number {
    return this.dists[0]!;
  }

  worstId(): number {
    return this.ids[0]!;
  }

  push(id: number, dist: number): void {
    if (this.size === this.ids.length) this.grow();
    const ids = this.ids;
    const dists = this.dists;
    let i = this.size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pd = dists[p]!;
      if (pd > dist || (pd === dist && ids[p]! > id)) break;
      ids[i] = ids[p]!;
      dists[i] = pd;
      i = p;
    }
    ids[i] = id;
    dists[i] = dist;
  }

  /** Removes the farthest entry and returns its id. */
  pop(): number {
    const top = this.ids[0]!;
    const n = --this.size;
    if (n === 0) return top;
    this.siftDown(this.ids[n]!, this.dists[n]!, n);
    return top;
  }

  /**
   * Replaces the farthest entry with (id, dist), which must rank before it: the same heap as push then pop, with
   * one sift instead of two (a full result set takes every closer node this way).
   */
  replaceWorst(id: number, dist: number): void {
    this.siftDown(id, dist, this.size);
  }

  /** Places (id, dist) from the root down in a heap of n entries whose root slot is free. */
  private siftDown(id: number, dist: number, n: number): void {
    const ids = this.ids;
    const dists = this.dists;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let cd = dists[c]!;
      let cid = ids[c]!;
      const r = c + 1;
      if (r < n) {
        const rd = dists[r]!;
        const rid = ids[r]!;
        if (rd > cd || (rd === cd && rid > cid)) {
          c = r;
          cd = rd;
          cid = rid;
        }
      }
      if (cd < dist || (cd === dist && cid < id)) break;
      ids[i] = cid;
      dists[i] = cd;
      i = c;
    }
    ids[i] = id;
    dists[i] = dist;
  }

  /**
   * Empties the heap, writing only its `k` nearest entries to `ids`/`dists` nearest first (ascending distance,
   * then offset); returns how many were written (min(k, size)). One pass with an insertion buffer of k instead
   * of size − k pops: a search with ef 2,048 and k 10 no longer spends ~3 % of its time shrinking the heap.
   */
  drainBest(k: number, ids: Uint32Array, dists: Float64Array): number {
    const n = this.size;
    this.size = 0;
    if (k <= 0) return 0;
    const heapIds = this.ids;
    const heapDists = this.dists;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const id = heapIds[i]!;
      const d = heapDists[i]!;
      if (kept === k) {
        const last = dists[k - 1]!;
        if (d > last || (d === last && id > ids[k - 1]!)) continue;
      }
      let j = kept < k ? kept++ : k - 1;
      while (j > 0 && (dists[j - 1]! > d || (dists[j - 1] === d && ids[j - 1]! > id))) {
        ids[j] = ids[j - 1]!;
        dists[j] = dists[j - 1]!;
        j--;
      }
      ids[j] = id;
      dists[j] = d;
    }
    return kept;
  }

  /**
   * Empties the heap into `ids`/`dists` nearest first (ascending distance, then offset) and returns how many
   * entries were written. The targets must hold `size` entries.
   */
  drainSorted(ids: Uint32Array, dists: Float64Array): number {
    const n = this.size;
    for (let i = n - 1; i >= 0; i--) {
      dists[i] = this.dists[0]!;
      ids[i] = this.pop();
    }
    return n;
  }
}
