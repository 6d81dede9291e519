import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bindQuery,
  bindQueryBlock,
  createSegmentMemory,
  leaseScratch,
  leaseScratchRun,
  MAX_BLOCK_QUERIES,
  METRICS,
  releaseScratch,
  releaseScratchRun,
  SCAN_BLOCK,
  SCRATCH_SLOTS,
  vectorsView,
  wasmSimdSupported,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/index.js';
import { rng } from '../../helpers/server.js';

/**
 * The multi-query kernels (one row against a block of queries) against a naive f64 reference, and against the
 * single-query kernels: every (query, row) score must be the pair kernel's, bit for bit, so that a batch returns
 * exactly what one-by-one searches return. Dims include ones below 16 and not multiples of 4 (the by-4 loop and
 * the scalar tail), block sizes odd ones (the query left over after the two-query groups).
 */
const DISTANCES = ['Cosine', 'Dot', 'Euclid', 'Manhattan'] as const;
type Distance = (typeof DISTANCES)[number];

/** Σ term and Σ |term| in f64: f32 accumulation errs relative to the latter. */
function naive(distance: Distance, q: Float32Array, row: Float32Array): [number, number] {
  let s = 0;
  let m = 0;
  for (let i = 0; i < q.length; i++) {
    const t =
      distance === 'Euclid'
        ? (q[i]! - row[i]!) ** 2
        : distance === 'Manhattan'
          ? Math.abs(q[i]! - row[i]!)
          : q[i]! * row[i]!;
    s += t;
    m += Math.abs(t);
  }
  return [s, m];
}

const blockCase = fc.record({
  distance: fc.constantFrom(...DISTANCES),
  dim: fc.integer({ min: 1, max: 70 }),
  rows: fc.integer({ min: 1, max: 60 }),
  queries: fc.integer({ min: 1, max: MAX_BLOCK_QUERIES }),
  seed: fc.integer(),
});

function fixture({ dim, rows, queries, seed }: { dim: number; rows: number; queries: number; seed: number }) {
  const rnd = rng(seed);
  const memory = createSegmentMemory(dim, rows, rows);
  const vectors = vectorsView(memory, dim, rows);
  for (let i = 0; i < vectors.length; i++) vectors[i] = rnd() * 20 - 10;
  const qs = Array.from({ length: queries }, () => Float32Array.from({ length: dim }, () => rnd() * 20 - 10));
  return { memory, vectors, qs };
}

describe('multi-query kernels', () => {
  it('run on this runtime (the batch otherwise falls back to the JS block)', () => {
    expect(wasmSimdSupported()).toBe(true);
  });

  for (const backend of ['wasm', 'js'] as const) {
    it(`${backend}: scan and gather agree with the naive reference and equal the single-query kernels bit for bit`, () => {
      fc.assert(
        fc.property(blockCase, fc.integer(), (c, pick) => {
          const { memory, vectors, qs } = fixture(c);
          const options = backend === 'js' ? { backend: 'js' } : {};
          const block = bindQueryBlock(memory, c.dim, c.distance, qs, options);
          const singles = qs.map((q: Float32Array) => bindQuery(memory, c.dim, c.distance, q, options));
          try {
            expect(block.size).toBe(c.queries);
            expect(block.scanCapacity).toBeGreaterThanOrEqual(SCAN_BLOCK);
            // dense rows [first, rows)
            const first = Math.abs(pick) % c.rows;
            const n = c.rows - first;
            const scanned = Array.from(block.scan(first, n)) as number[];
            // a list of rows: any order, repeats allowed
            const pickRnd = rng(pick);
            const ids = Array.from({ length: 1 + (Math.abs(pick) % 40) }, () => Math.floor(pickRnd() * c.rows));
            block.ids.set(ids);
            const gathered = Array.from(block.gather(ids.length)) as number[];
            const check = (got: number, row: number, q: number, single: number) => {
              const [want, magnitude] = naive(c.distance, qs[q]!, vectors.subarray(row * c.dim, (row + 1) * c.dim));
              expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * Math.max(magnitude, 1e-30));
              expect(got).toBe(single);
            };
            for (let i = 0; i < n; i++) {
              for (let q = 0; q < c.queries; q++) {
                // the single scan stores f32 (Math.fround for the JS kernels' f64 value)
                check(scanned[i * c.queries + q]!, first + i, q, Math.fround(singles[q]!.raw(first + i)));
              }
            }
            ids.forEach((row, i) => {
              for (let q = 0; q < c.queries; q++) check(gathered[i * c.queries + q]!, row, q, singles[q]!.raw(row));
            });
            expect(singles[0]!.backend).toBe(backend);
          } finally {
            block.release();
            for (const s of singles) s.release();
          }
        }),
        { numRuns: 120, seed: 4 },
      );
    });
  }

  it('score blocks of more rows than one call takes, in pieces (the callers loop by scanCapacity)', () => {
    const dim = 37;
    const rows = 3000;
    const { memory, vectors, qs } = fixture({ dim, rows, queries: 5, seed: 9 });
    const block = bindQueryBlock(memory, dim, 'Euclid', qs);
    try {
      expect(() => block.scan(0, block.scanCapacity + 1)).toThrow(RangeError);
      for (let first = 0; first < rows; first += block.scanCapacity) {
        const n = Math.min(block.scanCapacity, rows - first);
        const scores = block.scan(first, n);
        const r = n - 1;
        const want = naive('Euclid', qs[4]!, vectors.subarray((first + r) * dim, (first + r + 1) * dim))[0];
        expect(Math.abs(scores[r * 5 + 4]! - want)).toBeLessThan(1e-5 * want);
      }
    } finally {
      block.release();
    }
  });

  it('lease runs of consecutive scratch slots, and fall back to the JS block when no run is free', () => {
    const dim = 8;
    const { memory, qs } = fixture({ dim, rows: 4, queries: MAX_BLOCK_QUERIES, seed: 1 });
    const first = leaseScratchRun(memory, dim, MAX_BLOCK_QUERIES);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first + MAX_BLOCK_QUERIES).toBeLessThanOrEqual(SCRATCH_SLOTS);
    // take one slot in the middle of the other half: no run of 8 is left, single slots are
    const others: number[] = [];
    for (let s = leaseScratch(memory, dim); s >= 0; s = leaseScratch(memory, dim)) others.push(s);
    expect(others.length).toBe(SCRATCH_SLOTS - MAX_BLOCK_QUERIES);
    const keep = others.filter((s) => s === (first === 0 ? 12 : 4));
    for (const s of others) if (!keep.includes(s)) releaseScratch(memory, s);
    expect(leaseScratchRun(memory, dim, MAX_BLOCK_QUERIES)).toBe(-1);
    const block = bindQueryBlock(memory, dim, 'Dot', qs);
    const raw = METRICS.Dot.raw(qs[0], 0, vectorsView(memory, dim, 4), 0, dim);
    expect(block.scan(0, 1)[0]).toBeCloseTo(raw, 4);
    block.release();
    // a failed run attempt gave back what it had taken: a run of 3 still fits beside the kept slot
    const three = leaseScratchRun(memory, dim, 3);
    expect(three).toBeGreaterThanOrEqual(0);
    releaseScratchRun(memory, three, 3);
    for (const s of keep) releaseScratch(memory, s);
    releaseScratchRun(memory, first, MAX_BLOCK_QUERIES);
    expect(leaseScratchRun(memory, dim, SCRATCH_SLOTS)).toBe(0);
    releaseScratchRun(memory, 0, SCRATCH_SLOTS);
  });
});
