/**
 * The piscina entry point: runs search and scan tasks over shared segment memory with the index engine.
 * Never throws across the thread boundary: every outcome is an Envelope.
 */
import {
  compileRowPredicate,
  flatSearch,
  isTombstoned,
  METRICS,
  type SegmentHandle,
  type SegmentView,
} from '../index-engine/index.js';
import { payloadReader } from './payload-cache.js';
import type { Envelope, QueryHits, ScanHits, ScanTask, SearchTask, Task } from './protocol.js';
import { WORKER_ERROR_CODES } from './protocol.js';

function view(handle: SegmentHandle): SegmentView {
  return {
    uid: handle.uid,
    dim: handle.dim,
    count: handle.count,
    vectors: new Float32Array(handle.vectors, 0, handle.count * handle.dim),
    tombstones: new Uint32Array(handle.tombstones),
    columns: handle.columns,
    payload: payloadReader(handle),
  };
}

function search(task: SearchTask): QueryHits[] {
  const metric = METRICS[task.distance];
  const views = task.segments.map(view);
  return task.queries.map((q) => {
    const hits = flatSearch(
      views,
      {
        vector: q.vector,
        k: q.k,
        filter: q.filter,
        scoreThreshold: q.scoreThreshold,
      },
      metric,
    );
    const uids = new Uint32Array(hits.segmentSlots.length);
    hits.segmentSlots.forEach((slot, i) => {
      uids[i] = views[slot]!.uid;
    });
    return { uids, offsets: hits.offsets, scores: hits.scores };
  });
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
      case 'test_crash':
        if (process.env.STRATA_ENABLE_TEST_TASKS !== '1') throw new Error('test tasks are disabled');
        process.exit(70);
    }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return { ok: false, error: { code: WORKER_ERROR_CODES.failed, message } };
  }
}
