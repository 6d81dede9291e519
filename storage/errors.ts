/**
 * Every error Strata reports, in one table: a stable code, the kind that decides the HTTP status (mapped in
 * one place, server/plugins/error-handler.ts) and a message template. The README's error table lists them.
 */
export type ErrorKind =
  | 'bad_input'
  | 'not_found'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media'
  | 'uri_too_long'
  | 'unprocessable'
  | 'unavailable'
  | 'timeout'
  | 'internal'
  | 'unauthorized'
  | 'forbidden';

export const ERRORS = {
  // request shape
  STRATA_ERR_VALIDATION: { kind: 'bad_input', message: 'Validation failed: %s' },
  STRATA_ERR_BAD_JSON: { kind: 'bad_input', message: 'Body is not valid JSON: %s' },
  STRATA_ERR_JSON_TOO_DEEP: {
    kind: 'bad_input',
    message: 'Body is nested deeper than %s levels of arrays and objects',
  },
  STRATA_ERR_BODY_TOO_LARGE: { kind: 'too_large', message: 'Body is larger than the limit of %s bytes' },
  STRATA_ERR_UNSUPPORTED_MEDIA_TYPE: { kind: 'unsupported_media', message: 'Unsupported content type: %s' },
  STRATA_ERR_ROUTE_NOT_FOUND: { kind: 'not_found', message: 'No route %s' },
  STRATA_ERR_BAD_URL: { kind: 'bad_input', message: 'Malformed URL %s' },
  STRATA_ERR_URI_TOO_LONG: { kind: 'uri_too_long', message: 'A path segment is longer than %s characters' },
  // collections
  STRATA_ERR_COLLECTION_NAME: {
    kind: 'bad_input',
    message: 'Invalid collection name %s: use 1-128 of A-Z a-z 0-9 _ -',
  },
  STRATA_ERR_COLLECTION_NOT_FOUND: { kind: 'not_found', message: 'Collection `%s` not found' },
  STRATA_ERR_COLLECTION_EXISTS: { kind: 'conflict', message: 'Collection `%s` already exists' },
  STRATA_ERR_COLLECTION_BUSY: {
    kind: 'conflict',
    message: 'A snapshot is being restored into collection `%s`; wait for it to finish',
  },
  STRATA_ERR_COLLECTION_RESTORING: {
    kind: 'unavailable',
    message: 'Collection `%s` is switching to a restored snapshot; retry shortly',
  },
  // HQI partitioning
  STRATA_ERR_PARTITIONING_BUSY: {
    kind: 'conflict',
    message: 'Collection `%s` is being re-partitioned; wait until GET /collections/%s/partitioning shows it ended',
  },
  STRATA_ERR_PARTITIONING_NO_WORKLOAD: {
    kind: 'bad_input',
    message: 'No filtered search to learn a partition tree from: %s',
  },
  STRATA_ERR_PARTITIONING_NO_COLUMNS: {
    kind: 'bad_input',
    message: 'Collection `%s` has no integer, float, keyword or uuid payload index to partition on',
  },
  // snapshots
  STRATA_ERR_SNAPSHOT_NOT_FOUND: { kind: 'not_found', message: 'Snapshot %s not found' },
  STRATA_ERR_SNAPSHOT_INVALID: { kind: 'bad_input', message: 'Snapshot archive is not valid: %s' },
  STRATA_ERR_SNAPSHOT_LOCATION: {
    kind: 'bad_input',
    message:
      'Snapshot location %s is not allowed: use a snapshot name, a file under the snapshots directory, or an http(s) URL',
  },
  // points
  STRATA_ERR_POINT_ID: { kind: 'bad_input', message: 'Invalid point id %s: use an unsigned 64-bit integer or a UUID' },
  STRATA_ERR_POINT_NOT_FOUND: { kind: 'not_found', message: 'Point %s not found' },
  STRATA_ERR_DIM_MISMATCH: { kind: 'bad_input', message: 'Vector dimension error: expected dim: %s, got %s' },
  STRATA_ERR_VECTOR_VALUE: { kind: 'bad_input', message: 'Vector %s has a component that is not a finite number' },
  STRATA_ERR_BATCH_SHAPE: { kind: 'bad_input', message: 'Batch is malformed: %s' },
  STRATA_ERR_PAYLOAD_TOO_LARGE: { kind: 'bad_input', message: 'Payload of point %s is %s bytes, over the limit of %s' },
  STRATA_ERR_PAYLOAD_TOO_DEEP: {
    kind: 'bad_input',
    message: 'Payload of point %s is nested deeper than %s levels of objects and arrays',
  },
  // filters and search
  STRATA_ERR_FILTER: { kind: 'bad_input', message: 'Invalid filter: %s' },
  STRATA_ERR_SEARCH_LIMIT: { kind: 'bad_input', message: 'limit + offset must be at most %s' },
  STRATA_ERR_PAYLOAD_INDEX_NOT_FOUND: { kind: 'not_found', message: 'No payload index on field `%s`' },
  // hubness (DBNorm)
  STRATA_ERR_HUBNESS_CONFIG: { kind: 'bad_input', message: 'Invalid hubness setting: %s' },
  STRATA_ERR_BANK_MISSING: {
    kind: 'conflict',
    message: 'Rescoring method `%s` needs a %s bank, and collection `%s` has none; PUT one first',
  },
  STRATA_ERR_BANK_SOURCE: { kind: 'bad_input', message: 'Cannot build the bank: %s' },
  // service
  STRATA_ERR_SEGMENT_CORRUPT: {
    kind: 'unavailable',
    message: 'Collection `%s` is unavailable: a segment file is damaged (%s); restore it from a snapshot',
  },
  STRATA_ERR_NOT_READY: { kind: 'unavailable', message: 'Strata is still recovering its data; retry shortly' },
  STRATA_ERR_OVERLOADED: { kind: 'unavailable', message: 'The search queue is full; retry shortly' },
  STRATA_ERR_WRITE_OVERLOADED: { kind: 'unavailable', message: 'The write queue is full; retry shortly' },
  STRATA_ERR_OPTIMIZER_BACKLOG: {
    kind: 'unavailable',
    message:
      'Collection `%s` holds %s replaced or deleted rows in memory, over its limit of %s, until the optimizer catches up; retry shortly',
  },
  STRATA_ERR_SHUTTING_DOWN: { kind: 'unavailable', message: 'Strata is shutting down' },
  STRATA_ERR_WORKER_FAILED: { kind: 'internal', message: 'A search worker failed: %s' },
  STRATA_ERR_INTERNAL: { kind: 'internal', message: 'Internal error' },
  // access and limits
  STRATA_ERR_UNAUTHORIZED: {
    kind: 'unauthorized',
    message: 'Unauthorized: %s; send the key in the `api-key` header or as `Authorization: Bearer <key>`',
  },
  STRATA_ERR_FORBIDDEN: { kind: 'forbidden', message: 'Forbidden: the read-only API key cannot call %s' },
  STRATA_ERR_TIMEOUT: {
    kind: 'timeout',
    message: 'The request took longer than %s and was cancelled',
  },
} as const satisfies Record<string, { kind: ErrorKind; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

function format(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => String(args[i++] ?? ''));
}

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /** Seconds a client should wait before retrying (503s). */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, args: readonly unknown[] = [], options: { retryAfter?: number; cause?: unknown } = {}) {
    const entry = ERRORS[code];
    super(format(entry.message, args), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StrataError';
    this.code = code;
    this.kind = entry.kind;
    this.retryAfter = options.retryAfter;
  }
}

export function isStrataError(e: unknown): e is StrataError {
  return e instanceof StrataError;
}
