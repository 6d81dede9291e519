/**
 * Distance kernels, plain JS against WebAssembly SIMD: `npm run bench:kernels` (or `node dist/bench/kernels.js`
 * after a build). For each dim and kernel, a full scan of every row against one query, three ways:
 *
 * - JS:        the unrolled loops of index-engine/distance.ts over a Float32Array view of the segment memory
 * - WASM pair: one JS→WASM call per row (what a graph search's raw(rowOffset) does)
 * - WASM scan: bindQuery(...).scanBlock over all rows (the scan kernel, SCAN_BLOCK rows per call, plus the
 *              copy of each block's scores out of the scratch slot)
 *
 * Throughput is vector bytes read per second (rows · dim · 4, or · 1 for int8 codes), the median of RUNS runs,
 * each run scanning at least RUN_BYTES. Rows and query are seeded uniform floats in [-1, 1).
 * `--quick` runs 2 runs on a tenth of the rows (a smoke test). bench/KERNELS.md quotes a full run.
 *
 * Multi-query (batch) scoring, same run: B queries scored one by one (bindQuery: scanBlock over the rows, or the
 * gather batch over a list) against the blocked kernels (bindQueryBlock, MAX_BLOCK_QUERIES queries per block, each
 * row read once per block), in rows × queries per second. `--multi` runs only this part.
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  bindQuery,
  bindQueryBlock,
  createSegmentMemory,
  createWasmKernels,
  type Distance,
  dot,
  leaseScratch,
  MAX_BLOCK_QUERIES,
  manhattan,
  type PairKernel,
  releaseScratch,
  SCAN_BLOCK,
  type SegmentMemory,
  scratchOutPtr,
  scratchQueryPtr,
  squaredL2,
  vectorsByteOffset,
  vectorsView,
  wasmSimdSupported,
} from '../index-engine/index.js';
import { uniformRandom as mulberry32 } from '../index-engine/random.js';
import { median } from './measure.js';

const quick = process.argv.includes('--quick');
const RUNS = quick ? 2 : 7;
const RUN_BYTES = quick ? 32e6 : 400e6;
const SIZES = [
  { dim: 128, rows: 100_000 },
  { dim: 768, rows: 20_000 },
].map(({ dim, rows }) => ({ dim, rows: quick ? rows / 10 : rows }));
/** One JS scan per kernel, so each call site sees one function (as a specialized search loop would). */
type JsScan = (query: Float32Array, vectors: Float32Array, rows: number, dim: number, out: Float32Array) => void;
const KERNELS = [
  {
    name: 'dot',
    distance: 'Dot',
    js: (query, vectors, rows, dim, out) => {
      for (let r = 0; r < rows; r++) out[r] = dot(query, 0, vectors, r * dim, dim);
    },
  },
  {
    name: 'l2sq',
    distance: 'Euclid',
    js: (query, vectors, rows, dim, out) => {
      for (let r = 0; r < rows; r++) out[r] = squaredL2(query, 0, vectors, r * dim, dim);
    },
  },
  {
    name: 'l1',
    distance: 'Manhattan',
    js: (query, vectors, rows, dim, out) => {
      for (let r = 0; r < rows; r++) out[r] = manhattan(query, 0, vectors, r * dim, dim);
    },
  },
] as const satisfies readonly { name: string; distance: Distance; js: JsScan }[];
const DRAM_ROWS = 2 ** 21;

let sink = 0;

/** GB/s of every run of `pass` (which reads `bytes`), after one untimed pass (JIT and WASM tier-up). */
function rates(bytes: number, pass: () => void): number[] {
  const passes = Math.max(1, Math.ceil(RUN_BYTES / bytes));
  pass();
  const result: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    for (let p = 0; p < passes; p++) pass();
    result.push((passes * bytes) / ((performance.now() - started) * 1e6));
  }
  return result;
}

interface Row {
  readonly dim: number;
  readonly rows: number;
  readonly kernel: string;
  readonly figures: Record<string, number>;
}

function benchF32(memory: SegmentMemory, dim: number, rows: number, query: Float32Array): Row[] {
  const vectors = vectorsView(memory, dim, rows);
  const wasm = createWasmKernels(memory);
  const out = new Float32Array(rows);
  const bytes = rows * dim * 4;
  const base = vectorsByteOffset(dim);
  const rowBytes = dim * 4;
  const result: Row[] = [];
  for (const { name, distance, js } of KERNELS) {
    const pair: PairKernel = wasm[name];
    const set = bindQuery(memory, dim, distance, query);
    if (set.backend !== 'wasm') throw new Error('no scratch slot for the benchmark');
    const slot = leaseScratch(memory, dim); // a second slot for the raw per-pair calls
    const queryPtr = scratchQueryPtr(dim, slot);
    new Float32Array(memory.buffer, queryPtr, dim).set(query);
    try {
      const figures = {
        js: median(
          rates(bytes, () => {
            js(query, vectors, rows, dim, out);
            sink += out[rows - 1]!;
          }),
        ),
        pair: median(
          rates(bytes, () => {
            for (let r = 0; r < rows; r++) out[r] = pair(queryPtr, base + r * rowBytes, dim);
            sink += out[rows - 1]!;
          }),
        ),
        scan: median(
          rates(bytes, () => {
            set.scanBlock(0, rows, out);
            sink += out[rows - 1]!;
          }),
        ),
      };
      result.push({ dim, rows, kernel: name, figures });
    } finally {
      releaseScratch(memory, slot);
      set.release();
    }
  }
  return result;
}

/** int8 codes (one byte per element) against an f32 query: the optional faster path for the quantizer. */
function benchI8(memory: SegmentMemory, dim: number, rows: number, query: Float32Array): Row {
  // the codes sit where the f32 rows start (they are only bytes to the kernel)
  const codesPtr = vectorsByteOffset(dim);
  const codes = new Int8Array(memory.buffer, codesPtr, rows * dim);
  const rnd = mulberry32(3);
  for (let i = 0; i < codes.length; i++) codes[i] = Math.floor(rnd() * 256) - 128;
  const wasm = createWasmKernels(memory);
  const slot = leaseScratch(memory, dim);
  const queryPtr = scratchQueryPtr(dim, slot);
  const outPtr = scratchOutPtr(dim, slot);
  new Float32Array(memory.buffer, queryPtr, dim).set(query);
  const scores = new Float32Array(memory.buffer, outPtr, SCAN_BLOCK);
  const out = new Float32Array(rows);
  const bytes = rows * dim;
  const jsDot = (codesOffset: number): number => {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    for (; i + 3 < dim; i += 4) {
      s0 += query[i]! * codes[codesOffset + i]!;
      s1 += query[i + 1]! * codes[codesOffset + i + 1]!;
      s2 += query[i + 2]! * codes[codesOffset + i + 2]!;
      s3 += query[i + 3]! * codes[codesOffset + i + 3]!;
    }
    for (; i < dim; i++) s0 += query[i]! * codes[codesOffset + i]!;
    return s0 + s1 + s2 + s3;
  };
  try {
    const figures = {
      js: median(
        rates(bytes, () => {
          for (let r = 0; r < rows; r++) out[r] = jsDot(r * dim);
          sink += out[rows - 1]!;
        }),
      ),
      pair: median(
        rates(bytes, () => {
          for (let r = 0; r < rows; r++) out[r] = wasm.dotI8F32(queryPtr, codesPtr + r * dim, dim);
          sink += out[rows - 1]!;
        }),
      ),
      scan: median(
        rates(bytes, () => {
          for (let r = 0; r < rows; r += SCAN_BLOCK) {
            const n = Math.min(SCAN_BLOCK, rows - r);
            wasm.dotI8F32Scan(queryPtr, codesPtr + r * dim, n, dim, outPtr);
            out.set(scores.subarray(0, n), r);
          }
          sink += out[rows - 1]!;
        }),
      ),
    };
    return { dim, rows, kernel: 'dotI8F32', figures };
  } finally {
    releaseScratch(memory, slot);
  }
}

/** Reference: copying the same bytes out of the segment memory (TypedArray.set, a memcpy), as read GB/s. */
function copyRate(memory: SegmentMemory, dim: number, rows: number): number {
  const from = vectorsView(memory, dim, rows);
  const to = new Float32Array(from.length);
  return median(rates(from.length * 4, () => to.set(from)));
}

/**
 * Memory bandwidth: the test sets above (51 and 61 MB) may sit partly in the last-level cache, so scan one
 * segment of DRAM_ROWS × 128 (1 GiB, beyond any cache) with the dot scan, and memcpy it.
 */
function dramReference(): string {
  const dim = 128;
  const rows = quick ? DRAM_ROWS / 8 : DRAM_ROWS;
  const memory = createSegmentMemory(dim, rows, rows);
  vectorsView(memory, dim, rows).fill(0.5);
  const set = bindQuery(memory, dim, 'Dot', new Float32Array(dim).fill(0.25));
  const out = new Float32Array(rows);
  try {
    const scan = median(rates(rows * dim * 4, () => set.scanBlock(0, rows, out)));
    const copy = copyRate(memory, dim, rows);
    return `${rows} × ${dim} (${((rows * dim * 4) / 2 ** 30).toFixed(2)} GiB): WASM dot scan ${scan.toFixed(1)} GB/s, memcpy ${copy.toFixed(1)} GB/s read`;
  } finally {
    set.release();
  }
}

const MULTI = { dim: 128, rows: 10_000, list: 1_000, batches: [1, 4, 16, 64] } as const;

/** Pairs (rows × queries) per second of every run of `pass`, which scores `pairs` pairs. */
function pairRates(pairs: number, pass: () => void): number[] {
  // the same bytes per run as the single-query table (rows · dim · 4 per query)
  return rates(pairs * MULTI.dim * 4, pass).map((gbs) => (gbs * 1e9) / (MULTI.dim * 4));
}

interface MultiRow {
  readonly rows: string;
  readonly kernel: string;
  readonly batch: number;
  readonly single: number;
  readonly blocked: number;
}

/** Per-query against blocked scoring of B queries, over every row (dense) and over a list of rows (gather). */
function benchMulti(): MultiRow[] {
  const { dim, rows, list } = MULTI;
  const memory = createSegmentMemory(dim, rows, rows);
  const vectors = vectorsView(memory, dim, rows);
  const rnd = mulberry32(11);
  for (let i = 0; i < vectors.length; i++) vectors[i] = rnd() * 2 - 1;
  // a sorted random list of distinct rows, as a filter's matches would be
  const picked = new Set<number>();
  while (picked.size < list) picked.add(Math.floor(rnd() * rows));
  const ids = Uint32Array.from([...picked].sort((a, b) => a - b));
  const out = new Float32Array(rows);
  const result: MultiRow[] = [];
  for (const { name, distance } of KERNELS) {
    for (const batch of MULTI.batches) {
      const queries = Array.from({ length: batch }, () => Float32Array.from({ length: dim }, () => rnd() * 2 - 1));
      const single = (mode: 'dense' | 'list') => () => {
        for (const q of queries) {
          const set = bindQuery(memory, dim, distance, q);
          try {
            if (mode === 'dense') set.scanBlock(0, rows, out);
            else {
              const b = set.batch!;
              for (let first = 0; first < list; first += b.capacity) {
                const n = Math.min(b.capacity, list - first);
                b.ids.set(ids.subarray(first, first + n));
                b.score(n);
                sink += b.scores[n - 1]!;
              }
            }
          } finally {
            set.release();
          }
        }
        sink += out[rows - 1]!;
      };
      const blocked = (mode: 'dense' | 'list') => () => {
        for (let first = 0; first < batch; first += MAX_BLOCK_QUERIES) {
          const block = bindQueryBlock(memory, dim, distance, queries.slice(first, first + MAX_BLOCK_QUERIES));
          try {
            if (mode === 'dense') {
              for (let r = 0; r < rows; r += block.scanCapacity)
                sink += block.scan(r, Math.min(block.scanCapacity, rows - r))[0]!;
            } else {
              for (let r = 0; r < list; r += block.gatherCapacity) {
                const n = Math.min(block.gatherCapacity, list - r);
                block.ids.set(ids.subarray(r, r + n));
                sink += block.gather(n)[0]!;
              }
            }
          } finally {
            block.release();
          }
        }
      };
      for (const mode of ['dense', 'list'] as const) {
        const pairs = (mode === 'dense' ? rows : list) * batch;
        result.push({
          rows: mode === 'dense' ? `${rows} × ${dim} (all)` : `${list} of ${rows} × ${dim} (list)`,
          kernel: name,
          batch,
          single: median(pairRates(pairs, single(mode))),
          blocked: median(pairRates(pairs, blocked(mode))),
        });
      }
    }
  }
  return result;
}

function printMulti(rows: readonly MultiRow[]): void {
  const m = (pairsPerSecond: number) => `${(pairsPerSecond / 1e6).toFixed(1)} M/s`;
  console.log('\n| rows | kernel | B queries | one by one (rows·queries/s) | blocked | blocked / one by one |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.rows} | ${r.kernel} | ${r.batch} | ${m(r.single)} | ${m(r.blocked)} | ${(r.blocked / r.single).toFixed(2)}× |`,
    );
  }
}

function main(): void {
  if (!wasmSimdSupported()) throw new Error('this runtime has no WebAssembly SIMD with shared memory');
  const cpu = os.cpus()[0]?.model ?? 'unknown';
  console.log(
    `node ${process.version}, ${cpu}, ${os.cpus().length} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; median of ${RUNS} runs, each ≥ ${RUN_BYTES / 1e6} MB${quick ? ' (--quick)' : ''}`,
  );
  if (process.argv.includes('--multi')) {
    printMulti(benchMulti());
    return;
  }
  const rows: Row[] = [];
  const copies: string[] = [];
  for (const { dim, rows: count } of SIZES) {
    const memory = createSegmentMemory(dim, count, count);
    const vectors = vectorsView(memory, dim, count);
    const rnd = mulberry32(dim);
    for (let i = 0; i < vectors.length; i++) vectors[i] = rnd() * 2 - 1;
    const query = Float32Array.from({ length: dim }, () => rnd() * 2 - 1);
    copies.push(`${dim}: ${copyRate(memory, dim, count).toFixed(1)} GB/s`);
    rows.push(...benchF32(memory, dim, count, query));
    rows.push(benchI8(memory, dim, count, query));
  }

  const fmt = (gbs: number, js: number) => `${gbs.toFixed(1)} GB/s (${(gbs / js).toFixed(1)}×)`;
  console.log('\n| dim × rows | kernel | JS unrolled | WASM per-pair | WASM scan | fastest |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const { dim, rows: count, kernel, figures } of rows) {
    const { js, pair, scan } = figures as { js: number; pair: number; scan: number };
    const fastest = Object.entries({ JS: js, 'WASM per-pair': pair, 'WASM scan': scan }).sort(
      (a, b) => b[1] - a[1],
    )[0]!;
    console.log(
      `| ${dim} × ${count} | ${kernel} | ${js.toFixed(1)} GB/s | ${fmt(pair, js)} | ${fmt(scan, js)} | ${fastest[0]} |`,
    );
  }
  console.log('');
  for (const kernel of [...KERNELS.map((k) => k.name), 'dotI8F32']) {
    const wins = rows
      .filter((r) => r.kernel === kernel)
      .map((r) => {
        const { js, pair, scan } = r.figures as { js: number; pair: number; scan: number };
        const best = scan >= pair && scan >= js ? 'WASM scan' : pair >= js ? 'WASM per-pair' : 'JS';
        return `dim ${r.dim}: ${best}`;
      });
    console.log(`fastest ${kernel}: ${wins.join(', ')}`);
  }
  console.log(`memcpy of the same rows: ${copies.join(', ')} (read)`);
  console.log(`beyond the caches: ${dramReference()}`);
  printMulti(benchMulti());
  if (Number.isNaN(sink)) console.log('(sink is NaN)');
}

main();
