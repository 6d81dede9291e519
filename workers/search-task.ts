/**
 * The piscina entry point: runs search and scan tasks over shared segment memory with the index engine.
 * Never throws across the thread boundary: every outcome is an Envelope.
 */

import { threadId } from 'node:worker_threads';
import { buildHnsw } from '../index-engine/hnsw/build.js';
import { encodeHnsw } from '../index-engine/hnsw/format.js';
import { computeNormalizers, hubnessStats } from '../index-engine/hubness/index.js';
import {
  compileRowPredicate,
  isTombstoned,
  METRICS,
  type SegmentHandle,
  type SegmentView,
} from '../index-engine/index.js';
import { bindQuery } from '../index-engine/kernels/kernel-set.js';
import { vectorsView } from '../index-engine/kernels/memory-layout.js';
import { KernelScorer, rowScorerFactory } from '../index-engine/kernels/row-scorer.js';
import { encodeSq8Bundle } from '../index-engine/quantization/sq8-bundle.js';
import { encodeSq8 } from '../index-engine/quantization/sq8-encode.js';
import { createSq8Scorer, oversampledK, rescoreExact } from '../index-engine/quantization/sq8-scorer.js';
import { trainSq8 } from '../index-engine/quantization/sq8-train.js';
import type { SegmentPlan } from '../index-engine/segment-search.js';
import { searchSegment } from '../index-engine/segment-search.js';
import { graphOf, memoryOf, sq8Of } from './graph-cache.js';
import { payloadReader } from './payload-cache.js';
import type {
  BuildGraphTask,
  BuiltGraph,
  Envelope,
  QueryHits,
  ScanHits,
  ScanTask,
  SearchTask,
  SegmentPlanReport,
  Task,
} from './protocol.js';
import { WORKER_ERROR_CODES } from './protocol.js';

function view(handle: SegmentHandle): SegmentView {
  return {
    uid: handle.uid,
    dim: handle.dim,
    count: handle.count,
    liveCount: handle.liveCount,
    vectors: vectorsView(memoryOf(handle), handle.dim, handle.count),
    tombstones: new Uint32Array(handle.tombstones),
    columns: handle.columns,
    payload: payloadReader(handle),
  };
}

function search(task: SearchTask): QueryHits[] {
  const metric = METRICS[task.distance];
  const views = task.segments.map((handle) => ({ handle, view: view(handle), graph: graphOf(handle) }));
  return task.queries.map((q) => {
    const merged: { uid: number; offset: number; raw: number }[] = [];
    const plans: SegmentPlanReport[] = [];
    for (const { handle, view: segment, graph } of views) {
      if (segment.dim !== q.vector.length) {
        throw new RangeError(`query has ${q.vector.length} dimensions, segment ${handle.uid} has ${segment.dim}`);
      }
      const sq8 = q.quantization.ignore || q.exact ? null : sq8Of(handle);
      let hits: { offsets: Uint32Array; raws: Float64Array; plan: SegmentPlan };
      if (sq8 === null) {
        // The SIMD kernels over the segment's shared memory (JS kernels when no scratch slot is free).
        const kernels = bindQuery(memoryOf(handle), segment.dim, task.distance, q.vector, { owner: threadId + 1 });
        try {
          hits = searchSegment(segment, graph, { ...q, scorer: new KernelScorer(kernels, task.distance) }, metric);
        } finally {
          kernels.release();
        }
      } else {
        // Search over the int8 codes, then (rescore) re-rank the oversampled candidates with the float vectors.
        const scorer = createSq8Scorer(sq8.params, sq8.encoded, q.vector, task.distance);
        const k = q.quantization.rescore ? oversampledK(q.k, q.quantization.oversampling) : q.k;
        const approx = searchSegment(segment, graph, { ...q, k, scorer }, metric);
        if (q.quantization.rescore) {
          const exact = rescoreExact(approx.offsets, segment.vectors, segment.dim, q.vector, task.distance, q.k);
          hits = { offsets: exact.offsets, raws: exact.scores, plan: approx.plan };
        } else {
          hits = approx;
        }
      }
      hits.offsets.forEach((offset, i) => {
        merged.push({ uid: handle.uid, offset, raw: hits.raws[i]! });
      });
      plans.push({ uid: handle.uid, ...hits.plan, quantized: sq8 !== null });
    }
    merged.sort(
      (a, b) => (metric.higherIsBetter ? b.raw - a.raw : a.raw - b.raw) || a.uid - b.uid || a.offset - b.offset,
    );
    const kept = merged.slice(0, q.k).map((h) => ({ ...h, score: metric.finalize(h.raw) }));
    const threshold = q.scoreThreshold;
    const passing =
      threshold === null
        ? kept
        : kept.filter((h) => (metric.higherIsBetter ? h.score >= threshold : h.score <= threshold));
    return {
      uids: Uint32Array.from(passing, (h) => h.uid),
      offsets: Uint32Array.from(passing, (h) => h.offset),
      scores: Float64Array.from(passing, (h) => h.score),
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
      case 'test_crash':
        if (process.env.STRATA_ENABLE_TEST_TASKS !== '1') throw new Error('test tasks are disabled');
        process.exit(70);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, error: { code: WORKER_ERROR_CODES.failed, message } };
  }
}
