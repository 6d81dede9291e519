import fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { Database } from '../../../dist/storage/index.js';
import { rng, tempDir } from '../../helpers/server.js';

/**
 * Short searches run on the calling thread (no worker hop) while the pool has nothing else to do: unfiltered
 * ones, and filtered ones whose matches the sorted columns bound within full_scan_threshold. The recall monitor's
 * exact re-runs, one task on one worker, do not keep them off that path.
 */
const DIM = 16;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

it('runs short searches inline, also while a recall re-run is in flight; filtered ones when the columns bound them', async () => {
  const dataDir = tempDir('strata-inline-');
  dirs.push(dataDir);
  // every search is re-run exactly in the background
  const db = new Database({ dataDir, pool: { threads: 2 }, recallSampleRate: 1, queryLogSample: 0 });
  try {
    await db.recover();
    const c = db.create('inline', {
      vectors: { size: DIM, distance: 'Euclid' },
      optimizers_config: { indexing_threshold: 500 },
    });
    const next = rng(7);
    const vec = () => Array.from({ length: DIM }, () => next() * 2 - 1);
    const points = Array.from({ length: 1001 }, (_, i) => ({
      id: i,
      vector: vec(),
      payload: { even: i % 2 === 0, n: i },
    }));
    await c.upsert(points);
    for (let i = 0; i < 600 && !(db.status(c) === 'green' && c.indexedVectorsCount >= 1000); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(c.indexedVectorsCount).toBeGreaterThanOrEqual(1000);

    const before = db.inlineSearches;
    const [first] = await db.search(c, [{ vector: vec(), limit: 5, params: { hnsw_ef: 32 } }]);
    expect(first.plans.some((p: { branch: string }) => p.branch === 'graph')).toBe(true);
    expect(db.inlineSearches).toBe(before + 1);
    // the first search's exact re-run is now on a worker: the next search still runs here
    expect(db.poolStats().busy + db.poolStats().queued).toBeGreaterThan(0);
    const [second] = await db.search(c, [{ vector: vec(), limit: 5 }]);
    expect(second.points).toHaveLength(5);
    expect(db.inlineSearches).toBe(before + 2);
    // a filtered search may test every row: it goes to the pool
    await db.search(c, [{ vector: vec(), limit: 5, filter: { must: [{ key: 'even', match: { value: true } }] } }]);
    expect(db.inlineSearches).toBe(before + 2);
    // on an indexed field, the sorted columns bound the matches: within full_scan_threshold, it runs here too
    await c.putPayloadIndex('n', 'integer');
    const byRange = { must: [{ key: 'n', range: { gte: 100, lt: 140 } }] };
    const [listed] = await db.search(c, [{ vector: vec(), limit: 5, filter: byRange }]);
    expect(db.inlineSearches).toBe(before + 3);
    expect(listed.points).toHaveLength(5);
    expect(listed.points.every((p: { id: unknown }) => Number(p.id) >= 100 && Number(p.id) < 140)).toBe(true);
    expect(listed.plans.some((p: { branch: string }) => p.branch === 'plain_filtered')).toBe(true);
    // above the threshold (here 100 rows), the search goes to the pool
    const low = db.create('inline_low', {
      vectors: { size: DIM, distance: 'Euclid' },
      hnsw_config: { full_scan_threshold: 100 },
      optimizers_config: { indexing_threshold: 500 },
    });
    await low.putPayloadIndex('n', 'integer');
    await low.upsert(points);
    for (let i = 0; i < 600 && !(db.status(low) === 'green' && low.indexedVectorsCount >= 1000); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const inline = db.inlineSearches;
    await db.search(low, [{ vector: vec(), limit: 5, filter: { must: [{ key: 'n', range: { lt: 600 } }] } }]);
    expect(db.inlineSearches).toBe(inline);
    await db.search(low, [{ vector: vec(), limit: 5, filter: { must: [{ key: 'n', range: { lt: 50 } }] } }]);
    expect(db.inlineSearches).toBe(inline + 1);
  } finally {
    await db.close();
  }
}, 60_000);
