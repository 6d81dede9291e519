/** The engine's public surface: pure computation over typed arrays, no I/O. */

export { ABSENT_CODE, type ColumnHandle, type ColumnKind, columnBytes, columnCell, columnView } from './column.js';
export { dot, manhattan, squaredL2 } from './distance.js';
export { compilePayloadPredicate, type PayloadPredicate } from './filter/compile.js';
export type { Condition, RangeBounds, Scalar } from './filter/condition.js';
export { parseDatetime } from './filter/datetime.js';
export { flatValues, lookup, parseKey } from './filter/payload-path.js';
export { compileRowPredicate, type RowPredicate } from './filter/row-predicate.js';
export { type FlatQuery, flatSearch, type Hits } from './flat-search.js';
export { type Distance, METRICS, type Metric, normalizeInPlace, prepareVector } from './metric.js';
export {
  decodePayload,
  isTombstoned,
  type SegmentHandle,
  type SegmentView,
  setTombstone,
  tombstoneWords,
} from './segment-layout.js';
export { TopK } from './top-k.js';
