import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bindQuery,
  buildColumnOrder,
  buildHnsw,
  columnBytes,
  columnCell,
  columnView,
  createSegmentMemory,
  filterKey,
  floatScorerFactory,
  KernelScorer,
  kernelBatchDeps,
  METRICS,
  searchSegment,
  searchSegmentBatch,
  setTombstone,
  tombstoneWords,
  vectorsView,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/index.js';
import { rng } from '../../helpers/server.js';

/**
 * searchSegmentBatch against one searchSegment per query, on random segments (tombstones, typed columns, a payload
 * field without a column) with and without a graph, and random batches mixing repeated filters (built separately,
 * so only their structure is shared), different ones and none, k, exact, ef and thresholds: the same rows in the
 * same order, the same branch and counts, scores within 1e-5 relative (in fact equal: the block kernels are
 * bit-identical to the single-query ones).
 */
const DISTANCES = ['Cosine', 'Dot', 'Euclid', 'Manhattan'] as const;

type Spec =
  | { t: 'none' }
  | { t: 'cat'; v: number }
  | { t: 'price'; lo: number; hi: number }
  | { t: 'and'; v: number; lo: number; hi: number }
  | { t: 'not'; v: number }
  | { t: 'tag'; v: string }
  | { t: 'ids'; rows: number[] }
  | { t: 'or'; v: number; tag: string };

const specArb: fc.Arbitrary<Spec> = fc.oneof(
  fc.constant({ t: 'none' as const }),
  fc.record({ t: fc.constant('cat' as const), v: fc.integer({ min: 0, max: 6 }) }),
  fc.record({
    t: fc.constant('price' as const),
    lo: fc.integer({ min: 0, max: 90 }),
    hi: fc.integer({ min: 1, max: 60 }),
  }),
  fc.record({
    t: fc.constant('and' as const),
    v: fc.integer({ min: 0, max: 6 }),
    lo: fc.integer({ min: 0, max: 50 }),
    hi: fc.integer({ min: 10, max: 80 }),
  }),
  fc.record({ t: fc.constant('not' as const), v: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ t: fc.constant('tag' as const), v: fc.constantFrom('a', 'b', 'c') }),
  fc.record({ t: fc.constant('ids' as const), rows: fc.array(fc.integer({ min: 0, max: 599 }), { maxLength: 30 }) }),
  fc.record({ t: fc.constant('or' as const), v: fc.integer({ min: 0, max: 6 }), tag: fc.constantFrom('a', 'b') }),
);

/** A fresh Condition object for the spec each time: batches must share by structure, not identity. */
function condition(spec: Spec, uid: number): unknown {
  const cat = (v: number) => ({ kind: 'match', path: ['c'], values: [v] });
  const price = (lo: number, hi: number) => ({
    kind: 'range',
    path: ['p'],
    bounds: { gte: lo, lt: lo + hi },
    datetime: false,
  });
  const tag = (v: string) => ({ kind: 'match', path: ['t'], values: [v] });
  switch (spec.t) {
    case 'none':
      return null;
    case 'cat':
      return cat(spec.v);
    case 'price':
      return price(spec.lo, spec.hi);
    case 'and':
      return { kind: 'and', items: [cat(spec.v), price(spec.lo, spec.hi)] };
    case 'not':
      return { kind: 'not', item: cat(spec.v) };
    case 'tag':
      return tag(spec.v);
    case 'ids':
      return { kind: 'has_id', rows: new Map([[uid, new Set(spec.rows)]]) };
    case 'or':
      return { kind: 'or', items: [cat(spec.v), tag(spec.tag)] };
  }
}

const segmentArb = fc.record({
  distance: fc.constantFrom(...DISTANCES),
  count: fc.integer({ min: 1, max: 600 }),
  dim: fc.integer({ min: 2, max: 40 }),
  deletedShare: fc.constantFrom(0, 0.05, 0.3),
  withGraph: fc.boolean(),
  sortedColumns: fc.boolean(),
  seed: fc.integer(),
});

const queryArb = fc.record({
  filter: fc.integer({ min: 0, max: 4 }), // index into the batch's filter pool: repeats are common
  k: fc.integer({ min: 1, max: 25 }),
  exact: fc.boolean({ weight: 5 }) as fc.Arbitrary<boolean>,
  ef: fc.integer({ min: 8, max: 64 }),
  plainThreshold: fc.constantFrom(0, 10, 60, 200, 100000),
  seed: fc.integer(),
});

const batchArb = fc.record({
  segment: segmentArb,
  pool: fc.array(specArb, { minLength: 5, maxLength: 5 }),
  queries: fc.array(queryArb, { minLength: 1, maxLength: 20 }),
});

interface SegmentCase {
  readonly distance: (typeof DISTANCES)[number];
  readonly count: number;
  readonly dim: number;
  readonly deletedShare: number;
  readonly withGraph: boolean;
  readonly sortedColumns: boolean;
  readonly seed: number;
}

function makeSegment(c: SegmentCase) {
  const { count, dim, seed } = c;
  const rnd = rng(seed);
  const memory = createSegmentMemory(dim, count, count);
  const vectors = vectorsView(memory, dim, count);
  for (let i = 0; i < vectors.length; i++) vectors[i] = rnd() * 2 - 1;
  const payloads = Array.from({ length: count }, (_, o) => {
    const p: Record<string, unknown> = { c: Math.floor(rnd() * 7), t: ['a', 'b', 'c'][o % 3] };
    // some rows lack the price or hold a string there (absent cells: the payload answers)
    if (o % 13 !== 0) p.p = o % 29 === 0 ? '12' : Math.floor(rnd() * 1000) / 10;
    return p;
  });
  const columns = (['c', 'p'] as const).map((path) => {
    const handle = { path, kind: 'number', data: new SharedArrayBuffer(columnBytes('number', count)) };
    const cells = columnView(handle);
    payloads.forEach((p, o) => {
      cells[o] = columnCell('number', p, [path], () => 0);
    });
    return handle;
  });
  const tombstones = new Uint32Array(tombstoneWords(count));
  let deleted = 0;
  for (let o = 0; o < count; o++) {
    if (rnd() < c.deletedShare) {
      setTombstone(tombstones, o);
      deleted++;
    }
  }
  const orders = new Map();
  const segment = {
    uid: 7,
    dim,
    count,
    liveCount: count - deleted,
    vectors,
    tombstones,
    columns,
    columnOrder: c.sortedColumns
      ? (column: { path: string }) => {
          if (!orders.has(column.path)) orders.set(column.path, buildColumnOrder(column, count));
          return orders.get(column.path);
        }
      : undefined,
    payload: (o: number) => payloads[o],
  };
  const metric = METRICS[c.distance];
  const graph = c.withGraph
    ? buildHnsw({ count, scorerFor: floatScorerFactory(vectors, dim, metric), m: 8, efConstruct: 40, seed: 5 })
    : null;
  return { memory, segment, graph, metric };
}

function one(fixture: ReturnType<typeof makeSegment>, distance: string, query: any, backend?: 'js') {
  const kernels = bindQuery(fixture.memory, fixture.segment.dim, distance, query.vector, backend ? { backend } : {});
  try {
    return searchSegment(fixture.segment, fixture.graph, query, new KernelScorer(kernels, distance), fixture.metric);
  } finally {
    kernels.release();
  }
}

function expectSame(batch: any, single: any) {
  expect(batch.plan).toEqual(single.plan);
  expect([...batch.offsets]).toEqual([...single.offsets]);
  batch.raws.forEach((raw: number, i: number) => {
    const want = single.raws[i];
    expect(Math.abs(raw - want)).toBeLessThanOrEqual(1e-5 * Math.max(Math.abs(want), 1e-6));
  });
}

function runCase(
  { segment: c, pool, queries }: { segment: SegmentCase; pool: Spec[]; queries: any[] },
  backend?: 'js',
) {
  const fixture = makeSegment(c);
  const rnd = rng(c.seed ^ 0x5bd1e995);
  const batch = queries.map((q: any) => ({
    vector: Float32Array.from({ length: c.dim }, () => rnd() * 2 - 1),
    k: q.k,
    filter: condition(pool[q.filter]!, fixture.segment.uid),
    exact: q.exact,
    ef: q.ef,
    plainThreshold: q.plainThreshold,
  }));
  const deps = kernelBatchDeps(fixture.memory, c.dim, c.distance, backend ? { backend } : {});
  const got = searchSegmentBatch(fixture.segment, fixture.graph, batch, deps, fixture.metric);
  expect(got.length).toBe(batch.length);
  batch.forEach((query: any, i: number) => {
    expectSame(got[i], one(fixture, c.distance, query, backend));
  });
  return got.map((h: any) => h.plan.branch);
}

describe('searchSegmentBatch', () => {
  it('returns what searchSegment returns for every query (random segments, filters, k; with and without a graph)', () => {
    const branches = new Set<string>();
    fc.assert(
      fc.property(batchArb, (value) => {
        for (const b of runCase(value)) branches.add(b);
      }),
      { numRuns: 60, seed: 42 },
    );
    // the cases reached every exact branch and the graph ones (the batch's two paths)
    for (const b of ['plain', 'plain_filtered', 'graph', 'filtered_graph']) expect(branches).toContain(b);
  });

  it('returns the same with the JS kernels (no WASM SIMD, or no free scratch run)', () => {
    fc.assert(
      fc.property(batchArb, (value) => {
        runCase(value, 'js');
      }),
      { numRuns: 15, seed: 7 },
    );
  });

  it('keys structurally identical filters alike, has_id lists by content', () => {
    const ids = (rows: number[]) => ({ kind: 'has_id', rows: new Map([[1, new Set(rows)]]) });
    expect(filterKey(ids([3, 1, 2]))).toBe(filterKey(ids([1, 2, 3])));
    expect(filterKey(ids([1, 2]))).not.toBe(filterKey(ids([1, 2, 3])));
    expect(filterKey(condition({ t: 'and', v: 1, lo: 2, hi: 3 }, 1) as never)).toBe(
      filterKey(condition({ t: 'and', v: 1, lo: 2, hi: 3 }, 1) as never),
    );
    expect(filterKey(null)).not.toBe(filterKey(condition({ t: 'cat', v: 0 }, 1) as never));
  });
});
