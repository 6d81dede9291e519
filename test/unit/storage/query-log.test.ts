import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { Catalog } from '../../../dist/storage/catalog.js';
import {
  QUERY_LOG_CAPACITY,
  QUERY_LOG_TRIM_TO,
  QueryLog,
  // @ts-expect-error compiled JavaScript without a declaration next to the test
} from '../../../dist/storage/query-log.js';
import { tempDir } from '../../helpers/server.js';

const FULL = 2; // PRAGMA synchronous = FULL
/** One logged search with its vector kept (as a sampled one). */
const entry = (collectionId: number, vector: Float32Array) => ({
  collectionId,
  vector,
  filter: null,
  template: null,
  k: 10,
  selectivity: 1,
});

describe('query log', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('writes its samples without an fsync of their own, leaves the catalog durable, and keeps them across a reopen', () => {
    const dataDir = tempDir('strata-query-log-');
    dirs.push(dataDir);
    let catalog = new Catalog(dataDir);
    const id = catalog.createCollection('q', '{}');
    const log = new QueryLog(catalog, 1);
    for (let i = 0; i < 256; i++) log.record(entry(id, Float32Array.of(i, 1, 2)));
    // the 256th entry flushed the buffer in one unsynced transaction; later commits are FULL again
    expect(log.size(id)).toBe(256);
    expect(catalog.sqlite.pragma('synchronous', { simple: true })).toBe(FULL);
    // a failing flush (its collection dropped: foreign key) loses only those samples and restores FULL too
    log.record(entry(id, Float32Array.of(1, 2, 3)));
    catalog.deleteCollection(id);
    log.flush();
    expect(catalog.sqlite.pragma('synchronous', { simple: true })).toBe(FULL);
    const kept = catalog.createCollection('r', '{}');
    const log2 = new QueryLog(catalog, 1);
    for (let i = 0; i < 10; i++) log2.record(entry(kept, Float32Array.of(i, i, i)));
    log2.flush();
    catalog.close();
    catalog = new Catalog(dataDir);
    expect(new QueryLog(catalog, 1).size(kept)).toBe(10);
    catalog.close();
  });

  it('past its bound keeps the newest searches, trimmed with slack so that a full log is not trimmed per flush', () => {
    const dataDir = tempDir('strata-query-log-');
    dirs.push(dataDir);
    const catalog = new Catalog(dataDir);
    const id = catalog.createCollection('q', '{}');
    const log = new QueryLog(catalog, 0);
    const search = (i: number) => ({ ...entry(id, Float32Array.of(0)), vector: null, k: (i % 50) + 1 });
    let i = 0;
    while (log.summary(id).searches <= QUERY_LOG_CAPACITY * QUERY_LOG_TRIM_TO) {
      for (let j = 0; j < 4096; j++) log.record(search(i++));
    }
    // cross the bound: the log drops to the trim target, the newest searches kept
    const kept = Math.floor(QUERY_LOG_CAPACITY * QUERY_LOG_TRIM_TO);
    while (i <= QUERY_LOG_CAPACITY) log.record(search(i++));
    log.flush();
    const after = log.summary(id).searches;
    expect(after).toBeGreaterThanOrEqual(kept);
    expect(after).toBeLessThan(kept + 512);
    const newest = catalog.sqlite
      .prepare('SELECT k FROM query_log WHERE collection_id = ? ORDER BY id DESC LIMIT 1')
      .get(id) as { k: number };
    expect(newest.k).toBe(((i - 1) % 50) + 1);
    // below the bound again: the next flushes only add
    for (let j = 0; j < 1024; j++) log.record(search(i++));
    log.flush();
    expect(log.summary(id).searches).toBe(after + 1024);
    catalog.close();
  });
});
