/**
 * The contract between the pool client (main thread) and the worker tasks. Only plain data crosses the thread
 * boundary: SharedArrayBuffers (shared, not copied), small typed arrays, and error envelopes — Node drops an
 * Error's class and `code` when it crosses threads, so workers return `{ok:false, error:{code, message}}`.
 */

import type { TreeRequest } from '../index-engine/hqi/assign.js';
import type { TreeJson } from '../index-engine/hqi/tree-codec.js';
import type { HubnessStats, NormalizerOutput } from '../index-engine/hubness/index.js';
import type { Condition, Distance, SegmentHandle } from '../index-engine/index.js';
import type { CardinalityEstimate, PlanBranch } from '../index-engine/segment-search.js';
import type { WireSegment } from './segment-wire.js';

export interface SearchQuery {
  /** Prepared query vector (normalized for Cosine). */
  readonly vector: Float32Array;
  /** Results wanted from this task (limit + offset). */
  readonly k: number;
  readonly filter: Condition | null;
  readonly scoreThreshold: number | null;
  /** Score every candidate exactly, never through the graph (Qdrant's params.exact). */
  readonly exact: boolean;
  /** Graph beam width (Qdrant's params.hnsw_ef, else the collection default). */
  readonly ef: number;
  /** Filtered searches matching at most this many rows of a segment score them exactly. */
  readonly plainThreshold: number;
  /** How to use quantized segments: skip them (`ignore`), re-rank `oversampling`·k candidates exactly (`rescore`). */
  readonly quantization: { readonly ignore: boolean; readonly rescore: boolean; readonly oversampling: number };
}

/**
 * Per segment, which of a task's queries visit it and with what filter (SearchTask.routes). The coordinator's
 * routing (HQI partition tree) knows per segment and query whether the segment can hold matches at all (else the
 * query skips it) and whether every row of it matches (then the filter is dropped there: no per-row test, and
 * the unfiltered plan, graph or scan, applies).
 */
export const ROUTE = {
  /** The segment holds no match: the query does not visit it. */
  skip: 0,
  /** The query searches the segment with its filter. */
  filtered: 1,
  /** Every row of the segment matches the filter: the query searches it without. */
  complete: 2,
} as const;

export interface SearchTask {
  readonly kind: 'search';
  readonly distance: Distance;
  readonly segments: readonly SegmentHandle[];
  readonly queries: readonly SearchQuery[];
  /**
   * Routing (HQI), aligned with `segments`: per segment, one byte per query (segment-visits.ts ROUTE): 0 = the query
   * skips the segment, 1 = searches it with its filter, 2 = searches it without (every row matches). A null entry,
   * or no `routes`, sends every query to the segment with its filter.
   */
  readonly routes?: readonly (Uint8Array | null)[];
  /** Set by the pool: `segments` as sent (references to handles the worker holds); `segments` is then empty. */
  readonly wire?: readonly WireSegment[];
}

/** Rows passing a filter (delete/scroll/count by filter), or only how many when `countOnly`. */
export interface ScanTask {
  readonly kind: 'scan';
  readonly segments: readonly SegmentHandle[];
  readonly filter: Condition;
  readonly countOnly: boolean;
  /** As SearchTask.wire. */
  readonly wire?: readonly WireSegment[];
}

/** Builds the HNSW graph of a frozen segment over its shared vectors; returns the encoded graph. */
export interface BuildGraphTask {
  readonly kind: 'build_graph';
  readonly distance: Distance;
  readonly segment: SegmentHandle;
  readonly m: number;
  readonly efConstruct: number;
  readonly seed: number;
  /** Scalar int8 quantization to train and encode as well (quantization_config.scalar), or null. */
  readonly quantization: { readonly quantile: number } | null;
}

export interface BuiltGraph {
  /** The encoded graph, over a SharedArrayBuffer of its own (handed over, not copied). */
  readonly graph: Uint8Array;
  /** The SQ8 bundle when quantization was asked for, shared the same way. */
  readonly sq8: Uint8Array | null;
  readonly ms: number;
}

/** Test-only: kills the worker thread that runs it (enabled by STRATA_ENABLE_TEST_TASKS=1). */
export interface CrashTask {
  readonly kind: 'test_crash';
}

/** DBNorm: the normalizers of a block of points against one bank, and each member's top-1 in the block. */
export interface NormalizersTask {
  readonly kind: 'dbnorm_normalizers';
  readonly distance: Distance;
  readonly dim: number;
  readonly vectors: Float32Array;
  readonly count: number;
  /** The bank's vectors (over a SharedArrayBuffer: shared by every task of a job, not copied). */
  readonly bank: Float32Array;
  readonly bankCount: number;
  readonly beta: number;
  readonly selfMember: Int32Array | null;
}

/** DBNorm diagnostics: k-occurrence statistics of `queries × k` result lists over `points` numbered points. */
export interface HubnessStatsTask {
  readonly kind: 'hubness_stats';
  readonly lists: Int32Array;
  readonly k: number;
  readonly points: number;
}

/**
 * HQI: builds a partition tree from a workload over the segments' live rows (`build`), or takes `tree` as it is,
 * and assigns every row of every segment to a leaf (assign.ts marks: OVERFLOW_LEAF, DEAD_ROW).
 */
export interface PartitionTask {
  readonly kind: 'partition';
  readonly segments: readonly SegmentHandle[];
  readonly build: TreeRequest | null;
  readonly tree: TreeJson | null;
}

export interface PartitionResult {
  readonly tree: TreeJson;
  /** One mark per row, per segment in task order. */
  readonly leaves: Int32Array[];
}

export type Task =
  | SearchTask
  | ScanTask
  | BuildGraphTask
  | CrashTask
  | NormalizersTask
  | HubnessStatsTask
  | PartitionTask;

/** How one segment was searched for one query (counted in storage, returned by `explain`). */
export interface SegmentPlanReport {
  readonly uid: number;
  readonly branch: PlanBranch;
  readonly estimated: CardinalityEstimate;
  readonly matches: number | null;
  readonly distanceEvaluations: number;
  /** Whether the int8 codes were searched (then re-ranked exactly when rescoring). */
  readonly quantized: boolean;
}

/** Best first. Rows are identified by segment uid and row offset. */
export interface QueryHits {
  readonly uids: Uint32Array;
  readonly offsets: Uint32Array;
  readonly scores: Float64Array;
  readonly plans: readonly SegmentPlanReport[];
}

export interface ScanHits {
  readonly uids: Uint32Array;
  readonly offsets: Uint32Array;
  readonly count: number;
}

export interface TaskErrorEnvelope {
  readonly code: string;
  readonly message: string;
}

/** A task's outcome, with the thread that ran it (the pool learns which worker holds which segments). */
export type Envelope<T> = (
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: TaskErrorEnvelope }
) & { readonly thread?: number };

export type TaskResult<T extends Task> = T extends SearchTask
  ? QueryHits[]
  : T extends ScanTask
    ? ScanHits
    : T extends BuildGraphTask
      ? BuiltGraph
      : T extends NormalizersTask
        ? NormalizerOutput
        : T extends HubnessStatsTask
          ? HubnessStats
          : T extends PartitionTask
            ? PartitionResult
            : never;

/** Error codes a worker or the pool may report; storage maps them onto its error table. */
export const WORKER_ERROR_CODES = {
  failed: 'STRATA_ERR_WORKER_FAILED',
  overloaded: 'STRATA_ERR_OVERLOADED',
  shuttingDown: 'STRATA_ERR_SHUTTING_DOWN',
} as const;
