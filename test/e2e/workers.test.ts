import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { createSegmentMemory } from '../../dist/index-engine/index.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { SearchPool } from '../../dist/workers/pool.js';
import { api, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

const QUERY = {
  k: 1,
  filter: null,
  scoreThreshold: null,
  exact: false,
  ef: 10,
  plainThreshold: 100,
  quantization: { ignore: false, rescore: true, oversampling: 4 },
};

describe('worker pool', () => {
  it('a crashed worker fails only its own task, and the pool keeps serving', async () => {
    process.env.STRATA_ENABLE_TEST_TASKS = '1';
    const pool = new SearchPool({ threads: 2 });
    try {
      const crash = pool.run({ kind: 'test_crash' });
      const scan = pool.run({ kind: 'scan', segments: [], filter: { kind: 'const', value: true }, countOnly: true });
      await expect(crash).rejects.toMatchObject({ code: 'STRATA_ERR_WORKER_FAILED' });
      await expect(scan).resolves.toMatchObject({ count: 0 });
      for (let i = 0; i < 4; i++) {
        await expect(
          pool.run({ kind: 'scan', segments: [], filter: { kind: 'const', value: true }, countOnly: true }),
        ).resolves.toMatchObject({ count: 0 });
      }
    } finally {
      delete process.env.STRATA_ENABLE_TEST_TASKS;
      await pool.close();
    }
  });

  it('engine errors come back as {code, message} envelopes, not crashes', async () => {
    const pool = new SearchPool({ threads: 1 });
    try {
      const dim = 4;
      const handle = {
        uid: 1,
        dim,
        count: 1,
        memory: createSegmentMemory(dim, 1, 1),
        tombstones: new SharedArrayBuffer(4),
        payloadOffsets: new SharedArrayBuffer(8),
        payloadBytes: new SharedArrayBuffer(8),
        columns: [],
        graph: null,
        sq8: null,
      };
      const bad = pool.run({
        kind: 'search',
        distance: 'Dot',
        segments: [handle],
        queries: [{ ...QUERY, vector: new Float32Array(3) }],
      });
      await expect(bad).rejects.toMatchObject({
        code: 'STRATA_ERR_WORKER_FAILED',
        message: expect.stringContaining('dimensions'),
      });
      const good = await pool.run({
        kind: 'search',
        distance: 'Dot',
        segments: [handle],
        queries: [{ ...QUERY, vector: new Float32Array(4) }],
      });
      expect(Array.from(good[0].offsets)).toEqual([0]);
    } finally {
      await pool.close();
    }
  });
});

describe('back-pressure over HTTP', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { STRATA_WORKERS: '1', STRATA_QUEUE_SIZE: '2' } });
    await api(server.url, 'PUT', '/collections/load', { vectors: { size: 256, distance: 'Dot' } });
    const next = rng(3);
    for (let b = 0; b < 10; b++) {
      const points = Array.from({ length: 1000 }, (_, i) => ({
        id: b * 1000 + i,
        vector: randomVector(next, 256),
        payload: { i },
      }));
      await api(server.url, 'PUT', '/collections/load/points', { points });
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 503 with Retry-After when the search queue is full, then recovers', async () => {
    const next = rng(4);
    const searches = Array.from({ length: 40 }, () =>
      api(server.url, 'POST', '/collections/load/points/search', {
        vector: randomVector(next, 256),
        limit: 10,
        filter: { must: [{ key: 'i', range: { gte: 0 } }] },
      }),
    );
    const results = await Promise.all(searches);
    const rejected = results.filter((r) => r.status === 503);
    expect(rejected.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    for (const r of rejected) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body.status.code).toBe('STRATA_ERR_OVERLOADED');
    }
    expect(results.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    const after = await api(server.url, 'POST', '/collections/load/points/search', {
      vector: randomVector(next, 256),
      limit: 3,
    });
    expect(after.status).toBe(200);
    expect(after.body.result).toHaveLength(3);
  });
});
