import type { TreeRequest } from '../index-engine/hqi/assign.js';
import type { TreeJson } from '../index-engine/hqi/tree-codec.js';
import type { PartitionResult } from '../workers/protocol.js';
import type { Catalog } from './catalog.js';
import type { Collection, SegmentIndex } from './collection.js';
import { type PartitionStatus, rewriteByLeaf, treeRequest } from './partitioning.js';
import { encodePointId } from './point-id.js';
import type { Segment } from './segment.js';
import { encodeIds, encodePayloads, encodeVectors, SEGMENT_FILES, SEGMENT_FORMAT_VERSION } from './segment-format.js';
import { removeDir, segmentDir, writeSegment } from './segment-store.js';

export interface OptimizerDeps {
  readonly catalog: Catalog;
  readonly dataDir: string;
  /** Builds the segment's index on the worker pool; returns its encoded structures. Aborting cancels the build. */
  readonly buildIndex: (segment: Segment, collection: Collection, signal: AbortSignal) => Promise<BuiltIndex>;
  readonly log: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;
  /** Worker threads: while a collection is `behind`, up to half this many jobs run at once. */
  readonly threads?: number;
  /** Whether the collection is over its backlog limit (its upserts are being refused). */
  readonly behind?: (collection: Collection) => boolean;
  /** HQI: builds a tree and assigns rows (`build`), or assigns rows to `tree`, on the pool. */
  readonly partitionRows?: (
    segments: readonly Segment[],
    build: TreeRequest | null,
    tree: TreeJson | null,
    signal: AbortSignal,
  ) => Promise<PartitionResult>;
  /** HQI: the collection's partition job state (a re-partitioning waits in its `request`). */
  readonly partitionStatus?: (collection: Collection) => PartitionStatus;
}

/** A segment's encoded index: the HNSW graph, and the SQ8 bundle when the collection quantizes. */
export type BuiltIndex = SegmentIndex;

/**
 * One unit of background work on a collection. A `merge` copies its sources' live rows into a new segment:
 * reason `vacuum` rewrites one sealed segment without its deleted rows, `seal` seals a frozen growing segment
 * that has many replaced rows the same way (cheaper than indexing them and vacuuming after), `merge` joins small
 * sealed segments.
 */
type Job =
  | { readonly kind: 'seal'; readonly segment: Segment }
  | { readonly kind: 'merge'; readonly sources: readonly Segment[]; readonly reason: 'merge' | 'vacuum' | 'seal' }
  /**
   * HQI: `repartition` builds a new tree and rewrites every sealed and frozen segment by leaf; `place` rewrites
   * segments not placed under the live tree (a frozen growing segment, or one sealed under an older tree).
   */
  | { readonly kind: 'partition'; readonly sources: readonly Segment[]; readonly reason: 'repartition' | 'place' };

/**
 * The background optimizer, never blocking reads or writes:
 * - seal: a frozen growing segment gets its graph and its files (its rows then leave the growing log);
 * - merge: small sealed segments are rewritten as one, up to `max_segment_size` points;
 * - vacuum: a sealed segment whose deleted share passes `deleted_threshold` is rewritten without them.
 * Every job builds in a worker, writes its files into a temporary directory (fsync, rename), then commits in
 * one catalog transaction ordered with the collection's writes. A crash before the commit leaves the old
 * layout (recovery discards the unfinished build); after it, the new one.
 *
 * One job runs at a time, leaving the other workers to searches, except while a collection is behind (over its
 * backlog limit, storage/backlog.ts: its upserts are being refused): then jobs on different segments run on up
 * to half the workers until it has caught up. Collections take turns, one job each.
 */
export class Optimizer {
  private readonly deps: OptimizerDeps;
  /** Collections that may have work, in turn order. */
  private readonly queue = new Set<Collection>();
  /** Jobs running per collection. */
  private readonly active = new Map<Collection, number>();
  private readonly jobs = new Set<Promise<void>>();
  private stopped = false;
  /** Aborted when a stop's grace period runs out: the build in progress is cancelled on the pool. */
  private readonly abort = new AbortController();
  /** The last failure per collection, cleared by the next success (Qdrant's optimizer_status error). */
  private readonly failures = new WeakMap<Collection, string>();
  /** Jobs finished since start, by kind (telemetry and tests). */
  readonly finished = { seal: 0, merge: 0, vacuum: 0, repartition: 0, place: 0, failed: 0 };

  constructor(deps: OptimizerDeps) {
    this.deps = deps;
  }

  /** Looks for work on the collection soon. */
  schedule(collection: Collection): void {
    if (this.stopped) return;
    this.queue.add(collection);
    this.pump();
  }

  /** Resolves when no work is left. */
  async idle(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs]);
  }

  /** Whether the optimizer is working on the collection or will look at it (false after a failed job). */
  pending(collection: Collection): boolean {
    return this.queue.has(collection) || this.active.has(collection);
  }

  /**
   * Jobs that may run at once: one, or half the workers while some collection is behind. Never more: a graph
   * build holds its worker for seconds, and with every worker building, searches stalled completely (measured
   * with the soak benchmark on 2 workers).
   */
  private get maxJobs(): number {
    const most = Math.floor((this.deps.threads ?? 1) / 2);
    const behind = this.deps.behind;
    if (most <= 1 || behind === undefined) return 1;
    for (const c of this.queue) if (behind(c)) return most;
    for (const c of this.active.keys()) if (behind(c)) return most;
    return 1;
  }

  private pump(): void {
    while (!this.stopped && this.jobs.size < this.maxJobs) {
      const next = this.takeJob();
      if (next === null) return;
      this.start(next.collection, next.job);
    }
  }

  /** The next job, collections taking turns; a collection with nothing (more) to start leaves the queue. */
  private takeJob(): { collection: Collection; job: Job } | null {
    for (const collection of this.queue) {
      this.queue.delete(collection);
      const requested = this.deps.partitionStatus?.(collection).request ?? null;
      // a re-partitioning takes every segment: it waits until the collection's running jobs are done
      if (requested !== null && this.active.has(collection)) continue;
      const job = collection.dropped ? null : requested !== null ? repartitionJob(collection) : nextJob(collection);
      if (job !== null) {
        this.queue.add(collection); // to the back of the line
        return { collection, job };
      }
    }
    return null;
  }

  private start(collection: Collection, job: Job): void {
    this.active.set(collection, (this.active.get(collection) ?? 0) + 1);
    const done = this.run(collection, job)
      .catch(() => false)
      .then((ok) => {
        const left = this.active.get(collection)! - 1;
        if (left > 0) this.active.set(collection, left);
        else this.active.delete(collection);
        if (!ok)
          this.queue.delete(collection); // retried on the next write that schedules it
        else if (!this.stopped) this.queue.add(collection);
      })
      .finally(() => {
        this.jobs.delete(done);
        this.pump();
      });
    this.jobs.add(done);
  }

  /**
   * Starts no other job and lets the one in progress finish for up to `graceMs`; past it, its index build is
   * cancelled and the job rolls back (its `building` segment is dropped and its files removed; a build
   * interrupted any other way is discarded by recovery), so the old layout stays, consistent.
   */
  async stop(graceMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    const timer = Number.isFinite(graceMs)
      ? setTimeout(() => this.abort.abort(new Error('the server is shutting down')), graceMs)
      : null;
    try {
      await this.idle();
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Qdrant's optimizer_status: "ok", or the last failure until a job succeeds again. */
  statusOf(collection: Collection): 'ok' | { error: string } {
    const error = this.failures.get(collection);
    return error === undefined ? 'ok' : { error };
  }

  /** Whether a job is running or waiting for this collection (Qdrant's yellow status). */
  busyWith(collection: Collection): boolean {
    return collection.segments.some((s) => s.optimizing) || nextJob(collection) !== null;
  }

  private async run(collection: Collection, job: Job): Promise<boolean> {
    if (job.kind === 'partition') return this.runPartition(collection, job);
    const { catalog, dataDir, log } = this.deps;
    const started = Date.now();
    const sources = job.kind === 'seal' ? [job.segment] : job.sources;
    for (const s of sources) s.optimizing = true;
    // A merge copies the live rows now; rows deleted while it builds are tombstoned at commit.
    const copy = job.kind === 'seal' ? null : collection.copyLiveRows(job.sources);
    const target = job.kind === 'seal' ? job.segment : copy!.segment;
    const segmentId = catalog.beginSegment(collection.id, target.count);
    const dir = segmentDir(dataDir, collection.name, segmentId);
    try {
      const index = await this.deps.buildIndex(target, collection, this.abort.signal);
      await this.writeFiles(collection, target, segmentId, dir, index);
      if (job.kind === 'seal') {
        await collection.commitSealed(job.segment, segmentId, (absorbed, dead) => {
          catalog.sealSegment(segmentId, collection.id, absorbed.map(encodePointId), dead);
          job.segment.attachIndex(index);
        });
      } else {
        const replaced = job.sources.flatMap((s) => (s.sealedId === null ? [] : [s.sealedId]));
        // a merge or vacuum of one leaf's segments (nextJob never mixes leaves) keeps the leaf
        const placement = { treeVersion: job.sources[0]!.treeVersion, leaf: job.sources[0]!.leaf };
        await collection.commitMerged(copy!, segmentId, index, (absorbed, dead) => {
          catalog.sealSegment(segmentId, collection.id, absorbed.map(encodePointId), dead, replaced, placement);
        });
        copy!.segment.treeVersion = placement.treeVersion;
        copy!.segment.leaf = placement.leaf;
        for (const id of replaced) await removeDir(segmentDir(dataDir, collection.name, id));
      }
      const kind = job.kind === 'seal' ? 'seal' : job.reason;
      this.finished[kind]++;
      this.failures.delete(collection);
      log(
        'info',
        {
          collection: collection.name,
          segment: segmentId,
          rows: target.count,
          ...(job.kind === 'merge' ? { from: job.sources.map((s) => s.sealedId) } : {}),
          ms: Date.now() - started,
        },
        kind === 'seal' ? 'segment sealed' : kind === 'merge' ? 'segments merged' : 'segment vacuumed',
      );
      return true;
    } catch (err) {
      if (this.abort.signal.aborted) {
        catalog.dropSegment(segmentId);
        await removeDir(dir).catch(() => undefined);
        log(
          'warn',
          { collection: collection.name, segment: segmentId, job: job.kind },
          'optimization abandoned for shutdown; the old layout stays',
        );
        return false;
      }
      this.finished.failed++;
      this.failures.set(collection, `${job.kind} failed: ${(err as Error).message}`);
      catalog.dropSegment(segmentId);
      await removeDir(dir).catch(() => undefined);
      if (!collection.dropped) {
        log(
          'error',
          { err, collection: collection.name, segment: segmentId, job: job.kind },
          'optimization failed; the old layout stays',
        );
      }
      return false;
    } finally {
      for (const s of sources) s.optimizing = false;
    }
  }

  /**
   * A partition job (repartition or place): rows assigned to leaves on the pool, each leaf's rows copied into
   * new segments, built and written, then one commit (partitioning.ts rewriteByLeaf). On failure or shutdown the
   * segments built so far are dropped with their files and the old layout and tree stay.
   */
  private async runPartition(collection: Collection, job: Extract<Job, { kind: 'partition' }>): Promise<boolean> {
    const { catalog, dataDir, log } = this.deps;
    const partitionRows = this.deps.partitionRows;
    const status = this.deps.partitionStatus?.(collection);
    if (partitionRows === undefined || status === undefined) return false;
    const started = Date.now();
    const request = job.reason === 'repartition' ? status.request : null;
    for (const s of job.sources) s.optimizing = true;
    const built: number[] = [];
    try {
      const assignment = await partitionRows(
        job.sources,
        request === null ? null : treeRequest(request),
        request === null ? collection.partition!.json : null,
        this.abort.signal,
      );
      if (request !== null) status.progress = 0.1;
      const newTree =
        request === null
          ? null
          : {
              version: (collection.partition?.version ?? 0) + 1,
              json: { ...assignment.tree, templates: request.templates },
              builtAt: new Date().toISOString(),
            };
      await rewriteByLeaf(
        collection,
        job.sources,
        assignment,
        newTree,
        request?.flatLeafRows ?? collection.partitionFlatRows,
        {
          catalog,
          buildIndex: (segment) => this.deps.buildIndex(segment, collection, this.abort.signal),
          writeFiles: (segment, segmentId, index, placement) =>
            this.writeFiles(
              collection,
              segment,
              segmentId,
              segmentDir(dataDir, collection.name, segmentId),
              index,
              placement,
            ),
          onProgress: (f) => {
            if (request !== null) status.progress = 0.1 + 0.9 * f;
          },
        },
        built,
      );
      if (request !== null) collection.partitionFlatRows = request.flatLeafRows;
      for (const s of job.sources) {
        if (s.sealedId !== null) await removeDir(segmentDir(dataDir, collection.name, s.sealedId));
      }
      this.finished[job.reason]++;
      this.failures.delete(collection);
      if (request !== null) status.finish(null);
      log(
        'info',
        {
          collection: collection.name,
          tree_version: collection.partition?.version,
          from: job.sources.map((s) => s.sealedId ?? 'growing'),
          segments: built,
          ms: Date.now() - started,
        },
        job.reason === 'repartition' ? 'collection re-partitioned' : 'segments placed under the partition tree',
      );
      return true;
    } catch (err) {
      for (const id of built) {
        catalog.dropSegment(id);
        await removeDir(segmentDir(dataDir, collection.name, id)).catch(() => undefined);
      }
      const message = (err as Error).message;
      if (request !== null) status.finish(`re-partitioning failed: ${message}`);
      if (!this.abort.signal.aborted) {
        this.finished.failed++;
        this.failures.set(collection, `${job.reason} failed: ${message}`);
      }
      if (!collection.dropped) {
        log(
          'error',
          { err, collection: collection.name, job: job.reason },
          'partition job failed; the old layout and tree stay',
        );
      }
      return false;
    } finally {
      for (const s of job.sources) s.optimizing = false;
    }
  }

  private async writeFiles(
    collection: Collection,
    segment: Segment,
    segmentId: number,
    dir: string,
    index: BuiltIndex,
    placement: { treeVersion: number | null; leaf: number | null } | null = null,
  ) {
    const data = segment.sealingData();
    const { m, ef_construct } = collection.config.hnsw_config;
    await writeSegment(
      dir,
      {
        [SEGMENT_FILES.vectors]: encodeVectors(data.vectors, segment.dim, segment.count),
        [SEGMENT_FILES.ids]: encodeIds(data.ids),
        [SEGMENT_FILES.payloads]: encodePayloads(data.payloadOffsets, data.payloadBytes, segment.count),
        ...(index.graph ? { [SEGMENT_FILES.graph]: index.graph } : {}),
        ...(index.sq8 ? { [SEGMENT_FILES.quantized]: index.sq8 } : {}),
      },
      {
        format: 'strata-segment',
        version: SEGMENT_FORMAT_VERSION,
        segmentId,
        dim: segment.dim,
        count: segment.count,
        distance: collection.distance,
        createdAt: new Date().toISOString(),
        hnsw: index.graph ? { m, efConstruct: ef_construct } : null,
        ...(placement ? { partition: placement } : {}),
      },
    );
  }
}

/**
 * The most useful job for a collection now: the frozen or sealed segment holding the most replaced or deleted
 * rows is rewritten first (that frees the most memory); a frozen segment without many is sealed in place; then
 * small sealed segments are merged. A rewrite takes small sealed segments along (smallPeers).
 */
function nextJob(collection: Collection): Job | null {
  const free = collection.segments.filter((s) => !s.optimizing);
  const partition = collection.partition;
  if (partition !== null) {
    // rows sealed under the live tree go to their leaves: a frozen growing segment, then any sealed segment
    // built under an older tree (or none), gathered up to the maximum segment size
    const frozen = free.find((s) => s.sealedId === null && s.frozen);
    if (frozen !== undefined) return { kind: 'partition', sources: [frozen], reason: 'place' };
    const stale = free.filter((s) => s.sealedId !== null && s.treeVersion !== partition.version);
    if (stale.length > 0) {
      const sources: Segment[] = [];
      let rows = 0;
      for (const s of stale.sort((a, b) => a.liveCount - b.liveCount)) {
        if (sources.length > 0 && rows + s.liveCount > collection.maxSegmentRows) break;
        sources.push(s);
        rows += s.liveCount;
      }
      return { kind: 'partition', sources, reason: 'place' };
    }
  }
  const { deleted_threshold, vacuum_min_vector_number } = collection.config.optimizer_config;
  const dirty = (s: Segment) => {
    const deleted = s.count - s.liveCount;
    return deleted >= Math.min(vacuum_min_vector_number, s.count) && deleted / s.count > deleted_threshold;
  };
  const maxSize = collection.maxSegmentRows;
  const sealed = free.filter((s) => s.sealedId !== null);
  let best: Segment | null = null;
  for (const s of free) {
    const candidate = s.sealedId === null ? s.frozen : dirty(s);
    if (candidate && (best === null || s.count - s.liveCount > best.count - best.liveCount)) best = s;
  }
  if (best !== null && best.sealedId === null && !dirty(best)) return { kind: 'seal', segment: best };
  if (best !== null) {
    return {
      kind: 'merge',
      sources: [best, ...smallPeers(best, sealed, maxSize)],
      reason: best.sealedId === null ? 'seal' : 'vacuum',
    };
  }
  // Merge the smallest sealed segments of one leaf while two of them fit together under half the maximum size.
  for (const group of byPlacement(sealed)) {
    const small = group.filter((s) => s.liveCount <= maxSize / 2).sort((a, b) => a.liveCount - b.liveCount);
    if (small.length < 2) continue;
    const sources: Segment[] = [];
    let rows = 0;
    for (const s of small) {
      if (rows + s.liveCount > maxSize) break;
      sources.push(s);
      rows += s.liveCount;
    }
    if (sources.length >= 2) return { kind: 'merge', sources, reason: 'merge' };
  }
  return null;
}

/** Sealed segments grouped by partition placement (tree version and leaf): merges never mix leaves. */
function byPlacement(sealed: readonly Segment[]): Segment[][] {
  const groups = new Map<string, Segment[]>();
  for (const s of sealed) {
    const key = `${s.treeVersion}:${s.leaf}`;
    const group = groups.get(key) ?? [];
    group.push(s);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** A re-partitioning: every sealed and frozen segment no other job holds (the caller waited for those). */
function repartitionJob(collection: Collection): Job {
  const sources = collection.segments.filter((s) => !s.optimizing && (s.sealedId !== null || s.frozen));
  return { kind: 'partition', sources, reason: 'repartition' };
}

/**
 * Sealed segments a rewrite takes along: the smallest ones, each no larger than the rows gathered so far, up to
 * the maximum size. Under a steady overwrite load there is always a segment to vacuum or seal, so merges alone
 * would never run and small segments would pile up (every one costs memory and search time); merged this way
 * their sizes grow geometrically, so a segment is rewritten O(log n) times and their number stays small.
 */
function smallPeers(primary: Segment, sealed: readonly Segment[], maxSize: number): Segment[] {
  const peers: Segment[] = [];
  let rows = primary.liveCount;
  for (const s of [...sealed].sort((a, b) => a.liveCount - b.liveCount)) {
    if (s === primary || s.treeVersion !== primary.treeVersion || s.leaf !== primary.leaf) continue;
    if (s.liveCount > Math.max(rows, 1) || rows + s.liveCount > maxSize) break;
    peers.push(s);
    rows += s.liveCount;
  }
  return peers;
}
