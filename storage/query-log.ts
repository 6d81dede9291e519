import type BetterSqlite3 from 'better-sqlite3';
import type { Catalog } from './catalog.js';

/** Searches kept per collection (filter, template, limit, selectivity); the oldest go first. */
export const QUERY_LOG_CAPACITY = 100_000;
/** Query vectors kept per collection among them; older entries lose their vector first. */
export const QUERY_LOG_VECTORS = 10_000;
/**
 * Past a bound, the log is trimmed to this share of it, not to the bound itself: a trim walks the collection's
 * index entries, and trimming to the bound meant one walk (and a recount) on every flush once the log was full.
 */
export const QUERY_LOG_TRIM_TO = 0.9;
/** Filters longer than this (characters of JSON) are logged by their template only. */
export const QUERY_LOG_MAX_FILTER = 16_384;
/** Entries buffered in memory before they are written (one transaction per flush). */
const FLUSH_EVERY = 256;
const FLUSH_MS = 1000;

export interface LoggedSearch {
  readonly collectionId: number;
  /** The query vector, prepared (normalized for cosine), when this search was sampled; else null. */
  readonly vector: Float32Array | null;
  /** The filter JSON as received, or null without a filter. */
  readonly filter: string | null;
  readonly template: string | null;
  readonly k: number;
  /** Share of the searched rows the filter matched (1 without a filter), or null when not known. */
  readonly selectivity: number | null;
}

export interface TemplateSummary {
  readonly template: string | null;
  readonly count: number;
  readonly selectivity: { readonly mean: number | null; readonly min: number | null; readonly max: number | null };
  readonly last_seen: string;
}

/**
 * The workload log (SQLite table `query_log`): every search's filter, its template, `limit` and measured
 * selectivity, which HQI partitions by, and a sample of query vectors (`rate`, 0–1), where DBNorm query banks
 * come from (`from_log`). Bounded per collection. Entries are buffered and written in batches without an fsync
 * of their own, so a crash may lose the last second of them (a power loss, those since the last durable commit),
 * which only makes the log shorter.
 */
export class QueryLog {
  readonly rate: number;
  private readonly catalog: Catalog;
  private readonly stmts;
  private buffer: (LoggedSearch & { ts: string })[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Rows and vectors per collection in the table, counted once and then kept up to date, so trimming (a walk of
   * 100,000 index entries) runs only when a bound is passed, not on every flush. */
  private readonly counts = new Map<number, { entries: number; vectors: number }>();

  constructor(catalog: Catalog, rate: number) {
    this.catalog = catalog;
    this.rate = rate;
    const db: BetterSqlite3.Database = catalog.sqlite;
    this.stmts = {
      insert: db.prepare<[number, string, Buffer | null, string | null, string | null, number, number | null]>(
        'INSERT INTO query_log (collection_id, ts, vector, filter, template, k, selectivity) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      trim: db.prepare<[number, number, number]>(
        `DELETE FROM query_log WHERE collection_id = ? AND id <= (
           SELECT id FROM query_log WHERE collection_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      ),
      trimVectors: db.prepare<[number, number, number]>(
        `UPDATE query_log SET vector = NULL WHERE collection_id = ? AND vector IS NOT NULL AND id <= (
           SELECT id FROM query_log WHERE collection_id = ? AND vector IS NOT NULL ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      ),
      countVectors: db.prepare<[number], { n: number }>(
        'SELECT COUNT(*) AS n FROM query_log WHERE collection_id = ? AND vector IS NOT NULL',
      ),
      sample: db.prepare<[number, number], { vector: Buffer }>(
        'SELECT vector FROM query_log WHERE collection_id = ? AND vector IS NOT NULL ORDER BY random() LIMIT ?',
      ),
      templates: db.prepare<[number], TemplateRow>(
        `SELECT template, COUNT(*) AS count, AVG(selectivity) AS mean, MIN(selectivity) AS min,
                MAX(selectivity) AS max, MAX(ts) AS last_seen
           FROM query_log WHERE collection_id = ? GROUP BY template ORDER BY count DESC, template`,
      ),
      countAll: db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM query_log WHERE collection_id = ?'),
      filters: db.prepare<[number, number], { filter: string; count: number }>(
        `SELECT filter, COUNT(*) AS count FROM query_log WHERE collection_id = ? AND filter IS NOT NULL
           GROUP BY filter ORDER BY MAX(id) DESC LIMIT ?`,
      ),
    };
  }

  /** Whether to keep the next query's vector (probability `rate`). */
  sampled(): boolean {
    return this.rate > 0 && Math.random() < this.rate;
  }

  record(entry: LoggedSearch): void {
    this.buffer.push({ ...entry, ts: new Date().toISOString() });
    if (this.buffer.length >= FLUSH_EVERY) this.flush();
    else if (this.timer === null) {
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
          const vector = e.vector && Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength);
          this.stmts.insert.run(e.collectionId, e.ts, vector, e.filter, e.template, e.k, e.selectivity);
          const count = this.countOf(e.collectionId);
          count.entries++;
          if (vector !== null) count.vectors++;
          touched.add(e.collectionId);
        }
        for (const id of touched) {
          const count = this.countOf(id);
          if (count.entries > QUERY_LOG_CAPACITY) {
            this.stmts.trim.run(id, id, Math.floor(QUERY_LOG_CAPACITY * QUERY_LOG_TRIM_TO));
            this.counts.delete(id); // the vectors trimmed along are counted again
          } else if (count.vectors > QUERY_LOG_VECTORS) {
            const keep = Math.floor(QUERY_LOG_VECTORS * QUERY_LOG_TRIM_TO);
            this.stmts.trimVectors.run(id, id, keep);
            count.vectors = keep;
          }
        }
      });
    } catch {
      // a collection dropped since its searches were logged (foreign key): those entries are simply lost
      this.counts.clear();
    }
  }

  private countOf(collectionId: number): { entries: number; vectors: number } {
    let count = this.counts.get(collectionId);
    if (count === undefined) {
      count = {
        entries: this.stmts.countAll.get(collectionId)?.n ?? 0,
        vectors: this.stmts.countVectors.get(collectionId)?.n ?? 0,
      };
      this.counts.set(collectionId, count);
    }
    return count;
  }

  /** Logged query vectors of a collection. */
  size(collectionId: number): number {
    this.flush();
    return this.stmts.countVectors.get(collectionId)?.n ?? 0;
  }

  /** Up to `size` logged vectors chosen at random. */
  sample(collectionId: number, size: number): Float32Array[] {
    this.flush();
    return this.stmts.sample.all(collectionId, size).map((r) => {
      const b = r.vector;
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    });
  }

  /** HQI's workload: the distinct logged filters (JSON) with how often each was sent, most recent first. */
  filters(collectionId: number, limit: number): { filter: string; count: number }[] {
    this.flush();
    return this.stmts.filters.all(collectionId, limit);
  }

  /** The logged workload of a collection grouped by filter template, most frequent first. */
  summary(collectionId: number): { searches: number; templates: TemplateSummary[] } {
    this.flush();
    const templates = this.stmts.templates.all(collectionId).map((r) => ({
      template: r.template,
      count: r.count,
      selectivity: { mean: r.mean, min: r.min, max: r.max },
      last_seen: r.last_seen,
    }));
    return { searches: this.stmts.countAll.get(collectionId)?.n ?? 0, templates };
  }
}

interface TemplateRow {
  template: string | null;
  count: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  last_seen: string;
}
