/**
 * mulberry32: a small, fast, well-mixed 32-bit generator, deterministic for a seed. The one PRNG of the engine
 * (HNSW levels, SQ8 samples), and of the tests and benchmarks that need seeded data.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform numbers in [0, 1) from mulberry32. */
export function uniformRandom(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}
