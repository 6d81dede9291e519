/**
 * The HNSW build against direct references written from the paper / hnswlib with plain arrays: the
 * neighbour-selection heuristic alone, then a whole build (same levels, same distances), link for link.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  buildHnsw,
  floatScorerFactory,
  METRICS,
  NeighborSelector,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/index.js';
import { seededUniform } from '../../helpers/dataset.js';

type Metric = (typeof METRICS)['Euclid'];
type Graph = ReturnType<typeof buildHnsw>;

/** Signed distance between rows a and b (smaller is closer), through the metric's JS kernel. */
function distanceOf(data: Float32Array, dim: number, metric: Metric): (a: number, b: number) => number {
  const sign = metric.higherIsBetter ? -1 : 1;
  return (a, b) => sign * metric.raw(data, a * dim, data, b * dim, dim);
}

/**
 * The heuristic as hnswlib's getNeighborsByHeuristic2 states it: fewer than `cap` candidates are all kept; else,
 * nearest first, a candidate is kept when no kept one is closer to it than the base is, until `cap` are kept.
 */
function referenceSelect(
  candidates: readonly { id: number; dist: number }[],
  cap: number,
  dist: (a: number, b: number) => number,
): { id: number; dist: number }[] {
  if (candidates.length < cap) return [...candidates];
  const kept: { id: number; dist: number }[] = [];
  for (const c of candidates) {
    if (kept.length >= cap) break;
    if (kept.every((k) => dist(k.id, c.id) >= c.dist)) kept.push(c);
  }
  return kept;
}

/** A whole HNSW build over plain arrays (hnswlib's insert: search, select m, link both ways, shrink full lists). */
function referenceBuild(
  count: number,
  levels: Uint8Array,
  m: number,
  efConstruct: number,
  dist: (a: number, b: number) => number,
): number[][][] {
  // links[level][node] = neighbour ids, nearest first
  const maxLevel = Math.max(0, ...Array.from(levels));
  const links: number[][][] = Array.from({ length: maxLevel + 1 }, () => Array.from({ length: count }, () => []));
  const ef = Math.max(efConstruct, m);
  let entry = -1;
  let top = 0;
  const byDistThenId = (a: { id: number; dist: number }, b: { id: number; dist: number }) =>
    a.dist - b.dist || a.id - b.id;

  const searchLayer = (q: number, start: number, level: number) => {
    const visited = new Set([start]);
    const frontier = [{ id: start, dist: dist(q, start) }];
    let found = [...frontier];
    while (frontier.length > 0) {
      frontier.sort(byDistThenId);
      const worst = found.reduce((w, r) => Math.max(w, r.dist), -Infinity);
      if (found.length >= ef && frontier[0]!.dist > worst) break;
      const node = frontier.shift()!;
      for (const next of links[level]![node.id]!) {
        if (visited.has(next)) continue;
        visited.add(next);
        const d = dist(q, next);
        const worstNow = found.reduce((w, r) => Math.max(w, r.dist), -Infinity);
        if (found.length < ef || d < worstNow) {
          frontier.push({ id: next, dist: d });
          found.push({ id: next, dist: d });
          found.sort(byDistThenId);
          if (found.length > ef) found = found.slice(0, ef);
        }
      }
    }
    return found.sort(byDistThenId);
  };

  for (let q = 0; q < count; q++) {
    const level = levels[q]!;
    if (entry < 0) {
      entry = q;
      top = level;
      continue;
    }
    let cur = entry;
    for (let l = top; l > level; l--) {
      let moved = true;
      while (moved) {
        moved = false;
        for (const next of links[l]![cur]!) {
          if (dist(q, next) < dist(q, cur)) {
            cur = next;
            moved = true;
          }
        }
      }
    }
    for (let l = Math.min(level, top); l >= 0; l--) {
      const found = searchLayer(q, cur, l);
      cur = found[0]!.id;
      const chosen = referenceSelect(found, m, dist);
      links[l]![q] = chosen.map((c) => c.id);
      const cap = l === 0 ? 2 * m : m;
      for (const c of chosen) {
        // the build stores link distances as float32 (the new link's own is still exact when it is placed)
        const list = links[l]![c.id]!.map((id) => ({ id, dist: Math.fround(dist(c.id, id)) }));
        // the new link goes after the links at the same distance (stable sort)
        list.push({ id: q, dist: c.dist });
        list.sort((a, b) => a.dist - b.dist);
        links[l]![c.id] = (list.length <= cap ? list : referenceSelect(list, cap, dist)).map((x) => x.id);
      }
    }
    if (level > top) {
      top = level;
      entry = q;
    }
  }
  return links;
}

function listsOf(graph: Graph, level: number): number[][] {
  const layer = graph.layers[level]!;
  const out: number[][] = Array.from({ length: graph.count }, () => []);
  const rows = layer.offsets.length - 1;
  for (let r = 0; r < rows; r++) {
    const node = level === 0 ? r : layer.nodes![r]!;
    out[node] = Array.from(layer.neighbors.subarray(layer.offsets[r], layer.offsets[r + 1]));
  }
  return out;
}

describe('HNSW neighbour selection', () => {
  it('keeps what the reference heuristic keeps, for L2 and dot, any cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 1, max: 32 }),
        fc.boolean(),
        (seed, n, cap, dot) => {
          const dim = 6;
          const count = n + 1;
          const metric = dot ? METRICS.Dot : METRICS.Euclid;
          const data = seededUniform(count * dim, seed);
          const dist = distanceOf(data, dim, metric);
          const base = 0;
          const candidates = Array.from({ length: n }, (_, i) => ({ id: i + 1, dist: dist(base, i + 1) })).sort(
            (a, b) => a.dist - b.dist,
          );
          const ids = Uint32Array.from(candidates, (c) => c.id);
          const dists = Float64Array.from(candidates, (c) => c.dist);
          const outIds = new Uint32Array(n);
          const outDists = new Float64Array(n);
          const selector = new NeighborSelector(floatScorerFactory(data, dim, metric), dot ? -1 : 1);
          const kept = selector.select(ids, dists, n, cap, outIds, outDists);
          const want = referenceSelect(candidates, cap, dist);
          expect(Array.from(outIds.subarray(0, kept))).toEqual(want.map((c) => c.id));
          expect(Array.from(outDists.subarray(0, kept))).toEqual(want.map((c) => c.dist));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('prunes a candidate hidden behind a kept one and keeps one in another direction', () => {
    // base at the origin; 2 lies beyond 1 on the same ray; 3 is off to the side
    const data = Float32Array.of(0, 0, 1, 0, 2, 0.1, 0, 2.5);
    const metric = METRICS.Euclid;
    const dist = distanceOf(data, 2, metric);
    const selector = new NeighborSelector(floatScorerFactory(data, 2, metric), 1);
    const ids = Uint32Array.of(1, 2, 3);
    const dists = Float64Array.of(dist(0, 1), dist(0, 2), dist(0, 3));
    const out = new Uint32Array(3);
    const kept = selector.select(ids, dists, 3, 3, out, new Float64Array(3));
    expect(Array.from(out.subarray(0, kept))).toEqual([1, 3]);
    // nothing tops the list up with the pruned candidate
    expect(kept).toBe(2);
  });
});

describe('HNSW build against a plain-array reference', () => {
  it.each([
    ['Euclid', METRICS.Euclid, 4, 16],
    ['Dot', METRICS.Dot, 5, 24],
  ] as const)('links every node on every layer exactly as the reference does: %s', (_name, metric, m, efConstruct) => {
    const count = 400;
    const dim = 8;
    const data = seededUniform(count * dim, 7);
    const graph = buildHnsw({ count, scorerFor: floatScorerFactory(data, dim, metric), m, efConstruct, seed: 3 });
    const want = referenceBuild(count, graph.levels, m, efConstruct, distanceOf(data, dim, metric));
    expect(graph.maxLevel).toBe(want.length - 1);
    for (let level = 0; level <= graph.maxLevel; level++) expect(listsOf(graph, level)).toEqual(want[level]);
    // what the reference implies: the new node links to at most m on layer 0, its neighbours fill up to 2m
    const degrees = want[0]!.map((list) => list.length);
    expect(Math.max(...degrees)).toBeLessThanOrEqual(2 * m);
    expect(Math.max(...degrees)).toBeGreaterThan(m);
  });
});
