import { describe, expect, it } from 'vitest';
import {
  buildHnsw,
  columnBytes,
  columnCell,
  columnView,
  createSegmentMemory,
  encodeHnsw,
  floatScorerFactory,
  METRICS,
  setTombstone,
  tombstoneWords,
  vectorsView,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/index-engine/index.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import runTask from '../../../dist/workers/search-task.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { segmentVisits } from '../../../dist/workers/segment-visits.js';
import { rng } from '../../helpers/server.js';

/**
 * The worker's search task over real segment handles (shared memory, payload arena, typed column, an encoded
 * graph): a task of many queries, which the worker runs per segment as one batch, returns what one task per query
 * returns; and routes skip segments or drop a query's filter in them.
 */
const DIM = 12;
const encoder = new TextEncoder();

function handle(uid: number, count: number, seed: number, withGraph: boolean) {
  const rnd = rng(seed);
  const memory = createSegmentMemory(DIM, count, count);
  const vectors = vectorsView(memory, DIM, count);
  for (let i = 0; i < vectors.length; i++) vectors[i] = rnd() * 2 - 1;
  const payloads = Array.from({ length: count }, (_, o) => ({ c: o % 5, t: o % 2 === 0 ? 'even' : 'odd' }));
  const bytes = payloads.map((p) => encoder.encode(JSON.stringify(p)));
  const offsets = new Uint32Array(new SharedArrayBuffer((count + 1) * 4));
  const arena = new Uint8Array(new SharedArrayBuffer(bytes.reduce((n, b) => n + b.length, 0)));
  bytes.forEach((b, o) => {
    arena.set(b, offsets[o]!);
    offsets[o + 1] = offsets[o]! + b.length;
  });
  const column = { path: 'c', kind: 'number', data: new SharedArrayBuffer(columnBytes('number', count)) };
  const cells = columnView(column);
  payloads.forEach((p, o) => {
    cells[o] = columnCell('number', p, ['c'], () => 0);
  });
  const tombstones = new SharedArrayBuffer(tombstoneWords(count) * 4);
  for (let o = 3; o < count; o += 17) setTombstone(new Uint32Array(tombstones), o);
  let graph = null;
  if (withGraph) {
    const built = buildHnsw({
      count,
      scorerFor: floatScorerFactory(vectors, DIM, METRICS.Euclid),
      m: 8,
      efConstruct: 50,
      seed,
    });
    const encoded = new Uint8Array(encodeHnsw(built));
    graph = new SharedArrayBuffer(encoded.length);
    new Uint8Array(graph).set(encoded);
  }
  let deleted = 0;
  for (let o = 3; o < count; o += 17) deleted++;
  return {
    uid,
    dim: DIM,
    count,
    liveCount: count - deleted,
    memory,
    tombstones,
    payloadOffsets: offsets.buffer,
    payloadBytes: arena.buffer,
    columns: [column],
    graph,
    sq8: null,
  };
}

const segments = [handle(101, 300, 1, false), handle(102, 900, 2, true)];
const category = (c: number) => ({ kind: 'match', path: ['c'], values: [c] });
const tag = (t: string) => ({ kind: 'match', path: ['t'], values: [t] });
const qrnd = rng(77);
const queries = [null, category(1), category(1), tag('odd'), category(2), null, tag('odd'), category(1)].map(
  (filter, i) => ({
    vector: Float32Array.from({ length: DIM }, () => qrnd() * 2 - 1),
    k: 5 + i,
    filter,
    scoreThreshold: null,
    exact: i % 4 === 3,
    ef: 32,
    plainThreshold: i % 2 === 0 ? 50 : 1000,
    quantization: { ignore: false, rescore: false, oversampling: 1 },
  }),
);

function search(task: Record<string, unknown>) {
  const envelope = runTask({ kind: 'search', distance: 'Euclid', segments, queries, ...task });
  if (!envelope.ok) throw new Error(envelope.error.message);
  return envelope.value;
}

describe('search task', () => {
  it('returns for a batch of queries what one task per query returns', () => {
    const together = search({});
    queries.forEach((q, i) => {
      expect(search({ queries: [q] })[0]).toEqual(together[i]);
    });
    // both segments were searched by every query, each with a plan
    for (const hits of together) expect(hits.plans.map((p: { uid: number }) => p.uid)).toEqual([101, 102]);
  });

  it('follows routes: 0 skips the segment, 1 keeps the filter, 2 drops it', () => {
    const none = new Uint8Array(queries.length);
    const filtered = new Uint8Array(queries.length).fill(1);
    const complete = new Uint8Array(queries.length).fill(2);
    expect(search({ routes: [filtered, null] })).toEqual(search({}));
    const onlySecond = search({ routes: [none, filtered] });
    expect(onlySecond).toEqual(search({ segments: [segments[1]] }));
    for (const hits of onlySecond) expect([...hits.uids].every((u) => u === 102)).toBe(true);
    const unfiltered = queries.map((q) => ({ ...q, filter: null }));
    expect(search({ routes: [complete, complete] })).toEqual(search({ queries: unfiltered }));
    // per query: query 1 skips the first segment, query 2 drops its filter there
    const mixed = new Uint8Array(queries.length).fill(1);
    mixed[1] = 0;
    mixed[2] = 2;
    const got = search({ routes: [mixed, null] });
    expect(got[1]).toEqual(search({ segments: [segments[1]], queries: [queries[1]] })[0]);
    expect(got[2]!.plans[0]).toMatchObject({ uid: 101, branch: 'plain', matches: segments[0]!.liveCount });
    expect(got[0]).toEqual(search({})[0]);
  });

  it('rejects routes that do not line up with the segments or the queries', () => {
    const envelope = runTask({ kind: 'search', distance: 'Euclid', segments, queries, routes: [null] });
    expect(envelope.ok).toBe(false);
    expect(() => segmentVisits(queries, new Uint8Array(2))).toThrow(RangeError);
    expect(() => segmentVisits(queries, new Uint8Array(queries.length).fill(3))).toThrow(RangeError);
    expect(segmentVisits(queries, null).map((v: { query: number }) => v.query)).toEqual(queries.map((_, i) => i));
  });
});
