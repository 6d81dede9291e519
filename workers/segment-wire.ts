/**
 * Segment handles on the wire. A handle holds a dozen shared buffers (vectors, tombstones, payloads, one per
 * column, graph, codes), and structured-cloning shared buffers is what a task post costs: ~13 µs a segment,
 * 0.8 ms for a query routed to 64 partition-tree leaves, more than the search. A segment's buffers only change
 * when its `shape` does (a column added or dropped, a graph attached), so each worker keeps the handles it has
 * been sent, and once a live worker has reported holding a segment's current shape, tasks carry only a
 * reference: uid, shape, and the per-task row counts. (The pool does not choose the worker a task goes to.)
 *
 * A worker that gets a reference it cannot resolve (the task went to another worker than the one holding it, the
 * worker was started since, or it let the entry go after a long idle) answers SEGMENT_UNKNOWN at once, before any
 * work, and the pool sends the task again with full handles: at most once per segment shape and worker, and
 * again only after an idle minute.
 */
import type { SegmentHandle } from '../index-engine/index.js';
import { SegmentCache } from './segment-cache.js';

/** A segment a worker already holds: what changes between tasks, plus the key of its buffers. */
export interface SegmentRef {
  readonly ref: true;
  readonly uid: number;
  readonly shape: number;
  readonly count: number;
  readonly liveCount: number;
  readonly frozen: boolean;
}

export type WireSegment = SegmentHandle | SegmentRef;

export const SEGMENT_UNKNOWN = 'STRATA_ERR_SEGMENT_UNKNOWN';

/**
 * Main thread: which workers hold which segment shapes. An entry unused for 30 s is let go (segments merged away
 * are never asked for again), before workers let theirs go, so a long-idle segment is sent in full again rather
 * than referenced and refused.
 */
export class SegmentWire {
  /** uid → the shape acknowledged and the worker thread ids holding it. */
  private readonly held = new SegmentCache<{ shape: number; threads: Set<number> }>(30_000, 100_000);

  /** Segments sent in full and as references since start. */
  sentInFull = 0;
  referenced = 0;

  /** The task's segments as sent: references where a live worker holds the shape, else full handles. */
  encode(segments: readonly SegmentHandle[], liveThreads: readonly number[]): WireSegment[] {
    return segments.map((s) => {
      const held = this.held.peek(s.uid);
      if (s.shape === undefined || held?.shape !== s.shape || !liveThreads.some((t) => held.threads.has(t))) {
        this.sentInFull++;
        return s;
      }
      this.referenced++;
      return {
        ref: true,
        uid: s.uid,
        shape: s.shape,
        count: s.count,
        liveCount: s.liveCount,
        frozen: s.frozen === true,
      };
    });
  }

  /** Worker `thread` ran a task carrying `sent`: it now holds the full handles among them. */
  acknowledge(sent: readonly WireSegment[], thread: number): void {
    for (const s of sent) {
      if ('ref' in s || s.shape === undefined) continue;
      let held = this.held.peek(s.uid);
      if (held === undefined || held.shape !== s.shape) {
        held = { shape: s.shape, threads: new Set() };
        this.held.set(s.uid, held);
      }
      held.threads.add(thread);
    }
  }

  /** Worker `thread` could not resolve a reference: it holds none of these any more. */
  forget(sent: readonly WireSegment[], thread: number): void {
    for (const s of sent) this.held.peek(s.uid)?.threads.delete(thread);
  }
}

/**
 * Worker: the handles this thread has been sent. Entries unused for a minute are let go (a handle keeps its
 * segment's shared memory alive); a reference to one then costs a resend, not a wrong answer.
 */
const handles = new SegmentCache<SegmentHandle>(60_000, 100_000);

export class UnknownSegmentError extends Error {
  readonly code = SEGMENT_UNKNOWN;
}

/** The full handles of a task's segments (registering the ones sent in full). */
export function resolveWire(wire: readonly WireSegment[]): SegmentHandle[] {
  return wire.map((s) => {
    if (!('ref' in s)) {
      if (s.shape !== undefined) handles.set(s.uid, s);
      return s;
    }
    const held = handles.peek(s.uid);
    if (held === undefined || held.shape !== s.shape) {
      throw new UnknownSegmentError(`segment ${s.uid} (shape ${s.shape}) is not held by this worker`);
    }
    return { ...held, count: s.count, liveCount: s.liveCount, frozen: s.frozen };
  });
}
