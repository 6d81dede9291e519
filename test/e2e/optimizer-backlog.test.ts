import { afterAll, expect, it } from 'vitest';
import { api, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

/**
 * Back-pressure on the optimizer's backlog: overwriting the same points faster than the optimizer rewrites
 * their segments piles up replaced rows in memory. Past STRATA_OPTIMIZER_BACKLOG_ROWS (small here, so the test
 * is fast) upserts answer 503 STRATA_ERR_OPTIMIZER_BACKLOG with `Retry-After`, deletes and searches still
 * work, and once the optimizer has caught up upserts are accepted again. Every acknowledged write is kept,
 * also across a restart.
 */
const DIM = 64;
const IDS = 1000;
const LIMIT = 1000;
const servers: RunningServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.stop();
});

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}\\{collection="hot"\\} (\\d+)`, 'm').exec(text);
  expect(m, name).not.toBeNull();
  return Number(m![1]);
}

it('refuses upserts with 503 + Retry-After while the backlog is over its limit, and takes them again after', async () => {
  // one worker: the optimizer cannot borrow a second one, and a slow graph build (large m, ef_construct)
  const env = { STRATA_WORKERS: '1', STRATA_OPTIMIZER_BACKLOG_RATIO: '0', STRATA_OPTIMIZER_BACKLOG_ROWS: `${LIMIT}` };
  const server = await startServer({ env });
  servers.push(server);
  const created = await api(server.url, 'PUT', '/collections/hot', {
    vectors: { size: DIM, distance: 'Cosine' },
    hnsw_config: { m: 64, ef_construct: 1000 },
    optimizers_config: { indexing_threshold: IDS, vacuum_min_vector_number: 10 },
  });
  expect(created.status, created.text).toBe(200);

  const next = rng(11);
  // the payload of each id names the last acknowledged batch that wrote it
  const lastWrite = new Map<number, number>();
  const upsert = (batch: number) =>
    api(server.url, 'PUT', '/collections/hot/points', {
      points: Array.from({ length: IDS }, (_, id) => ({ id, vector: randomVector(next, DIM), payload: { batch } })),
    });
  let batch = 0;
  let refused: Awaited<ReturnType<typeof upsert>> | null = null;
  for (; batch < 60 && refused === null; batch++) {
    const res = await upsert(batch);
    if (res.status === 503) refused = res;
    else {
      expect(res.status, res.text).toBe(200);
      for (let id = 0; id < IDS; id++) lastWrite.set(id, batch);
    }
  }
  expect(refused, 'an upsert was refused for the backlog').not.toBeNull();
  expect(refused!.headers.get('retry-after')).toBe('1');
  expect(refused!.body.status.code).toBe('STRATA_ERR_OPTIMIZER_BACKLOG');
  expect(refused!.body.status.error).toMatch(/Collection `hot` holds \d+ replaced or deleted rows/);
  // only whole batches were refused: nothing of the refused one is visible
  const during = await api(server.url, 'POST', '/collections/hot/points', { ids: [0, 999], with_payload: true });
  expect(during.body.result.map((p: { payload: { batch: number } }) => p.payload.batch)).toEqual([
    lastWrite.get(0),
    lastWrite.get(999),
  ]);
  // reads and deletes still pass while upserts wait
  const search = await api(server.url, 'POST', '/collections/hot/points/search', {
    vector: randomVector(next, DIM),
    limit: 5,
  });
  expect(search.status, search.text).toBe(200);
  const deleted = await api(server.url, 'POST', '/collections/hot/points/delete', { points: [999] });
  expect(deleted.status, deleted.text).toBe(200);
  lastWrite.delete(999);

  // the optimizer catches up and upserts are taken again (the client honours Retry-After)
  let accepted = false;
  for (let attempt = 0; attempt < 120 && !accepted; attempt++) {
    const res = await upsert(batch);
    if (res.status === 200) {
      accepted = true;
      for (let id = 0; id < IDS; id++) lastWrite.set(id, batch);
    } else {
      expect(res.status, res.text).toBe(503);
      expect(res.body.status.code).toBe('STRATA_ERR_OPTIMIZER_BACKLOG');
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after')) * 1000));
    }
  }
  expect(accepted, 'upserts are accepted again once the optimizer caught up').toBe(true);
  const metrics = (await api(server.url, 'GET', '/metrics')).text;
  expect(metrics).toMatch(/^strata_collection_backlog_rows\{collection="hot"\} \d+$/m);
  expect(metrics).toMatch(/^strata_http_requests_total\{.*status="503".*\} [1-9]/m);

  // every acknowledged write is there, before and after a restart
  const check = async (url: string) => {
    const count = await api(url, 'POST', '/collections/hot/points/count', {});
    expect(count.body.result.count).toBe(lastWrite.size);
    const got = await api(url, 'POST', '/collections/hot/points', {
      ids: Array.from({ length: IDS }, (_, id) => id),
      with_payload: true,
    });
    const seen = new Map<number, number>(
      got.body.result.map((p: { id: number; payload: { batch: number } }) => [p.id, p.payload.batch]),
    );
    expect(seen).toEqual(lastWrite);
  };
  await check(server.url);
  expect(await server.stop()).toBe(0);
  const again = await startServer({ dataDir: server.dataDir, env });
  servers.push(again);
  await check(again.url);
  const after = metric((await api(again.url, 'GET', '/metrics')).text, 'strata_collection_backlog_rows');
  expect(after).toBeGreaterThanOrEqual(0);
}, 180_000);
