/** The storage layer's public surface: what the server may use. */

export type { PoolStats } from '../workers/pool.js';
export type { Collection } from './collection.js';
export { COLLECTION_NAME_RE, Database, type DatabaseOptions } from './database.js';
export { ERRORS, type ErrorCode, type ErrorKind, isStrataError, StrataError } from './errors.js';
export type { FilterJson } from './filter-json.js';
export { MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH } from './filter-resolve.js';
export { deletePayloadKeys, MAX_PAYLOAD_BYTES } from './payload.js';
export { type PointId, parsePointId, parsePointIdText } from './point-id.js';
export { DEFAULT_QUERY_LIMIT, type QueryInput } from './query.js';
export { scrollCollection } from './scroll.js';
export { MAX_SEARCH_RESULTS, type PlanReport, type SearchOutcome } from './search.js';
export type * from './types.js';
export { DEFAULT_WRITE_QUEUE_SIZE, RETRY_AFTER_SECONDS } from './write-gate.js';
