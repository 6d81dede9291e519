import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  closedInterval,
  nextUp,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/filter/cell-test.js';
import {
  buildColumnOrder,
  ColumnWriter,
  compilePayloadPredicate,
  compileRowPredicate,
  isColumnFilter,
  matchBound,
  matchingRows,
  parseDatetime,
  setTombstone,
  tombstoneWords,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/index.js';

/**
 * The index-driven match set (typed column loops, sorted columns, conjunctions narrowed step by step) must be
 * exactly the payload predicate's set over the live rows, for random payloads (missing fields, arrays, values of
 * another type: "absent" cells) and random filters (and / or / not / min_should, match, range, has_id, and
 * payload-only conditions mixed in), with random tombstones.
 */
type Kind = 'number' | 'bool' | 'datetime' | 'keyword';
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const WORDS = ['red', 'green', 'blue', 'teal'];
const DATES = ['2024-01-01T00:00:00Z', '2024-06-15T12:30:00Z', '2023-12-31T23:59:59Z', 'not a date'];
/** Indexed fields: path and column kind (`o.x` is nested; `p` is also a number field, without a column). */
const COLUMNS: [string, Kind][] = [
  ['n', 'number'],
  ['k', 'keyword'],
  ['b', 'bool'],
  ['t', 'datetime'],
  ['o.x', 'number'],
];

// Mostly one scalar of the column's type; sometimes missing, null, an array, or another type (absent cells).
const numberish = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: -3, max: 12 }) },
  { weight: 2, arbitrary: fc.double({ min: -5, max: 15, noNaN: true }) },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, '3', true, [1, 4], [], [7]) },
);
const wordish = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, 3, ['teal'], 'unseen', ['red', 3], [['red']]) },
  // lists of strings, repeats included: listed in the keyword column's codes
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...WORDS, 'unseen'), { minLength: 2, maxLength: 4 }) },
);
const boolish = fc.oneof(
  { weight: 6, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom<Json>(1, 'true', [true, false]) },
);
const dateish = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...DATES) },
  { weight: 1, arbitrary: fc.constantFrom<Json>(5, [DATES[0]!, DATES[1]!]) },
);
const payloadArb: fc.Arbitrary<Record<string, Json>> = fc.record(
  {
    n: numberish,
    p: numberish,
    k: wordish,
    b: boolish,
    t: dateish,
    o: fc.oneof(fc.record({ x: numberish }, { requiredKeys: [] }), fc.constantFrom<Json>([{ x: 1 }, { x: 2 }], null)),
  },
  { requiredKeys: [] },
);

type Condition = Record<string, unknown> & { kind: string };

function conditionArb(rows: number): fc.Arbitrary<Condition> {
  const key = fc.constantFrom('n', 'p', 'k', 'b', 't', 'o.x', 'missing');
  const value = fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constantFrom(...WORDS, 'nowhere'), fc.boolean());
  const bound = fc.oneof(fc.integer({ min: -4, max: 13 }), fc.double({ min: -5, max: 15, noNaN: true }));
  const bounds = fc.record({ gt: bound, gte: bound, lt: bound, lte: bound }, { requiredKeys: [] });
  const dateBound = fc.constantFrom(...DATES.slice(0, 3).map(parseDatetime));
  const leaf: fc.Arbitrary<Condition> = fc.oneof(
    fc.record({
      kind: fc.constant('match'),
      path: key.map((k) => k.split('.')),
      values: fc.array(value, { minLength: 1, maxLength: 3 }),
    }),
    fc.record({ kind: fc.constant('range'), path: key.map((k) => k.split('.')), bounds, datetime: fc.constant(false) }),
    fc.record({
      kind: fc.constant('range'),
      path: fc.constant(['t']),
      bounds: fc.record({ gt: dateBound, gte: dateBound, lt: dateBound, lte: dateBound }, { requiredKeys: [] }),
      datetime: fc.constant(true),
    }),
    fc.record({ kind: fc.constant('is_empty'), path: key.map((k) => k.split('.')) }),
    fc.uniqueArray(fc.integer({ min: 0, max: rows + 2 }), { maxLength: 8 }).map((ids) => ({ kind: 'has_id', ids })),
    fc.boolean().map((value) => ({ kind: 'const', value })),
  );
  const { tree } = fc.letrec<{ tree: Condition }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.record({ kind: fc.constant('and'), items: fc.array(tie('tree'), { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('or'), items: fc.array(tie('tree'), { maxLength: 3 }) }),
      fc.record({ kind: fc.constant('not'), item: tie('tree') }),
      fc.record({
        kind: fc.constant('min_should'),
        items: fc.array(tie('tree'), { minLength: 1, maxLength: 3 }),
        min: fc.integer({ min: 0, max: 3 }),
      }),
    ),
  }));
  return tree;
}

/** Builds a segment view the way storage does: columns from ColumnWriter (lists included), a keyword dictionary, tombstones. */
function segmentOf(payloads: Record<string, Json>[], deleted: number[], withOrders: boolean) {
  const count = payloads.length;
  const dictionary = new Map<string, number>();
  const codeOf = (s: string) => {
    if (!dictionary.has(s)) dictionary.set(s, dictionary.size);
    return dictionary.get(s)!;
  };
  const columns = COLUMNS.map(([path, kind]) => {
    const column = new ColumnWriter(path.split('.'), kind, Math.max(1, count));
    payloads.forEach((p, o) => {
      column.set(o, p, codeOf);
    });
    return column.handle;
  });
  const tombstones = new Uint32Array(tombstoneWords(Math.max(1, count)));
  for (const o of deleted) if (o < count) setTombstone(tombstones, o);
  const live = count - new Set(deleted.filter((o) => o < count)).size;
  const orders = new Map();
  const segment = {
    uid: 7,
    dim: 1,
    count,
    vectors: new Float32Array(count),
    tombstones,
    liveCount: live,
    columns,
    payload: (o: number) => payloads[o],
    ...(withOrders
      ? {
          columnOrder: (c: { path: string; kind: Kind }) => {
            if (!orders.has(c.path)) orders.set(c.path, buildColumnOrder(c, count));
            return orders.get(c.path);
          },
        }
      : {}),
  };
  return { segment, dictionary };
}

/** The generated condition in the engine's form (keyword codes as storage resolves them, has_id per segment). */
function resolve(c: Condition, dictionary: Map<string, number>): Condition {
  switch (c.kind) {
    case 'and':
    case 'or':
    case 'min_should':
      return { ...c, items: (c.items as Condition[]).map((i) => resolve(i, dictionary)) };
    case 'not':
      return { ...c, item: resolve(c.item as Condition, dictionary) };
    case 'has_id':
      return { kind: 'has_id', rows: new Map([[7, new Set(c.ids as number[])]]) };
    case 'match': {
      if ((c.path as string[]).join('.') !== 'k') return c;
      const codes = (c.values as unknown[]).map((v) => (typeof v === 'string' ? (dictionary.get(v) ?? -2) : -2));
      return { ...c, keywordCodes: codes };
    }
    default:
      return c;
  }
}

describe('index-driven filter evaluation', () => {
  it('equals the payload predicate over the live rows (random payloads, filters, tombstones)', () => {
    fc.assert(
      fc.property(
        fc.array(payloadArb, { maxLength: 120 }),
        fc.array(fc.nat(130), { maxLength: 30 }),
        conditionArb(120),
        fc.boolean(),
        (payloads, deleted, c, withOrders) => {
          const { segment, dictionary } = segmentOf(payloads, deleted, withOrders);
          const condition = resolve(c, dictionary);
          const test = compilePayloadPredicate(condition);
          const deletedSet = new Set(deleted);
          const want = payloads.flatMap((p, o) => (!deletedSet.has(o) && test(p, 7, o) ? [o] : []));
          expect([...matchingRows(condition, segment, segment.columnOrder)]).toEqual(want);
          // the planner's bound from the sorted columns never undercounts
          expect(matchBound(condition, segment, segment.columnOrder)).toBeGreaterThanOrEqual(want.length);
          // the row predicate (what the graph search uses) agrees too
          const row = compileRowPredicate(condition, segment);
          expect(payloads.flatMap((_p, o) => (!deletedSet.has(o) && row(o) ? [o] : []))).toEqual(want);
        },
      ),
      { numRuns: 3000, seed: 20261130 },
    );
  });

  it('uses the sorted columns on large segments: ranges and values as binary-searched slices', () => {
    // 5,000 rows so that selective conditions take the sorted path (at most 1/32 of the rows)
    const payloads = Array.from({ length: 5000 }, (_, i) => {
      if (i % 97 === 0) return { n: 'absent', k: 5 };
      if (i % 89 === 0) return {};
      // every fifth row a list of words: posting lists then overlap by row (w<a> and w<a + 5> share rows)
      if (i % 5 === 0)
        return { n: (i * 37) % 1000, k: [WORDS[i % 4]!, `w${i % 1000}`, `w${(i + 5) % 1000}`], p: i % 10 };
      return { n: (i * 37) % 1000, k: WORDS[i % 4]!, p: i % 10 };
    });
    fc.assert(
      fc.property(
        fc.integer({ min: -10, max: 1010 }),
        fc.integer({ min: 0, max: 120 }),
        fc.constantFrom(...WORDS, 'nowhere'),
        fc.array(fc.nat(5000), { maxLength: 50 }),
        (lo, width, word, deleted) => {
          const { segment, dictionary } = segmentOf(payloads, deleted, true);
          const condition = resolve(
            {
              kind: 'and',
              items: [
                { kind: 'range', path: ['n'], bounds: { gte: lo, lt: lo + width }, datetime: false },
                { kind: 'match', path: ['k'], values: [word] },
                { kind: 'not', item: { kind: 'match', path: ['p'], values: [3] } },
              ],
            },
            dictionary,
          );
          expect(isColumnFilter(condition, segment.columns)).toBe(false); // `p` has no column
          const indexed = { kind: 'and', items: (condition.items as Condition[]).slice(0, 2) };
          expect(isColumnFilter(indexed, segment.columns)).toBe(true);
          // a match on two rare words: two slices of the sorted keyword column, some listed rows in both
          const a = 5 * (Math.abs(lo) % 199);
          const either = resolve({ kind: 'match', path: ['k'], values: [`w${a}`, `w${a + 5}`] }, dictionary);
          const deletedSet = new Set(deleted);
          for (const c of [condition, indexed, either]) {
            const test = compilePayloadPredicate(c);
            const want = payloads.flatMap((p, o) => (!deletedSet.has(o) && test(p, 7, o) ? [o] : []));
            expect([...matchingRows(c, segment, segment.columnOrder)]).toEqual(want);
          }
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it('turns exclusive bounds into the next representable doubles', () => {
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextUp(-Number.MIN_VALUE)).toBe(-0);
    expect(nextUp(Number.NEGATIVE_INFINITY)).toBe(-Number.MAX_VALUE);
    expect(closedInterval({ gt: 1, lt: 2 })).toEqual({ lo: 1 + Number.EPSILON, hi: 2 - Number.EPSILON });
    expect(closedInterval({})).toEqual({ lo: Number.NEGATIVE_INFINITY, hi: Number.POSITIVE_INFINITY });
  });
});
