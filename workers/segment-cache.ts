import { isMainThread, workerData } from 'node:worker_threads';

/**
 * The retire log: uids of segments that a merge, vacuum or re-partitioning replaced, or whose collection was
 * dropped (SearchPool.retire), so that every thread's caches let go of them at once instead of after `idleMs`.
 * A shared Int32Array: word 0 counts the uids ever written, the next RETIRE_LOG_SIZE words are a ring of them.
 * Workers read it at the start of each task: piscina's workers wait for tasks in Atomics.wait, so their event
 * loop does not run between tasks and a message channel would never be read.
 */
export const RETIRE_LOG_SIZE = 4096;

export function createRetireLog(): SharedArrayBuffer {
  return new SharedArrayBuffer((1 + RETIRE_LOG_SIZE) * 4);
}

/** Every cache of this thread, so that a retirement reaches them all. */
const caches = new Set<SegmentCache<unknown>>();

/**
 * Per-segment values a thread keeps between tasks (decoded graphs, codes, payload rows, memory objects), keyed
 * by segment uid. A segment that was merged, vacuumed or dropped is never asked for again: it is let go when the
 * retire log names it, and any entry unused for `idleMs` is let go too. Without that, every
 * sealed-then-replaced segment's shared memory would stay reachable from every worker until `max` newer
 * segments pushed it out, and resident memory would grow under a steady write load. Entries are swept when the
 * thread runs a task (an idle worker blocks between tasks).
 */
export class SegmentCache<T> {
  private readonly entries = new Map<number, { value: T; usedAt: number }>();
  private lastSweep = 0;
  /**
   * The most recently used entry (forgotten whenever an entry is removed): asked for again, as every search of
   * a one-segment collection does, it is already last in the map's order, so it needs no delete and set.
   */
  private last: { uid: number; entry: { value: T; usedAt: number } } | null = null;

  constructor(
    private readonly idleMs = 10_000,
    private readonly max = 256,
  ) {
    caches.add(this as SegmentCache<unknown>);
  }

  get(uid: number, make: () => T): T {
    const now = Date.now();
    this.sweep(now);
    if (retired.has(uid)) {
      // a task dispatched before the retirement and run after it: served, never cached again (see `retired`)
      collectSoon();
      return make();
    }
    const last = this.last;
    if (last !== null && last.uid === uid) {
      last.entry.usedAt = now;
      return last.entry.value;
    }
    let entry = this.entries.get(uid);
    if (entry === undefined) {
      if (this.entries.size >= this.max) {
        this.entries.delete(this.entries.keys().next().value as number);
        this.last = null;
        collectSoon();
      }
      entry = { value: make(), usedAt: now };
    } else {
      entry.usedAt = now;
      this.entries.delete(uid); // re-inserted below: Map order doubles as least-recently-used order
    }
    this.entries.set(uid, entry);
    this.last = { uid, entry };
    return entry.value;
  }

  /** The entry for `uid` (marked used), or undefined: nothing is made. */
  peek(uid: number): T | undefined {
    if (retired.has(uid)) return undefined;
    const now = Date.now();
    this.sweep(now);
    const entry = this.last?.uid === uid ? this.last.entry : this.entries.get(uid);
    if (entry !== undefined) entry.usedAt = now;
    return entry?.value;
  }

  /** Stores `value` for `uid`, replacing what was there. */
  set(uid: number, value: T): void {
    if (retired.has(uid)) {
      collectSoon();
      return;
    }
    this.get(uid, () => value);
    const entry = this.entries.get(uid)!;
    entry.value = value;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Lets go of these segments (retired: never asked for again). Returns whether any entry was held. */
  forget(uids: Iterable<number>): boolean {
    let held = false;
    for (const uid of uids) held = this.entries.delete(uid) || held;
    if (held) this.last = null;
    return held;
  }

  clear(): void {
    this.entries.clear();
    this.last = null;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [uid, entry] of this.entries) {
      if (now - entry.usedAt > this.idleMs) {
        this.entries.delete(uid);
        this.last = null;
        collectSoon();
      }
    }
  }
}

/**
 * Uids this thread knows to be retired, newest last (at most RETIRED_KEPT): caches never store them again. A task
 * dispatched before a retirement can run after the worker has read it (tasks wait in the pool's queue, and every
 * search started before a merge's commit holds the old segment list): it used to put the retired segment back into
 * every cache it went through, where only the idle sweep let go of it, 10 s later for views, graphs and payloads
 * and 60 s later for a worker's wire handles (segment-wire.ts). Measured with worker heap snapshots during the
 * soak benchmark: segments retired 14 s earlier still held by a worker's caches, 10-25 MiB of segment memory
 * resident beyond the live segments. Uids are never reused, so a retired uid is never wanted again; the bound only
 * caps this set (a task older than RETIRED_KEPT retirements does not exist in practice, and would only wait for
 * the idle sweep).
 * (A WeakRef would not do instead: piscina's workers run task after task inside one job, blocked in Atomics.wait
 * between them, so a worker never clears the targets V8 keeps alive for the current job: with WeakRefs over the
 * segment memories, every memory a worker was ever sent stayed resident.)
 */
const RETIRED_KEPT = 2 * RETIRE_LOG_SIZE;
const retired = new Set<number>();

function markRetired(uid: number): void {
  if (retired.has(uid)) return;
  retired.add(uid);
  if (retired.size > RETIRED_KEPT) retired.delete(retired.values().next().value as number);
}

/** Drops the segments from every cache of this thread, and keeps them out (see `retired`). */
export function forgetSegments(uids: Iterable<number>): void {
  const list = [...uids];
  for (const uid of list) markRetired(uid);
  let held = false;
  for (const cache of caches) held = cache.forget(list) || held;
  if (held) collectSoon();
}

/** Main thread: tells every thread (the workers through `log`, this one now) that these segments are gone. */
export function announceRetired(log: SharedArrayBuffer, uids: readonly number[]): void {
  if (uids.length === 0) return;
  forgetSegments(uids);
  const words = new Int32Array(log);
  const written = Atomics.load(words, 0);
  uids.forEach((uid, i) => {
    words[1 + ((written + i) % RETIRE_LOG_SIZE)] = uid;
  });
  Atomics.store(words, 0, written + uids.length); // publishes the uids above
}

/** This worker's retire log (from the pool's workerData) and how many of its uids this worker has read. */
const retireLog = isMainThread
  ? null
  : (((workerData as { retireLog?: SharedArrayBuffer } | null)?.retireLog ?? null) as SharedArrayBuffer | null);
const retireWords = retireLog === null ? null : new Int32Array(retireLog);
// a worker started later (a replacement) has nothing cached of the segments retired before it
let retiredSeen = retireWords === null ? 0 : Atomics.load(retireWords, 0);

/**
 * At the start of each task on a worker: drops the segments retired since the last task, and runs the major GC
 * that collectSoon asked for (see there). Does nothing on the main thread, which forgets in announceRetired.
 */
export function beginTask(now = Date.now()): void {
  if (retireWords !== null) {
    const written = Atomics.load(retireWords, 0);
    if (written !== retiredSeen) {
      const uids: number[] = [];
      for (let i = Math.max(retiredSeen, written - RETIRE_LOG_SIZE); i < written; i++) {
        uids.push(retireWords[1 + (i % RETIRE_LOG_SIZE)]!);
      }
      // more than RETIRE_LOG_SIZE retired since this worker last looked (or written while read): forget all
      if (written - retiredSeen > RETIRE_LOG_SIZE || Atomics.load(retireWords, 0) - retiredSeen > RETIRE_LOG_SIZE) {
        for (const cache of caches) cache.clear();
        collectSoon();
      } else forgetSegments(uids);
      retiredSeen = written;
    }
  }
  if (gcAskedAt !== null && now - gcAskedAt >= GC_DELAY_MS && typeof gc === 'function') {
    gcAskedAt = null;
    gc();
  }
}

/**
 * A worker's major GC soon after it let go of segments (or of a graph build's scratch). A segment's vectors, payloads and graph are shared
 * memory (SharedArrayBuffers, a shared WebAssembly.Memory) that V8 frees only once every isolate holding an
 * object over it has collected that object, and V8 counts shared memory as 0 bytes in an isolate's external
 * memory (BackingStore::PerIsolateAccountingLength), so holding it never makes a GC come sooner. A worker's JS
 * heap fills slowly (its caches are long-lived, little else survives a scavenge): its major GCs came 15-30 s
 * apart in the soak benchmark, and meanwhile every segment the optimizer had replaced stayed resident, 5-10
 * MiB each at 20,000 rows of 64 dims, several at a time (resident memory swung by 25-30 MiB with it). With
 * `node --expose-gc` (how `npm start`, the Dockerfile and the benches start the server), the first task a
 * worker runs at least GC_DELAY_MS after letting go starts with a major GC (by then the tasks dispatched before
 * the retirement, which may still hold the segment, are done): a pause of 5-20 ms on that task (a worker heap
 * is 10-25 MiB), at most once per retirement and second. Without the flag, V8's own schedule frees them later.
 * The main thread is left to V8: its heap fills with requests and collects every few seconds anyway.
 */
const GC_DELAY_MS = 1000;
const gc = (globalThis as { gc?: () => void }).gc;
let gcAskedAt: number | null = null;
export function collectSoon(): void {
  if (isMainThread || typeof gc !== 'function' || gcAskedAt !== null) return;
  gcAskedAt = Date.now();
}
