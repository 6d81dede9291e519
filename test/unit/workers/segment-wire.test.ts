import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { Segment } from '../../../dist/storage/segment.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { SearchPool } from '../../../dist/workers/pool.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { resolveWire, SegmentWire, UnknownSegmentError } from '../../../dist/workers/segment-wire.js';
import { rng } from '../../helpers/server.js';

/**
 * Tasks carry references to segment handles a worker already holds instead of the shared buffers: the answers
 * must be the same as with full handles (runHere), a changed segment (a new column) must be sent again, and a
 * worker that does not hold a referenced handle must get the task again in full rather than fail it.
 */
const DIM = 8;
const pool = new SearchPool({ threads: 2 });
afterAll(() => pool.close());

const encoder = new TextEncoder();
const codes = new Map<string, number>();
const codeOf = (s: string) => {
  if (!codes.has(s)) codes.set(s, codes.size);
  return codes.get(s)!;
};

function segmentOf(rows: number, seed: number) {
  const next = rng(seed);
  const segment = new Segment(DIM, rows);
  for (let i = 0; i < rows; i++) {
    const payload = { n: i % 10, tags: [`t${i % 3}`, `t${i % 5}`] };
    const vector = Float32Array.from({ length: DIM }, () => next() * 2 - 1);
    segment.append(i, vector, encoder.encode(JSON.stringify(payload)), () => payload, codeOf);
  }
  segment.frozen = true;
  return segment;
}

function taskOf(segments: { handle(): unknown }[], filter: unknown, seed: number) {
  const next = rng(seed);
  return {
    kind: 'search',
    distance: 'Euclid',
    segments: segments.map((s) => s.handle()),
    queries: [
      {
        vector: Float32Array.from({ length: DIM }, () => next() * 2 - 1),
        k: 5,
        filter,
        scoreThreshold: null,
        exact: true,
        ef: 32,
        plainThreshold: 1000,
        quantization: { ignore: false, rescore: true, oversampling: 1 },
      },
    ],
  };
}

const plain = (hits: { uids: Uint32Array; offsets: Uint32Array; scores: Float64Array }[]) =>
  hits.map((h) => ({ uids: [...h.uids], offsets: [...h.offsets], scores: [...h.scores] }));

describe('segment handles on the wire', () => {
  it('answers from references as from full handles, and sends a segment again when its shape changes', async () => {
    const segments = [segmentOf(300, 1), segmentOf(200, 2), segmentOf(100, 3)];
    const referencedBefore = pool.wire.referenced;
    for (let round = 0; round < 12; round++) {
      const task = taskOf(segments, null, round);
      expect(plain(await pool.run(task))).toEqual(plain(pool.runHere(task)));
    }
    // once both workers have reported holding the handles, tasks carry references
    expect(pool.wire.referenced).toBeGreaterThan(referencedBefore);

    // a new column replaces the handle's buffers: a new shape, sent in full, and filters on it work in workers
    const shape = segments[0].handle().shape;
    for (const s of segments) s.addColumn(['tags'], 'keyword', codeOf);
    expect(segments[0].handle().shape).not.toBe(shape);
    const byTag = { kind: 'match', path: ['tags'], values: ['t4'], keywordCodes: [codeOf('t4')] };
    for (let round = 0; round < 6; round++) {
      const task = taskOf(segments, byTag, 100 + round);
      const got = plain(await pool.run(task));
      expect(got).toEqual(plain(pool.runHere(task)));
      expect(got[0]!.offsets.length).toBe(5);
    }
  });

  it('sends the task again in full when a worker does not hold a referenced handle', async () => {
    const segments = [segmentOf(150, 9)];
    const task = taskOf(segments, null, 9);
    // claim that every worker holds the handle, which none was ever sent
    const handle = segments[0].handle();
    for (const thread of pool.liveThreadIds()) pool.wire.acknowledge([handle], thread);
    expect(pool.wire.encode([handle], pool.liveThreadIds())[0].ref).toBe(true);
    expect(plain(await pool.run(task))).toEqual(plain(pool.runHere(task)));
  });

  it('refuses a reference this thread does not hold', () => {
    const wire = new SegmentWire();
    const handle = segmentOf(10, 4).handle();
    wire.acknowledge([handle], 12345);
    const [ref] = wire.encode([handle], [12345]);
    expect(ref.ref).toBe(true);
    expect(() => resolveWire([ref])).toThrow(UnknownSegmentError);
    // once sent in full, the reference resolves to the same buffers with the reference's row counts
    resolveWire([handle]);
    const [resolved] = resolveWire([{ ...ref, count: 7, liveCount: 6 }]);
    expect(resolved.count).toBe(7);
    expect(resolved.liveCount).toBe(6);
    expect(resolved.memory).toBe(handle.memory);
    expect(resolved.columns).toBe(handle.columns);
  });
});
