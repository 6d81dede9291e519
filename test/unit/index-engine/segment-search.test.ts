import { describe, expect, it } from 'vitest';
import {
  buildColumnOrder,
  buildHnsw,
  columnBytes,
  columnCell,
  columnView,
  compilePayloadPredicate,
  createFloatScorer,
  floatScorerFactory,
  METRICS,
  setTombstone,
  tombstoneWords,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/index.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { searchSegment } from '../../../dist/index-engine/segment-search.js';

/**
 * The planner with listed matches (filters the typed columns answer): exact scoring returns exactly the brute-force
 * top k of the live matching rows; the filtered graph, entered with an exact match count above the threshold,
 * returns only matching live rows; `exact` and segments without a graph score the list too.
 */
const COUNT = 3000;
const DIM = 16;
const K = 10;
const metric = METRICS.Euclid;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const next = lcg(11);
const vectors = Float32Array.from({ length: COUNT * DIM }, () => next() * 2 - 1);
// category 0-19; price with some rows missing it or holding a string (absent cells: the payload answers)
const payloads = Array.from({ length: COUNT }, (_, i) =>
  i % 50 === 0 ? { c: i % 20 } : i % 77 === 0 ? { c: i % 20, p: '12' } : { c: i % 20, p: ((i * 7919) % 1000) / 10 },
);
const columns = (['c', 'p'] as const).map((path) => {
  const handle = { path, kind: 'number', data: new SharedArrayBuffer(columnBytes('number', COUNT)) };
  const cells = columnView(handle);
  payloads.forEach((p, o) => {
    cells[o] = columnCell('number', p, [path], () => 0);
  });
  return handle;
});
const deleted = new Set(Array.from({ length: 150 }, (_, i) => (i * 37) % COUNT));
const tombstones = new Uint32Array(tombstoneWords(COUNT));
for (const o of deleted) setTombstone(tombstones, o);
const orders = new Map();
const segment = {
  uid: 1,
  dim: DIM,
  count: COUNT,
  liveCount: COUNT - deleted.size,
  vectors,
  tombstones,
  columns,
  columnOrder: (c: { path: string }) => {
    if (!orders.has(c.path)) orders.set(c.path, buildColumnOrder(c, COUNT));
    return orders.get(c.path);
  },
  payload: (o: number) => payloads[o],
};
const graph = buildHnsw({
  count: COUNT,
  scorerFor: floatScorerFactory(vectors, DIM, metric),
  m: 16,
  efConstruct: 100,
  seed: 3,
});

type Condition = Record<string, unknown>;
const range = (gte: number, lt: number): Condition => ({
  kind: 'range',
  path: ['p'],
  bounds: { gte, lt },
  datetime: false,
});
const category = (c: number): Condition => ({ kind: 'match', path: ['c'], values: [c] });
const and = (...items: Condition[]): Condition => ({ kind: 'and', items });

function query(q: number): Float32Array {
  return vectors.slice(q * DIM, (q + 1) * DIM).map((x, i) => x + (i % 3) * 0.05);
}

function matches(filter: Condition): number[] {
  const test = compilePayloadPredicate(filter);
  return payloads.flatMap((p, o) => (!deleted.has(o) && test(p, 1, o) ? [o] : []));
}

function bruteForce(q: Float32Array, rows: number[]): number[] {
  return rows
    .map((o) => [metric.raw(q, 0, vectors, o * DIM, DIM), o] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .slice(0, K)
    .map(([, o]) => o);
}

function run(
  filter: Condition,
  q: Float32Array,
  options: { plainThreshold: number; exact?: boolean; graph?: boolean },
) {
  const scorer = createFloatScorer(vectors, DIM, q, metric);
  const spec = { k: K, filter, exact: options.exact ?? false, ef: 64, plainThreshold: options.plainThreshold };
  return searchSegment(segment, options.graph === false ? null : graph, spec, scorer, metric);
}

describe('planner over listed matches', () => {
  it('scores the listed matches exactly below the threshold (category and price range, absent cells)', () => {
    for (let i = 0; i < 20; i++) {
      const filter = and(category(i % 20), range(10 + i, 60 + i));
      const rows = matches(filter);
      const q = query(i * 101);
      const hits = run(filter, q, { plainThreshold: 1000 });
      expect(hits.plan.branch).toBe('plain_filtered');
      expect(hits.plan.matches).toBe(rows.length);
      expect(hits.plan.estimated).toEqual({ min: rows.length, exp: rows.length, max: rows.length });
      expect([...hits.offsets]).toEqual(bruteForce(q, rows));
    }
  });

  it('walks the graph through the listed matches when they exceed the threshold, and counts them exactly', () => {
    const filter = range(0, 50); // about half the rows; the sample's lower bound stays under the threshold
    const rows = matches(filter);
    const allowed = new Set(rows);
    let found = 0;
    for (let i = 0; i < 20; i++) {
      const q = query(i * 131);
      const hits = run(filter, q, { plainThreshold: rows.length - 1 });
      expect(hits.plan.branch).toBe('filtered_graph');
      expect(hits.plan.matches).toBe(rows.length);
      for (const o of hits.offsets) expect(allowed.has(o)).toBe(true);
      const want = new Set(bruteForce(q, rows));
      found += [...hits.offsets].filter((o) => want.has(o)).length;
    }
    expect(found / (20 * K)).toBeGreaterThanOrEqual(0.9);
  });

  it('falls back to exact scoring when the graph finds too few of a handful of listed rows', () => {
    const ids = [5, 905, 1805, 2705, 17];
    const filter = { kind: 'has_id', rows: new Map([[1, new Set(ids)]]) };
    const q = query(1);
    const hits = run(filter, q, { plainThreshold: 0 });
    expect(['graph_fallback', 'filtered_graph']).toContain(hits.plan.branch);
    expect([...hits.offsets].sort((a, b) => a - b)).toEqual(ids.filter((o) => !deleted.has(o)).sort((a, b) => a - b));
  });

  it('scores the list for exact searches and segments without a graph', () => {
    const filter = and(category(4), { kind: 'not', item: range(20, 80) });
    const rows = matches(filter);
    const q = query(7);
    for (const hits of [
      run(filter, q, { plainThreshold: 0, exact: true }),
      run(filter, q, { plainThreshold: 0, graph: false }),
    ]) {
      expect(hits.plan.branch).toBe('plain');
      expect(hits.plan.matches).toBe(rows.length);
      expect([...hits.offsets]).toEqual(bruteForce(q, rows));
    }
  });
});
