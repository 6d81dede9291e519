import { StrataError } from './errors.js';

/** Seconds a client is told to wait when a queue (search or write) is full. */
export const RETRY_AFTER_SECONDS = 1;
/** Client writes that may wait in the collections' write chains by default (STRATA_WRITE_QUEUE_SIZE). */
export const DEFAULT_WRITE_QUEUE_SIZE = 256;

/**
 * Bounds the client writes queued behind each other across all collections (each collection applies its
 * writes one at a time). A write past the bound is refused at once with 503 STRATA_ERR_WRITE_OVERLOADED and
 * `Retry-After`, so a flood of writes holds at most `limit` validated batches in memory instead of growing
 * without end. Background commits (sealing, merging) are not counted: they must never be refused.
 */
export class WriteGate {
  readonly limit: number;
  private pending = 0;

  constructor(limit: number = DEFAULT_WRITE_QUEUE_SIZE) {
    this.limit = limit;
  }

  /** Writes admitted and not yet finished. */
  get size(): number {
    return this.pending;
  }

  /** Admits a write or throws 503; call the returned function once the write has finished (either way). */
  admit(): () => void {
    if (this.pending >= this.limit) {
      throw new StrataError('STRATA_ERR_WRITE_OVERLOADED', [], { retryAfter: RETRY_AFTER_SECONDS });
    }
    this.pending++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.pending--;
    };
  }
}
