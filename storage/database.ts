import fs from 'node:fs';
import path from 'node:path';
import type { Condition } from '../index-engine/index.js';
import type { PlanBranch } from '../index-engine/segment-search.js';
import { type PoolStats, PoolTaskError, SearchPool, type SearchPoolOptions } from '../workers/pool.js';
import type { QueryHits, ScanHits, SearchQuery, Task, TaskResult } from '../workers/protocol.js';
import { Catalog } from './catalog.js';
import { Collection } from './collection.js';
import { buildCollectionConfig } from './collection-config.js';
import { ERRORS, type ErrorCode, StrataError } from './errors.js';
import { type BuiltIndex, Optimizer } from './optimizer.js';
import { decodePointId } from './point-id.js';
import { type QueryInput, queryCollection } from './query.js';
import { chunk, type SearchOutcome, searchCollection } from './search.js';
import { Segment } from './segment.js';
import { decodeIds, decodePayloads, decodeVectors, SEGMENT_FILES, SegmentFormatError } from './segment-format.js';
import { collectionDir, readSegment, removeDir, removeOrphans, segmentDir, segmentsDir } from './segment-store.js';
import type { CollectionConfig, CreateCollectionInput, PayloadFieldSchema, SearchInput } from './types.js';
import { RETRY_AFTER_SECONDS, WriteGate } from './write-gate.js';

export const COLLECTION_NAME_RE = /^[A-Za-z0-9_-]{1,128}$/;
/** Qdrant's default quantile for scalar quantization. */
const DEFAULT_QUANTILE = 0.99;
/** Rows a query must scan exactly before its segments are split across workers. */
const PARALLEL_SCAN_ROWS = 20_000;
/** Points read per catalog page during recovery; the event loop runs between pages. */
const RECOVERY_PAGE = 2000;
/** How long a shutdown waits for the optimizer's job in progress before cancelling it (under the 10 s limit). */
const OPTIMIZER_SHUTDOWN_GRACE_MS = 2000;

export interface DatabaseOptions {
  readonly dataDir: string;
  readonly pool?: SearchPoolOptions;
  /** Client writes that may be queued across all collections before new ones get 503 (default 256). */
  readonly writeQueueSize?: number;
  /** Called with progress during recovery (for the log). */
  readonly onRecovered?: (collection: string, points: number, ms: number) => void;
  /** Operator-facing events from background work (sealing, recovery). */
  readonly log?: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;
}

/**
 * The database: the catalog, the collections in memory and the worker pool they search with. `open` returns
 * at once; `recover()` reloads every collection from the catalog and must finish before requests are served.
 */
export class Database {
  readonly dataDir: string;
  readonly catalog: Catalog;
  readonly pool: SearchPool;
  readonly optimizer: Optimizer;
  /** The bound on queued client writes (STRATA_ERR_WRITE_OVERLOADED past it). */
  readonly writeGate: WriteGate;
  private readonly collections = new Map<string, Collection>();
  private readonly options: DatabaseOptions;
  ready = false;
  /** How many segment searches took each plan branch since start (telemetry; tests assert on it). */
  readonly planCounts: Record<PlanBranch, number> = {
    plain: 0,
    plain_filtered: 0,
    graph: 0,
    filtered_graph: 0,
    graph_fallback: 0,
  };

  constructor(options: DatabaseOptions) {
    this.options = options;
    this.dataDir = path.resolve(options.dataDir);
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.catalog = new Catalog(this.dataDir);
    this.pool = new SearchPool(options.pool);
    this.writeGate = new WriteGate(options.writeQueueSize);
    this.optimizer = new Optimizer({
      catalog: this.catalog,
      dataDir: this.dataDir,
      buildIndex: (segment, collection, signal) => this.buildIndex(segment, collection, signal),
      log: (level, fields, message) => this.options.log?.(level, fields, message),
    });
  }

  /**
   * Builds a segment's index on the pool, over its shared memory: the HNSW graph, plus int8 codes when the
   * collection asks for scalar quantization.
   */
  private async buildIndex(segment: Segment, collection: Collection, signal: AbortSignal): Promise<BuiltIndex> {
    const { m, ef_construct } = collection.config.hnsw_config;
    const scalar = (collection.config.quantization_config as { scalar?: { quantile?: number } } | null)?.scalar;
    const result = await this.runTask(
      {
        kind: 'build_graph',
        distance: collection.distance,
        segment: segment.handle(),
        m,
        efConstruct: ef_construct,
        seed: segment.uid,
        quantization: scalar ? { quantile: scalar.quantile ?? DEFAULT_QUANTILE } : null,
      },
      signal,
    );
    return { graph: result.graph, sq8: result.sq8 };
  }

  /**
   * Rebuilds every collection: sealed segments load from their verified files (no rebuild), then the growing
   * segments are replayed from the catalog, in pages, yielding to the event loop between them. A collection
   * whose files are damaged stays registered but unavailable (503 naming the file) instead of answering wrongly.
   */
  async recover(): Promise<void> {
    const abandoned = this.catalog.abandonBuildingSegments();
    if (abandoned.length > 0)
      this.options.log?.('warn', { segments: abandoned }, 'discarded unfinished segment builds');
    for (const row of this.catalog.listCollections()) {
      const started = Date.now();
      const collection = this.makeCollection(row.id, row.name, JSON.parse(row.config) as CollectionConfig);
      for (const index of this.catalog.listPayloadIndexes(row.id)) {
        collection.payloadIndexes.set(index.field, index.field_schema as PayloadFieldSchema);
      }
      this.collections.set(row.name, collection);
      try {
        await this.loadSealed(collection);
      } catch (e) {
        if (!(e instanceof SegmentFormatError)) throw e;
        collection.unavailable = new StrataError('STRATA_ERR_SEGMENT_CORRUPT', [row.name, e.message]);
        this.options.log?.(
          'error',
          { collection: row.name, file: e.file, reason: e.message },
          'collection unavailable: damaged segment',
        );
        continue;
      }
      let after: Buffer | null = null;
      for (;;) {
        const page = this.catalog.pointsPage(row.id, after, RECOVERY_PAGE);
        for (const point of page) {
          const bytes = point.vector;
          const vector = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
          collection.applyUpsert(decodePointId(point.pid), vector, point.payload);
        }
        if (page.length < RECOVERY_PAGE) break;
        after = page.at(-1)!.pid;
        // let health probes and 503s for other requests through between pages
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.options.onRecovered?.(row.name, collection.pointsCount, Date.now() - started);
      this.optimizer.schedule(collection);
    }
    this.ready = true;
  }

  private async loadSealed(collection: Collection): Promise<void> {
    const live = this.catalog.liveSegments(collection.id);
    await removeOrphans(segmentsDir(this.dataDir, collection.name), new Set(live.map((s) => s.id)));
    for (const { id } of live) {
      const { manifest, files } = await readSegment(segmentDir(this.dataDir, collection.name, id));
      const vectorsFile = files[SEGMENT_FILES.vectors];
      const idsFile = files[SEGMENT_FILES.ids];
      const payloadsFile = files[SEGMENT_FILES.payloads];
      if (!vectorsFile || !idsFile || !payloadsFile)
        throw new SegmentFormatError(`segment ${id}`, 'a data file is not listed in its manifest');
      const { vectors, dim, count } = decodeVectors(vectorsFile);
      const ids = decodeIds(idsFile);
      const payloads = decodePayloads(payloadsFile);
      if (dim !== collection.dim || count !== ids.length || count !== payloads.count || count !== manifest.count) {
        throw new SegmentFormatError(
          `segment ${id}`,
          `inconsistent sizes (dim ${dim}, rows ${count}/${ids.length}/${payloads.count})`,
        );
      }
      const graph = files[SEGMENT_FILES.graph] ?? null;
      const sq8 = files[SEGMENT_FILES.quantized] ?? null;
      const segment = Segment.fromSealed(
        id,
        dim,
        { vectors, ids, payloadOffsets: payloads.offsets, payloadBytes: payloads.bytes },
        { graph, sq8 },
      );
      segment.verifyGraph(`${segmentDir(this.dataDir, collection.name, id)}/${SEGMENT_FILES.graph}`);
      for (const row of this.catalog.tombstonesOf(id)) segment.tombstone(row);
      collection.attachSealed(segment);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private makeCollection(id: number, name: string, config: CollectionConfig): Collection {
    const collection = new Collection(
      id,
      name,
      config,
      this.catalog,
      (segments, filter, countOnly) => this.runScan(segments, filter, countOnly),
      this.writeGate,
    );
    collection.onNeedsOptimization = () => this.optimizer.schedule(collection);
    return collection;
  }

  static checkName(name: string): void {
    if (!COLLECTION_NAME_RE.test(name))
      throw new StrataError('STRATA_ERR_COLLECTION_NAME', [JSON.stringify(name.slice(0, 140))]);
  }

  list(): Collection[] {
    return [...this.collections.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  exists(name: string): boolean {
    return this.collections.has(name);
  }

  get(name: string): Collection {
    Database.checkName(name);
    const collection = this.collections.get(name);
    if (collection === undefined) throw new StrataError('STRATA_ERR_COLLECTION_NOT_FOUND', [name]);
    if (collection.unavailable) throw collection.unavailable;
    return collection;
  }

  create(name: string, input: CreateCollectionInput): Collection {
    Database.checkName(name);
    if (this.collections.has(name)) throw new StrataError('STRATA_ERR_COLLECTION_EXISTS', [name]);
    const config = buildCollectionConfig(input);
    const id = this.catalog.createCollection(name, JSON.stringify(config));
    const collection = this.makeCollection(id, name, config);
    this.collections.set(name, collection);
    return collection;
  }

  /** Returns false when there was no such collection (Qdrant answers `result: false`). */
  drop(name: string): boolean {
    Database.checkName(name);
    const collection = this.collections.get(name);
    if (collection === undefined) return false;
    this.catalog.deleteCollection(collection.id);
    collection.dropped = true;
    this.collections.delete(name);
    // the catalog no longer knows the files; a crash before this finishes leaves orphans removed at start
    void removeDir(collectionDir(this.dataDir, name)).catch(() => undefined);
    return true;
  }

  /**
   * Filtered k-NN for a batch of searches on one collection; plan branches are counted in `planCounts`. When
   * `signal` aborts, the pool tasks are cancelled and the search rejects with the signal's reason.
   */
  async search(collection: Collection, inputs: readonly SearchInput[], signal?: AbortSignal): Promise<SearchOutcome[]> {
    const outcomes = await searchCollection(collection, inputs, (segments, queries) =>
      this.runSearch(segments, queries, collection, signal),
    );
    for (const outcome of outcomes) for (const plan of outcome.plans) this.planCounts[plan.branch]++;
    return outcomes;
  }

  /** Qdrant's status: yellow while the optimizer has work on the collection (searches stay correct meanwhile). */
  status(collection: Collection): 'green' | 'yellow' {
    return this.optimizer.busyWith(collection) ? 'yellow' : 'green';
  }

  optimizerStatus(collection: Collection): 'ok' | { error: string } {
    return this.optimizer.statusOf(collection);
  }

  /** Qdrant's universal query form (vector, point id or none) for a batch on one collection. */
  query(collection: Collection, inputs: readonly QueryInput[], signal?: AbortSignal): Promise<SearchOutcome[]> {
    return queryCollection(collection, inputs, (searches) => this.search(collection, searches, signal));
  }

  /** The worker pool's threads, busy workers, queue and finished tasks (metrics). */
  poolStats(): PoolStats {
    return this.pool.stats();
  }

  /** Runs searches on the pool: queries split across workers, segments split when queries are few. */
  async runSearch(
    segments: readonly Segment[],
    queries: readonly SearchQuery[],
    collection: Collection,
    signal?: AbortSignal,
  ): Promise<QueryHits[][]> {
    const indices = queries.map((_, i) => i);
    const queryChunks = chunk(indices, this.pool.threads);
    // Splitting one query's segments across workers pays only for long scans: graph searches are short, and
    // every extra task adds a worker wake-up to the query's latency.
    const exact = queries.some((q) => q.exact);
    const scanRows = segments.reduce((n, s) => n + (s.hasGraph && !exact ? 0 : s.count), 0);
    const spread = scanRows >= PARALLEL_SCAN_ROWS ? Math.floor(this.pool.threads / queryChunks.length) : 1;
    const segmentGroups = chunk(segments, Math.max(1, spread));
    const out: QueryHits[][] = queries.map(() => []);
    const tasks: Promise<void>[] = [];
    for (const qc of queryChunks) {
      for (const group of segmentGroups) {
        const task = {
          kind: 'search' as const,
          distance: collection.distance,
          segments: group.map((s) => s.handle()),
          queries: qc.map((i) => queries[i]!),
        };
        tasks.push(
          this.runTask(task, signal).then((hits) => {
            hits.forEach((h, j) => {
              out[qc[j]!]!.push(h);
            });
          }),
        );
      }
    }
    await Promise.all(tasks);
    return out;
  }

  async runScan(segments: readonly Segment[], filter: Condition, countOnly: boolean): Promise<ScanHits> {
    const groups = chunk(segments, this.pool.threads);
    const parts = await Promise.all(
      groups.map((group) => this.runTask({ kind: 'scan', segments: group.map((s) => s.handle()), filter, countOnly })),
    );
    const uids = parts.flatMap((p) => Array.from(p.uids));
    const offsets = parts.flatMap((p) => Array.from(p.offsets));
    return {
      uids: Uint32Array.from(uids),
      offsets: Uint32Array.from(offsets),
      count: parts.reduce((s, p) => s + p.count, 0),
    };
  }

  /** Runs a task on the pool and turns pool failures into StrataErrors (a cancelled task: the signal's reason). */
  private async runTask<T extends Task>(task: T, signal?: AbortSignal): Promise<TaskResult<T>> {
    if (signal?.aborted) throw cancellation(signal);
    try {
      return await this.pool.run(task, signal);
    } catch (e) {
      if (signal?.aborted) throw cancellation(signal);
      if (!(e instanceof PoolTaskError)) throw e;
      const code = (e.code in ERRORS ? e.code : 'STRATA_ERR_WORKER_FAILED') as ErrorCode;
      const args = code === 'STRATA_ERR_WORKER_FAILED' ? [e.message] : [];
      throw new StrataError(code, args, code === 'STRATA_ERR_OVERLOADED' ? { retryAfter: RETRY_AFTER_SECONDS } : {});
    }
  }

  /**
   * Closes cleanly: the optimizer's job in progress gets `optimizerGraceMs` to finish, then is cancelled and
   * rolled back; then the worker pool stops and SQLite closes (checkpointing its WAL).
   */
  async close(optimizerGraceMs = OPTIMIZER_SHUTDOWN_GRACE_MS): Promise<void> {
    await this.optimizer.stop(optimizerGraceMs);
    await this.pool.close();
    this.catalog.close();
  }
}

/** The error a cancelled search rejects with: the signal's reason when it is a StrataError (the server's 408). */
function cancellation(signal: AbortSignal): StrataError {
  return signal.reason instanceof StrataError
    ? signal.reason
    : new StrataError('STRATA_ERR_TIMEOUT', ['its time limit']);
}
