import type BetterSqlite3 from 'better-sqlite3';
import type { Catalog } from './catalog.js';

/** Query vectors kept per collection; the oldest go first. */
export const QUERY_LOG_CAPACITY = 10_000;
/** Sampled queries buffered in memory before they are written (one transaction per flush). */
const FLUSH_EVERY = 64;
const FLUSH_MS = 1000;

/**
 * A bounded log of sampled search vectors per collection (SQLite table `query_log`), where DBNorm query banks
 * come from (`from_log`). A sample of searches is recorded (`rate`, 0–1); entries are buffered and written in
 * batches, without an fsync of their own, so a crash may lose the last second of samples (a power loss, those
 * since the last durable commit), which only makes the sample smaller.
 */
export class QueryLog {
  readonly rate: number;
  private readonly catalog: Catalog;
  private readonly stmts;
  private buffer: { collectionId: number; vector: Float32Array; ts: string }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(catalog: Catalog, rate: number) {
    this.catalog = catalog;
    this.rate = rate;
    const db: BetterSqlite3.Database = catalog.sqlite;
    this.stmts = {
      insert: db.prepare<[number, string, Buffer]>(
        'INSERT INTO query_log (collection_id, ts, vector) VALUES (?, ?, ?)',
      ),
      trim: db.prepare<[number, number, number]>(
        `DELETE FROM query_log WHERE collection_id = ? AND id <= (
           SELECT id FROM query_log WHERE collection_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      ),
      count: db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM query_log WHERE collection_id = ?'),
      sample: db.prepare<[number, number], { vector: Buffer }>(
        'SELECT vector FROM query_log WHERE collection_id = ? ORDER BY random() LIMIT ?',
      ),
    };
  }

  /** Whether to record the next query (probability `rate`). */
  sampled(): boolean {
    return this.rate > 0 && Math.random() < this.rate;
  }

  /** Records a prepared query vector (the caller sampled it). */
  record(collectionId: number, vector: Float32Array): void {
    this.buffer.push({ collectionId, vector, ts: new Date().toISOString() });
    if (this.buffer.length >= FLUSH_EVERY) this.flush();
    else if (this.buffer.length > 0 && this.timer === null) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const entries = this.buffer;
    if (entries.length === 0) return;
    this.buffer = [];
    const touched = new Set<number>();
    try {
      this.catalog.unsyncedTransaction(() => {
        for (const e of entries) {
          this.stmts.insert.run(
            e.collectionId,
            e.ts,
            Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength),
          );
          touched.add(e.collectionId);
        }
        for (const id of touched) this.stmts.trim.run(id, id, QUERY_LOG_CAPACITY);
      });
    } catch {
      // a collection dropped since its queries were sampled (foreign key): those samples are simply lost
    }
  }

  size(collectionId: number): number {
    this.flush();
    return this.stmts.count.get(collectionId)?.n ?? 0;
  }

  /** Up to `size` logged vectors chosen at random. */
  sample(collectionId: number, size: number): Float32Array[] {
    this.flush();
    return this.stmts.sample.all(collectionId, size).map((r) => {
      const b = r.vector;
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    });
  }
}
