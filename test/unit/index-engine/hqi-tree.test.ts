import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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
