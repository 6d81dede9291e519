/**
 * The piscina entry point: runs search and scan tasks over shared segment memory with the index engine.
 * Never throws across the thread boundary: every outcome is an Envelope.
 */

import { threadId } from 'node:worker_threads';
import { buildHnsw } from '../index-engine/hnsw/build.js';
import { encodeHnsw } from '../index-engine/hnsw/format.js';
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
import { bindQuery } from '../index-engine/kernels/kernel-set.js';
import { vectorsView } from '../index-engine/kernels/memory-layout.js';
import { KernelScorer, rowScorerFactory } from '../index-engine/kernels/row-scorer.js';
import type { Distance, Metric } from '../index-engine/metric.js';
import { encodeSq8Bundle } from '../index-engine/quantization/sq8-bundle.js';
import { encodeSq8 } from '../index-engine/quantization/sq8-encode.js';
import { createSq8Scorer, oversampledK, rescoreExact } from '../index-engine/quantization/sq8-scorer.js';
import { trainSq8 } from '../index-engine/quantization/sq8-train.js';
import type { SegmentPlan } from '../index-engine/segment-search.js';
import { searchSegment } from '../index-engine/segment-search.js';
import { columnOrderOf, graphOf, memoryOf, sq8Of } from './graph-cache.js';
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
import { SegmentCache } from './segment-cache.js';

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

function searchOne(
  handle: SegmentHandle,
  segment: SegmentView,
  graph: HnswGraph | null,
  q: SearchQuery,
  distance: Distance,
  metric: Metric,
): { offsets: Uint32Array; raws: Float64Array; plan: SegmentPlan; quantized: boolean } {
  if (segment.dim !== q.vector.length) {
    throw new RangeError(`query has ${q.vector.length} dimensions, segment ${handle.uid} has ${segment.dim}`);
  }
  const sq8 = q.quantization.ignore || q.exact ? null : sq8Of(handle);
  if (sq8 === null) {
    // The SIMD kernels over the segment's shared memory (JS kernels when no scratch slot is free).
    const kernels = bindQuery(memoryOf(handle), segment.dim, distance, q.vector, { owner: threadId + 1 });
    try {
      return { ...searchSegment(segment, graph, q, new KernelScorer(kernels, distance), metric), quantized: false };
    } finally {
      kernels.release();
    }
  }
  // Search over the int8 codes, then (rescore) re-rank the oversampled candidates with the float vectors.
  const scorer = createSq8Scorer(sq8.params, sq8.encoded, q.vector, distance);
  const k = q.quantization.rescore ? oversampledK(q.k, q.quantization.oversampling) : q.k;
  const approx = searchSegment(segment, graph, { ...q, k }, scorer, metric);
  if (!q.quantization.rescore) return { ...approx, quantized: true };
  const exact = rescoreExact(approx.offsets, segment.vectors, segment.dim, q.vector, distance, q.k);
  return { offsets: exact.offsets, raws: exact.scores, plan: approx.plan, quantized: true };
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
  const segments = task.segments.map((handle) => ({ handle, view: view(handle), graph: graphOf(handle) }));
  return task.queries.map((q) => {
    const parts: SegmentResult[] = [];
    const plans: SegmentPlanReport[] = [];
    for (const { handle, view: segment, graph } of segments) {
      const hits = searchOne(handle, segment, graph, q, task.distance, metric);
      parts.push({ uid: handle.uid, offsets: hits.offsets, raws: hits.raws });
      plans.push({ uid: handle.uid, ...hits.plan, quantized: hits.quantized });
    }
    const best = mergeHits(parts, q.k, metric.higherIsBetter);
    const n = best.offsets.length;
    const scores = new Float64Array(n);
    let passing = 0;
    const threshold = q.scoreThreshold;
    for (let i = 0; i < n; i++) {
      const score = metric.finalize(best.raws[i]!);
      // results are best first: the first one below the threshold ends the list
      if (threshold !== null && (metric.higherIsBetter ? score < threshold : score > threshold)) break;
      scores[i] = score;
      passing++;
    }
    return {
      uids: best.uids.slice(0, passing),
      offsets: best.offsets.slice(0, passing),
      scores: scores.slice(0, passing),
      plans,
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
    sq8 = new Uint8Array(encodeSq8Bundle(params, encoded, segment.count));
  }
  return { graph: new Uint8Array(encodeHnsw(graph)), sq8, ms: performance.now() - started };
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
  try {
    switch (task.kind) {
      case 'search':
        return { ok: true, value: search(task) };
      case 'scan':
        return { ok: true, value: scan(task) };
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
    return { ok: false, error: { code: WORKER_ERROR_CODES.failed, message } };
  }
}
