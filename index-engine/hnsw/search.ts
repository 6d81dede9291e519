import { CandidateHeap, ResultHeap } from '../candidate-heap.js';
import { type Scorer, scoreBatchOf } from '../scorer.js';
import { VisitedSet } from '../visited-set.js';
import { type HnswGraph, layerRow } from './graph.js';

export interface HnswSearchOptions {
  /**
   * The filter (and deletions): only accepted offsets are returned. Rejected nodes still route the search (they
   * are expanded like any other), so a selective filter costs more evaluations, not recall.
   */
  readonly accept?: (offset: number) => boolean;
  /** Scratch marks to reuse; a module-level set is used when absent. */
  readonly visited?: VisitedSet;
}

export interface HnswHits {
  /** Accepted offsets, best first (ties by offset), at most k. */
  readonly offsets: Uint32Array;
  /** The scorer's raw value for each offset (higher is better for similarities, lower for distances). */
  readonly raws: Float64Array;
  /** How many times the scorer was called: the search's cost, for explain and telemetry. */
  readonly distanceEvaluations: number;
}

const EMPTY: HnswHits = { offsets: new Uint32Array(0), raws: new Float64Array(0), distanceEvaluations: 0 };

/** Scratch shared by searches on this thread; a re-entrant search (from inside `accept`) allocates its own. */
const shared = { candidates: new CandidateHeap(256), results: new ResultHeap(256), visited: new VisitedSet(0) };
let sharedBusy = false;

/**
 * k-NN on an HNSW graph: greedy descent through the upper layers, then a best-first search of layer 0 that keeps
 * the max(ef, k) best accepted nodes and stops once the nearest unexpanded candidate is farther than the worst
 * of a full result set.
 */
export function searchHnsw(
  graph: HnswGraph,
  scorer: Scorer,
  k: number,
  ef: number,
  options: HnswSearchOptions = {},
): HnswHits {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k must be a non-negative integer, got ${k}`);
  if (!Number.isInteger(ef) || ef < 1) throw new RangeError(`ef must be a positive integer, got ${ef}`);
  if (graph.entryPoint < 0 || k === 0) return EMPTY;
  const own = sharedBusy;
  sharedBusy = true;
  try {
    const candidates = own ? new CandidateHeap(256) : shared.candidates;
    const results = own ? new ResultHeap(256) : shared.results;
    const visited = options.visited ?? (own ? new VisitedSet(graph.count) : shared.visited);
    return run(graph, scorer, k, Math.max(ef, k), options.accept, candidates, results, visited);
  } finally {
    if (!own) sharedBusy = false;
  }
}

function run(
  graph: HnswGraph,
  scorer: Scorer,
  k: number,
  ef: number,
  accept: ((offset: number) => boolean) | undefined,
  candidates: CandidateHeap,
  results: ResultHeap,
  visited: VisitedSet,
): HnswHits {
  const sign = scorer.higherIsBetter ? -1 : 1;
  // Neighbours are scored a list at a time (one kernel call per expanded node); each list is then walked in
  // order, so the outcome is exactly that of scoring them one by one.
  const batch = scoreBatchOf(scorer);
  const { ids, scores, capacity } = batch;
  let evaluations = 1;
  let cur = graph.entryPoint;
  let curDist = sign * scorer.score(cur);

  // upper layers: greedy, unfiltered (every node routes)
  for (let level = graph.maxLevel; level > 0; level--) {
    const { nodes, offsets, neighbors } = graph.layers[level]!;
    let changed = true;
    while (changed) {
      changed = false;
      const row = layerRow(nodes!, cur);
      if (row < 0) break; // only in a corrupt graph (verifyHnsw)
      const end = offsets[row + 1]!;
      for (let j = offsets[row]!; j < end; ) {
        let n = 0;
        for (; j < end && n < capacity; j++) ids[n++] = neighbors[j]!;
        batch.score(n);
        evaluations += n;
        for (let i = 0; i < n; i++) {
          const d = sign * scores[i]!;
          if (d < curDist) {
            curDist = d;
            cur = ids[i]!;
            changed = true;
          }
        }
      }
    }
  }

  // layer 0: ef-search; rejected nodes enter the frontier but never the results
  const { offsets, neighbors } = graph.layers[0]!;
  visited.ensureCapacity(graph.count);
  visited.clear();
  candidates.clear();
  results.clear();
  visited.add(cur);
  candidates.push(cur, curDist);
  if (accept === undefined || accept(cur)) results.push(cur, curDist);
  while (candidates.size > 0) {
    if (results.size >= ef && candidates.topDist() > results.worstDist()) break;
    const node = candidates.pop();
    const end = offsets[node + 1]!;
    for (let j = offsets[node]!; j < end; ) {
      let n = 0;
      for (; j < end && n < capacity; j++) {
        const next = neighbors[j]!;
        if (visited.visit(next)) ids[n++] = next;
      }
      if (n === 0) continue;
      batch.score(n);
      evaluations += n;
      for (let i = 0; i < n; i++) {
        const d = sign * scores[i]!;
        if (results.size < ef || d < results.worstDist()) {
          const next = ids[i]!;
          candidates.push(next, d);
          if (accept === undefined || accept(next)) {
            if (results.size < ef) results.push(next, d);
            else results.replaceWorst(next, d); // d < worstDist: the same as push then pop
          }
        }
      }
    }
  }

  const n = Math.min(k, results.size);
  const hitOffsets = new Uint32Array(n);
  const raws = new Float64Array(n);
  results.drainBest(n, hitOffsets, raws);
  if (sign < 0) for (let i = 0; i < n; i++) raws[i] = -raws[i]!;
  return { offsets: hitOffsets, raws, distanceEvaluations: evaluations };
}
