import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type RunningServer, randomVector, rng, startServer, tempDir } from '../helpers/server.js';

const DIM = 8;
const N = 600;

/** HQI's workload log: every search's filter template, limit and selectivity, summarized per template. */
describe('workload log and GET /collections/{name}/partitioning', () => {
  const dataDir = tempDir();
  let server: RunningServer;
  const next = rng(404);
  const category = (id: number) => id % 6;
  const price = (id: number) => (id * 7) % 100;

  beforeAll(async () => {
    server = await startServer({ dataDir });
    await api(server.url, 'PUT', '/collections/shop', { vectors: { size: DIM, distance: 'Cosine' } });
    const points = Array.from({ length: N }, (_, id) => ({
      id,
      vector: randomVector(next, DIM),
      payload: { category: category(id), price: price(id) },
    }));
    expect((await api(server.url, 'PUT', '/collections/shop/points?wait=true', { points })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  const byCategoryAndPrice = (c: number, below: number, flip: boolean) => {
    const parts = [
      { key: 'category', match: { value: c } },
      { key: 'price', range: { lt: below } },
    ];
    return { must: flip ? parts.reverse() : parts };
  };
  const exactShare = (accept: (id: number) => boolean) =>
    Array.from({ length: N }, (_, id) => id).filter(accept).length / N;

  it('groups searches by template (literals and condition order aside) with their measured selectivity', async () => {
    const expectedShares: number[] = [];
    // template A, single searches, literal values and condition order varying
    for (let i = 0; i < 12; i++) {
      const c = i % 6;
      const below = 20 + 5 * i;
      const filter = byCategoryAndPrice(c, below, i % 2 === 1);
      const res = await api(server.url, 'POST', '/collections/shop/points/search', {
        vector: randomVector(next, DIM),
        limit: 5,
        filter,
      });
      expect(res.status).toBe(200);
      expectedShares.push(exactShare((id) => category(id) === c && price(id) < below));
    }
    // template B in one batch of 5, and 3 unfiltered searches through the query API
    const batch = Array.from({ length: 5 }, (_, i) => ({
      vector: randomVector(next, DIM),
      limit: 3,
      filter: { should: [{ key: 'category', match: { any: [i, i + 1] } }] },
    }));
    expect((await api(server.url, 'POST', '/collections/shop/points/search/batch', { searches: batch })).status).toBe(
      200,
    );
    for (let i = 0; i < 3; i++) {
      expect(
        (await api(server.url, 'POST', '/collections/shop/points/query', { query: randomVector(next, DIM) })).status,
      ).toBe(200);
    }

    const res = await api(server.url, 'GET', '/collections/shop/partitioning');
    expect(res.status).toBe(200);
    const { state, logged_searches, templates, tree } = res.body.result;
    expect(state).toBe('idle');
    expect(tree).toBeNull();
    expect(logged_searches).toBe(20);
    expect(templates.map((t: { count: number }) => t.count)).toEqual([12, 5, 3]);
    const [a, b, none] = templates;
    expect(JSON.parse(a.template)).toEqual({
      must: [
        { key: 'category', match: { value: '?' } },
        { key: 'price', range: { lt: '?' } },
      ],
    });
    expect(JSON.parse(b.template)).toEqual({ should: [{ key: 'category', match: { any: ['?', '?'] } }] });
    expect(none.template).toBeNull();
    expect(none.selectivity).toEqual({ mean: 1, min: 1, max: 1 });
    expect(a.share).toBeCloseTo(12 / 20, 10);
    // growing segments count their matches exactly, so the logged selectivity is the true share
    expect(a.selectivity.min).toBeCloseTo(Math.min(...expectedShares), 10);
    expect(a.selectivity.max).toBeCloseTo(Math.max(...expectedShares), 10);
    expect(a.selectivity.mean).toBeCloseTo(expectedShares.reduce((s, x) => s + x, 0) / 12, 10);
    expect(b.selectivity.mean).toBeCloseTo(2 / 6, 2);
    expect(Date.parse(a.last_seen)).not.toBeNaN();
  });

  it('keeps the log across a restart, and answers 404 for a collection that does not exist', async () => {
    await server.stop();
    server = await startServer({ dataDir });
    const res = await api(server.url, 'GET', '/collections/shop/partitioning');
    expect(res.body.result.logged_searches).toBe(20);
    expect(res.body.result.templates.map((t: { count: number }) => t.count)).toEqual([12, 5, 3]);
    const missing = await api(server.url, 'GET', '/collections/nope/partitioning');
    expect(missing.status).toBe(404);
    expect(missing.body.status.error).toContain('nope');
  });
});
