import { afterEach, describe, expect, it, vi } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { announceRetired, createRetireLog, SegmentCache } from '../../../dist/workers/segment-cache.js';

describe('SegmentCache', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps an entry while it is used and lets it go once unused for the idle time', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const cache = new SegmentCache(30_000, 256);
    let made = 0;
    const make = () => ({ n: ++made });
    const live = cache.get(1, make);
    cache.get(2, make); // a segment that is merged away: never asked for again
    for (let t = 10_000; t <= 60_000; t += 10_000) {
      vi.setSystemTime(t);
      expect(cache.get(1, make)).toBe(live); // the same object: decoded once
    }
    expect(cache.size).toBe(1); // entry 2, idle for 60 s, was swept
    expect(made).toBe(2);
    vi.setSystemTime(200_000);
    expect(cache.get(1, make)).not.toBe(live); // idle too long: made again
  });

  it('holds at most `max` entries, dropping the least recently used', () => {
    const cache = new SegmentCache(60_000, 3);
    for (const uid of [1, 2, 3]) cache.get(uid, () => uid);
    cache.get(1, () => -1); // 1 is now the most recently used
    cache.get(4, () => 4); // evicts 2
    expect(cache.size).toBe(3);
    expect(cache.get(2, () => 'again')).toBe('again');
    expect(cache.get(1, () => 'again')).toBe(1);
  });

  it('keeps the least-recently-used order when the same entry is asked for again and again', () => {
    const cache = new SegmentCache(60_000, 3);
    for (const uid of [1, 1, 2, 3, 3, 1, 1]) cache.get(uid, () => uid);
    cache.get(4, () => 4); // 2 is the least recently used
    expect(cache.get(3, () => 'again')).toBe(3);
    expect(cache.get(1, () => 'again')).toBe(1);
    expect(cache.get(2, () => 'again')).toBe('again');
  });

  it('lets go of retired segments at once, in every cache of the thread, and logs them for the workers', () => {
    const a = new SegmentCache(60_000, 256);
    const b = new SegmentCache(60_000, 256);
    for (const uid of [1, 2, 3]) {
      a.get(uid, () => uid);
      b.get(uid, () => uid);
    }
    const log = createRetireLog();
    announceRetired(log, [1, 3]);
    expect([a.size, b.size]).toEqual([1, 1]);
    expect(a.get(1, () => 'again')).toBe('again');
    expect(b.get(2, () => 'again')).toBe(2);
    // word 0 counts the uids written, then the ring
    expect(Array.from(new Int32Array(log, 0, 3))).toEqual([2, 1, 3]);
  });

  it('never caches a retired segment again (a task dispatched before the retirement may run after it)', () => {
    const cache = new SegmentCache(60_000, 256);
    cache.get(101, () => 'live');
    cache.get(102, () => 'old');
    announceRetired(createRetireLog(), [102]);
    expect(cache.size).toBe(1);
    // served to the late task, but not kept: nothing holds the retired segment's memory after that task
    expect(cache.get(102, () => 'late')).toBe('late');
    cache.set(102, 'late');
    expect(cache.peek(102)).toBeUndefined();
    expect(cache.size).toBe(1);
    expect(cache.get(101, () => 'again')).toBe('live');
  });
});
