import type { Collection } from './collection.js';
import { StrataError } from './errors.js';
import { RETRY_AFTER_SECONDS } from './write-gate.js';

/** Replaced or deleted rows a collection may hold, as a multiple of its size (STRATA_OPTIMIZER_BACKLOG_RATIO). */
export const DEFAULT_BACKLOG_RATIO = 1;

export interface BacklogLimits {
  /** Multiple of max(live points, rows per growing segment); 0 = no relative bound. */
  readonly ratio: number;
  /** Absolute bound on replaced or deleted rows per collection; 0 = none. */
  readonly maxRows: number;
}

/**
 * Back-pressure on the optimizer's backlog. A replaced or deleted row stays in memory (tombstoned) until the
 * optimizer rewrites its segment, so a sustained overwrite load faster than the optimizer would grow memory
 * without end. Past the limit, writes that add rows (upserts, payload edits) answer 503
 * STRATA_ERR_OPTIMIZER_BACKLOG with `Retry-After` until the optimizer has caught up. Only while the optimizer
 * still has work queued on the collection: tombstones it would not act on (below the vacuum thresholds, or in
 * the growing segment) can never hold writes back forever. Deletes never wait: they add no rows.
 */
export class OptimizerBacklog {
  readonly limits: BacklogLimits;
  private readonly optimizerPending: (collection: Collection) => boolean;

  constructor(limits: BacklogLimits, optimizerPending: (collection: Collection) => boolean) {
    this.limits = limits;
    this.optimizerPending = optimizerPending;
  }

  /** The most replaced or deleted rows the collection may hold before row-adding writes wait. */
  limitOf(collection: Collection): number {
    const { ratio, maxRows } = this.limits;
    const relative =
      ratio > 0 ? Math.ceil(ratio * Math.max(collection.pointsCount, collection.growingCapacity)) : Infinity;
    return Math.min(relative, maxRows > 0 ? maxRows : Infinity);
  }

  /** Throws the 503 when the collection is over its limit and the optimizer is still working on it. */
  admit(collection: Collection): void {
    const limit = this.limitOf(collection);
    const backlog = collection.deadRows;
    if (backlog > limit && this.optimizerPending(collection)) {
      throw new StrataError('STRATA_ERR_OPTIMIZER_BACKLOG', [collection.name, backlog, limit], {
        retryAfter: RETRY_AFTER_SECONDS,
      });
    }
  }
}
