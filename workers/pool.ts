import os from 'node:os';
import { Piscina } from 'piscina';
import { reclaimScratch, type SegmentMemory } from '../index-engine/index.js';
import { type HeapFigures, WorkerHeaps } from './heap-report.js';
import {
  type Envelope,
  type QueryHits,
  type SearchTask,
  type Task,
  type TaskResult,
  WORKER_ERROR_CODES,
} from './protocol.js';
import runTask from './search-task.js';
import { announceRetired, createRetireLog } from './segment-cache.js';
import { SEGMENT_UNKNOWN, SegmentWire, type WireSegment } from './segment-wire.js';

export interface SearchPoolOptions {
  /** Worker threads (default: one per core). */
  readonly threads?: number;
  /** Tasks that may wait for a worker before new ones are refused (default: 64 per thread). */
  readonly maxQueue?: number;
}

/** A snapshot of the pool for metrics. */
export interface PoolStats {
  /** Live worker threads (a replacement may be starting after a crash or a cancelled task). */
  readonly threads: number;
  /** Workers running a task (or starting up). */
  readonly busy: number;
  /** Tasks waiting for a worker. */
  readonly queued: number;
  /** Tasks finished since start. */
  readonly completed: number;
  /** The worker threads' V8 heaps, summed (each reports at the start of a task, at most every 2 s; heap-report.ts). */
  readonly workerHeap: HeapFigures;
}

/**
 * A worker's V8 young generation (2 MiB semi-spaces). Left to V8, each isolate grows it up to 48 MiB under the
 * allocation rate of searches and graph builds and keeps it: resident memory then crept up by tens of MiB per
 * worker during the soak benchmark. Scavenges of a small young generation stay cheap. The main thread gets the
 * same through `node --max-semi-space-size=2` (Dockerfile, `npm start`).
 */
const WORKER_YOUNG_GENERATION_MB = 6;

/** The signal of tasks that cannot be cancelled. */
const NEVER = new AbortController().signal;

export const DEFAULT_SEARCH_POOL = { threads: os.availableParallelism(), maxQueuePerThread: 64 } as const;

/** A failure reported by the pool or a worker, with a code from WORKER_ERROR_CODES. */
export class PoolTaskError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'PoolTaskError';
    this.code = code;
  }
}

/**
 * The worker pool every search and scan runs on. A full queue is refused at once (the caller answers 503);
 * a worker that dies fails only its own task, and piscina starts a replacement.
 */
export class SearchPool {
  readonly threads: number;
  private readonly maxQueue: number;
  private readonly piscina: Piscina;
  private closing = false;
  /** Workers terminated because their task was aborted, until they have exited. */
  private terminating = 0;
  /** Segment memories of aborted tasks: their dead worker's scratch leases are reclaimed once it has exited. */
  private readonly orphaned = new Set<SegmentMemory>();
  /** Tasks handed to piscina and not settled yet (running or queued). */
  private inFlight = 0;
  /** Which workers hold which segment handles: tasks then carry references, not the buffers. */
  readonly wire = new SegmentWire();
  private readonly heaps = new WorkerHeaps();
  /** Uids of retired segments, read by every worker at its next task (segment-cache.ts). */
  private readonly retireLog = createRetireLog();

  constructor(options: SearchPoolOptions = {}) {
    this.threads = options.threads ?? DEFAULT_SEARCH_POOL.threads;
    this.maxQueue = options.maxQueue ?? this.threads * DEFAULT_SEARCH_POOL.maxQueuePerThread;
    this.piscina = new Piscina({
      filename: new URL('./search-task.js', import.meta.url).href,
      minThreads: this.threads,
      maxThreads: this.threads,
      maxQueue: this.maxQueue,
      idleTimeout: Number.POSITIVE_INFINITY,
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      workerData: { retireLog: this.retireLog },
    });
    this.piscina.on('workerDestroy', (worker: { id: number }) => this.onWorkerDestroy(worker.id));
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  /** Tasks running or queued: a cheap form of `stats()` for the per-search inline decision. */
  get tasksInFlight(): number {
    return this.inFlight;
  }

  stats(): PoolStats {
    const threads = this.piscina.threads.length;
    return {
      threads,
      busy: Math.max(0, threads - this.piscina.idleThreads),
      queued: this.piscina.queueSize,
      completed: this.piscina.completed,
      workerHeap: this.heaps.total(this.liveThreadIds()),
    };
  }

  /**
   * Runs a task; when `signal` aborts, a queued task is dropped and a running one stops with its worker
   * (piscina terminates it and starts a replacement), and the promise rejects.
   */
  async run<T extends Task>(task: T, signal?: AbortSignal): Promise<TaskResult<T>> {
    if (this.closing) throw new PoolTaskError(WORKER_ERROR_CODES.shuttingDown, 'the pool is closing');
    // piscina queues tasks that have a signal ahead of those without, and does not hold them to maxQueue: every
    // task gets a signal (so all wait in one FIFO queue), and the bound is checked here
    if (this.piscina.queueSize >= this.maxQueue) {
      throw new PoolTaskError(WORKER_ERROR_CODES.overloaded, 'the task queue is at its limit');
    }
    this.inFlight++;
    try {
      const wired = this.wired(task);
      let envelope = await this.post(wired, task, signal);
      if (!envelope.ok && envelope.error.code === SEGMENT_UNKNOWN && wired.wire !== undefined) {
        // the worker let a handle go or is new: once more with every handle in full
        if (envelope.thread !== undefined) this.wire.forget(wired.wire, envelope.thread);
        envelope = await this.post(task, task, signal);
        if (envelope.ok && envelope.thread !== undefined && 'segments' in task)
          this.wire.acknowledge(task.segments, envelope.thread);
      } else if (envelope.ok && envelope.thread !== undefined && wired.wire !== undefined) {
        this.wire.acknowledge(wired.wire, envelope.thread);
      }
      if (!envelope.ok) throw new PoolTaskError(envelope.error.code, envelope.error.message);
      return envelope.value as TaskResult<T>;
    } finally {
      this.inFlight--;
    }
  }

  /** A search or scan task with its segments as references where a live worker holds them. */
  private wired(task: Task): Task & { readonly wire?: readonly WireSegment[] } {
    if (task.kind !== 'search' && task.kind !== 'scan') return task;
    return { ...task, segments: [], wire: this.wire.encode(task.segments, this.liveThreadIds()) };
  }

  /** Thread ids of the pool's live workers. */
  liveThreadIds(): number[] {
    return this.piscina.threads.map((t) => t.threadId);
  }

  /** Hands `sent` to piscina; `task` is what it stands for (its segments are reclaimed after an abort). */
  private async post(sent: Task, task: Task, signal: AbortSignal | undefined): Promise<Envelope<unknown>> {
    try {
      return (await this.piscina.run(sent, { signal: signal ?? NEVER })) as Envelope<unknown>;
    } catch (e) {
      // piscina terminated the worker synchronously in the abort, before this runs: keep the task's segments
      // until that worker has exited, then free the scratch slots it held on them.
      if (signal?.aborted && this.terminating > 0) for (const memory of memoriesOf(task)) this.orphaned.add(memory);
      const message = e instanceof Error ? e.message : String(e);
      if (/queue is at limit/i.test(message)) throw new PoolTaskError(WORKER_ERROR_CODES.overloaded, message);
      throw new PoolTaskError(WORKER_ERROR_CODES.failed, message);
    }
  }

  /**
   * Runs a search task on the calling thread with the same code a worker runs. For a short search while the
   * pool is idle this saves the two thread wake-ups of a hop to a worker, which cost more than the search.
   */
  runHere(task: SearchTask): QueryHits[] {
    if (this.closing) throw new PoolTaskError(WORKER_ERROR_CODES.shuttingDown, 'the pool is closing');
    const envelope = runTask(task);
    if (!envelope.ok) throw new PoolTaskError(envelope.error.code, envelope.error.message);
    return envelope.value as QueryHits[];
  }

  /**
   * Segments replaced (merge, vacuum, re-partitioning) or dropped with their collection: every thread's caches
   * let go of them now, so their shared memory can be freed (segment-cache.ts).
   */
  retire(uids: readonly number[]): void {
    if (!this.closing) announceRetired(this.retireLog, uids);
  }

  /** A worker was terminated (an aborted task): once it has exited, reclaim its scratch leases. */
  private onWorkerDestroy(threadId: number): void {
    if (this.closing) return;
    // a thread that already exited (a crash) has threadId -1 and is not found
    const thread = this.piscina.threads.find((t) => t.threadId === threadId);
    if (thread === undefined) return;
    this.terminating++;
    thread.once('exit', () => {
      this.terminating--;
      for (const memory of this.orphaned) reclaimScratch(memory, threadId + 1);
      if (this.terminating === 0) this.orphaned.clear();
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.heaps.close();
    await this.piscina.close();
  }
}

function memoriesOf(task: Task): SegmentMemory[] {
  if (task.kind === 'search' || task.kind === 'scan') return task.segments.map((s) => s.memory);
  if (task.kind === 'build_graph') return [task.segment.memory];
  return [];
}
