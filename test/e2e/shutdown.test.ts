import fs from 'node:fs';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { Database } from '../../dist/storage/index.js';
import { api, randomVector, rng, startServer, tempDir } from '../helpers/server.js';

/**
 * SIGTERM under load while the optimizer builds a segment: the server stops accepting, answers the requests in
 * flight, lets the optimizer's job finish (or cancels and rolls it back after a grace period), closes SQLite
 * and exits 0; a restart shows every acknowledged write.
 */
const DIM = 48;

interface Outcome {
  readonly sent: number;
  readonly status: number | null;
  readonly error?: string;
}

it('drains in-flight requests and exits 0 on SIGTERM during an optimizer job', async () => {
  const server = await startServer();
  await api(server.url, 'PUT', '/collections/sd', {
    vectors: { size: DIM, distance: 'Euclid' },
    optimizers_config: { indexing_threshold: 1500 },
    hnsw_config: { m: 32, ef_construct: 300 },
  });
  const acked = new Map<number, number[]>();
  const outcomes: Outcome[] = [];
  let stop = false;
  let nextId = 0;
  const track = async (send: () => Promise<{ status: number }>) => {
    const sent = Date.now();
    try {
      const res = await send();
      outcomes.push({ sent, status: res.status });
      return res.status;
    } catch (e) {
      outcomes.push({ sent, status: null, error: String((e as Error).cause ?? e) });
      return null;
    }
  };
  const writer = async (seed: number) => {
    const next = rng(seed);
    while (!stop) {
      const points = Array.from({ length: 250 }, () => ({ id: nextId++, vector: randomVector(next, DIM) }));
      const status = await track(() => api(server.url, 'PUT', '/collections/sd/points', { points }));
      if (status === 200) for (const p of points) acked.set(p.id, p.vector);
      if (status === null) return;
    }
  };
  const searcher = async (seed: number) => {
    const next = rng(seed);
    while (!stop) {
      const status = await track(() =>
        api(server.url, 'POST', '/collections/sd/points/search', {
          vector: randomVector(next, DIM),
          limit: 10,
          params: { exact: true },
        }),
      );
      if (status === null) return;
    }
  };
  const loadStarted = Date.now();
  const load = [writer(1), writer(2), searcher(3), searcher(4)];
  // wait until a segment is being sealed
  let yellow = false;
  for (let i = 0; i < 300 && !yellow; i++) {
    await new Promise((r) => setTimeout(r, 20));
    yellow = (await api(server.url, 'GET', '/collections/sd')).body.result.status === 'yellow';
  }
  expect(yellow, 'an optimizer job was running').toBe(true);
  // enough load before the signal that requests are really in flight
  await new Promise((r) => setTimeout(r, Math.max(0, loadStarted + 1000 - Date.now())));
  const sigterm = Date.now();
  const exitCode = await server.stop();
  stop = true;
  await Promise.all(load);
  expect(exitCode, server.output().split('\n').slice(-15).join('\n')).toBe(0);
  expect(server.output()).toContain('closed cleanly');
  // requests sent well before the signal were in flight on the server: each got an answer, not a reset
  const inFlight = outcomes.filter((o) => o.sent < sigterm - 250);
  expect(inFlight.length).toBeGreaterThan(5);
  for (const o of inFlight) expect(o.status, o.error).toBe(200);
  // later ones were answered (200, or 503 while closing) or refused a connection; never a server error
  for (const o of outcomes) if (o.status !== null) expect([200, 503]).toContain(o.status);

  const restarted = await startServer({ dataDir: server.dataDir });
  try {
    expect(restarted.output()).not.toContain('discarded unfinished segment builds');
    const count = await api(restarted.url, 'POST', '/collections/sd/points/count', {});
    expect(count.body.result.count).toBeGreaterThanOrEqual(acked.size);
    const ids = [...acked.keys()];
    for (let i = 0; i < ids.length; i += 2000) {
      const got = await api(restarted.url, 'POST', '/collections/sd/points', {
        ids: ids.slice(i, i + 2000),
        with_vector: true,
        with_payload: false,
      });
      expect(got.body.result).toHaveLength(Math.min(2000, ids.length - i));
      for (const p of got.body.result as { id: number; vector: number[] }[]) {
        expect(p.vector).toEqual(acked.get(p.id)!.map((v) => Math.fround(v) + 0));
      }
    }
  } finally {
    await restarted.stop();
  }
});

it('a shutdown whose grace period runs out cancels the index build and leaves a consistent catalog', async () => {
  const dataDir = tempDir('strata-shutdown-');
  const next = rng(5);
  let db = new Database({ dataDir, pool: { threads: 1 } });
  await db.recover();
  const collection = db.create('big', {
    vectors: { size: 64, distance: 'Cosine' },
    optimizers_config: { indexing_threshold: 6000 },
    hnsw_config: { m: 48, ef_construct: 800 },
  });
  const points = Array.from({ length: 6000 }, (_, id) => ({ id, vector: randomVector(next, 64), payload: { id } }));
  await collection.upsert(points); // fills the growing segment: a seal job starts
  await new Promise((r) => setTimeout(r, 50));
  expect(db.optimizer.busyWith(collection)).toBe(true);
  const started = Date.now();
  await db.close(20);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(db.optimizer.finished.seal).toBe(0);
  // no segment is left `building`, and no segment directory was left behind
  const catalog = new Sqlite(path.join(dataDir, 'catalog.sqlite'), { readonly: true });
  expect(catalog.prepare('SELECT count(*) AS n FROM segments').get()).toEqual({ n: 0 });
  catalog.close();
  const segmentsDir = path.join(dataDir, 'collections/big/segments');
  expect(fs.existsSync(segmentsDir) ? fs.readdirSync(segmentsDir) : []).toEqual([]);
  // and the data is all there after a restart
  db = new Database({ dataDir, pool: { threads: 1 } });
  try {
    await db.recover();
    expect(db.get('big').pointsCount).toBe(6000);
    expect(db.get('big').retrieve([5999], true, false)[0].payload).toEqual({ id: 5999 });
  } finally {
    await db.close();
  }
});
