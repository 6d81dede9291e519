/** The storage layer's public surface: what the server may use. */

export type { PoolStats } from '../workers/pool.js';
export { type BacklogLimits, DEFAULT_BACKLOG_RATIO } from './backlog.js';
export type { Collection } from './collection.js';
export {
  COLLECTION_NAME_RE,
  Database,
  type DatabaseOptions,
  DEFAULT_QUERY_LOG_SAMPLE,
} from './database.js';
export { ERRORS, type ErrorCode, type ErrorKind, isStrataError, StrataError } from './errors.js';
export type { FilterJson } from './filter-json.js';
export { MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH } from './filter-resolve.js';
export type { BankSide } from './hubness/bank-store.js';
export {
  DEFAULT_HUBNESS,
  type HubnessConfig,
  type HubnessConfigInput,
  MAX_BANK_SIZE,
  MAX_BETA,
  MAX_CANDIDATES,
} from './hubness/config.js';
export type { GalleryBankInput, HubnessReport, QueryBankInput } from './hubness/manager.js';
export type { BankInfo } from './hubness/state.js';
export { deletePayloadKeys, MAX_PAYLOAD_BYTES } from './payload.js';
export { type PointId, parsePointId, parsePointIdText } from './point-id.js';
export { DEFAULT_QUERY_LIMIT, type QueryInput } from './query.js';
export { QUERY_LOG_CAPACITY } from './query-log.js';
export { scrollCollection } from './scroll.js';
export { MAX_SEARCH_RESULTS, type PlanReport, type SearchOutcome } from './search.js';
export type * from './types.js';
export { DEFAULT_WRITE_QUEUE_SIZE, RETRY_AFTER_SECONDS } from './write-gate.js';
