/**
 * HQI automatic re-partitioning: a collection that asks for it re-partitions from its query log once the
 * filtered searches since the tree went live drift to predicate templates the tree was not built for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type RunningServer, randomVector, rng, startServer, tempDir } from '../helpers/server.js';

const DIM = 8;
const ROUTE = '/collections/auto';

async function partitioning(url: string) {
  const res = await api(url, 'GET', `${ROUTE}/partitioning`);
  expect(res.status, res.text).toBe(200);
  return res.body.result;
}

async function waitFor(url: string, done: (p: any) => boolean, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const p = await partitioning(url);
    if (done(p)) return p;
    if (Date.now() > until) throw new Error(`partitioning did not get there: ${JSON.stringify(p).slice(0, 400)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('automatic re-partitioning on workload drift', () => {
  const dataDir = tempDir('strata-hqi-auto-');
  let server: RunningServer;
  const next = rng(5);
  beforeAll(async () => {
    server = await startServer({ dataDir });
    const create = await api(server.url, 'PUT', ROUTE, {
      vectors: { size: DIM, distance: 'Euclid' },
      optimizers_config: { indexing_threshold: 500 },
    });
    expect(create.status).toBe(200);
    await api(server.url, 'PUT', `${ROUTE}/index`, { field_name: 'c', field_schema: 'integer' });
    await api(server.url, 'PUT', `${ROUTE}/index`, { field_name: 'color', field_schema: 'keyword' });
    const colors = ['red', 'green', 'blue', 'black'];
    const points = Array.from({ length: 2000 }, (_, id) => ({
      id,
      vector: randomVector(next, DIM),
      payload: { c: id % 8, color: colors[Math.floor(id / 500)] },
    }));
    expect((await api(server.url, 'PUT', `${ROUTE}/points?wait=true`, { points })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('re-partitions from the log once unseen templates pass the threshold, and keeps the setting', async () => {
    const workload = Array.from({ length: 8 }, (_, c) => ({ filter: { must: [{ key: 'c', match: { value: c } }] } }));
    const built = await api(server.url, 'POST', `${ROUTE}/partitioning?wait=true`, {
      workload,
      min_leaf_points: 100,
      auto_repartition: { drift_threshold: 0.5, min_searches: 30 },
    });
    expect(built.status, built.text).toBe(200);
    expect(built.body.result).toMatchObject({
      state: 'done',
      auto_repartition: { drift_threshold: 0.5, min_searches: 30 },
      drift: { searches: 0, unseen_share: 0 },
      tree: { version: 1 },
    });
    expect(built.body.result.tree.columns.map((c: { key: string }) => c.key)).toEqual(['c']);

    // 10 searches of the tree's own template, then 19 of an unseen one: 19/29 is past 0.5, but only 29 searches
    const search = (filter: unknown) =>
      api(server.url, 'POST', `${ROUTE}/points/search`, { vector: randomVector(next, DIM), limit: 3, filter });
    for (let i = 0; i < 10; i++)
      expect((await search({ must: [{ key: 'c', match: { value: i % 8 } }] })).status).toBe(200);
    const unseen = (i: number) => ({ must: [{ key: 'color', match: { value: ['red', 'blue'][i % 2] } }] });
    for (let i = 0; i < 19; i++) expect((await search(unseen(i))).status).toBe(200);
    const before = await partitioning(server.url);
    expect(before.tree.version).toBe(1);
    expect(before.drift.searches).toBe(29);
    expect(before.drift.unseen_share).toBeCloseTo(19 / 29, 6);

    // the 30th search: the drift is checked, the log (which now holds the color filters) becomes the workload
    expect((await search(unseen(19))).status).toBe(200);
    const after = await waitFor(server.url, (p) => p.state === 'done' && p.tree?.version === 2);
    expect(after.tree.columns.map((c: { key: string }) => c.key)).toContain('color');
    expect(after.drift.searches).toBe(0);

    // the setting is part of the collection config and survives a restart
    await server.stop();
    server = await startServer({ dataDir });
    const restarted = await partitioning(server.url);
    expect(restarted.auto_repartition).toEqual({ drift_threshold: 0.5, min_searches: 30 });
    expect(restarted.tree.version).toBe(2);
    const info = await api(server.url, 'GET', ROUTE);
    expect(info.body.result.config.partitioning.auto_repartition).toEqual({ drift_threshold: 0.5, min_searches: 30 });
  });

  it('stays put without auto_repartition', async () => {
    const off = await api(server.url, 'POST', `${ROUTE}/partitioning?wait=true`, { auto_repartition: null });
    expect(off.status, off.text).toBe(200);
    const version = off.body.result.tree.version;
    for (let i = 0; i < 40; i++) {
      const res = await api(server.url, 'POST', `${ROUTE}/points/search`, {
        vector: randomVector(next, DIM),
        limit: 3,
        filter: { must: [{ key: 'c', range: { gte: i % 8 } }] },
      });
      expect(res.status).toBe(200);
    }
    const p = await partitioning(server.url);
    expect(p.auto_repartition).toBeNull();
    expect(p.state).toBe('done');
    expect(p.tree.version).toBe(version);
  });
});
