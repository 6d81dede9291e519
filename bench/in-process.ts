import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Collection, Database, type FilterJson, type PointInput } from '../storage/index.js';
import { row } from './dataset.js';
import { measure } from './measure.js';
import { type BenchConfig, makeRow, type Row } from './rows.js';
import { type SearchTarget, searchSuite } from './search-suite.js';

export const COLLECTION = 'bench';

/** The dataset as upsert batches of `batch` points, id = base row index. */
export function pointBatches(cfg: BenchConfig): PointInput[][] {
  const ds = cfg.dataset;
  const out: PointInput[][] = [];
  for (let from = 0; from < ds.n; from += cfg.upsertBatch) {
    const points: PointInput[] = [];
    for (let i = from; i < Math.min(ds.n, from + cfg.upsertBatch); i++) {
      points.push({ id: i, vector: row(ds.base, ds.dim, i), payload: ds.payloads[i]! });
    }
    out.push(points);
  }
  return out;
}

const ids = (hits: readonly { id: unknown }[]): number[] => hits.map((h) => Number(h.id));

/** Upsert throughput and search QPS through the storage API in this process (no HTTP, same worker pool). */
export async function benchInProcess(cfg: BenchConfig): Promise<Row[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-'));
  const db = new Database({ dataDir, pool: { threads: cfg.threads } });
  try {
    await db.recover();
    const batches = pointBatches(cfg);
    process.stderr.write(`  inproc: upsert ${cfg.dataset.n} points in batches of ${cfg.upsertBatch}\n`);
    // Each repetition loads a fresh collection (re-created untimed); the last one stays for the searches.
    const reps = await measure(
      cfg.reps,
      cfg.dataset.n,
      async () => {
        const collection = db.get(COLLECTION);
        for (const points of batches) await collection.upsert(points);
      },
      () => {
        if (db.exists(COLLECTION)) db.drop(COLLECTION);
        db.create(COLLECTION, { vectors: { size: cfg.dataset.dim, distance: 'Euclid' } });
      },
    );
    const rows = [makeRow('inproc.upsert', 'in-process', 'upsert', 'points/s', { reps }, false)];
    const target = collectionTarget(db, db.get(COLLECTION));
    const searches = await searchSuite(cfg, target, {
      section: 'in-process',
      prefix: 'inproc',
      concurrencyLabel: `${cfg.concurrency} in flight`,
      batchLabel: `${cfg.searchBatch} per db.search call`,
      filtered: true,
    });
    return [...rows, ...searches];
  } finally {
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function collectionTarget(db: Database, collection: Collection): SearchTarget {
  return {
    async one(vector: readonly number[], filter: FilterJson | null, k: number): Promise<number[]> {
      const [hits] = await db.search(collection, [{ vector, limit: k, ...(filter ? { filter } : {}) }]);
      return ids(hits?.points ?? []);
    },
    async batch(vectors: readonly (readonly number[])[], k: number): Promise<number[][]> {
      const results = await db.search(
        collection,
        vectors.map((vector) => ({ vector, limit: k })),
      );
      return results.map((r) => ids(r.points));
    },
  };
}
