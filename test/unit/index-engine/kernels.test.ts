import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { dot, METRICS, manhattan, normalizeInPlace, squaredL2, TopK } from '../../../dist/index-engine/index.js';

/** Naive references, one obvious loop each. */
const naive = {
  dot: (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0),
  l2: (a: number[], b: number[]) => a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0),
  l1: (a: number[], b: number[]) => a.reduce((s, x, i) => s + Math.abs(x - b[i]!), 0),
};

const pair = fc.integer({ min: 1, max: 67 }).chain((dim) =>
  fc.tuple(
    fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), {
      minLength: dim,
      maxLength: dim,
    }),
    fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), {
      minLength: dim,
      maxLength: dim,
    }),
    fc.integer({ min: 0, max: 5 }),
  ),
);

describe('distance kernels agree with naive references', () => {
  it.each([
    ['dot', dot, naive.dot],
    ['squaredL2', squaredL2, naive.l2],
    ['manhattan', manhattan, naive.l1],
  ] as const)('%s', (_name, kernel, reference) => {
    fc.assert(
      fc.property(pair, ([a, b, pad]) => {
        // the second vector sits at an offset inside a larger buffer, as rows of a segment do
        const buf = new Float32Array(pad + b.length + 3);
        buf.set(b, pad);
        const got = kernel(Float32Array.from(a), 0, buf, pad, a.length);
        const want = reference(Array.from(Float32Array.from(a)), Array.from(Float32Array.from(b)));
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
      }),
      { numRuns: 300 },
    );
  });

  it('normalizes to unit length, leaving zero vectors alone', () => {
    const v = normalizeInPlace(Float32Array.from([3, 4]));
    expect(Array.from(v)).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(Array.from(normalizeInPlace(new Float32Array(3)))).toEqual([0, 0, 0]);
  });

  it('knows which metrics rank higher-is-better', () => {
    expect(METRICS.Cosine.higherIsBetter && METRICS.Dot.higherIsBetter).toBe(true);
    expect(METRICS.Euclid.higherIsBetter || METRICS.Manhattan.higherIsBetter).toBe(false);
    expect(METRICS.Euclid.finalize(9)).toBe(3);
  });
});

describe('TopK', () => {
  it('keeps exactly the k best of a stream, best first, ties to the smaller key', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -50, max: 50 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 30 }),
        fc.boolean(),
        (values, k, higher) => {
          const top = new TopK(k, higher);
          for (const [key, v] of values.entries()) top.push(key, v);
          const want = values
            .map((v, key) => ({ key, v }))
            .sort((a, b) => (higher ? b.v - a.v : a.v - b.v) || a.key - b.key)
            .slice(0, k);
          const got = top.sorted();
          expect(Array.from(got.keys)).toEqual(want.map((w) => w.key));
          expect(Array.from(got.values)).toEqual(want.map((w) => w.v));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects a capacity below one', () => {
    expect(() => new TopK(0, true)).toThrow(RangeError);
  });
});
