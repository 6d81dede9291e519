import fs from 'node:fs';
import path from 'node:path';
import type { Condition } from '../index-engine/index.js';
import type { PlanBranch } from '../index-engine/segment-search.js';
import { matchBoundOf } from '../workers/graph-cache.js';
import { type PoolStats, PoolTaskError, SearchPool, type SearchPoolOptions } from '../workers/pool.js';
import {
  type QueryHits,
  ROUTE,
  type ScanHits,
  type SearchQuery,
  type Task,
  type TaskResult,
} from '../workers/protocol.js';
import { type BacklogLimits, DEFAULT_BACKLOG_RATIO, OptimizerBacklog } from './backlog.js';
import { BatchWindow } from './batch-window.js';
import { Catalog, type CollectionRow, readSnapshotCatalog } from './catalog.js';
import { Collection } from './collection.js';
import { buildCollectionConfig, checkStoredConfig } from './collection-config.js';
import { ERRORS, type ErrorCode, StrataError } from './errors.js';
import { HubnessManager } from './hubness/manager.js';
import { type BuiltIndex, Optimizer } from './optimizer.js';
import { PartitionManager } from './partition-manager.js';
import { decodePointId } from './point-id.js';
import { type QueryInput, queryCollection } from './query.js';
import { QUERY_LOG_MAX_FILTER, QueryLog } from './query-log.js';
import { filterTemplate } from './query-template.js';
import { RecallMonitor } from './recall-monitor.js';
import { chunk, type SearchOutcome, type SegmentRoutes, searchCollection } from './search.js';
import { Segment } from './segment.js';
import { decodeIds, decodePayloads, decodeVectors, SEGMENT_FILES, SegmentFormatError } from './segment-format.js';
import {
  collectionDir,
  discardDir,
  linkFilesSync,
  readSegment,
  removeOrphanCollections,
  removeOrphans,
  segmentDir,
  segmentsDir,
} from './segment-store.js';
import {
  collectionSnapshotsDir,
  deleteSnapshot,
  listSnapshots,
  localSnapshotLocation,
  newSnapshotName,
  packSnapshot,
  removeSnapshotStaging,
  SNAPSHOT_CATALOG,
  SNAPSHOT_SEGMENTS,
  type SnapshotDescription,
  snapshotFile,
  snapshotsRoot,
  stagingPath,
  unpackSnapshot,
} from './snapshots.js';
import type {
  CollectionConfig,
  CreateCollectionInput,
  PayloadFieldSchema,
  SearchInput,
  SearchSignal,
} from './types.js';
import { RETRY_AFTER_SECONDS, WriteGate } from './write-gate.js';

export const COLLECTION_NAME_RE = /^[A-Za-z0-9_-]{1,128}$/;
/** Qdrant's default quantile for scalar quantization. */
const DEFAULT_QUANTILE = 0.99;
/**
 * A search runs on the calling thread instead of a worker only when it is short: the pool is idle, it is the
 * one search in flight, its queries are few and approximate, each unfiltered or with a filter whose listed
 * matches stay within full_scan_threshold on every indexed segment (isShort), and it scans at most this many
 * rows exactly (growing segments). Anything else, and any concurrency, goes to the pool.
 */
const INLINE_MAX_EXACT_ROWS = 2048;
const INLINE_MAX_QUERIES = 4;
/** Rows a query must scan exactly before its segments are split across workers. */
const PARALLEL_SCAN_ROWS = 20_000;
/** Points read per catalog page during recovery; the event loop runs between pages. */
const RECOVERY_PAGE = 2000;
/** ALGORITHMS.md §6: re-run 0.5 % of searches exactly to measure recall. */
export const DEFAULT_RECALL_SAMPLE_RATE = 0.005;
/** How long a shutdown waits for the optimizer's job in progress before cancelling it (under the 10 s limit). */
const OPTIMIZER_SHUTDOWN_GRACE_MS = 2000;

export interface DatabaseOptions {
  readonly dataDir: string;
  readonly pool?: SearchPoolOptions;
  /** Client writes that may be queued across all collections before new ones get 503 (default 256). */
  readonly writeQueueSize?: number;
  /**
   * Replaced or deleted rows a collection may hold in memory before upserts get 503 STRATA_ERR_OPTIMIZER_BACKLOG
   * (storage/backlog.ts); default ratio 1, no absolute bound.
   */
  readonly optimizerBacklog?: Partial<BacklogLimits>;
  /** Called with progress during recovery (for the log). */
  readonly onRecovered?: (collection: string, points: number, ms: number) => void;
  /** Share of searches re-run exactly in the background to measure recall (default 0.005; 0 = off). */
  readonly recallSampleRate?: number;
  /** Operator-facing events from background work (sealing, recovery). */
  readonly log?: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;
  /** Share of searches whose vector is kept in the query log (DBNorm `from_log` banks), 0–1; default 0.05. */
  readonly queryLogSample?: number;
  /** Micro-batching: single searches arriving within this many ms run as one batch (0 = off, the default). */
  readonly batchWindowMs?: number;
}

export const DEFAULT_QUERY_LOG_SAMPLE = 0.05;

/**
 * The database: the catalog, the collections in memory and the worker pool they search with. `open` returns
 * at once; `recover()` reloads every collection from the catalog and must finish before requests are served.
 */
export class Database {
  readonly dataDir: string;
  readonly catalog: Catalog;
  readonly pool: SearchPool;
  readonly optimizer: Optimizer;
  readonly recall: RecallMonitor;
  /** DBNorm banks, normalizers and rescoring settings (storage/hubness/). */
  readonly hubness: HubnessManager;
  /** Every search's filter and limit, and a sample of query vectors (HQI's workload, DBNorm's query banks). */
  readonly queryLog: QueryLog;
  /** The bound on queued client writes (STRATA_ERR_WRITE_OVERLOADED past it). */
  readonly writeGate: WriteGate;
  /** The bound on the optimizer's backlog (STRATA_ERR_OPTIMIZER_BACKLOG past it). */
  readonly backlog: OptimizerBacklog;
  /** HQI partition trees and re-partitioning jobs. */
  readonly partitions: PartitionManager;
  /** Coalesces concurrent single searches (STRATA_BATCH_WINDOW_MS), or null. */
  private readonly batchWindow: BatchWindow | null;
  private readonly collections = new Map<string, Collection>();
  private readonly options: DatabaseOptions;
  /** Collections a snapshot restore is writing: creating or restoring them again meanwhile is a conflict. */
  private readonly restoring = new Set<string>();
  ready = false;
  /** User searches running now (the inline path is taken only when this one is alone). */
  private searchesInFlight = 0;
  /** Searches that ran on the main thread (telemetry; tests assert on it). */
  inlineSearches = 0;
  /** Pool tasks of background searches (recall re-runs) in flight: they do not keep searches off the inline path. */
  private backgroundTasks = 0;
  /** How many segment searches took each plan branch since start (telemetry; tests assert on it). */
  readonly planCounts: Record<PlanBranch | 'pruned', number> = {
    pruned: 0,
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
      threads: this.pool.threads,
      behind: (collection) => collection.deadRows > this.backlog.limitOf(collection),
      partitionRows: (segments, build, tree, signal) =>
        this.runTask({ kind: 'partition', segments: segments.map((s) => s.handle()), build, tree }, signal),
      partitionStatus: (collection) => this.partitions.statusOf(collection),
    });
    this.queryLog = new QueryLog(this.catalog, options.queryLogSample ?? DEFAULT_QUERY_LOG_SAMPLE);
    this.batchWindow =
      (options.batchWindowMs ?? 0) > 0
        ? new BatchWindow(options.batchWindowMs!, (collection, inputs) => this.searchNow(collection, inputs))
        : null;
    this.partitions = new PartitionManager(
      this.catalog,
      this.queryLog,
      (c) => this.optimizer.schedule(c),
      (fields, message) => this.options.log?.('info', fields, message),
    );
    this.backlog = new OptimizerBacklog(
      { ratio: DEFAULT_BACKLOG_RATIO, maxRows: 0, ...options.optimizerBacklog },
      (collection) => this.optimizer.pending(collection),
    );
    this.hubness = new HubnessManager(this.catalog, {
      normalizers: (task) => this.runTask(task),
      stats: (task) => this.runTask(task),
      search: (collection, inputs) => this.searchOnly(collection, inputs),
      parallel: this.pool.threads,
      queryLog: this.queryLog,
      log: (fields, message) => this.options.log?.('info', fields, message),
    });
    this.recall = new RecallMonitor({
      rate: options.recallSampleRate ?? DEFAULT_RECALL_SAMPLE_RATE,
      exact: (collection, inputs) =>
        searchCollection(
          collection,
          inputs,
          (segments, queries) => this.runSearch(segments, queries, collection, undefined, true),
          this.hubness.of(collection),
        ),
      poolBusy: () => this.pool.stats().queued > 0,
      log: (fields, message) => this.options.log?.('warn', fields, message),
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
    const restores = this.catalog.discardUnfinishedRestores();
    if (restores.length > 0) this.options.log?.('warn', { restores }, 'discarded unfinished snapshot restores');
    const rows = this.catalog.listCollections();
    await removeOrphanCollections(this.dataDir, new Set(rows.map((r) => r.name)));
    await removeSnapshotStaging(this.dataDir);
    for (const row of rows) {
      const collection = await this.load(row);
      this.collections.set(row.name, collection);
    }
    this.ready = true;
  }

  /**
   * Loads one collection from the catalog: sealed segments from their verified files, then the growing rows
   * in pages. A collection with damaged files comes back unavailable (503 naming the file).
   */
  private async load(row: CollectionRow): Promise<Collection> {
    const started = Date.now();
    const collection = this.makeCollection(row.id, row.name, JSON.parse(row.config) as CollectionConfig);
    for (const index of this.catalog.listPayloadIndexes(row.id)) {
      collection.payloadIndexes.set(index.field, index.field_schema as PayloadFieldSchema);
    }
    try {
      await this.loadSealed(collection);
      this.partitions.load(collection);
    } catch (e) {
      if (!(e instanceof SegmentFormatError)) throw e;
      collection.unavailable = new StrataError('STRATA_ERR_SEGMENT_CORRUPT', [row.name, e.message]);
      this.options.log?.(
        'error',
        { collection: row.name, file: e.file, reason: e.message },
        'collection unavailable: damaged segment',
      );
      return collection;
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
    await this.hubness.load(collection);
    this.options.onRecovered?.(row.name, collection.pointsCount, Date.now() - started);
    this.optimizer.schedule(collection);
    return collection;
  }

  private async loadSealed(collection: Collection): Promise<void> {
    const live = this.catalog.liveSegments(collection.id);
    await removeOrphans(segmentsDir(this.dataDir, collection.name), new Set(live.map((s) => s.id)));
    for (const { id, tree_version, leaf } of live) {
      const segment = await readSealedSegment(segmentDir(this.dataDir, collection.name, id), id, collection.dim);
      segment.treeVersion = tree_version ?? null;
      segment.leaf = leaf ?? null;
      for (const row of this.catalog.tombstonesOf(id)) segment.tombstone(row);
      collection.attachSealed(segment);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  // ---- snapshots ------------------------------------------------------------------------------------------

  /**
   * Makes a consistent snapshot while writes continue: the collection's catalog rows are copied and its live
   * segments' files hard-linked in one synchronous step (no write or optimizer commit can land in between),
   * then the archive is packed and checksummed in the background of the event loop.
   */
  async createSnapshot(name: string): Promise<SnapshotDescription> {
    const collection = this.get(name);
    const staging = stagingPath(this.dataDir, 'snapshot');
    await fs.promises.mkdir(staging, { recursive: true });
    try {
      const createdAt = new Date();
      const segments = this.catalog.exportCollection(collection.id, path.join(staging, SNAPSHOT_CATALOG));
      for (const { id } of segments) {
        linkFilesSync(segmentDir(this.dataDir, name, id), path.join(staging, SNAPSHOT_SEGMENTS, String(id)));
      }
      const pointsCount = collection.pointsCount;
      const dir = collectionSnapshotsDir(this.dataDir, name);
      const description = await packSnapshot(staging, dir, newSnapshotName(name, createdAt), {
        collection: name,
        createdAt,
        pointsCount,
      });
      this.options.log?.(
        'info',
        { collection: name, snapshot: description.name, bytes: description.size },
        'snapshot created',
      );
      return description;
    } finally {
      await fs.promises.rm(staging, { recursive: true, force: true });
    }
  }

  /** Snapshots of a collection; they outlive it, so a dropped collection can be restored. */
  async listSnapshots(name: string): Promise<SnapshotDescription[]> {
    Database.checkName(name);
    const list = await listSnapshots(collectionSnapshotsDir(this.dataDir, name));
    if (list.length === 0 && !this.collections.has(name))
      throw new StrataError('STRATA_ERR_COLLECTION_NOT_FOUND', [name]);
    return list;
  }

  snapshotFile(name: string, snapshot: string): Promise<string> {
    Database.checkName(name);
    return snapshotFile(this.dataDir, name, snapshot);
  }

  deleteSnapshot(name: string, snapshot: string): Promise<void> {
    Database.checkName(name);
    return deleteSnapshot(this.dataDir, name, snapshot);
  }

  /** A local archive named by a recover `location` (a snapshot of `name`, or a path under the snapshots dir). */
  snapshotLocation(name: string, location: string): Promise<string> {
    Database.checkName(name);
    return localSnapshotLocation(this.dataDir, name, location);
  }

  /** Where an uploaded or downloaded archive is put before it is restored (the caller removes it). */
  async snapshotUploadFile(): Promise<string> {
    await fs.promises.mkdir(snapshotsRoot(this.dataDir), { recursive: true });
    return `${stagingPath(this.dataDir, 'upload')}.snapshot`;
  }

  /**
   * Restores an archive into collection `name`, replacing it if it exists. The archive is unpacked and fully
   * verified first (checksums, catalog, every segment decodes with the config's dimension); then ids are
   * reserved, segment directories moved into place, and one catalog transaction switches from the old
   * collection to the restored one, so a crash leaves either. Writes to the old collection still queued get
   * 404; requests during the final load get 503.
   */
  async restoreSnapshot(name: string, archive: string, expectedChecksum: string | null = null): Promise<void> {
    Database.checkName(name);
    if (this.restoring.has(name)) throw new StrataError('STRATA_ERR_COLLECTION_BUSY', [name]);
    this.restoring.add(name);
    const staging = stagingPath(this.dataDir, 'restore');
    let reserved: { collectionId: number; segmentIds: number[] } | null = null;
    const moved: string[] = [];
    try {
      const manifest = await unpackSnapshot(archive, staging, expectedChecksum);
      const catalogFile = path.join(staging, SNAPSHOT_CATALOG);
      const snap = readSnapshotCatalogChecked(catalogFile);
      for (const { id, row_count } of snap.segments) {
        const segment = await readSealedSegment(path.join(staging, SNAPSHOT_SEGMENTS, String(id)), id, snap.dim).catch(
          (e: unknown) => {
            throw new StrataError('STRATA_ERR_SNAPSHOT_INVALID', [(e as Error).message]);
          },
        );
        if (segment.count !== row_count)
          throw new StrataError('STRATA_ERR_SNAPSHOT_INVALID', [
            `segment ${id} has ${segment.count} rows, catalog says ${row_count}`,
          ]);
      }
      reserved = this.catalog.reserveRestore(
        snap.configText,
        snap.segments.map((s) => s.row_count),
      );
      const ids = new Map(snap.segments.map((s, i) => [s.id, reserved!.segmentIds[i]!]));
      for (const [oldId, newId] of ids) {
        const to = segmentDir(this.dataDir, name, newId);
        await fs.promises.mkdir(path.dirname(to), { recursive: true });
        await fs.promises.rename(path.join(staging, SNAPSHOT_SEGMENTS, String(oldId)), to);
        moved.push(to);
      }
      const old = this.collections.get(name) ?? null;
      if (old !== null) {
        old.unavailable = new StrataError('STRATA_ERR_COLLECTION_RESTORING', [name], {
          retryAfter: RETRY_AFTER_SECONDS,
        });
        await old.retire();
      }
      try {
        this.catalog.commitRestore(reserved.collectionId, name, old?.id ?? null, catalogFile, ids);
      } catch (e) {
        if (old !== null) old.unretire();
        throw e;
      }
      const collectionId = reserved.collectionId;
      reserved = null;
      moved.length = 0;
      if (old !== null) {
        for (const s of old.segments) if (s.sealedId !== null) discardDir(segmentDir(this.dataDir, name, s.sealedId));
        this.pool.retire(old.segments.map((s) => s.uid));
      }
      const collection = await this.load({ id: collectionId, name, config: snap.configText });
      this.collections.set(name, collection);
      this.options.log?.(
        'info',
        {
          collection: name,
          points: collection.pointsCount,
          snapshot_points: manifest.points_count,
          replaced: old !== null,
        },
        'snapshot restored',
      );
    } finally {
      if (reserved !== null) this.catalog.abandonRestore(reserved.collectionId);
      for (const dir of moved) discardDir(dir);
      await fs.promises.rm(staging, { recursive: true, force: true });
      this.restoring.delete(name);
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
    collection.onSegmentsRetired = (uids) => this.pool.retire(uids);
    collection.admitRows = () => this.backlog.admit(collection);
    this.hubness.attach(collection);
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
    if (this.restoring.has(name)) throw new StrataError('STRATA_ERR_COLLECTION_BUSY', [name]);
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
    this.hubness.detach(collection);
    this.pool.retire(collection.segments.map((s) => s.uid));
    // the catalog no longer knows the files; a crash before this finishes leaves orphans removed at start
    discardDir(collectionDir(this.dataDir, name));
    return true;
  }

  /**
   * Filtered k-NN for a batch of searches on one collection; plan branches are counted in `planCounts`. When
   * `signal` aborts, the pool tasks are cancelled and the search rejects with the signal's reason.
   */
  async search(
    collection: Collection,
    inputs: readonly SearchInput[],
    signal?: SearchSignal,
  ): Promise<SearchOutcome[]> {
    if (this.batchWindow !== null && inputs.length === 1) {
      return [await this.batchWindow.search(collection, inputs[0]!, typeof signal === 'function' ? signal() : signal)];
    }
    return this.searchNow(collection, inputs, signal);
  }

  private async searchNow(
    collection: Collection,
    inputs: readonly SearchInput[],
    signal?: SearchSignal,
  ): Promise<SearchOutcome[]> {
    const outcomes = await this.searchOnly(collection, inputs, signal);
    this.logSearches(collection, inputs, outcomes);
    this.recall.observe(collection, inputs, outcomes);
    return outcomes;
  }

  /** Logs each search's filter, template, limit and selectivity; its vector when sampled. */
  private logSearches(
    collection: Collection,
    inputs: readonly SearchInput[],
    outcomes: readonly SearchOutcome[],
  ): void {
    inputs.forEach((input, i) => {
      const filter = input.filter ? JSON.stringify(input.filter) : null;
      let rows = 0;
      let matches = 0;
      let known = true;
      for (const plan of outcomes[i]!.plans) {
        rows += plan.rows;
        if (plan.matches !== null) matches += plan.matches;
        else if (filter === null) matches += plan.rows;
        else known = false;
      }
      const template = filterTemplate(input.filter);
      this.partitions.observe(collection, template);
      this.queryLog.record({
        collectionId: collection.id,
        vector: this.queryLog.sampled() ? collection.prepareVector(input.vector, 'of a query') : null,
        filter: filter !== null && filter.length <= QUERY_LOG_MAX_FILTER ? filter : null,
        template,
        k: input.limit,
        selectivity: known && rows > 0 ? matches / rows : null,
      });
    });
  }

  /** A search that is not sampled into the query log or the recall monitor (hubness diagnostics). */
  private async searchOnly(
    collection: Collection,
    inputs: readonly SearchInput[],
    signal?: SearchSignal,
  ): Promise<SearchOutcome[]> {
    this.searchesInFlight++;
    let outcomes: SearchOutcome[];
    try {
      outcomes = await searchCollection(
        collection,
        inputs,
        (segments, queries, _collection, routes) =>
          this.searchesInFlight === 1 && this.isShort(segments, queries)
            ? this.runInline(segments, queries, collection, routes)
            : this.runSearch(segments, queries, collection, signal, false, routes),
        this.hubness.of(collection),
      );
    } finally {
      this.searchesInFlight--;
    }
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
  query(collection: Collection, inputs: readonly QueryInput[], signal?: SearchSignal): Promise<SearchOutcome[]> {
    return queryCollection(collection, inputs, (searches) => this.search(collection, searches, signal));
  }

  /** The worker pool's threads, busy workers, queue and finished tasks (metrics). */
  poolStats(): PoolStats {
    return this.pool.stats();
  }

  private isShort(segments: readonly Segment[], queries: readonly SearchQuery[]): boolean {
    if (queries.length > INLINE_MAX_QUERIES || queries.some((q) => q.exact)) return false;
    const exactRows = segments.reduce((n, s) => n + (s.hasGraph ? 0 : s.count), 0);
    if (exactRows > INLINE_MAX_EXACT_ROWS) return false;
    // the recall monitor's re-run (one task at most) leaves the other threads free: it does not count
    if (this.pool.tasksInFlight > this.backgroundTasks) return false;
    // A filtered search is short when every indexed segment lists at most full_scan_threshold matches (bounded by
    // the sorted columns): it scores that many rows at most, as an unfiltered one walks its beam. Posting it to a
    // worker cost more than listing and scoring at 1 % (a wake-up each way on a loaded machine).
    return queries.every(({ filter, plainThreshold }) => {
      if (filter === null) return true;
      return segments.every((s) => !s.hasGraph || matchBoundOf(s.handle(), filter) <= plainThreshold);
    });
  }

  private async runInline(
    segments: readonly Segment[],
    queries: readonly SearchQuery[],
    collection: Collection,
    routes: SegmentRoutes | null,
  ): Promise<QueryHits[][]> {
    this.inlineSearches++;
    try {
      const hits = this.pool.runHere({
        kind: 'search',
        distance: collection.distance,
        segments: segments.map((s) => s.handle()),
        queries,
        ...(routes ? { routes } : {}),
      });
      return hits.map((h) => [h]);
    } catch (e) {
      throw toStrataError(e);
    }
  }

  /**
   * Runs searches on the pool: queries split across workers, segments split when queries are few. A
   * `background` search (the recall monitor's re-runs) is one task on one worker, so a user search always has
   * the other threads.
   */
  async runSearch(
    segments: readonly Segment[],
    queries: readonly SearchQuery[],
    collection: Collection,
    cancel?: SearchSignal,
    background = false,
    routes: SegmentRoutes | null = null,
  ): Promise<QueryHits[][]> {
    const signal = typeof cancel === 'function' ? cancel() : cancel;
    const indices = queries.map((_, i) => i);
    const threads = background ? 1 : this.pool.threads;
    // HQI: a routed batch is split by leaf segments, all queries in each task, so that a worker scores each
    // segment's queries together (shared work); else (and when there are fewer segments than workers, which
    // would leave workers idle) queries are split across workers.
    const byLeaf = routes !== null && queries.length > 1 && threads > 1 && segments.length >= threads;
    const queryChunks = byLeaf ? [indices] : chunk(indices, threads);
    // Splitting one query's segments across workers pays only for long scans: graph searches are short, and
    // every extra task adds a worker wake-up to the query's latency.
    const exact = queries.some((q) => q.exact);
    const scanRows = segments.reduce((n, s) => n + (s.hasGraph && !exact ? 0 : s.count), 0);
    const spread =
      scanRows >= PARALLEL_SCAN_ROWS && !background ? Math.floor(this.pool.threads / queryChunks.length) : 1;
    const segmentGroups = byLeaf
      ? balancedGroups(segments, routes, threads)
      : chunk(
          segments.map((_, i) => i),
          Math.max(1, spread),
        );
    const out: QueryHits[][] = queries.map(() => []);
    const tasks: Promise<void>[] = [];
    for (const qc of queryChunks) {
      for (const group of segmentGroups) {
        const groupRoutes = routes === null ? null : group.map((si) => sliceRoute(routes[si]!, qc));
        // no query of this chunk visits these segments
        if (groupRoutes?.every((r) => r?.every((v) => v === ROUTE.skip))) continue;
        const task = {
          kind: 'search' as const,
          distance: collection.distance,
          segments: group.map((si) => segments[si]!.handle()),
          queries: qc.map((i) => queries[i]!),
          ...(groupRoutes ? { routes: groupRoutes } : {}),
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
    if (background) this.backgroundTasks += tasks.length;
    try {
      await Promise.all(tasks);
    } finally {
      if (background) this.backgroundTasks -= tasks.length;
    }
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
      throw toStrataError(e);
    }
  }

  /**
   * Closes cleanly: the optimizer's job in progress gets `optimizerGraceMs` to finish, then is cancelled and
   * rolled back; then the worker pool stops and SQLite closes (checkpointing its WAL).
   */
  async close(optimizerGraceMs = OPTIMIZER_SHUTDOWN_GRACE_MS): Promise<void> {
    await this.optimizer.stop(optimizerGraceMs);
    this.queryLog.flush();
    await this.pool.close();
    this.catalog.close();
  }
}

/** A segment's routes for a chunk of the queries (null stays null: every query, filter applied). */
function sliceRoute(route: Uint8Array | null, queries: readonly number[]): Uint8Array | null {
  if (route === null) return null;
  if (queries.length === route.length) return route;
  return Uint8Array.from(queries, (q) => route[q]!);
}

/**
 * Segment indices in `parts` groups of about equal work (rows × visiting queries), largest first into the
 * lightest group, each group in segment order (merging breaks ties by that order).
 */
function balancedGroups(segments: readonly Segment[], routes: SegmentRoutes, parts: number): number[][] {
  const cost = segments.map((s, i) => {
    const r = routes[i];
    const visits = r === null || r === undefined ? 1 : r.reduce((n, v) => n + (v === ROUTE.skip ? 0 : 1), 0);
    return s.count * Math.max(1, visits);
  });
  const groups: { load: number; members: number[] }[] = Array.from({ length: Math.max(1, parts) }, () => ({
    load: 0,
    members: [],
  }));
  for (const i of segments.map((_, i) => i).sort((a, b) => cost[b]! - cost[a]!)) {
    const lightest = groups.reduce((a, b) => (b.load < a.load ? b : a));
    lightest.members.push(i);
    lightest.load += cost[i]!;
  }
  return groups.filter((g) => g.members.length > 0).map((g) => g.members.sort((a, b) => a - b));
}

/** Pool failures as StrataErrors (the pool's codes are Strata's; anything else is a worker failure). */
function toStrataError(e: unknown): unknown {
  if (!(e instanceof PoolTaskError)) return e;
  const code = (e.code in ERRORS ? e.code : 'STRATA_ERR_WORKER_FAILED') as ErrorCode;
  const args = code === 'STRATA_ERR_WORKER_FAILED' ? [e.message] : [];
  return new StrataError(code, args, code === 'STRATA_ERR_OVERLOADED' ? { retryAfter: RETRY_AFTER_SECONDS } : {});
}

/** The error a cancelled search rejects with: the signal's reason when it is a StrataError (the server's 408). */
function cancellation(signal: AbortSignal): StrataError {
  return signal.reason instanceof StrataError
    ? signal.reason
    : new StrataError('STRATA_ERR_TIMEOUT', ['its time limit']);
}

/** Reads a sealed segment's verified files into memory; SegmentFormatError names what is wrong. */
async function readSealedSegment(dir: string, id: number, expectedDim: number): Promise<Segment> {
  const { manifest, files } = await readSegment(dir);
  const vectorsFile = files[SEGMENT_FILES.vectors];
  const idsFile = files[SEGMENT_FILES.ids];
  const payloadsFile = files[SEGMENT_FILES.payloads];
  if (!vectorsFile || !idsFile || !payloadsFile)
    throw new SegmentFormatError(`segment ${id}`, 'a data file is not listed in its manifest');
  const { vectors, dim, count } = decodeVectors(vectorsFile);
  const ids = decodeIds(idsFile);
  const payloads = decodePayloads(payloadsFile);
  if (dim !== expectedDim || count !== ids.length || count !== payloads.count || count !== manifest.count) {
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
  segment.verifyGraph(`${dir}/${SEGMENT_FILES.graph}`);
  return segment;
}

/** A snapshot's catalog file, with its collection config checked well enough to load it safely. */
function readSnapshotCatalogChecked(file: string) {
  let snap: ReturnType<typeof readSnapshotCatalog>;
  let config: CollectionConfig;
  try {
    snap = readSnapshotCatalog(file);
    config = JSON.parse(snap.config) as CollectionConfig;
  } catch (e) {
    throw new StrataError('STRATA_ERR_SNAPSHOT_INVALID', [`${SNAPSHOT_CATALOG}: ${(e as Error).message}`]);
  }
  const problem = checkStoredConfig(config);
  if (problem !== null) throw new StrataError('STRATA_ERR_SNAPSHOT_INVALID', [`collection config: ${problem}`]);
  return { configText: snap.config, config, dim: config.params.vectors.size, segments: snap.segments };
}
