/** The engine's public surface: pure computation over typed arrays, no I/O. */

export { type BatchDeps, type BatchSegmentQuery, searchSegmentBatch } from './batch-search.js';
export { CandidateHeap, ResultHeap } from './candidate-heap.js';
export {
  ABSENT_CODE,
  type ColumnHandle,
  type ColumnKind,
  type ColumnLists,
  ColumnWriter,
  columnBytes,
  columnCell,
  columnView,
  listsView,
} from './column.js';
export { dot, manhattan, squaredL2 } from './distance.js';
export { buildColumnOrder, type ColumnOrder, type ColumnOrderOf } from './filter/column-order.js';
export { compilePayloadPredicate, type PayloadPredicate } from './filter/compile.js';
export type { Condition, RangeBounds, Scalar } from './filter/condition.js';
export { parseDatetime } from './filter/datetime.js';
export { filterKey } from './filter/filter-key.js';
export { isColumnFilter, matchBound, matchingRows } from './filter/match-rows.js';
export { flatValues, lookup, parseKey } from './filter/payload-path.js';
export { compileRowPredicate, type RowPredicate } from './filter/row-predicate.js';
export { buildHnsw, type HnswBuildInput } from './hnsw/build.js';
export {
  decodeHnsw,
  encodeHnsw,
  encodeHnswInto,
  HNSW_FORMAT_VERSION,
  HNSW_MAGIC,
  hnswByteLength,
} from './hnsw/format.js';
export { freezeGraph, type HnswBuildState, type HnswGraph, type HnswLayer, verifyHnsw } from './hnsw/graph.js';
export { type HnswHits, type HnswSearchOptions, searchHnsw } from './hnsw/search.js';
export { NeighborSelector } from './hnsw/select.js';
export {
  ALWAYS,
  type ColumnConstraint,
  type Cut,
  type Description,
  MAYBE,
  NEVER,
  type TreeColumn,
  type TreeColumnKind,
  type Truth,
  truthOf,
} from './hqi/description.js';
export {
  complement as complementNumbers,
  contains as numbersContain,
  type Interval,
  intersect as intersectNumbers,
  interval as numberInterval,
  type NumberSet,
  subtract as subtractNumbers,
} from './hqi/number-set.js';
export {
  buildPartitionTree,
  type CellValue,
  candidateCuts,
  leafDescriptions,
  leafOf,
  type PartitionTree,
  type RoutedLeaf,
  routeFilter,
  type TreeData,
  type TreeNode,
  type TreeOptions,
  type WorkloadQuery,
} from './hqi/tree.js';
export { kernelBatchDeps } from './kernels/kernel-batch-deps.js';
export { type BindOptions, bindQuery, type KernelSet } from './kernels/kernel-set.js';
export {
  createSegmentMemory,
  leaseScratch,
  leaseScratchRun,
  MAX_PAGES,
  maxRowsPerMemory,
  pagesFor,
  reclaimScratch,
  releaseScratch,
  releaseScratchRun,
  rowCapacity,
  SCAN_BLOCK,
  SCRATCH_BYTE_OFFSET,
  SCRATCH_SLOTS,
  scratchOutPtr,
  scratchQueryPtr,
  slotBytes,
  vectorsByteOffset,
  vectorsView,
  WASM_PAGE_BYTES,
} from './kernels/memory-layout.js';
export { bindQueryBlock, MAX_BLOCK_QUERIES } from './kernels/query-block-kernels.js';
export { KernelScorer, rowScorerFactory } from './kernels/row-scorer.js';
export type { SegmentMemory } from './kernels/wasm-api.js';
export {
  createWasmKernels,
  type MultiGatherKernel,
  type MultiScanKernel,
  type PairKernel,
  type ScanKernel,
  simdModuleBytes,
  type WasmKernels,
  wasmSimdSupported,
} from './kernels/wasm-kernels.js';
export { type Distance, METRICS, type Metric, normalizeInPlace, prepareVector } from './metric.js';
export {
  allocSq8Encoded,
  type Sq8Encoded,
  type Sq8Mode,
  type Sq8Params,
  sq8BytesPerVector,
} from './quantization/sq8.js';
export { decodeSq8Row, encodeSq8, encodeSq8Row } from './quantization/sq8-encode.js';
export {
  decodeSq8Params,
  encodeSq8Params,
  SQ8_FORMAT_VERSION,
  SQ8_MAGIC,
  sq8ParamsByteLength,
} from './quantization/sq8-format.js';
export {
  createSq8Scorer,
  DEFAULT_OVERSAMPLING,
  oversampledK,
  rescoreExact,
  type ScoredOffsets,
  scanSq8,
  topKSq8,
} from './quantization/sq8-scorer.js';
export { DEFAULT_SQ8_TRAIN, type Sq8TrainOptions, trainSq8 } from './quantization/sq8-train.js';
export { floatQueryBlock, type QueryBlock } from './query-block.js';
export { createFloatScorer, floatScorerFactory, type Scorer, type ScorerFactory } from './scorer.js';
export {
  decodePayload,
  isTombstoned,
  payloadAt,
  type SegmentHandle,
  type SegmentView,
  setTombstone,
  tombstoneWords,
} from './segment-layout.js';
export {
  FilterFacts,
  planSegment,
  type SegmentQuery,
  type SegmentStep,
} from './segment-plan.js';
export { type SegmentHits, searchPlanned, searchSegment } from './segment-search.js';
export { TopK } from './top-k.js';
export { VisitedSet } from './visited-set.js';
