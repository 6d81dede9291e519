import { CandidateHeap, ResultHeap } from '../candidate-heap.js';
import { mulberry32 } from '../random.js';
import type { Scorer } from '../scorer.js';
import { VisitedSet } from '../visited-set.js';
import { freezeGraph, type HnswBuildState, type HnswGraph } from './graph.js';
import { NeighborSelector } from './select.js';

export interface HnswBuildInput {
  /** Nodes are the row offsets 0 .. count − 1. */
  readonly count: number;
  /** A scorer whose query is row `offset` (see floatScorerFactory); every scorer must rank the same way. */
  scorerFor(offset: number): Scorer;
  /** Links per node on upper layers; layer 0 keeps up to 2m (Qdrant's `m`). */
  readonly m: number;
  /** Candidate list size while inserting (Qdrant's `ef_construct`). */
  readonly efConstruct: number;
  /** Seeds the level draw: same input and seed, same graph. */
  readonly seed: number;
  /** Insertion order, a permutation of 0 .. count − 1; ascending offsets when absent. */
  readonly order?: Uint32Array;
}

/** Levels above this never happen in practice (it needs −ln U > 255 · ln m); the cap keeps them in a byte. */
const LEVEL_CAP = 255;

/**
 * Builds an HNSW graph by inserting every node in turn, as hnswlib does. Levels are floor(−ln U · mL) with
 * mL = 1 / ln m from a seeded PRNG. On each of its layers a new node links to at most m neighbours chosen by the
 * heuristic (select.ts) among the efConstruct nearest found; links are made both ways, and a neighbour whose
 * list is full (2m on layer 0, m above) re-chooses its list, new link included, by the same heuristic.
 */
export function buildHnsw(input: HnswBuildInput): HnswGraph {
  const { count, m, efConstruct, seed } = input;
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  if (!Number.isInteger(m) || m < 2 || m > 65535) throw new RangeError(`m must be an integer in [2, 65535], got ${m}`);
  if (!Number.isInteger(efConstruct) || efConstruct < 1)
    throw new RangeError(`efConstruct must be a positive integer, got ${efConstruct}`);
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
  const order = input.order;
  if (order !== undefined) checkPermutation(order, count);

  const builder = new Builder(input, assignLevels(count, m, seed));
  if (order === undefined) for (let i = 0; i < count; i++) builder.insert(i);
  else for (let i = 0; i < count; i++) builder.insert(order[i]!);
  return freezeGraph(builder.state());
}

function checkPermutation(order: Uint32Array, count: number): void {
  if (order.length !== count) throw new RangeError(`order has ${order.length} entries, expected ${count}`);
  const seen = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const node = order[i]!;
    if (node >= count || seen[node] === 1) throw new RangeError(`order is not a permutation of 0..${count - 1}`);
    seen[node] = 1;
  }
}

/** Level of each node, drawn in offset order so the result does not depend on the insertion order. */
function assignLevels(count: number, m: number, seed: number): Uint8Array {
  const next = mulberry32(seed);
  const mL = 1 / Math.log(m);
  const levels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const u = (next() + 1) / 4294967296; // (0, 1]
    levels[i] = Math.min(LEVEL_CAP, Math.floor(-Math.log(u) * mL));
  }
  return levels;
}

/**
 * Build-time adjacency (HnswBuildState) plus the signed distance of every link (what the shrink heuristic
 * needs without rescoring). Distances are "smaller is closer": similarities are negated.
 */
class Builder {
  private readonly count: number;
  private readonly m: number;
  private readonly m0: number;
  private readonly ef: number;
  private readonly efConstruct: number;
  private readonly scorerFor: (offset: number) => Scorer;
  private readonly levels: Uint8Array;
  private readonly stride0: number;
  private readonly stride: number;
  private readonly links0: Uint32Array;
  private readonly dists0: Float32Array;
  private readonly upperBase: Int32Array;
  private readonly upperLinks: Uint32Array;
  private readonly upperDists: Float32Array;
  private sign = 0;
  private entryPoint = -1;
  private maxLevel = 0;

  private readonly visited: VisitedSet;
  private readonly candidates = new CandidateHeap(256);
  private readonly results = new ResultHeap(256);
  /** The sorted result of the last layer search. */
  private readonly foundIds: Uint32Array;
  private readonly foundDists: Float64Array;
  /** Neighbours chosen for the node being inserted. */
  private readonly chosenIds: Uint32Array;
  private readonly chosenDists: Float64Array;
  /** A full list plus the new link, and what the heuristic keeps of it. */
  private readonly mergedIds: Uint32Array;
  private readonly mergedDists: Float64Array;
  private readonly keptIds: Uint32Array;
  private readonly keptDists: Float64Array;
  /** Set by the first insert that has a neighbour to score (the metric's direction is known then). */
  private selector: NeighborSelector | null = null;
  /** Result of greedy(). */
  private greedyNode = 0;
  private greedyDist = 0;

  constructor(input: HnswBuildInput, levels: Uint8Array) {
    const { count, m } = input;
    this.count = count;
    this.m = m;
    this.m0 = 2 * m;
    this.efConstruct = input.efConstruct;
    this.ef = Math.max(input.efConstruct, m);
    this.scorerFor = (offset) => input.scorerFor(offset);
    this.levels = levels;
    this.stride0 = this.m0 + 1;
    this.stride = m + 1;
    this.links0 = new Uint32Array(count * this.stride0);
    this.dists0 = new Float32Array(count * this.stride0);
    this.upperBase = new Int32Array(count);
    let upperLists = 0;
    for (let i = 0; i < count; i++) {
      const level = levels[i]!;
      this.upperBase[i] = level === 0 ? -1 : upperLists * this.stride;
      upperLists += level;
    }
    this.upperLinks = new Uint32Array(upperLists * this.stride);
    this.upperDists = new Float32Array(upperLists * this.stride);
    this.visited = new VisitedSet(count);
    this.foundIds = new Uint32Array(this.ef + 1);
    this.foundDists = new Float64Array(this.ef + 1);
    this.chosenIds = new Uint32Array(m);
    this.chosenDists = new Float64Array(m);
    this.mergedIds = new Uint32Array(this.m0 + 1);
    this.mergedDists = new Float64Array(this.m0 + 1);
    this.keptIds = new Uint32Array(this.m0);
    this.keptDists = new Float64Array(this.m0);
  }

  state(): HnswBuildState {
    return {
      count: this.count,
      m: this.m,
      efConstruct: this.efConstruct,
      entryPoint: this.entryPoint,
      maxLevel: this.maxLevel,
      levels: this.levels,
      links0: this.links0,
      upperBase: this.upperBase,
      upperLinks: this.upperLinks,
    };
  }

  /** Start of `node`'s list on `level` (the count slot) in links0 (level 0) or upperLinks. */
  private listStart(node: number, level: number): number {
    return level === 0 ? node * this.stride0 : this.upperBase[node]! + (level - 1) * this.stride;
  }

  insert(node: number): void {
    const level = this.levels[node]!;
    if (this.entryPoint < 0) {
      this.entryPoint = node;
      this.maxLevel = level;
      return;
    }
    const scorer = this.scorerFor(node);
    if (this.sign === 0) {
      this.sign = scorer.higherIsBetter ? -1 : 1;
      this.selector = new NeighborSelector(this.scorerFor, this.sign);
    }
    const selector = this.selector!;
    let cur = this.entryPoint;
    let curDist = this.sign * scorer.score(cur);
    for (let l = this.maxLevel; l > level; l--) {
      this.greedy(scorer, l, cur, curDist);
      cur = this.greedyNode;
      curDist = this.greedyDist;
    }
    for (let l = Math.min(level, this.maxLevel); l >= 0; l--) {
      const found = this.searchLayer(scorer, l, cur, curDist);
      cur = this.foundIds[0]!;
      curDist = this.foundDists[0]!;
      // m on every layer, layer 0 included: the reverse links fill layer-0 lists up to 2m
      const chosen = selector.select(this.foundIds, this.foundDists, found, this.m, this.chosenIds, this.chosenDists);
      const links = l === 0 ? this.links0 : this.upperLinks;
      const dists = l === 0 ? this.dists0 : this.upperDists;
      const start = this.listStart(node, l);
      links[start] = chosen;
      for (let j = 0; j < chosen; j++) {
        links[start + 1 + j] = this.chosenIds[j]!;
        dists[start + 1 + j] = this.chosenDists[j]!;
      }
      for (let j = 0; j < chosen; j++) this.connect(this.chosenIds[j]!, node, this.chosenDists[j]!, l);
    }
    if (level > this.maxLevel) {
      this.maxLevel = level;
      this.entryPoint = node;
    }
  }

  /** Greedy walk on an upper layer: moves to the closest neighbour until none is closer. */
  private greedy(scorer: Scorer, level: number, cur: number, curDist: number): void {
    const links = this.upperLinks;
    const sign = this.sign;
    let changed = true;
    while (changed) {
      changed = false;
      const start = this.listStart(cur, level);
      const end = start + 1 + links[start]!;
      for (let j = start + 1; j < end; j++) {
        const next = links[j]!;
        const d = sign * scorer.score(next);
        if (d < curDist) {
          curDist = d;
          cur = next;
          changed = true;
        }
      }
    }
    this.greedyNode = cur;
    this.greedyDist = curDist;
  }

  /** ef-search on one layer from one entry; leaves the found nodes nearest first in foundIds/foundDists. */
  private searchLayer(scorer: Scorer, level: number, entry: number, entryDist: number): number {
    const visited = this.visited;
    const candidates = this.candidates;
    const results = this.results;
    const links = level === 0 ? this.links0 : this.upperLinks;
    const sign = this.sign;
    const ef = this.ef;
    visited.clear();
    candidates.clear();
    results.clear();
    visited.add(entry);
    candidates.push(entry, entryDist);
    results.push(entry, entryDist);
    while (candidates.size > 0) {
      if (results.size >= ef && candidates.topDist() > results.worstDist()) break;
      const start = this.listStart(candidates.pop(), level);
      const end = start + 1 + links[start]!;
      for (let j = start + 1; j < end; j++) {
        const next = links[j]!;
        if (!visited.visit(next)) continue;
        const d = sign * scorer.score(next);
        if (results.size < ef || d < results.worstDist()) {
          candidates.push(next, d);
          results.push(next, d);
          if (results.size > ef) results.pop();
        }
      }
    }
    return results.drainSorted(this.foundIds, this.foundDists);
  }

  /** Adds the link from → to (distance known); a full list is re-chosen by the heuristic. */
  private connect(from: number, to: number, dist: number, level: number): void {
    const links = level === 0 ? this.links0 : this.upperLinks;
    const dists = level === 0 ? this.dists0 : this.upperDists;
    const cap = level === 0 ? this.m0 : this.m;
    const start = this.listStart(from, level);
    const n = links[start]!;
    if (n < cap) {
      // lists stay sorted nearest first, so a later shrink needs no sort
      let j = n;
      while (j > 0 && dists[start + j]! > dist) {
        links[start + j + 1] = links[start + j]!;
        dists[start + j + 1] = dists[start + j]!;
        j--;
      }
      links[start + j + 1] = to;
      dists[start + j + 1] = dist;
      links[start] = n + 1;
      return;
    }
    const mergedIds = this.mergedIds;
    const mergedDists = this.mergedDists;
    let merged = 0;
    let placed = false;
    for (let j = 1; j <= n; j++) {
      const d = dists[start + j]!;
      if (!placed && dist < d) {
        mergedIds[merged] = to;
        mergedDists[merged++] = dist;
        placed = true;
      }
      mergedIds[merged] = links[start + j]!;
      mergedDists[merged++] = d;
    }
    if (!placed) {
      mergedIds[merged] = to;
      mergedDists[merged++] = dist;
    }
    const kept = this.selector!.select(mergedIds, mergedDists, merged, cap, this.keptIds, this.keptDists);
    links[start] = kept;
    for (let j = 0; j < kept; j++) {
      links[start + 1 + j] = this.keptIds[j]!;
      dists[start + 1 + j] = this.keptDists[j]!;
    }
  }
}
