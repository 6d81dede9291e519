import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildHnsw,
  CandidateHeap,
  createFloatScorer,
  decodeHnsw,
  encodeHnsw,
  encodeHnswInto,
  floatScorerFactory,
  hnswByteLength,
  METRICS,
  normalizeInPlace,
  ResultHeap,
  searchHnsw,
  VisitedSet,
  verifyHnsw,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/index.js';
import { CLUSTERED, readJson, readVecs, seededUniform } from '../../helpers/dataset.js';

type Metric = (typeof METRICS)['Euclid'];
type Graph = ReturnType<typeof buildHnsw>;
type Accept = (offset: number) => boolean;

const K = 10;
const M = 16;
const EF_CONSTRUCT = 100;
const SEED = 42;

interface Flat {
  readonly count: number;
  readonly dim: number;
  readonly data: Float32Array;
}

function flatten(rows: number[][]): Flat {
  const dim = rows[0]?.length ?? 0;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((row, i) => {
    data.set(row, i * dim);
  });
  return { count: rows.length, dim, data };
}

function row(flat: Flat, i: number): Float32Array {
  return flat.data.subarray(i * flat.dim, (i + 1) * flat.dim);
}

/** Seeded vectors in [-1, 1) for the small structural tests. */
function randomVectors(count: number, dim: number, seed: number): Flat {
  return { count, dim, data: seededUniform(count * dim, seed) };
}

function build(flat: Flat, metric: Metric, seed = SEED, m = M, efConstruct = EF_CONSTRUCT): Graph {
  return buildHnsw({
    count: flat.count,
    scorerFor: floatScorerFactory(flat.data, flat.dim, metric),
    m,
    efConstruct,
    seed,
  });
}

function search(graph: Graph, base: Flat, query: Float32Array, metric: Metric, k: number, ef: number, accept?: Accept) {
  const scorer = createFloatScorer(base.data, base.dim, query, metric);
  return searchHnsw(graph, scorer, k, ef, accept === undefined ? {} : { accept });
}

/** Exact filtered top-k offsets, best first. */
function bruteForce(base: Flat, query: Float32Array, metric: Metric, k: number, accept?: Accept): number[] {
  const scored: [number, number][] = [];
  for (let i = 0; i < base.count; i++) {
    if (accept !== undefined && !accept(i)) continue;
    scored.push([metric.raw(query, 0, base.data, i * base.dim, base.dim), i]);
  }
  scored.sort((a, b) => (metric.higherIsBetter ? b[0] - a[0] : a[0] - b[0]) || a[1] - b[1]);
  return scored.slice(0, k).map(([, i]) => i);
}

function recall(got: ArrayLike<number>, want: ArrayLike<number>, k: number): number {
  const wanted = new Set(Array.from(want).slice(0, k));
  let hits = 0;
  for (const o of Array.from(got).slice(0, k)) if (wanted.has(o)) hits++;
  return hits / Math.min(k, wanted.size || k);
}

/** Byte equality without a per-element deep compare (graphs are ~1 MB). */
function sameBytes(a: ArrayBufferLike, b: ArrayBufferLike): boolean {
  return Buffer.compare(new Uint8Array(a), new Uint8Array(b)) === 0;
}

function expectWellFormed(hits: { offsets: Uint32Array; raws: Float64Array }, metric: Metric, accept?: Accept) {
  const offsets = Array.from(hits.offsets);
  expect(new Set(offsets).size).toBe(offsets.length);
  if (accept !== undefined) for (const o of offsets) expect(accept(o)).toBe(true);
  for (let i = 1; i < hits.raws.length; i++) {
    const [prev, cur] = [hits.raws[i - 1]!, hits.raws[i]!];
    expect(metric.higherIsBetter ? prev >= cur : prev <= cur).toBe(true);
  }
}

// A multiplicative hash: ~10 % of offsets, scattered over every cluster.
const tenPercent: Accept = (o) => Math.imul(o, 2654435761) >>> 0 < 429496730;
const half: Accept = (o) => o % 2 === 0;

describe('HNSW on the clustered 10k set', () => {
  let base: Flat;
  let queries: Flat;
  let gtL2: number[][];
  let gtCos: number[][];
  let l2Graph: Graph;
  let baseCos: Flat;
  let queriesCos: Flat;
  let cosGraph: Graph;

  beforeAll(() => {
    base = flatten(readVecs(path.join(CLUSTERED, 'base.fvecs'), 'f'));
    queries = flatten(readVecs(path.join(CLUSTERED, 'query.fvecs'), 'f'));
    gtL2 = readVecs(path.join(CLUSTERED, 'gt.l2.ivecs'), 'i');
    gtCos = readVecs(path.join(CLUSTERED, 'gt.cos.ivecs'), 'i');
    baseCos = { ...base, data: base.data.slice() };
    queriesCos = { ...queries, data: queries.data.slice() };
    for (let i = 0; i < baseCos.count; i++) normalizeInPlace(row(baseCos, i));
    for (let i = 0; i < queriesCos.count; i++) normalizeInPlace(row(queriesCos, i));

    let t = performance.now();
    l2Graph = build(base, METRICS.Euclid);
    const l2Ms = performance.now() - t;
    t = performance.now();
    cosGraph = build(baseCos, METRICS.Dot);
    const cosMs = performance.now() - t;
    console.log(
      `HNSW build, ${base.count} x ${base.dim}, m=${M} efConstruct=${EF_CONSTRUCT}: ` +
        `Euclid ${l2Ms.toFixed(0)} ms (maxLevel ${l2Graph.maxLevel}, ${(l2Graph.layers[0].neighbors.length / base.count).toFixed(1)} links/node on layer 0), ` +
        `Cosine ${cosMs.toFixed(0)} ms`,
    );
  });

  it.each([
    ['Euclid', () => [l2Graph, base, queries, gtL2, METRICS.Euclid] as const],
    ['Cosine (normalized, Dot)', () => [cosGraph, baseCos, queriesCos, gtCos, METRICS.Dot] as const],
  ])('recall@10 >= 0.95 at ef=64: %s', (name, setup) => {
    const [graph, vectors, qs, gt, metric] = setup();
    let total = 0;
    let evaluations = 0;
    for (let q = 0; q < qs.count; q++) {
      const hits = search(graph, vectors, row(qs, q), metric, K, 64);
      expectWellFormed(hits, metric);
      expect(hits.offsets.length).toBe(K);
      total += recall(hits.offsets, gt[q]!, K);
      evaluations += hits.distanceEvaluations;
    }
    const r = total / qs.count;
    let low = 0;
    for (let q = 0; q < qs.count; q++)
      low += recall(search(graph, vectors, row(qs, q), metric, K, 10).offsets, gt[q]!, K);
    console.log(
      `${name}: recall@10 ${r.toFixed(4)} at ef=64 (${(evaluations / qs.count).toFixed(0)} distance evaluations/query), ` +
        `${(low / qs.count).toFixed(4)} at ef=10`,
    );
    expect(r).toBeGreaterThanOrEqual(0.95);
  });

  it.each([
    ['50 % (even offsets)', half],
    ['10 % (hashed offsets)', tenPercent],
  ] as const)('filtered recall@10 >= 0.95 at ef=128: %s', (name, accept) => {
    let total = 0;
    let evaluations = 0;
    for (let q = 0; q < queries.count; q++) {
      const query = row(queries, q);
      const hits = search(l2Graph, base, query, METRICS.Euclid, K, 128, accept);
      expectWellFormed(hits, METRICS.Euclid, accept);
      expect(hits.offsets.length).toBe(K);
      total += recall(hits.offsets, bruteForce(base, query, METRICS.Euclid, K, accept), K);
      evaluations += hits.distanceEvaluations;
    }
    const r = total / queries.count;
    console.log(
      `filter ${name}: recall@10 ${r.toFixed(4)}, ${(evaluations / queries.count).toFixed(0)} evaluations/query`,
    );
    expect(r).toBeGreaterThanOrEqual(0.95);
  });

  it("filtered recall on the dataset's own (category, price) filters at 50 % and 10 %", () => {
    const attrs = readJson<{ category: number[]; price: number[] }>(path.join(CLUSTERED, 'attrs.json'));
    const filters = readJson<{
      sets: { sel: number; queries: { qi: number; priceLo: number; priceHi: number; category?: number }[] }[];
    }>(path.join(CLUSTERED, 'filters.json'));
    for (const sel of [0.5, 0.1]) {
      const gt = readVecs(path.join(CLUSTERED, `gt.filtered.l2.s${sel}.ivecs`), 'i');
      const set = filters.sets.find((s) => s.sel === sel)!;
      let total = 0;
      for (const f of set.queries) {
        const accept: Accept = (o) =>
          (f.category === undefined || attrs.category[o] === f.category) &&
          attrs.price[o]! >= f.priceLo &&
          attrs.price[o]! < f.priceHi;
        const hits = search(l2Graph, base, row(queries, f.qi), METRICS.Euclid, K, 128, accept);
        expectWellFormed(hits, METRICS.Euclid, accept);
        total += recall(hits.offsets, gt[f.qi]!, K);
      }
      const r = total / set.queries.length;
      console.log(`dataset filter s=${sel}: recall@10 ${r.toFixed(4)} at ef=128`);
      expect(r).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('returns only accepted points under very selective filters, and nothing when nothing is accepted', () => {
    const onePercent: Accept = (o) => Math.imul(o, 2654435761) >>> 0 < 42949673;
    for (let q = 0; q < 10; q++) {
      const query = row(queries, q);
      const hits = search(l2Graph, base, query, METRICS.Euclid, K, 64, onePercent);
      expectWellFormed(hits, METRICS.Euclid, onePercent);
      expect(hits.offsets.length).toBe(K);
      const none = search(l2Graph, base, query, METRICS.Euclid, K, 64, () => false);
      expect(none.offsets.length).toBe(0);
      expect(none.raws.length).toBe(0);
      // it explored (the whole reachable graph) without crashing
      expect(none.distanceEvaluations).toBeGreaterThan(0);
      expect(none.distanceEvaluations).toBeLessThanOrEqual(base.count + 200);
    }
  });

  it('reports raw kernel values that match the metric', () => {
    const query = row(queries, 0);
    const hits = search(l2Graph, base, query, METRICS.Euclid, K, 64);
    hits.offsets.forEach((o: number, i: number) => {
      expect(hits.raws[i]).toBe(METRICS.Euclid.raw(query, 0, base.data, o * base.dim, base.dim));
    });
    const cos = search(cosGraph, baseCos, row(queriesCos, 0), METRICS.Dot, K, 64);
    expect(cos.raws[0]).toBeGreaterThan(0.5);
    expect(cos.raws[0]).toBeLessThanOrEqual(1 + 1e-6);
  });

  it('round-trips through the binary format with identical results', () => {
    const bytes = encodeHnsw(l2Graph);
    expect(bytes.byteLength).toBe(hnswByteLength(l2Graph));
    // decode from inside a larger shared buffer, as storage will
    const shared = new SharedArrayBuffer(bytes.byteLength + 64);
    expect(encodeHnswInto(l2Graph, shared, 16)).toBe(bytes.byteLength);
    const decoded = decodeHnsw(shared, 16);
    verifyHnsw(decoded);
    expect(decoded.layers[0].neighbors.buffer).toBe(shared); // a view, not a copy
    expect(sameBytes(encodeHnsw(decoded), bytes)).toBe(true);
    for (let q = 0; q < queries.count; q++) {
      const a = search(l2Graph, base, row(queries, q), METRICS.Euclid, K, 64, half);
      const b = search(decoded, base, row(queries, q), METRICS.Euclid, K, 64, half);
      expect(Array.from(b.offsets)).toEqual(Array.from(a.offsets));
      expect(Array.from(b.raws)).toEqual(Array.from(a.raws));
      expect(b.distanceEvaluations).toBe(a.distanceEvaluations);
    }
  });

  it('prints single-thread QPS (not asserted)', () => {
    const scorers = Array.from({ length: queries.count }, (_, q) =>
      createFloatScorer(base.data, base.dim, row(queries, q), METRICS.Euclid),
    );
    for (const s of scorers) searchHnsw(l2Graph, s, K, 64); // warm-up
    const visited = new VisitedSet(base.count);
    let searches = 0;
    const start = performance.now();
    while (performance.now() - start < 2000) {
      for (const s of scorers) searchHnsw(l2Graph, s, K, 64, { visited });
      searches += scorers.length;
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(`searchHnsw QPS (Euclid, ef=64, k=10, 1 thread, JS kernels): ${(searches / seconds).toFixed(0)}`);
  });
});

describe('HNSW structure and edge cases', () => {
  const small = randomVectors(300, 8, 7);

  it('handles empty and single-point graphs', () => {
    const empty = buildHnsw({
      count: 0,
      scorerFor: floatScorerFactory(small.data, 8, METRICS.Euclid),
      m: 4,
      efConstruct: 10,
      seed: 1,
    });
    expect(empty.entryPoint).toBe(-1);
    verifyHnsw(empty);
    expect(empty.layers[0].offsets.length).toBe(1);
    const none = search(empty, small, row(small, 0), METRICS.Euclid, 5, 10);
    expect(none.offsets.length).toBe(0);
    expect(none.distanceEvaluations).toBe(0);
    const emptyDecoded = decodeHnsw(encodeHnsw(empty));
    expect(search(emptyDecoded, small, row(small, 0), METRICS.Euclid, 5, 10).offsets.length).toBe(0);

    const one = buildHnsw({
      count: 1,
      scorerFor: floatScorerFactory(small.data, 8, METRICS.Euclid),
      m: 4,
      efConstruct: 10,
      seed: 1,
    });
    expect(one.entryPoint).toBe(0);
    const hits = search(one, small, row(small, 5), METRICS.Euclid, 5, 10);
    expect(Array.from(hits.offsets)).toEqual([0]);
    expect(search(one, small, row(small, 5), METRICS.Euclid, 5, 10, () => false).offsets.length).toBe(0);
  });

  it('returns every point, best first, when k exceeds the count', () => {
    const graph = build(small, METRICS.Euclid, 3, 6, 32);
    const query = row(small, 17);
    const hits = search(graph, small, query, METRICS.Euclid, 1000, 16);
    expect(hits.offsets.length).toBe(small.count);
    expectWellFormed(hits, METRICS.Euclid);
    expect(hits.offsets[0]).toBe(17);
    expect(Array.from(hits.offsets)).toEqual(bruteForce(small, query, METRICS.Euclid, 1000));
    const filtered = search(graph, small, query, METRICS.Euclid, 1000, 16, half);
    expect(filtered.offsets.length).toBe(small.count / 2);
    expectWellFormed(filtered, METRICS.Euclid, half);
  });

  it('keeps link caps and never links a node to itself', () => {
    const m = 6;
    const graph = build(small, METRICS.Euclid, 9, m, 40);
    graph.layers.forEach((layer: Graph['layers'][number], level: number) => {
      const cap = level === 0 ? 2 * m : m;
      const rows = layer.offsets.length - 1;
      for (let r = 0; r < rows; r++) {
        const node = level === 0 ? r : layer.nodes![r]!;
        if (level > 0) expect(graph.levels[node]).toBeGreaterThanOrEqual(level);
        const list = Array.from(layer.neighbors.subarray(layer.offsets[r], layer.offsets[r + 1]));
        expect(list.length).toBeLessThanOrEqual(cap);
        // only a lone node (the top layer's entry point) has nobody to link to
        if (rows > 1) expect(list.length).toBeGreaterThan(0);
        expect(list).not.toContain(node);
        expect(new Set(list).size).toBe(list.length);
        for (const n of list) expect(graph.levels[n]).toBeGreaterThanOrEqual(level);
      }
    });
    expect(graph.levels[graph.entryPoint]).toBe(graph.maxLevel);
    verifyHnsw(graph);
    const bytes = encodeHnsw(graph);
    verifyHnsw(decodeHnsw(bytes));
    // a link out of range decodes (lengths are fine) but does not verify
    const corrupt = decodeHnsw(bytes.slice(0));
    corrupt.layers[0].neighbors[3] = small.count;
    expect(() => verifyHnsw(corrupt)).toThrow(/links to node/);
  });

  it('is deterministic: same seed, same bytes; another seed, another graph', () => {
    const a = encodeHnsw(build(small, METRICS.Euclid, 11, 6, 32));
    const b = encodeHnsw(build(small, METRICS.Euclid, 11, 6, 32));
    const c = encodeHnsw(build(small, METRICS.Euclid, 12, 6, 32));
    expect(sameBytes(a, b)).toBe(true);
    expect(sameBytes(a, c)).toBe(false);
  });

  it('rejects bad build and search arguments', () => {
    const scorerFor = floatScorerFactory(small.data, 8, METRICS.Euclid);
    expect(() => buildHnsw({ count: 10, scorerFor, m: 1, efConstruct: 10, seed: 1 })).toThrow(RangeError);
    expect(() => buildHnsw({ count: -1, scorerFor, m: 4, efConstruct: 10, seed: 1 })).toThrow(RangeError);
    expect(() =>
      buildHnsw({ count: 3, scorerFor, m: 4, efConstruct: 10, seed: 1, order: Uint32Array.of(0, 0, 1) }),
    ).toThrow(/permutation/);
    const graph = build(small, METRICS.Euclid, 1, 4, 10);
    expect(() => search(graph, small, row(small, 0), METRICS.Euclid, 5, 0)).toThrow(RangeError);
    expect(() => createFloatScorer(small.data, 8, new Float32Array(7), METRICS.Euclid)).toThrow(RangeError);
  });

  it('builds the same quality graph in another insertion order', () => {
    const order = new Uint32Array(small.count).map((_, i) => small.count - 1 - i);
    const graph = buildHnsw({
      count: small.count,
      scorerFor: floatScorerFactory(small.data, small.dim, METRICS.Euclid),
      m: 6,
      efConstruct: 32,
      seed: 5,
      order,
    });
    let total = 0;
    for (let q = 0; q < 20; q++) {
      const query = row(small, q * 7);
      total += recall(
        search(graph, small, query, METRICS.Euclid, 5, 32).offsets,
        bruteForce(small, query, METRICS.Euclid, 5),
        5,
      );
    }
    expect(total / 20).toBeGreaterThanOrEqual(0.9);
  });

  it('rejects truncated, foreign and corrupt buffers with a RangeError that says why', () => {
    const bytes = new Uint8Array(encodeHnsw(build(small, METRICS.Euclid, 2, 6, 32)));
    const copy = (): Uint8Array => bytes.slice();
    expect(() => decodeHnsw(bytes.slice(0, 20).buffer)).toThrow(/truncated/);
    expect(() => decodeHnsw(bytes.slice(0, bytes.length - 4).buffer)).toThrow(/truncated/);
    const badMagic = copy();
    badMagic[0] = 0x58;
    expect(() => decodeHnsw(badMagic.buffer)).toThrow(/magic/);
    const badVersion = copy();
    new DataView(badVersion.buffer).setUint32(4, 2, true);
    expect(() => decodeHnsw(badVersion.buffer)).toThrow(/version/);
    const badLayers = copy();
    new DataView(badLayers.buffer).setUint32(28, 99, true);
    expect(() => decodeHnsw(badLayers.buffer)).toThrow(RangeError);
    expect(() => decodeHnsw(bytes.buffer, 2)).toThrow(/multiple of 4/);
    expect(() => decodeHnsw(new ArrayBuffer(0))).toThrow(RangeError);
  });
});

describe('VisitedSet', () => {
  it('forgets marks on clear, across generation wrap-around', () => {
    const set = new VisitedSet(10);
    for (let round = 0; round < 700; round++) {
      for (let i = 0; i < 10; i++) expect(set.has(i)).toBe(false);
      const marked = round % 10;
      expect(set.visit(marked)).toBe(true);
      expect(set.visit(marked)).toBe(false);
      expect(set.has(marked)).toBe(true);
      expect(set.has((marked + 1) % 10)).toBe(false);
      set.clear();
      expect(set.generation).toBeGreaterThanOrEqual(1);
      expect(set.generation).toBeLessThanOrEqual(255);
    }
  });

  it('grows on ensureCapacity and starts clean', () => {
    const set = new VisitedSet(2);
    set.add(1);
    set.ensureCapacity(1);
    expect(set.has(1)).toBe(true);
    set.ensureCapacity(100);
    expect(set.capacity).toBeGreaterThanOrEqual(100);
    expect(set.has(1)).toBe(false);
    set.add(99);
    expect(set.has(99)).toBe(true);
  });
});

describe('candidate and result heaps', () => {
  it('pop in distance order and keep the nearest n (ties by offset), through replaceWorst and drainBest', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -20, max: 20 }), { maxLength: 300 }),
        fc.integer({ min: 1, max: 40 }),
        (dists, n) => {
          const candidates = new CandidateHeap(2);
          const results = new ResultHeap(2);
          // the search's form: once full, a closer entry replaces the farthest in one step
          const replaced = new ResultHeap(2);
          // everything kept, then only the nearest n taken out (the search's final step)
          const unbounded = new ResultHeap(2);
          dists.forEach((d, id) => {
            unbounded.push(id, d);
            candidates.push(id, d);
            results.push(id, d);
            if (results.size > n) results.pop();
            if (replaced.size < n) replaced.push(id, d);
            else if (d < replaced.worstDist()) replaced.replaceWorst(id, d);
          });
          const popped: number[] = [];
          while (candidates.size > 0) {
            popped.push(candidates.topDist());
            candidates.pop();
          }
          expect(popped).toEqual([...dists].sort((a, b) => a - b));
          const ids = new Uint32Array(results.size);
          const out = new Float64Array(results.size);
          results.drainSorted(ids, out);
          const want = dists
            .map((d, id) => ({ d, id }))
            .sort((a, b) => a.d - b.d || a.id - b.id)
            .slice(0, n);
          expect(Array.from(ids)).toEqual(want.map((w) => w.id));
          expect(Array.from(out)).toEqual(want.map((w) => w.d));
          const replacedIds = new Uint32Array(replaced.size);
          replaced.drainSorted(replacedIds, new Float64Array(replaced.size));
          expect(Array.from(replacedIds)).toEqual(want.map((w) => w.id));
          const bestIds = new Uint32Array(n);
          const bestDists = new Float64Array(n);
          const best = unbounded.drainBest(n, bestIds, bestDists);
          expect(best).toBe(want.length);
          expect(Array.from(bestIds.subarray(0, best))).toEqual(want.map((w) => w.id));
          expect(Array.from(bestDists.subarray(0, best))).toEqual(want.map((w) => w.d));
          expect(unbounded.size).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
