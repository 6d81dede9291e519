import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { api, type RunningServer, rng, startServer } from '../helpers/server.js';

/**
 * Filter semantics, property-based: random payloads and random filters; the server's answers (count, scroll and
 * search) must equal a small reference evaluator written here from the documented semantics.
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Payload = Record<string, Json>;

const WORDS = ['red', 'green', 'blue', 'dark red', 'teal'];
const DATES = ['2024-01-01T00:00:00Z', '2024-06-15T12:30:00Z', '2025-03-01T08:00:00+02:00', '2023-12-31'];
const N = 160;

function makePayload(next: () => number, i: number): Payload {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const p: Payload = {};
  const r = () => next();
  if (r() < 0.9) {
    const x = r();
    p.a =
      x < 0.25
        ? [pick([0, 1, 2, 3, 4, 5]), pick([0, 1, 2, 3, 4, 5])]
        : x < 0.35
          ? null
          : x < 0.4
            ? [null, 2]
            : pick([0, 1, 2, 3, 4, 5]);
  }
  if (r() < 0.9) {
    const x = r();
    p.b = x < 0.3 ? [pick(WORDS), pick(WORDS)] : x < 0.4 ? [] : x < 0.45 ? { nested: pick(WORDS) } : pick(WORDS);
  }
  if (r() < 0.7) p.c = r() < 0.5;
  if (r() < 0.7) p.d = Math.round(r() * 1000) / 10;
  if (r() < 0.6) p.o = { x: pick([0, 1, 2]), y: pick(WORDS) };
  if (r() < 0.6) p.arr = Array.from({ length: Math.floor(r() * 3) }, () => ({ x: pick([0, 1, 2]), y: pick(WORDS) }));
  if (r() < 0.6) p.t = pick(DATES);
  if (r() < 0.1) p.n = null;
  p.i = i;
  return p;
}

// ---- reference evaluator --------------------------------------------------------------------------------------

function rawValues(payload: Json, key: string): Json[] {
  let current: Json[] = [payload];
  for (const part of key.split('.').map((s) => s.replace(/\[\]$/, ''))) {
    const next: Json[] = [];
    const visit = (v: Json) => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (v !== null && typeof v === 'object' && part in v) next.push(v[part]!);
    };
    current.forEach(visit);
    current = next;
  }
  return current;
}
const flat = (vs: Json[]): Json[] => vs.flatMap((v) => (Array.isArray(v) ? v : [v]));
const dateOf = (s: string) => Date.parse(s.length === 10 ? `${s}T00:00:00Z` : s);

type Bounds = { gt?: number | string; gte?: number | string; lt?: number | string; lte?: number | string };
function within(x: number, b: Bounds, conv: (v: number | string) => number): boolean {
  return (
    (b.gt === undefined || x > conv(b.gt)) &&
    (b.gte === undefined || x >= conv(b.gte)) &&
    (b.lt === undefined || x < conv(b.lt)) &&
    (b.lte === undefined || x <= conv(b.lte))
  );
}

function holds(cond: any, payload: Payload, id: number): boolean {
  if ('has_id' in cond) return cond.has_id.includes(id);
  if ('is_empty' in cond) return flat(rawValues(payload, cond.is_empty.key)).filter((v) => v !== null).length === 0;
  if ('is_null' in cond) return rawValues(payload, cond.is_null.key).some((v) => v === null);
  if ('nested' in cond) {
    return flat(rawValues(payload, cond.nested.key)).some(
      (el) =>
        el !== null && typeof el === 'object' && !Array.isArray(el) && matches(cond.nested.filter, el as Payload, id),
    );
  }
  if ('key' in cond) {
    const vs = flat(rawValues(payload, cond.key));
    if (cond.match) {
      const m = cond.match;
      if ('value' in m) return vs.some((v) => v === m.value);
      if ('any' in m) return vs.some((v) => m.any.includes(v));
      if ('except' in m) return vs.some((v) => v !== null && typeof v !== 'object' && !m.except.includes(v));
      return vs.some((v) => typeof v === 'string' && v.includes(m.text));
    }
    if (cond.range) {
      const isDate = Object.values(cond.range).some((v) => typeof v === 'string');
      if (isDate)
        return vs.some((v) => typeof v === 'string' && within(dateOf(v), cond.range, (b) => dateOf(String(b))));
      return vs.some((v) => typeof v === 'number' && within(v, cond.range, Number));
    }
    return within(vs.filter((v) => v !== null).length, cond.values_count, Number);
  }
  return matches(cond, payload, id);
}

function matches(filter: any, payload: Payload, id: number): boolean {
  const list = (x: unknown): any[] => (x === undefined || x === null ? [] : Array.isArray(x) ? x : [x]);
  if (!list(filter.must).every((c) => holds(c, payload, id))) return false;
  const should = list(filter.should);
  if (should.length > 0 && !should.some((c) => holds(c, payload, id))) return false;
  if (list(filter.must_not).some((c) => holds(c, payload, id))) return false;
  if (filter.min_should) {
    const hits = filter.min_should.conditions.filter((c: unknown) => holds(c, payload, id)).length;
    if (hits < filter.min_should.min_count) return false;
  }
  return true;
}

// ---- generators -------------------------------------------------------------------------------------------------

const intVal = fc.integer({ min: 0, max: 5 });
const word = fc.constantFrom(...WORDS);
const scalarKey = fc.constantFrom('a', 'b', 'c', 'd', 'o.x', 'o.y', 'arr[].x', 'arr.y', 'missing', 'n');
const matchArb = fc.oneof(
  fc.record({ value: fc.oneof(intVal, word, fc.boolean()) }),
  fc.record({
    any: fc.oneof(fc.array(intVal, { minLength: 1, maxLength: 4 }), fc.array(word, { minLength: 1, maxLength: 4 })),
  }),
  fc.record({ except: fc.oneof(fc.array(intVal, { maxLength: 3 }), fc.array(word, { maxLength: 3 })) }),
  fc.record({ text: fc.constantFrom('re', 'dark', 'e', 'x') }),
);
const smallRange = fc.record(
  { gt: fc.integer({ min: -1, max: 3 }), lte: fc.integer({ min: 2, max: 6 }) },
  { requiredKeys: [] },
);
const leaf = (nested: boolean) =>
  nested
    ? // inside `nested`, keys are relative to each element of `arr` ({x, y})
      fc.oneof(
        fc.record({ key: fc.constantFrom('x', 'y'), match: matchArb }),
        fc.record({ key: fc.constant('x'), range: smallRange }),
        fc.record({ is_empty: fc.record({ key: fc.constantFrom('x', 'y', 'z') }) }),
      )
    : fc.oneof(
        fc.record({ key: scalarKey, match: matchArb }),
        fc.record({ key: fc.constantFrom('a', 'o.x', 'arr[].x'), range: smallRange }),
        fc.record({
          key: fc.constant('d'),
          range: fc.record(
            { gt: fc.integer({ min: -1, max: 50 }), lte: fc.integer({ min: 50, max: 101 }) },
            { requiredKeys: [] },
          ),
        }),
        fc.record({
          key: fc.constant('t'),
          range: fc.record({ gte: fc.constantFrom(...DATES), lt: fc.constantFrom(...DATES) }, { requiredKeys: [] }),
        }),
        fc.record({
          key: fc.constantFrom('a', 'b', 'arr'),
          values_count: fc.record(
            { gte: fc.integer({ min: 0, max: 2 }), lt: fc.integer({ min: 1, max: 3 }) },
            { requiredKeys: [] },
          ),
        }),
        fc.record({ is_empty: fc.record({ key: scalarKey }) }),
        fc.record({ is_null: fc.record({ key: fc.constantFrom('a', 'n', 'missing') }) }),
        fc.record({ has_id: fc.array(fc.integer({ min: 0, max: N + 5 }), { minLength: 1, maxLength: 40 }) }),
      );

const { filter: filterArb } = fc.letrec((tie) => ({
  condition: fc.oneof(
    { depthSize: 'xsmall', withCrossShrink: true },
    { arbitrary: leaf(false), weight: 6 },
    { arbitrary: tie('filter'), weight: 2 },
    { arbitrary: tie('nested'), weight: 1 },
  ),
  nested: fc.record({
    nested: fc.record({
      key: fc.constant('arr'),
      filter: fc.record({ must: fc.array(leaf(true), { minLength: 1, maxLength: 2 }) }),
    }),
  }),
  clause: fc.oneof(tie('condition'), fc.array(tie('condition'), { maxLength: 2 })),
  filter: fc.record(
    {
      must: tie('clause'),
      should: fc.oneof(tie('clause'), fc.array(tie('condition'), { minLength: 2, maxLength: 4 })),
      must_not: tie('clause'),
      min_should: fc.record({
        conditions: fc.array(tie('condition'), { minLength: 2, maxLength: 4 }),
        min_count: fc.integer({ min: 0, max: 2 }),
      }),
    },
    { requiredKeys: [], noNullPrototype: true },
  ),
}));

const INDEXES = [
  ['a', 'integer'],
  ['b', 'keyword'],
  ['c', 'bool'],
  ['d', 'float'],
  ['t', 'datetime'],
  ['o.x', 'integer'],
  ['o.y', 'keyword'],
  ['arr[].x', 'integer'],
] as const;

let server: RunningServer;
const sizes: number[] = [];
const payloads: Payload[] = [];

beforeAll(async () => {
  server = await startServer();
  const next = rng(7);
  for (let i = 0; i < N; i++) payloads.push(makePayload(next, i));
  // Small segments (50 rows) so filters cross segment boundaries. Payload indexes (typed columns) are created
  // between the two upserts, so columns are both backfilled and filled on append; filters must answer the same.
  await api(server.url, 'PUT', '/collections/f', {
    vectors: { size: 2, distance: 'Euclid' },
    optimizers_config: { indexing_threshold: 50 },
  });
  const points = payloads.map((payload, id) => ({ id, vector: [id, 0], payload }));
  expect((await api(server.url, 'PUT', '/collections/f/points', { points: points.slice(0, 90) })).status).toBe(200);
  for (const [field_name, field_schema] of INDEXES) {
    expect((await api(server.url, 'PUT', '/collections/f/index', { field_name, field_schema })).status).toBe(200);
  }
  expect((await api(server.url, 'PUT', '/collections/f/points', { points: points.slice(90) })).status).toBe(200);
});

afterAll(async () => {
  await server?.stop();
});

it('count, scroll and search agree with the reference evaluator on random filters', async () => {
  await fc.assert(
    fc.asyncProperty(filterArb, async (filter) => {
      const want = payloads.flatMap((p, id) => (matches(filter, p, id) ? [id] : []));
      sizes.push(want.length);
      const count = await api(server.url, 'POST', '/collections/f/points/count', { filter });
      expect(count.status, count.text).toBe(200);
      expect(count.body.result.count).toBe(want.length);
      const scroll = await api(server.url, 'POST', '/collections/f/points/scroll', {
        filter,
        limit: N,
        with_payload: false,
      });
      expect(scroll.body.result.points.map((p: { id: number }) => p.id)).toEqual(want);
      const search = await api(server.url, 'POST', '/collections/f/points/search', {
        vector: [0, 0],
        filter,
        limit: 5,
      });
      expect(search.body.result.map((p: { id: number }) => p.id)).toEqual(want.slice(0, 5));
    }),
    { numRuns: 1000, seed: 20261129 },
  );
  // The generated filters must be informative: many select some but not all points.
  const partial = sizes.filter((n) => n > 0 && n < N).length;
  console.log(
    `filters: ${sizes.length}, partial ${partial}, none ${sizes.filter((n) => n === 0).length}, all ${sizes.filter((n) => n === N).length}`,
  );
  expect(partial).toBeGreaterThan(sizes.length / 3);
});

it('rejects unknown operators and wrong value types with 400 and a code', async () => {
  for (const filter of [
    { must: [{ key: 'a', match: { regex: 'x' } }] },
    { must: [{ key: 'a', range: { between: 1 } }] },
    { must: [{ key: 'a', match: { value: 1.5 } }] },
    { must: [{ key: 'a', match: { any: [1, 'x'] } }] },
    { must: [{ key: 'a', range: { gt: true } }] },
    { must: [{ geo_radius: {} }] },
    { must: [{ key: 't', range: { gt: 'not a date' } }] },
    { must: [{ key: 'a', range: { gt: 1, lt: '2024-01-01' } }] },
    { must: [{ key: 'a' }] },
    { must: 5 },
    { nested: 1 },
  ]) {
    const res = await api(server.url, 'POST', '/collections/f/points/count', { filter });
    expect(res.status, JSON.stringify(filter)).toBe(400);
    expect(['STRATA_ERR_VALIDATION', 'STRATA_ERR_FILTER']).toContain(res.body.status.code);
  }
});
