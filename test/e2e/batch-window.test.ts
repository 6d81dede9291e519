import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

const DIM = 8;
const POINTS = 600;

/** Pool tasks finished so far, from /metrics. */
async function poolTasks(url: string): Promise<number> {
  const text = (await api(url, 'GET', '/metrics')).text;
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('strata_pool_tasks_completed_total')) total += Number(line.split(' ').at(-1));
  }
  return total;
}

describe('micro-batching window (STRATA_BATCH_WINDOW_MS)', () => {
  let server: RunningServer;
  const next = rng(17);
  const queries = Array.from({ length: 40 }, (_, i) => ({
    vector: randomVector(next, DIM),
    limit: 5,
    with_payload: false,
    ...(i % 2 === 0 ? { filter: { must: [{ key: 'g', range: { lt: (i % 7) + 2 } }] } } : {}),
  }));

  beforeAll(async () => {
    server = await startServer({ env: { STRATA_BATCH_WINDOW_MS: '60' } });
    expect(
      (await api(server.url, 'PUT', '/collections/w', { vectors: { size: DIM, distance: 'Euclid' } })).status,
    ).toBe(200);
    await api(server.url, 'PUT', '/collections/w/index', { field_name: 'g', field_schema: 'integer' });
    const points = Array.from({ length: POINTS }, (_, id) => ({
      id,
      vector: randomVector(next, DIM),
      payload: { g: id % 10 },
    }));
    expect((await api(server.url, 'PUT', '/collections/w/points?wait=true', { points })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('concurrent single searches run as a few batches and answer exactly what one batch request answers', async () => {
    const reference = await api(server.url, 'POST', '/collections/w/points/search/batch', { searches: queries });
    expect(reference.status).toBe(200);
    const before = await poolTasks(server.url);
    const singles = await Promise.all(queries.map((q) => api(server.url, 'POST', '/collections/w/points/search', q)));
    const tasks = (await poolTasks(server.url)) - before;
    for (const [i, res] of singles.entries()) {
      expect(res.status).toBe(200);
      const want = reference.body.result[i] as { id: number; score: number }[];
      const got = res.body.result as { id: number; score: number }[];
      expect(got.map((p) => p.id)).toEqual(want.map((p) => p.id));
      // the same rows; scores within the kernels' agreement (WASM sums in f32, JS in f64: ~1e-6 relative)
      for (const [j, p] of got.entries()) expect(p.score).toBeCloseTo(want[j]!.score, 5);
    }
    // 40 searches one by one would take at least 40 pool tasks (or the main thread); batched, a few per window
    expect(tasks).toBeGreaterThan(0);
    expect(tasks).toBeLessThan(queries.length / 2);
  });

  it('a bad search in a window gets its own 400; the others still answer', async () => {
    const bad = { vector: [1, 2, 3], limit: 5 };
    const all = await Promise.all(
      [bad, ...queries.slice(0, 6)].map((q) => api(server.url, 'POST', '/collections/w/points/search', q)),
    );
    expect(all[0]!.status).toBe(400);
    expect(all[0]!.body.status.code).toBe('STRATA_ERR_DIM_MISMATCH');
    for (const res of all.slice(1)) expect(res.status).toBe(200);
  });
});
