import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { uniformRandom } from '../../../dist/index-engine/random.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { Database } from '../../../dist/storage/index.js';
import { tempDir } from '../../helpers/server.js';

const DIM = 16;
const rng: () => number = uniformRandom(11);
const vec = () => Array.from({ length: DIM }, () => rng() * 2 - 1);
const points = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, vector: vec() }));

type Inspect = { norms: Map<string, number>; top1: (string | null)[] } | null;

function expectSame(a: Inspect, b: Inspect): void {
  expect(a).not.toBeNull();
  expect(b).not.toBeNull();
  expect([...a!.norms.keys()].sort()).toEqual([...b!.norms.keys()].sort());
  for (const [key, v] of a!.norms) expect(Math.abs(v - b!.norms.get(key)!)).toBeLessThan(1e-4);
  expect(a!.top1).toEqual(b!.top1);
}

describe('DBNorm normalizers in storage', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('kept up to date by inserts, replacements and deletes equal a full recomputation, and survive a restart', async () => {
    const dataDir = tempDir('strata-hubness-');
    dirs.push(dataDir);
    let db = new Database({ dataDir, pool: { threads: 2 }, queryLogSample: 0 });
    await db.recover();
    const c = db.create('h', { vectors: { size: DIM, distance: 'Cosine' } });
    await c.upsert(points(0, 300));
    const queryBank = Array.from({ length: 40 }, vec);
    const galleryBank = Array.from({ length: 30 }, vec);
    await db.hubness.putQueryBank(c, { vectors: queryBank }, true);
    await db.hubness.putGalleryBank(c, { vectors: galleryBank }, true);
    const state = db.hubness.of(c);
    // incremental: 30 new points one by one, 10 replaced vectors, 10 deleted points (some are top-1s)
    for (const p of points(300, 30)) await c.upsert([p]);
    await c.upsert(points(0, 10));
    const tops = state
      .inspect('query')
      .top1.filter((k: string | null) => k !== null)
      .slice(0, 5);
    await c.deletePoints({ points: [...tops.map(Number), 290, 291, 292, 293, 294] });
    await state.settled();
    const incremental = { query: state.inspect('query'), gallery: state.inspect('gallery') };
    expect(incremental.query.norms.size).toBe(c.pointsCount);
    // full recomputation: the same banks stored again
    await db.hubness.putQueryBank(c, { vectors: queryBank }, true);
    await db.hubness.putGalleryBank(c, { vectors: galleryBank }, true);
    expectSame(incremental.query, state.inspect('query'));
    expectSame(incremental.gallery, state.inspect('gallery'));
    expect(db.hubness.bankInfo(c, 'query').normalizers).toEqual({
      current: true,
      computing: false,
      in_use: { version: 2, beta: 20 },
    });
    // durable: a restart reloads the same normalizers from SQLite
    await db.close();
    db = new Database({ dataDir, pool: { threads: 2 }, queryLogSample: 0 });
    await db.recover();
    const again = db.hubness.of(db.get('h'));
    await again.settled();
    expectSame(incremental.query, again.inspect('query'));
    expectSame(incremental.gallery, again.inspect('gallery'));
    await db.close();
  });

  it('a bank change keeps the old normalizers in use until the new ones are complete', async () => {
    const dataDir = tempDir('strata-hubness-');
    dirs.push(dataDir);
    const db = new Database({ dataDir, pool: { threads: 2 }, queryLogSample: 1 });
    await db.recover();
    const c = db.create('h', { vectors: { size: DIM, distance: 'Cosine' }, hubness: { method: 'is' } });
    await c.upsert(points(0, 2000));
    await expect(db.hubness.putQueryBank(c, { from_log: { size: 10 } }, true)).rejects.toMatchObject({
      code: 'STRATA_ERR_BANK_SOURCE',
    });
    await db.search(
      c,
      Array.from({ length: 50 }, () => ({ vector: vec(), limit: 3, params: { rescore: 'none' } })),
    );
    const first = await db.hubness.putQueryBank(c, { from_log: { size: 20 } }, true);
    expect(first).toMatchObject({ size: 20, provenance: { source: 'from_log', requested: 20, log_size: 50 } });
    const before = db.hubness.of(c).inspect('query');
    const put = db.hubness.putQueryBank(c, { vectors: Array.from({ length: 500 }, vec) }, false);
    const info = await put;
    expect(info.normalizers.current).toBe(false);
    expect(info.normalizers.in_use).toEqual({ version: 1, beta: 20 });
    // meanwhile searches rescore with version 1
    expectSame(before, db.hubness.of(c).inspect('query'));
    const [hit] = await db.search(c, [{ vector: vec(), limit: 1, with_raw_score: true }]);
    expect(hit.points[0].raw_score).toBeLessThanOrEqual(1);
    for (let i = 0; i < 200 && !db.hubness.bankInfo(c, 'query').normalizers.current; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(db.hubness.bankInfo(c, 'query').normalizers).toMatchObject({ current: true, in_use: { version: 2 } });
    await db.close();
  });
});
