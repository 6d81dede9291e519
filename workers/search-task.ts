/**
 * The piscina entry point: runs search and scan tasks over shared segment memory with the index engine.
 * Never throws across the thread boundary: every outcome is an Envelope.
 */

import { threadId } from 'node:worker_threads';
import { type BatchSegmentQuery, searchSegmentBatch } from '../index-engine/batch-search.js';
import { buildHnsw } from '../index-engine/hnsw/build.js';
import { encodeHnswInto, hnswByteLength } from '../index-engine/hnsw/format.js';
import type { HnswGraph } from '../index-engine/hnsw/graph.js';
import { computeNormalizers, hubnessStats } from '../index-engine/hubness/index.js';
import {
  compileRowPredicate,
  isColumnFilter,
  isTombstoned,
  METRICS,
  matchingRows,
  type SegmentHandle,
  type SegmentView,
} from '../index-engine/index.js';
import { kernelBatchDeps } from '../index-engine/kernels/kernel-batch-deps.js';
import { vectorsView } from '../index-engine/kernels/memory-layout.js';
import { rowScorerFactory } from '../index-engine/kernels/row-scorer.js';
import type { Distance, Metric } from '../index-engine/metric.js';
import { encodeSq8Bundle } from '../index-engine/quantization/sq8-bundle.js';
import { encodeSq8 } from '../index-engine/quantization/sq8-encode.js';
import { createSq8Scorer, oversampledK, rescoreExact } from '../index-engine/quantization/sq8-scorer.js';
import { trainSq8 } from '../index-engine/quantization/sq8-train.js';
import type { SegmentHits } from '../index-engine/segment-search.js';
import { searchSegment } from '../index-engine/segment-search.js';
import { columnOrderOf, graphOf, memoryOf, sq8Of } from './graph-cache.js';
import { reportHeap } from './heap-report.js';
import { partition } from './partition-task.js';
import { payloadReader } from './payload-cache.js';
import type {
  BuildGraphTask,
  BuiltGraph,
  Envelope,
  QueryHits,
  ScanHits,
  ScanTask,
  SearchQuery,
  SearchTask,
  SegmentPlanReport,
  Task,
} from './protocol.js';
import { WORKER_ERROR_CODES } from './protocol.js';
import { beginTask, collectSoon, SegmentCache } from './segment-cache.js';
import { type SegmentVisit, segmentVisits } from './segment-visits.js';
import { resolveWire, UnknownSegmentError } from './segment-wire.js';

/**
 * The typed views of a segment, kept per uid while its row count stays the same (buffers never move). Like the
 * other per-segment caches it lets go of segments unused for a while: a view keeps the segment's whole shared
 * memory alive, so holding views of merged or vacuumed segments made resident memory grow under overwrites.
 */
interface CachedView {
  count: number;
  vectors: Float32Array;
  tombstones: Uint32Array;
  payload: (o: number) => unknown;
}
const views = new SegmentCache<{ current: CachedView | null }>();

function view(handle: SegmentHandle): SegmentView {
  const entry = views.get(handle.uid, () => ({ current: null }));
  let cached = entry.current;
  if (cached === null || cached.count !== handle.count) {
    cached = {
      count: handle.count,
      vectors: vectorsView(memoryOf(handle), handle.dim, handle.count),
      tombstones: new Uint32Array(handle.tombstones),
      payload: payloadReader(handle),
    };
    entry.current = cached;
  }
  return {
    uid: handle.uid,
    dim: handle.dim,
    count: handle.count,
    liveCount: handle.liveCount,
    vectors: cached.vectors,
    tombstones: cached.tombstones,
    columns: handle.columns,
    columnOrder: columnOrderOf(handle),
    payload: cached.payload,
  };
}

interface SegmentResult {
  readonly uid: number;
  readonly offsets: Uint32Array;
  readonly raws: Float64Array;
}

type Hits = SegmentHits & { readonly quantized: boolean };

/** Search over the int8 codes, then (rescore) re-rank the oversampled candidates with the float vectors. */
function searchQuantized(
  segment: SegmentView,
  graph: HnswGraph | null,
  q: SearchQuery,
  sq8: NonNullable<ReturnType<typeof sq8Of>>,
  distance: Distance,
  metric: Metric,
): Hits {
  if (segment.dim !== q.vector.length) {
    throw new RangeError(`query has ${q.vector.length} dimensions, segment ${segment.uid} has ${segment.dim}`);
  }
  const scorer = createSq8Scorer(sq8.params, sq8.encoded, q.vector, distance);
  const k = q.quantization.rescore ? oversampledK(q.k, q.quantization.oversampling) : q.k;
  const approx = searchSegment(segment, graph, { ...q, k }, scorer, metric);
  if (!q.quantization.rescore) return { ...approx, quantized: true };
  const exact = rescoreExact(approx.offsets, segment.vectors, segment.dim, q.vector, distance, q.k);
  return { offsets: exact.offsets, raws: exact.scores, plan: approx.plan, quantized: true };
}

/**
 * One segment's visits (in order): the queries that search its int8 codes one by one, every other query through
 * searchSegmentBatch (shared filter work, blocks of queries per row read) on the SIMD kernels over the segment's
 * shared memory (JS kernels when no scratch slot is free).
 */
function searchVisits(
  handle: SegmentHandle,
  segment: SegmentView,
  graph: HnswGraph | null,
  task: SearchTask,
  visits: readonly SegmentVisit[],
  metric: Metric,
): Hits[] {
  const hits = new Array<Hits>(visits.length);
  const batch: BatchSegmentQuery[] = [];
  const batched: number[] = [];
  visits.forEach((visit, j) => {
    const q = { ...task.queries[visit.query]!, filter: visit.filter };
    const sq8 = q.quantization.ignore || q.exact ? null : sq8Of(handle);
    if (sq8 !== null) {
      hits[j] = searchQuantized(segment, graph, q, sq8, task.distance, metric);
    } else {
      batch.push(q);
      batched.push(j);
    }
  });
  if (batch.length > 0) {
    const deps = kernelBatchDeps(memoryOf(handle), segment.dim, task.distance, { owner: threadId + 1 });
    searchSegmentBatch(segment, graph, batch, deps, metric).forEach((h, i) => {
      hits[batched[i]!] = { ...h, quantized: false };
    });
  }
  return hits;
}

/**
 * The best k of several segments' lists (each best first): by raw score, then uid, then offset. One list is
 * already in that order.
 */
function mergeHits(
  parts: readonly SegmentResult[],
  k: number,
  higherIsBetter: boolean,
): SegmentResult & { uids: Uint32Array } {
  if (parts.length === 1) {
    const { uid, offsets, raws } = parts[0]!;
    const n = Math.min(k, offsets.length);
    return { uid, uids: new Uint32Array(n).fill(uid), offsets: offsets.subarray(0, n), raws: raws.subarray(0, n) };
  }
  let total = 0;
  for (const p of parts) total += p.offsets.length;
  const uids = new Uint32Array(total);
  const offsets = new Uint32Array(total);
  const raws = new Float64Array(total);
  let at = 0;
  for (const p of parts) {
    uids.fill(p.uid, at, at + p.offsets.length);
    offsets.set(p.offsets, at);
    raws.set(p.raws, at);
    at += p.offsets.length;
  }
  const order = Array.from({ length: total }, (_, i) => i);
  order.sort(
    (a, b) =>
      (higherIsBetter ? raws[b]! - raws[a]! : raws[a]! - raws[b]!) || uids[a]! - uids[b]! || offsets[a]! - offsets[b]!,
  );
  const n = Math.min(k, total);
  const out = { uid: 0, uids: new Uint32Array(n), offsets: new Uint32Array(n), raws: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const j = order[i]!;
    out.uids[i] = uids[j]!;
    out.offsets[i] = offsets[j]!;
    out.raws[i] = raws[j]!;
  }
  return out;
}

function search(task: SearchTask): QueryHits[] {
  const metric = METRICS[task.distance];
  const { routes } = task;
  if (routes !== undefined && routes.length !== task.segments.length) {
    throw new RangeError(`${routes.length} segment routes for ${task.segments.length} segments`);
  }
  const parts: SegmentResult[][] = task.queries.map(() => []);
  const plans: SegmentPlanReport[][] = task.queries.map(() => []);
  task.segments.forEach((handle, s) => {
    const visits = segmentVisits(task.queries, routes?.[s]);
    if (visits.length === 0) return;
    const hits = searchVisits(handle, view(handle), graphOf(handle), task, visits, metric);
    visits.forEach(({ query }, j) => {
      const h = hits[j]!;
      parts[query]!.push({ uid: handle.uid, offsets: h.offsets, raws: h.raws });
      plans[query]!.push({ uid: handle.uid, ...h.plan, quantized: h.quantized });
    });
  });
  return task.queries.map((q, i) => {
    const best = mergeHits(parts[i]!, q.k, metric.higherIsBetter);
    const n = best.offsets.length;
    const scores = new Float64Array(n);
    let passing = 0;
    const threshold = q.scoreThreshold;
    for (let r = 0; r < n; r++) {
      const score = metric.finalize(best.raws[r]!);
      // results are best first: the first one below the threshold ends the list
      if (threshold !== null && (metric.higherIsBetter ? score < threshold : score > threshold)) break;
      scores[r] = score;
      passing++;
    }
    return {
      uids: best.uids.slice(0, passing),
      offsets: best.offsets.slice(0, passing),
      scores: scores.slice(0, passing),
      plans: plans[i]!,
    };
  });
}

function buildGraph(task: BuildGraphTask): BuiltGraph {
  const started = performance.now();
  const { segment, m, efConstruct, seed } = task;
  const memory = memoryOf(segment);
  const vectors = vectorsView(memory, segment.dim, segment.count);
  const graph = buildHnsw({
    count: segment.count,
    scorerFor: rowScorerFactory(memory, segment.dim, segment.count, task.distance),
    m,
    efConstruct,
    seed,
  });
  let sq8: Uint8Array | null = null;
  if (task.quantization !== null) {
    const params = trainSq8(vectors, segment.dim, segment.count, { quantile: task.quantization.quantile, seed });
    const encoded = encodeSq8(params, vectors, segment.dim, segment.count);
    sq8 = shared(new Uint8Array(encodeSq8Bundle(params, encoded, segment.count)));
  }
  // Encoded straight into shared memory: the main thread attaches it to the segment as it is (Segment.attachIndex),
  // where an ArrayBuffer was copied into the message and copied again into a SharedArrayBuffer, two graph-sized
  // allocations per build in the main thread's malloc.
  const encodedGraph = new SharedArrayBuffer(hnswByteLength(graph));
  encodeHnswInto(graph, encodedGraph, 0);
  // the build's scratch (links and distances of every node, about 400 bytes per row) is garbage now: collect it
  // at the next task rather than at the worker's next major GC, which may be tens of seconds away
  collectSoon();
  return { graph: new Uint8Array(encodedGraph), sq8, ms: performance.now() - started };
}

function shared(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
  out.set(bytes);
  return out;
}

function scan(task: ScanTask): ScanHits {
  const uids: number[] = [];
  const offsets: number[] = [];
  let count = 0;
  for (const handle of task.segments) {
    const segment = view(handle);
    if (isColumnFilter(task.filter, segment.columns)) {
      // the columns list the matches (live ones, ascending) without a test per row
      const rows = matchingRows(task.filter, segment, segment.columnOrder);
      count += rows.length;
      if (!task.countOnly) {
        for (let i = 0; i < rows.length; i++) {
          uids.push(segment.uid);
          offsets.push(rows[i]!);
        }
      }
      continue;
    }
    const passes = compileRowPredicate(task.filter, segment);
    for (let row = 0; row < segment.count; row++) {
      if (isTombstoned(segment.tombstones, row) || !passes(row)) continue;
      count++;
      if (!task.countOnly) {
        uids.push(segment.uid);
        offsets.push(row);
      }
    }
  }
  return { uids: Uint32Array.from(uids), offsets: Uint32Array.from(offsets), count };
}

export default function runTask(task: Task): Envelope<unknown> {
  // on a worker: let go of retired segments (and collect them), and report the heap to the pool; piscina's
  // workers run no event loop between tasks, so this is where a worker does its housekeeping
  const now = Date.now();
  beginTask(now);
  reportHeap(now);
  return { ...outcomeOf(task), thread: threadId };
}

/** The task with the segments it was sent as references resolved to this thread's handles. */
function withSegments<T extends SearchTask | ScanTask>(task: T): T {
  return task.wire ? { ...task, segments: resolveWire(task.wire) } : task;
}

function outcomeOf(task: Task): Envelope<unknown> {
  try {
    switch (task.kind) {
      case 'search':
        return { ok: true, value: search(withSegments(task)) };
      case 'scan':
        return { ok: true, value: scan(withSegments(task)) };
      case 'build_graph':
        return { ok: true, value: buildGraph(task) };
      case 'dbnorm_normalizers':
        return {
          ok: true,
          value: computeNormalizers({ ...task, bank: { vectors: task.bank, count: task.bankCount } }),
        };
      case 'hubness_stats':
        return { ok: true, value: hubnessStats(task.lists, task.k, task.points) };
      case 'partition':
        return { ok: true, value: partition(task) };
      case 'test_crash':
        if (process.env.STRATA_ENABLE_TEST_TASKS !== '1') throw new Error('test tasks are disabled');
        process.exit(70);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const code = e instanceof UnknownSegmentError ? e.code : WORKER_ERROR_CODES.failed;
    return { ok: false, error: { code, message } };
  }
}
