import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

const DIM = 16;

describe('recall monitor', () => {
  let server: RunningServer;
  const next = rng(606);

  beforeAll(async () => {
    server = await startServer({ env: { STRATA_RECALL_SAMPLE_RATE: '1' } });
    // a deliberately weak graph, so approximate searches miss some neighbours and recall is measurably < 1
    await api(server.url, 'PUT', '/collections/weak', {
      vectors: { size: DIM, distance: 'Euclid' },
      hnsw_config: { m: 4, ef_construct: 8, full_scan_threshold: 10 },
      optimizers_config: { indexing_threshold: 3000 },
    });
    const points = Array.from({ length: 3000 }, (_, id) => ({ id, vector: randomVector(next, DIM) }));
    for (let i = 0; i < points.length; i += 1000) {
      await api(server.url, 'PUT', '/collections/weak/points', { points: points.slice(i, i + 1000) });
    }
    for (let i = 0; (await api(server.url, 'GET', '/collections/weak')).body.result.indexed_vectors_count < 3000; i++) {
      if (i > 1200) throw new Error('the segment was never sealed');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('re-runs sampled searches exactly and reports their mean recall@k in GET collection and /metrics', async () => {
    const recalls: number[] = [];
    for (let q = 0; q < 30; q++) {
      const query = { vector: randomVector(next, DIM), limit: 10, params: { hnsw_ef: 10 } };
      const before = (await api(server.url, 'GET', '/collections/weak')).body.result.recall.samples;
      const approx = (await api(server.url, 'POST', '/collections/weak/points/search', query)).body.result;
      const exact = (
        await api(server.url, 'POST', '/collections/weak/points/search', { ...query, params: { exact: true } })
      ).body.result;
      const ids = new Set(exact.map((p: { id: number }) => p.id));
      recalls.push(approx.filter((p: { id: number }) => ids.has(p.id)).length / exact.length);
      // one re-run at a time: wait for this sample before the next search
      for (let i = 0; (await api(server.url, 'GET', '/collections/weak')).body.result.recall.samples === before; i++) {
        if (i > 200) throw new Error('the sample was never measured');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const expected = recalls.reduce((a, b) => a + b, 0) / recalls.length;
    expect(expected).toBeLessThan(1); // the weak graph really misses neighbours, so the monitor has work to do
    const { recall } = (await api(server.url, 'GET', '/collections/weak')).body.result;
    expect(recall.samples).toBe(30); // exact searches are not sampled
    expect(recall.sample_rate).toBe(1);
    expect(recall.recall_at_k).toBeCloseTo(expected, 9);
    expect(Date.parse(recall.last_measured_at)).toBeGreaterThan(Date.now() - 60_000);
    const metrics = (await api(server.url, 'GET', '/metrics')).text;
    const gauge = /strata_search_recall\{collection="weak"\} ([0-9.e-]+)/.exec(metrics);
    expect(Number(gauge?.[1])).toBeCloseTo(expected, 6);
    expect(metrics).toMatch(/strata_search_recall_samples_total\{collection="weak"\} 30/);
  });

  it('counts searches answered by an exact scan as recall 1 without re-running them', async () => {
    await api(server.url, 'PUT', '/collections/small', { vectors: { size: DIM, distance: 'Dot' } });
    const points = Array.from({ length: 50 }, (_, id) => ({ id, vector: randomVector(next, DIM) }));
    await api(server.url, 'PUT', '/collections/small/points', { points });
    for (let q = 0; q < 5; q++) {
      await api(server.url, 'POST', '/collections/small/points/search', { vector: randomVector(next, DIM), limit: 5 });
    }
    const { recall } = (await api(server.url, 'GET', '/collections/small')).body.result;
    expect(recall).toMatchObject({ samples: 5, recall_at_k: 1 });
  });
});
