import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bindQuery,
  createSegmentMemory,
  createWasmKernels,
  leaseScratch,
  METRICS,
  maxRowsPerMemory,
  pagesFor,
  reclaimScratch,
  releaseScratch,
  SCAN_BLOCK,
  SCRATCH_SLOTS,
  scratchOutPtr,
  scratchQueryPtr,
  slotBytes,
  vectorsByteOffset,
  vectorsView,
  wasmSimdSupported,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/index.js';
import { rng as mulberry32 } from '../../helpers/server.js';

const ENGINE_URL = new URL('../../../dist/index-engine/index.js', import.meta.url).href;
const DISTANCES = ['Cosine', 'Dot', 'Euclid', 'Manhattan'] as const;

/**
 * Naive references in f64 over the f32 inputs, one obvious loop each. They also return Σ|term|: f32
 * accumulation errs relative to that (for l2sq and l1 it is the result itself; a dot product can cancel to ~0).
 */
const naive = {
  dot(a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
    let s = 0;
    let m = 0;
    for (let i = 0; i < a.length; i++) {
      s += a[i]! * b[i]!;
      m += Math.abs(a[i]! * b[i]!);
    }
    return [s, m];
  },
  l2sq(a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
    return [s, s];
  },
  l1(a: ArrayLike<number>, b: ArrayLike<number>): [number, number] {
    let s = 0;
    for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
    return [s, s];
  },
};

const REL = 1e-5;
const close = (got: number, [want, magnitude]: [number, number]): boolean =>
  Math.abs(got - want) <= REL * Math.max(magnitude, 1e-30);

const f32 = fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true });
/** dim 1..300 (most not multiples of 4 or 16), two vectors, and element offsets that misalign the pointers. */
const pairCase = fc.integer({ min: 1, max: 300 }).chain((dim) =>
  fc.record({
    a: fc.array(f32, { minLength: dim, maxLength: dim }),
    b: fc.array(f32, { minLength: dim, maxLength: dim }),
    aOffset: fc.integer({ min: 0, max: 7 }),
    bOffset: fc.integer({ min: 0, max: 7 }),
  }),
);

/** A few pages used as raw space: a at byte 4096 + 4·aOffset, b at byte 65536 + 4·bOffset, scan output at 8192. */
const memory = createSegmentMemory(1, 65536, 60000);
const A_BASE = 4096;
const B_BASE = 65536;
const kernels = createWasmKernels(memory);

describe('WASM SIMD kernels', () => {
  it('are supported on this runtime (CI runs Node 20: SIMD and threads are on by default)', () => {
    expect(wasmSimdSupported()).toBe(true);
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it.each(['dot', 'l2sq', 'l1'] as const)('%s agrees with the naive reference', (name) => {
    fc.assert(
      fc.property(pairCase, ({ a, b, aOffset, bOffset }) => {
        const view = new Float32Array(memory.buffer);
        const aPtr = A_BASE + 4 * aOffset;
        const bPtr = B_BASE + 4 * bOffset;
        view.set(a, aPtr / 4);
        view.set(b, bPtr / 4);
        const got = kernels[name](aPtr, bPtr, a.length);
        const want = naive[name](Float32Array.from(a), Float32Array.from(b));
        expect(close(got, want), `got ${got}, want ${want[0]}`).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('dotI8F32 agrees with the naive reference (f32 query, int8 codes)', () => {
    const i8case = fc.integer({ min: 1, max: 300 }).chain((dim) =>
      fc.record({
        q: fc.array(f32, { minLength: dim, maxLength: dim }),
        codes: fc.array(fc.integer({ min: -128, max: 127 }), { minLength: dim, maxLength: dim }),
        qOffset: fc.integer({ min: 0, max: 7 }),
        codeOffset: fc.integer({ min: 0, max: 31 }),
      }),
    );
    fc.assert(
      fc.property(i8case, ({ q, codes, qOffset, codeOffset }) => {
        const qPtr = A_BASE + 4 * qOffset;
        const codesPtr = B_BASE + codeOffset;
        new Float32Array(memory.buffer).set(q, qPtr / 4);
        new Int8Array(memory.buffer).set(codes, codesPtr);
        const got = kernels.dotI8F32(qPtr, codesPtr, q.length);
        expect(close(got, naive.dot(Float32Array.from(q), codes))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('scan kernels give exactly the per-pair results, row by row', () => {
    const scanCase = fc.record({
      dim: fc.integer({ min: 1, max: 300 }),
      count: fc.integer({ min: 0, max: 40 }),
      firstRow: fc.integer({ min: 0, max: 10 }),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(scanCase, ({ dim, count, firstRow, seed }) => {
        const rows = firstRow + count;
        const rnd = mulberry32(seed);
        const view = new Float32Array(memory.buffer);
        for (let i = 0; i < dim; i++) view[A_BASE / 4 + i] = rnd() * 200 - 100;
        for (let i = 0; i < rows * dim; i++) view[B_BASE / 4 + i] = rnd() * 200 - 100;
        const outPtr = 8192;
        const out = new Float32Array(memory.buffer, outPtr, count);
        const base = B_BASE + firstRow * dim * 4;
        for (const name of ['dot', 'l2sq', 'l1'] as const) {
          out.fill(Number.NaN);
          kernels[`${name}Scan`](A_BASE, base, count, dim, outPtr);
          for (let r = 0; r < count; r++) expect(out[r]).toBe(kernels[name](A_BASE, base + r * dim * 4, dim));
        }
        const i8 = new Int8Array(memory.buffer);
        for (let i = 0; i < rows * dim; i++) i8[B_BASE + i] = Math.floor(rnd() * 256) - 128;
        const codesBase = B_BASE + firstRow * dim; // int8 rows are dim bytes apart
        out.fill(Number.NaN);
        kernels.dotI8F32Scan(A_BASE, codesBase, count, dim, outPtr);
        for (let r = 0; r < count; r++) expect(out[r]).toBe(kernels.dotI8F32(A_BASE, codesBase + r * dim, dim));
      }),
      { numRuns: 100 },
    );
  });

  it('gather kernels give exactly the per-pair results for rows named by id, also in place', () => {
    const gatherCase = fc.record({
      dim: fc.integer({ min: 1, max: 200 }),
      rows: fc.integer({ min: 1, max: 30 }),
      ids: fc.array(fc.nat(), { maxLength: 40 }),
      inPlace: fc.boolean(),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(gatherCase, ({ dim, rows, ids, inPlace, seed }) => {
        const rnd = mulberry32(seed);
        const view = new Float32Array(memory.buffer);
        for (let i = 0; i < dim; i++) view[A_BASE / 4 + i] = rnd() * 200 - 100;
        for (let i = 0; i < rows * dim; i++) view[B_BASE / 4 + i] = rnd() * 200 - 100;
        const idsPtr = 8192;
        const outPtr = inPlace ? idsPtr : idsPtr + 4 * 64;
        const row = ids.map((id) => id % rows);
        for (const name of ['dot', 'l2sq', 'l1'] as const) {
          new Uint32Array(memory.buffer, idsPtr, row.length).set(row);
          kernels[`${name}Gather`](A_BASE, B_BASE, idsPtr, row.length, dim, outPtr);
          const out = new Float32Array(memory.buffer, outPtr, row.length);
          row.forEach((r, i) => {
            expect(out[i]).toBe(kernels[name](A_BASE, B_BASE + r * dim * 4, dim));
          });
        }
      }),
      { numRuns: 100 },
    );
  });

  it('traps instead of reading past the memory', () => {
    expect(() => kernels.dot(0, memory.buffer.byteLength - 8, 4)).toThrow(/out of bounds/);
  });
});

describe('segment memory layout', () => {
  it('keeps lock words, scratch slots and rows apart, 64-byte aligned', () => {
    for (const dim of [1, 3, 4, 13, 128, 300, 768, 1536]) {
      expect(vectorsByteOffset(dim) % 64).toBe(0);
      expect(slotBytes(dim) % 64).toBe(0);
      expect(scratchQueryPtr(dim, 0)).toBeGreaterThanOrEqual(SCRATCH_SLOTS * 4);
      for (let slot = 0; slot < SCRATCH_SLOTS; slot++) {
        expect(scratchQueryPtr(dim, slot) % 16).toBe(0);
        expect(scratchOutPtr(dim, slot)).toBeGreaterThanOrEqual(scratchQueryPtr(dim, slot) + dim * 4);
        expect(scratchOutPtr(dim, slot) + SCAN_BLOCK * 4).toBeLessThanOrEqual(
          slot + 1 < SCRATCH_SLOTS ? scratchQueryPtr(dim, slot + 1) : vectorsByteOffset(dim),
        );
      }
    }
  });

  it('creates shared memories sized for the rows, growable up to maxRows, never above 4 GiB', () => {
    const m = createSegmentMemory(128, 10_000, 100);
    expect(m.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(m.buffer.byteLength).toBe(pagesFor(128, 100) * 65536);
    expect(vectorsView(m, 128, 100).length).toBe(12_800);
    m.grow(pagesFor(128, 10_000) - pagesFor(128, 100));
    expect(() => m.grow(1)).toThrow(RangeError);
    expect(() => createSegmentMemory(128, 10, 11)).toThrow(RangeError);
    expect(() => createSegmentMemory(768, 2_000_000, maxRowsPerMemory(768) + 1)).toThrow(RangeError);
    expect(pagesFor(768, maxRowsPerMemory(768))).toBeLessThanOrEqual(65536);
  });
});

describe('scratch leases', () => {
  it('hands out every slot once, then -1, and takes them back', () => {
    const m = createSegmentMemory(8, 16, 16);
    const slots = Array.from({ length: SCRATCH_SLOTS }, () => leaseScratch(m, 8));
    expect(new Set(slots).size).toBe(SCRATCH_SLOTS);
    expect(Math.min(...slots)).toBeGreaterThanOrEqual(0);
    expect(leaseScratch(m, 8)).toBe(-1);
    releaseScratch(m, slots[3]);
    expect(leaseScratch(m, 8)).toBe(slots[3]);
    for (const slot of slots) releaseScratch(m, slot);
    expect(() => releaseScratch(m, slots[0])).toThrow(/not leased/);
  });

  it('reclaims the slots of an owner that died holding them, and only those', () => {
    const m = createSegmentMemory(8, 16, 16);
    const dead = [leaseScratch(m, 8, 7), leaseScratch(m, 8, 7), leaseScratch(m, 8, 7)];
    const alive = leaseScratch(m, 8, 9);
    expect(reclaimScratch(m, 7)).toBe(3);
    expect(reclaimScratch(m, 7)).toBe(0);
    const words = new Int32Array(m.buffer, 0, SCRATCH_SLOTS);
    for (const slot of dead) expect(words[slot]).toBe(0);
    expect(words[alive]).toBe(9);
    releaseScratch(m, alive);
    expect(() => leaseScratch(m, 8, 0)).toThrow(RangeError);
  });

  it('two worker threads hammering one memory never hold the same slot at once', async () => {
    const m = createSegmentMemory(16, 16, 16);
    // holders[slot] counts current holders of the slot: it must never exceed 1
    const holders = new Int32Array(new SharedArrayBuffer(4 * SCRATCH_SLOTS));
    const started = new Int32Array(new SharedArrayBuffer(4));
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { memory, holders, started, url, id } = workerData;
      import(url).then(({ leaseScratch, releaseScratch, scratchQueryPtr }) => {
        const stamp = new Int32Array(memory.buffer);
        let leases = 0, busy = 0, collisions = 0;
        const held = [];
        // start together, then run for at least 20,000 rounds and 300 ms so the two overlap
        Atomics.add(started, 0, 1);
        while (Atomics.load(started, 0) < 2);
        const until = Date.now() + 300;
        for (let round = 0; round < 20000 || Date.now() < until; round++) {
          // hold up to 12 slots at once: two threads together want more than the 16 there are
          while (held.length < 1 + (round % 12)) {
            const slot = leaseScratch(memory, 16);
            if (slot < 0) { busy++; break; }
            leases++;
            if (Atomics.add(holders, slot, 1) !== 0) collisions++;
            stamp[scratchQueryPtr(16, slot) / 4] = id;
            held.push(slot);
          }
          const slot = held.shift();
          if (slot === undefined) continue;
          if (stamp[scratchQueryPtr(16, slot) / 4] !== id) collisions++;
          Atomics.sub(holders, slot, 1);
          releaseScratch(memory, slot);
        }
        for (const slot of held) { Atomics.sub(holders, slot, 1); releaseScratch(memory, slot); }
        parentPort.postMessage({ leases, busy, collisions });
      });
    `;
    const run = (id: number) =>
      new Promise<{ leases: number; busy: number; collisions: number }>((resolve, reject) => {
        const worker = new Worker(code, {
          eval: true,
          workerData: { memory: m, holders, started, url: ENGINE_URL, id },
        });
        worker.once('message', (result) => {
          void worker.terminate();
          resolve(result);
        });
        worker.once('error', reject);
      });
    const results = await Promise.all([run(1), run(2)]);
    for (const { leases, collisions } of results) {
      expect(collisions).toBe(0);
      expect(leases).toBeGreaterThan(20_000);
    }
    expect(results[0]!.busy + results[1]!.busy).toBeGreaterThan(0);
    expect(Array.from(new Int32Array(m.buffer, 0, SCRATCH_SLOTS))).toEqual(new Array(SCRATCH_SLOTS).fill(0));
  });
});

describe('a segment memory posted to a worker', () => {
  it('is shared: the worker sees the parent’s rows, later writes and growth, and the parent sees the worker’s', async () => {
    const dim = 37;
    const m = createSegmentMemory(dim, 5000, 100);
    const rows = vectorsView(m, dim, 100);
    const rnd = mulberry32(7);
    for (let i = 0; i < rows.length; i++) rows[i] = rnd() * 2 - 1;
    const query = Float32Array.from({ length: dim }, () => rnd() * 2 - 1);
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { memory, url, dim } = workerData;
      import(url).then(({ bindQuery, vectorsView }) => {
        parentPort.on('message', ({ step, query, rows }) => {
          if (step === 'score') {
            const set = bindQuery(memory, dim, 'Euclid', query);
            const out = new Float32Array(rows);
            set.scanBlock(0, rows, out);
            set.release();
            parentPort.postMessage({ backend: set.backend, out, bytes: memory.buffer.byteLength });
          } else {
            vectorsView(memory, dim, rows)[rows * dim - 1] = 42; // the last element of the last row
            parentPort.postMessage({ done: true });
          }
        });
        parentPort.postMessage({ ready: true });
      });
    `;
    const worker = new Worker(code, { eval: true, workerData: { memory: m, url: ENGINE_URL, dim } });
    const next = () => new Promise<any>((resolve) => worker.once('message', resolve));
    try {
      await next();
      const expectScores = async (count: number) => {
        worker.postMessage({ step: 'score', query, rows: count });
        const { backend, out, bytes } = await next();
        expect(backend).toBe('wasm');
        expect(bytes).toBe(m.buffer.byteLength);
        const view = vectorsView(m, dim, count);
        for (let r = 0; r < count; r++) {
          expect(close(out[r], naive.l2sq(query, view.subarray(r * dim, (r + 1) * dim)))).toBe(true);
        }
      };
      await expectScores(100);
      // written after the memory was posted
      rows.fill(0.5, 0, dim);
      await expectScores(100);
      // grown after it was posted (a new, longer SharedArrayBuffer over the same memory)
      m.grow(pagesFor(dim, 3000) - pagesFor(dim, 100));
      const grown = vectorsView(m, dim, 3000);
      for (let i = 100 * dim; i < grown.length; i++) grown[i] = rnd() * 2 - 1;
      await expectScores(3000);
      worker.postMessage({ step: 'write', rows: 3000 });
      await next();
      expect(vectorsView(m, dim, 3000)[3000 * dim - 1]).toBe(42);
    } finally {
      await worker.terminate();
    }
  });
});

describe('bindQuery', () => {
  const dim = 77;
  const count = 2500; // more than SCAN_BLOCK: scanBlock loops over several blocks
  const m = createSegmentMemory(dim, count, count);
  const rows = vectorsView(m, dim, count);
  const rnd = mulberry32(42);
  for (let i = 0; i < rows.length; i++) rows[i] = rnd() * 2 - 1;
  const query = Float32Array.from({ length: dim }, () => rnd() * 2 - 1);

  it.each(DISTANCES)('%s: WASM and the JS fallback both compute METRICS[distance].raw', (distance) => {
    const wasm = bindQuery(m, dim, distance, query);
    const slots: number[] = [];
    for (let slot = leaseScratch(m, dim); slot >= 0; slot = leaseScratch(m, dim)) slots.push(slot);
    // every slot is busy now: the next binding must fall back to JS
    const js = bindQuery(m, dim, distance, query);
    try {
      expect(wasm.backend).toBe('wasm');
      expect(js.backend).toBe('js');
      const wasmOut = new Float32Array(count);
      const jsOut = new Float32Array(count);
      wasm.scanBlock(0, count, wasmOut);
      js.scanBlock(0, count, jsOut);
      const { raw } = METRICS[distance];
      for (const row of [0, 1, 1023, 1024, 2047, count - 1]) {
        const want = raw(query, 0, rows, row * dim, dim);
        expect(js.raw(row)).toBe(want);
        expect(jsOut[row]).toBe(Math.fround(want));
        expect(wasm.raw(row)).toBe(wasmOut[row]);
      }
      const reference = distance === 'Euclid' ? naive.l2sq : distance === 'Manhattan' ? naive.l1 : naive.dot;
      for (let row = 0; row < count; row++) {
        const want = reference(query, rows.subarray(row * dim, (row + 1) * dim));
        expect(close(wasmOut[row]!, want)).toBe(true);
        expect(close(jsOut[row]!, want)).toBe(true);
      }
      // a block in the middle lands at out[0]
      const part = new Float32Array(10);
      wasm.scanBlock(1020, 10, part);
      expect(Array.from(part)).toEqual(Array.from(wasmOut.subarray(1020, 1030)));
      // the batch form (graph search) scores rows named by id exactly as raw() does; JS kernels have none
      expect(js.batch).toBeUndefined();
      const picked = [count - 1, 0, 1024, 7, 7, 2047];
      wasm.batch.ids.set(picked);
      wasm.batch.score(picked.length);
      picked.forEach((row, i) => {
        expect(wasm.batch.scores[i]).toBe(wasm.raw(row));
        expect(wasm.batch.ids[i]).toBe(row);
      });
    } finally {
      wasm.release();
      js.release();
      for (const slot of slots) releaseScratch(m, slot);
    }
  });

  it('release() frees the slot once and is idempotent; backend "js" leases nothing', () => {
    const set = bindQuery(m, dim, 'Dot', query);
    set.release();
    set.release();
    const forced = bindQuery(m, dim, 'Dot', query, { backend: 'js' });
    expect(forced.backend).toBe('js');
    expect(Array.from(new Int32Array(m.buffer, 0, SCRATCH_SLOTS))).toEqual(new Array(SCRATCH_SLOTS).fill(0));
  });

  it('rejects a query of the wrong dimension', () => {
    expect(() => bindQuery(m, dim, 'Dot', new Float32Array(dim + 1))).toThrow(RangeError);
  });
});
