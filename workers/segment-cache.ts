/**
 * Per-segment values a thread keeps between tasks (decoded graphs, codes, payload rows, memory objects), keyed
 * by segment uid. A segment that was merged, vacuumed or dropped is never asked for again, so an entry unused
 * for `idleMs` is let go: without that, every sealed-then-replaced segment's shared memory would stay reachable
 * from every worker until `max` newer segments pushed it out, and resident memory would grow under a steady
 * write load. Entries are swept when the thread runs a task (an idle worker blocks between tasks).
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
  ) {}

  get(uid: number, make: () => T): T {
    const now = Date.now();
    this.sweep(now);
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
    const now = Date.now();
    this.sweep(now);
    const entry = this.last?.uid === uid ? this.last.entry : this.entries.get(uid);
    if (entry !== undefined) entry.usedAt = now;
    return entry?.value;
  }

  /** Stores `value` for `uid`, replacing what was there. */
  set(uid: number, value: T): void {
    this.get(uid, () => value);
    const entry = this.entries.get(uid)!;
    entry.value = value;
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 1000) return;
    this.lastSweep = now;
    for (const [uid, entry] of this.entries) {
      if (now - entry.usedAt > this.idleMs) {
        this.entries.delete(uid);
        this.last = null;
      }
    }
  }
}
