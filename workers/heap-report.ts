import { getHeapStatistics } from 'node:v8';
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';

/**
 * Worker threads' V8 heaps, for /metrics and the soak benchmark. Each worker has its own isolate, whose heap is
 * part of the process's resident memory but not of the main thread's heap gauges (process.memoryUsage(),
 * prom-client's nodejs_heap_*): without this, a third or more of the server's V8 memory was invisible. Workers
 * post their figures on a BroadcastChannel at the start of a task, at most every REPORT_MS; the pool keeps the
 * last report of each live worker.
 */
const CHANNEL = 'strata:worker-heap';
const REPORT_MS = 2000;

export interface HeapFigures {
  /** V8 heap in use (live objects and garbage not collected yet), bytes. */
  readonly usedBytes: number;
  /** V8 heap reserved by the isolate (its spaces' committed pages), bytes. */
  readonly sizeBytes: number;
  /** Memory of ArrayBuffers and other off-heap objects this isolate holds, bytes. */
  readonly externalBytes: number;
}

interface HeapReport extends HeapFigures {
  readonly threadId: number;
}

let channel: BroadcastChannel | null = null;
let reportedAt = Number.NEGATIVE_INFINITY;

/**
 * On a worker, at the start of a task: posts this isolate's heap figures when the last report is REPORT_MS old.
 * (piscina's workers block in Atomics.wait between tasks, so no timer would run; an idle worker's heap does not
 * change much either.) Does nothing on the main thread.
 */
export function reportHeap(now: number): void {
  if (isMainThread || now - reportedAt < REPORT_MS) return;
  reportedAt = now;
  if (channel === null) {
    channel = new BroadcastChannel(CHANNEL);
    channel.unref(); // never keeps the worker alive
  }
  const h = getHeapStatistics();
  const message: HeapReport = {
    threadId,
    usedBytes: h.used_heap_size,
    sizeBytes: h.total_heap_size,
    externalBytes: h.external_memory,
  };
  channel.postMessage(message);
}

/** On the main thread: the last report of every worker. */
export class WorkerHeaps {
  private readonly channel = new BroadcastChannel(CHANNEL);
  private readonly last = new Map<number, HeapFigures>();

  constructor() {
    this.channel.unref();
    this.channel.onmessage = (event) => {
      const { threadId: id, ...figures } = (event as { data: HeapReport }).data;
      this.last.set(id, figures);
    };
  }

  /** The sum over the workers in `threadIds` (the live ones); reports of exited workers are dropped. */
  total(threadIds: readonly number[]): HeapFigures {
    const live = new Set(threadIds);
    let usedBytes = 0;
    let sizeBytes = 0;
    let externalBytes = 0;
    for (const [id, figures] of this.last) {
      if (!live.has(id)) {
        this.last.delete(id);
        continue;
      }
      usedBytes += figures.usedBytes;
      sizeBytes += figures.sizeBytes;
      externalBytes += figures.externalBytes;
    }
    return { usedBytes, sizeBytes, externalBytes };
  }

  close(): void {
    this.channel.close();
  }
}
