import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { assignRows, buildAndAssign, DEAD_ROW, OVERFLOW_LEAF } from '../../../dist/index-engine/hqi/assign.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { decodeTree, encodeTree } from '../../../dist/index-engine/hqi/tree-codec.js';
import {
  buildPartitionTree,
  compilePayloadPredicate,
  complementNumbers,
  intersectNumbers,
  leafOf,
  numberInterval,
  numbersContain,
  routeFilter,
  subtractNumbers,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/index.js';

/** Grid values and literals: integers 0..10 and halves, so open and closed ends both matter. */
const literal = fc.integer({ min: -2, max: 22 }).map((i) => i / 2);

describe('number sets', () => {
  const anInterval = fc
    .tuple(literal, literal, fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean())
    .map(([a, b, loOpen, hiOpen, noLo, noHi]) =>
      numberInterval(noLo ? -Infinity : Math.min(a, b), noHi ? Infinity : Math.max(a, b), loOpen, hiOpen),
    );
  /** A union of intervals, built through the operations under test' own primitives (complement of complement). */
  const aSet = fc
    .array(anInterval, { maxLength: 4 })
    .map((parts) =>
      parts.reduce(
        (acc: unknown, part: unknown) =>
          complementNumbers(intersectNumbers(complementNumbers(acc), complementNumbers(part))),
        [],
      ),
    );
  const probes = Array.from({ length: 53 }, (_, i) => (i - 2) / 4).concat([-1e9, 1e9]);

  it('intersect, complement and subtract agree with membership at every probe point', () => {
    fc.assert(
      fc.property(aSet, aSet, (a, b) => {
        for (const x of probes) {
          expect(numbersContain(intersectNumbers(a, b), x)).toBe(numbersContain(a, x) && numbersContain(b, x));
          expect(numbersContain(complementNumbers(a), x)).toBe(!numbersContain(a, x));
          expect(numbersContain(subtractNumbers(a, b), x)).toBe(numbersContain(a, x) && !numbersContain(b, x));
        }
      }),
      { numRuns: 500 },
    );
  });
});

/** Rows with one number column, one single-valued keyword column and one tag-set column (each may be absent). */
const row = fc.record({
  n: fc.option(
    fc.integer({ min: 0, max: 10 }).map((i) => i / (i % 3 === 0 ? 2 : 1)),
    { nil: undefined },
  ),
  k: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e'), { nil: undefined }),
  t: fc.option(fc.uniqueArray(fc.constantFrom('x', 'y', 'z', 'w'), { maxLength: 3 }), { nil: undefined }),
  other: fc.integer({ min: 0, max: 3 }),
  nullN: fc.boolean(),
});
type Row = { n?: number; k?: string; t?: string[]; other: number; nullN: boolean };

const payloadOf = (r: Row) => ({
  ...(r.n !== undefined ? { n: r.n } : r.nullN ? { n: null } : {}),
  ...(r.k !== undefined ? { k: r.k } : {}),
  ...(r.t !== undefined ? { t: r.t } : {}),
  other: r.other,
});

const path = fc.constantFrom(['n'], ['k'], ['t'], ['other']);
/** Values mostly of the path's own kind (so cuts and filters meet), now and then of another kind. */
const valuesFor = (p: string[], max: number) => {
  const own =
    p[0] === 'k'
      ? fc.constantFrom('a', 'b', 'c', 'd', 'f')
      : p[0] === 't'
        ? fc.constantFrom('x', 'y', 'z', 'w', 'q')
        : literal;
  const any = fc.oneof(literal, fc.constantFrom('a', 'x', 'q'), fc.boolean());
  return fc.array(fc.oneof({ weight: 5, arbitrary: own }, { weight: 1, arbitrary: any }), {
    minLength: 1,
    maxLength: max,
  });
};
const bounds = fc
  .record({ gt: literal, gte: literal, lt: literal, lte: literal }, { requiredKeys: [] })
  .filter((b) => Object.keys(b).length > 0);

const condition = fc.letrec((tie) => ({
  atom: fc.oneof(
    path.chain((p) => fc.record({ kind: fc.constant('match'), path: fc.constant(p), values: valuesFor(p, 3) })),
    path.chain((p) => fc.record({ kind: fc.constant('except'), path: fc.constant(p), values: valuesFor(p, 2) })),
    fc.record({
      kind: fc.constant('range'),
      path,
      bounds,
      datetime: fc.boolean().map((b) => b && Math.random() < 0.2),
    }),
    fc.record({ kind: fc.constant('is_empty'), path }),
    fc.record({ kind: fc.constant('const'), value: fc.boolean() }),
  ),
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('atom'),
    fc.record({ kind: fc.constant('and'), items: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ kind: fc.constant('or'), items: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ kind: fc.constant('not'), item: tie('node') }),
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).chain((items) =>
      fc.record({
        kind: fc.constant('min_should'),
        items: fc.constant(items),
        min: fc.integer({ min: 1, max: items.length }),
      }),
    ),
  ),
})).node;

const COLUMNS = [
  { path: 'n', kind: 'number' },
  { path: 'k', kind: 'keyword' },
  { path: 't', kind: 'tags' },
];

function dataOf(rows: Row[]) {
  return {
    columns: COLUMNS,
    count: rows.length,
    cells: new Map<string, unknown[]>([
      ['n', rows.map((r) => r.n)],
      ['k', rows.map((r) => r.k)],
      ['t', rows.map((r) => r.t ?? [])],
    ]),
  };
}

describe('partition tree routing', () => {
  it('skips a leaf only if none of its rows matches, and calls a leaf complete only if all of them match', () => {
    fc.assert(
      fc.property(
        fc.array(row, { minLength: 1, maxLength: 80 }),
        fc.array(fc.record({ filter: condition, weight: fc.integer({ min: 1, max: 5 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(condition, { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 12 }),
        (rows: Row[], workload, filters, minLeafRows, maxLeaves) => {
          const data = dataOf(rows);
          const tree = buildPartitionTree(data, workload, { minLeafRows, maxLeaves });
          expect(tree.leaves).toBeGreaterThanOrEqual(1);
          expect(tree.leaves).toBeLessThanOrEqual(maxLeaves);
          const leafOfRow = rows.map((_, r) => leafOf(tree, (p: string) => data.cells.get(p)![r]));
          // the workload's own filters plus unseen ones
          for (const filter of [...workload.map((w: { filter: unknown }) => w.filter), ...filters]) {
            const matches = compilePayloadPredicate(filter);
            const routed = new Map(
              routeFilter(tree, filter).map((l: { leaf: number; complete: boolean }) => [l.leaf, l.complete]),
            );
            rows.forEach((r, i) => {
              const hit = matches(payloadOf(r), 0, i);
              const leaf = leafOfRow[i]!;
              if (hit) expect(routed.has(leaf), `row ${i} matches but leaf ${leaf} was skipped`).toBe(true);
              if (routed.get(leaf) === true) expect(hit, `leaf ${leaf} called complete, row ${i} fails`).toBe(true);
            });
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('splits along the workload: a template with a selective atom prunes most of the rows', () => {
    const rows: Row[] = Array.from({ length: 1000 }, (_, i) => ({
      n: i % 100,
      k: 'abcde'[i % 5],
      t: [['x', 'y', 'z', 'w'][i % 4]!],
      other: 0,
      nullN: false,
    }));
    const workload = [0, 1, 2, 3, 4].map((c) => ({
      filter: { kind: 'match', path: ['k'], values: ['abcde'[c]] },
      weight: 1,
    }));
    const tree = buildPartitionTree(dataOf(rows), workload, { minLeafRows: 50, maxLeaves: 8 });
    expect(tree.leaves).toBe(5);
    const routed = routeFilter(tree, workload[2]!.filter);
    expect(routed).toEqual([{ leaf: expect.any(Number), complete: true }]);
    // an unseen predicate is routed to every leaf, none complete
    const unseen = routeFilter(tree, { kind: 'range', path: ['n'], bounds: { lt: 10 }, datetime: false });
    expect(unseen).toHaveLength(5);
    expect(unseen.every((l: { complete: boolean }) => !l.complete)).toBe(true);
  });
});

/** A payload that may not fit the tree columns: a list in the number column, a list of keywords, a null tag set. */
const oddPayload = fc.constantFrom<Record<string, unknown>>(
  { n: [1, 2], k: 'a', other: 0 },
  { n: 3, k: ['a', 'b'], other: 1 },
  { n: 'x', t: ['x'], other: 2 },
  { k: 'b', t: null, other: 3 },
  { n: 2, k: 'c', t: 'y', other: 0 },
);

describe('partition layout: payloads to leaves (cells, assignment, tree codec)', () => {
  it('routes every matching payload to its leaf, through JSON, with odd payloads in the overflow part', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 6, arbitrary: row.map(payloadOf) }, { weight: 1, arbitrary: oddPayload }), {
          minLength: 1,
          maxLength: 80,
        }),
        fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }),
        fc.array(fc.record({ filter: condition, weight: fc.integer({ min: 1, max: 5 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(condition, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 10 }),
        (payloads, deleted, workload, unseen) => {
          const source = {
            count: payloads.length,
            isLive: (r: number) => !deleted[r],
            payload: (r: number) => payloads[r],
          };
          const request = {
            columns: COLUMNS,
            workload,
            options: { minLeafRows: 2, maxLeaves: 8, maxCutsPerColumn: 4 },
          };
          const built = buildAndAssign([source], request);
          // the tree as the catalog keeps it and the workers receive it
          const tree = decodeTree(JSON.parse(JSON.stringify(encodeTree(built.tree))));
          const [again] = assignRows([source], tree);
          expect(Array.from(again)).toEqual(Array.from(built.leaves[0]));
          for (const filter of [...workload.map((w: { filter: unknown }) => w.filter), ...unseen]) {
            const matches = compilePayloadPredicate(filter);
            const routed = new Map(
              routeFilter(tree, filter).map((l: { leaf: number; complete: boolean }) => [l.leaf, l.complete]),
            );
            for (const [r, p] of payloads.entries()) {
              const mark = again[r]!;
              if (deleted[r]) expect(mark).toBe(DEAD_ROW);
              if (deleted[r] || mark === OVERFLOW_LEAF) continue; // the overflow part: visited by every query
              const hit = matches(p, 0, r);
              if (hit)
                expect(routed.has(mark), `payload ${JSON.stringify(p)} matches, leaf ${mark} skipped`).toBe(true);
              if (routed.get(mark) === true)
                expect(hit, `leaf ${mark} complete, ${JSON.stringify(p)} fails`).toBe(true);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('sends payloads that fit no column kind to the overflow part, and absent or null values into the tree', () => {
    const source = {
      count: 6,
      isLive: () => true,
      payload: (r: number) =>
        [{ n: [1, 2] }, { k: ['a'] }, { t: null }, { n: null, k: 'a', t: 'x' }, {}, { n: 'text' }][r],
    };
    // the workload names every column, so each is a tree column
    const workload = [
      { filter: { kind: 'match', path: ['k'], values: ['a'] }, weight: 1 },
      { filter: { kind: 'range', path: ['n'], bounds: { lt: 5 }, datetime: false }, weight: 1 },
      { filter: { kind: 'match', path: ['t'], values: ['x'] }, weight: 1 },
    ];
    const { tree, leaves } = buildAndAssign([source], {
      columns: COLUMNS,
      workload,
      options: { minLeafRows: 1, maxLeaves: 4 },
    });
    expect(tree.columns.map((c: { path: string }) => c.path).sort()).toEqual(['k', 'n', 't']);
    const marks = Array.from(leaves[0] as Int32Array);
    expect(marks.slice(0, 3)).toEqual([OVERFLOW_LEAF, OVERFLOW_LEAF, OVERFLOW_LEAF]);
    expect(marks[5]).toBe(OVERFLOW_LEAF);
    expect(marks[3]).toBeGreaterThanOrEqual(0);
    expect(marks[4]).toBeGreaterThanOrEqual(0);
    expect(marks[3]).not.toBe(marks[4]); // k = 'a' against absent: the workload's cut separates them
  });

  it('refuses a damaged tree instead of routing with it', () => {
    const good = encodeTree(
      buildPartitionTree(
        dataOf([
          { k: 'a', other: 0, nullN: false },
          { k: 'b', other: 0, nullN: false },
        ]),
        [{ filter: { kind: 'match', path: ['k'], values: ['a'] }, weight: 1 }],
        { minLeafRows: 1, maxLeaves: 2 },
      ),
    );
    expect(decodeTree(JSON.parse(JSON.stringify(good))).leaves).toBe(2);
    expect(() => decodeTree({ ...good, leaves: 3 })).toThrow();
    expect(() => decodeTree({ ...good, columns: [{ path: 'k', kind: 'float' }] })).toThrow();
    expect(() => decodeTree({ ...good, root: { leaf: 7, rows: 1 } })).toThrow();
    expect(() => decodeTree(null)).toThrow();
  });
});
