import type { PartitionTree } from '../index-engine/hqi/tree.js';
import type { TreeJson } from '../index-engine/hqi/tree-codec.js';
import { type ColumnKind, type Condition, type Distance, parseKey, prepareVector } from '../index-engine/index.js';
import type { ScanHits } from '../workers/protocol.js';
import type { Catalog, Tombstone } from './catalog.js';
import { StrataError } from './errors.js';
import type { FilterJson } from './filter-json.js';
import { resolveFilter } from './filter-resolve.js';
import { encodePayload, selectPayload } from './payload.js';
import { encodePointId, type PointId, parsePointId, pointIdKey } from './point-id.js';
import { SEGMENT_VECTOR_BYTES, Segment } from './segment.js';
import type {
  CollectionConfig,
  PayloadFieldSchema,
  PointInput,
  PointRecord,
  PointSelector,
  WithPayload,
} from './types.js';
import { WriteGate } from './write-gate.js';

const encoder = new TextEncoder();

/** How each payload index type is kept as a typed column (index-engine/column.ts). */
const COLUMN_KIND: Readonly<Record<PayloadFieldSchema, ColumnKind>> = {
  keyword: 'keyword',
  uuid: 'keyword',
  integer: 'number',
  float: 'number',
  bool: 'bool',
  datetime: 'datetime',
};

/** Code of a filter literal missing from the keyword dictionary: it matches no row's cell. */
const UNKNOWN_KEYWORD = -2;

export interface RowRef {
  readonly segment: Segment;
  readonly offset: number;
}

/** The rows a merge copies: the new segment and, per new row, where it came from. */
export interface MergeCopy {
  readonly segment: Segment;
  readonly origins: readonly RowRef[];
  readonly sources: readonly Segment[];
}

const DEFAULT_MAX_SEGMENT_ROWS = 100_000;

/** Leaves below this many rows get no graph (ALGORITHMS.md §1(a) step 3); storage/partitioning.ts. */
export const DEFAULT_FLAT_LEAF_ROWS = 2_000;

/** A sealed segment's encoded index: its HNSW graph (null: searched flat) and SQ8 bundle (or null). */
export interface SegmentIndex {
  readonly graph: Uint8Array | null;
  readonly sq8: Uint8Array | null;
}

/** HQI: the collection's live partition tree (storage/partitioning.ts). */
export interface PartitionLayout {
  readonly version: number;
  readonly tree: PartitionTree;
  readonly json: TreeJson;
  readonly builtAt: string;
  /** Predicate templates of the workload the tree was built from (drift is measured against them). */
  readonly templates: ReadonlySet<string>;
}

/** A point after validation, ready to be written. */
interface PreparedPoint {
  readonly id: PointId;
  readonly pid: Buffer;
  readonly vector: Float32Array;
  readonly payload: string;
}

/**
 * Work a write does besides storing points (DBNorm normalizers, storage/hubness/): prepared on the pool
 * before the write's transaction, persisted inside it, applied to memory after it.
 */
export interface WriteHooks {
  beforeWrite(
    points: readonly { id: PointId; vector: Float32Array }[],
  ): Promise<{ inTransaction: () => void; apply: () => void } | null>;
  afterDelete(ids: readonly PointId[]): void;
}

/** Runs a filter scan on the worker pool (supplied by the Database, which owns the pool). */
export type ScanRunner = (segments: readonly Segment[], filter: Condition, countOnly: boolean) => Promise<ScanHits>;

/**
 * One collection: its config, its segments in memory and the id → row map. Every write is committed to the
 * catalog first and applied to memory after, so an acknowledged write survives a crash. Writes are serialized
 * through one promise chain, so they apply in the order they were acknowledged.
 */
export class Collection {
  readonly id: number;
  readonly name: string;
  /** Replaced whole by a settings change (PATCH). */
  config: CollectionConfig;
  readonly payloadIndexes = new Map<string, PayloadFieldSchema>();
  readonly segments: Segment[] = [];
  private readonly rows = new Map<string, RowRef>();
  /** Ids in scroll order, rebuilt lazily after the set of ids changes. */
  private sortedIds: { ids: PointId[]; keys: Buffer[] } | null = null;
  /** Dictionary of keyword column codes, shared by all segments of this collection. */
  private readonly keywordCodes = new Map<string, number>();
  private readonly codeOf = (s: string): number => {
    let code = this.keywordCodes.get(s);
    if (code === undefined) {
      code = this.keywordCodes.size;
      this.keywordCodes.set(s, code);
    }
    return code;
  };
  private readonly catalog: Catalog;
  private readonly scanRunner: ScanRunner;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly writeGate: WriteGate;
  dropped = false;
  /** Set when recovery found damaged files: every request on the collection answers this error (503). */
  unavailable: StrataError | null = null;
  /** Called when the layout may need work: a segment froze, or sealed rows were deleted (the optimizer looks). */
  onNeedsOptimization: (() => void) | null = null;
  /** Segments that left the collection (replaced by a rewrite): the pool's threads drop what they cache of them. */
  onSegmentsRetired: ((uids: readonly number[]) => void) | null = null;
  writeHooks: WriteHooks | null = null;
  /** HQI: the live partition tree, or null (no tree: every segment is visited by every query). */
  partition: PartitionLayout | null = null;
  /** HQI: leaves placed under the live tree with fewer rows than this get no graph (the last request's). */
  partitionFlatRows = DEFAULT_FLAT_LEAF_ROWS;
  /** Checked before a write that adds rows is queued: throws 503 while the optimizer's backlog is too long. */
  admitRows: (() => void) | null = null;

  constructor(
    id: number,
    name: string,
    config: CollectionConfig,
    catalog: Catalog,
    scanRunner: ScanRunner,
    writeGate: WriteGate = new WriteGate(),
  ) {
    this.writeGate = writeGate;
    this.id = id;
    this.name = name;
    this.config = config;
    this.catalog = catalog;
    this.scanRunner = scanRunner;
  }

  get dim(): number {
    return this.config.params.vectors.size;
  }

  get distance(): Distance {
    return this.config.params.vectors.distance;
  }

  get pointsCount(): number {
    return this.rows.size;
  }

  /** Rows held in memory that are no longer live: replaced or deleted, until the optimizer drops them. */
  get deadRows(): number {
    return this.segments.reduce((n, s) => n + s.count, 0) - this.rows.size;
  }

  /** Rows a growing segment takes before it is sealed (indexing_threshold, capped by the vector bytes). */
  get growingCapacity(): number {
    return Math.min(this.config.optimizer_config.indexing_threshold, Math.floor(SEGMENT_VECTOR_BYTES / (this.dim * 4)));
  }

  /** Live points in sealed segments, which are searched through their graph. */
  get indexedVectorsCount(): number {
    return this.segments.reduce((n, s) => n + (s.hasGraph ? s.liveCount : 0), 0);
  }

  locate(id: PointId): RowRef | undefined {
    return this.rows.get(pointIdKey(id));
  }

  /** Runs a write after every earlier one, so acknowledgement order is apply order. */
  serialize<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.writes.then(() => {
      if (this.dropped) throw new StrataError('STRATA_ERR_COLLECTION_NOT_FOUND', [this.name]);
      return fn();
    });
    this.writes = run.catch(() => undefined);
    return run;
  }

  /**
   * Stops taking writes (each one still queued answers 404) and resolves once the last running write has
   * finished, so nothing writes to the catalog for this collection afterwards.
   */
  async retire(): Promise<void> {
    this.dropped = true;
    await this.writes;
  }

  /** Takes writes again after a retire whose replacement failed. */
  unretire(): void {
    this.dropped = false;
    this.unavailable = null;
  }

  /** A client write: admitted by the write gate (503 when too many are queued), then serialized. */
  private serializeClient<T>(fn: () => T | Promise<T>): Promise<T> {
    const release = this.writeGate.admit();
    const run = this.serialize(fn);
    run.then(release, release);
    return run;
  }

  // ---- validation ---------------------------------------------------------------------------------------

  /** Checks length and finiteness, then stores the float32 form (normalized for Cosine). */
  prepareVector(values: readonly number[], label: string): Float32Array {
    if (values.length !== this.dim) throw new StrataError('STRATA_ERR_DIM_MISMATCH', [this.dim, values.length]);
    const vector = prepareVector(this.distance, values);
    for (let i = 0; i < vector.length; i++) {
      if (!Number.isFinite(vector[i]!)) throw new StrataError('STRATA_ERR_VECTOR_VALUE', [label]);
    }
    return vector;
  }

  private preparePoint(p: PointInput): PreparedPoint {
    const id = parsePointId(p.id);
    const vector = this.prepareVector(p.vector, pointIdKey(id));
    const payload = encodePayload(pointIdKey(id), p.payload ?? {});
    return { id, pid: encodePointId(id), vector, payload };
  }

  // ---- memory ---------------------------------------------------------------------------------------------

  /** Appends to the growing segment (starting a new one when it is full) and retires the id's old row. */
  applyUpsert(id: PointId, vector: Float32Array, payloadJson: string): void {
    const bytes = encoder.encode(payloadJson);
    let growing = this.segments.at(-1);
    if (growing === undefined || !growing.canAppend(bytes.byteLength)) {
      if (growing && !growing.frozen) {
        growing.frozen = true;
        this.onNeedsOptimization?.();
      }
      growing = new Segment(this.dim, this.config.optimizer_config.indexing_threshold);
      for (const [field, schema] of this.payloadIndexes)
        growing.addColumn(parseKey(field), COLUMN_KIND[schema], this.codeOf);
      this.segments.push(growing);
    }
    const key = pointIdKey(id);
    const old = this.rows.get(key);
    const offset = growing.append(id, vector, bytes, () => JSON.parse(payloadJson), this.codeOf);
    if (old === undefined) this.sortedIds = null;
    old?.segment.tombstone(old.offset);
    this.rows.set(key, { segment: growing, offset });
    // A segment that just reached its capacity is sealed now, not when the next point arrives.
    if (!growing.canAppend(0)) {
      growing.frozen = true;
      this.onNeedsOptimization?.();
    }
  }

  private applyDelete(id: PointId): void {
    const key = pointIdKey(id);
    const old = this.rows.get(key);
    if (old === undefined) return;
    old.segment.tombstone(old.offset);
    this.rows.delete(key);
    this.sortedIds = null;
  }

  // ---- writes -------------------------------------------------------------------------------------------

  /** Sealed rows that these ids currently occupy: a write replacing or deleting them tombstones them durably. */
  private sealedRowsOf(ids: Iterable<PointId>): Tombstone[] {
    const out: Tombstone[] = [];
    for (const id of ids) {
      const row = this.locate(id);
      if (row?.segment.sealedId != null) out.push({ segmentId: row.segment.sealedId, row: row.offset });
    }
    return out;
  }

  /** Writes rows durably (points plus tombstones for the sealed rows they replace), then applies them. */
  private writeRows(
    rows: readonly PreparedPoint[],
    hooks: { inTransaction: () => void; apply: () => void } | null = null,
  ): void {
    const retired = this.sealedRowsOf(rows.map((p) => p.id));
    this.catalog.writePoints(this.id, rows, retired, hooks?.inTransaction);
    for (const p of rows) this.applyUpsert(p.id, p.vector, p.payload);
    hooks?.apply();
    if (retired.length > 0) this.onNeedsOptimization?.();
  }

  /** Validates every point first: one bad point rejects the whole batch and nothing is written. */
  upsert(points: readonly PointInput[]): Promise<void> {
    const prepared = points.map((p) => this.preparePoint(p));
    this.admitRows?.();
    return this.serializeClient(async () =>
      this.writeRows(prepared, (await this.writeHooks?.beforeWrite(prepared)) ?? null),
    );
  }

  deletePoints(selector: PointSelector): Promise<void> {
    const ids = 'points' in selector ? selector.points.map(parsePointId) : null;
    const filter = 'filter' in selector ? this.resolveFilter(selector.filter) : null;
    return this.serializeClient(async () => {
      const targets = ids ?? (await this.matchingIds(filter!));
      const retired = this.sealedRowsOf(targets);
      this.catalog.deletePoints(this.id, targets.map(encodePointId), retired);
      for (const id of targets) this.applyDelete(id);
      this.writeHooks?.afterDelete(targets);
      if (retired.length > 0) this.onNeedsOptimization?.();
    });
  }

  /** Rewrites the payload of the selected points with `edit`; each edited row is re-appended (rows are immutable). */
  editPayload(
    selector: PointSelector,
    edit: (payload: Record<string, unknown>) => Record<string, unknown>,
  ): Promise<void> {
    const ids = 'points' in selector ? selector.points.map(parsePointId) : null;
    const filter = 'filter' in selector ? this.resolveFilter(selector.filter) : null;
    this.admitRows?.();
    return this.serializeClient(async () => {
      const targets = ids ?? (await this.matchingIds(filter!));
      const updates: PreparedPoint[] = [];
      for (const id of targets) {
        const row = this.locate(id);
        if (row === undefined) {
          if (ids !== null) throw new StrataError('STRATA_ERR_POINT_NOT_FOUND', [pointIdKey(id)]);
          continue;
        }
        const payload = encodePayload(pointIdKey(id), edit(row.segment.payload(row.offset)));
        updates.push({ id, pid: encodePointId(id), vector: row.segment.vector(row.offset), payload });
      }
      this.writeRows(updates);
    });
  }

  /** Records the index, then builds the field's typed column in every segment (a replaced index is rebuilt). */
  /**
   * The commit point of sealing, ordered with the writes: `commit` receives the ids of the segment's live
   * rows (they leave the growing log) and its rows already deleted (they become tombstones), and runs one
   * catalog transaction; only then does the segment count as sealed.
   */
  commitSealed(
    segment: Segment,
    segmentId: number,
    commit: (absorbed: PointId[], dead: number[]) => void,
  ): Promise<void> {
    return this.serialize(() => {
      const absorbed: PointId[] = [];
      const dead: number[] = [];
      for (let row = 0; row < segment.count; row++) {
        if (segment.isLive(row)) absorbed.push(segment.ids[row]!);
        else dead.push(row);
      }
      commit(absorbed, dead);
      segment.sealedId = segmentId;
    });
  }

  /**
   * Freezes the growing segment now (ordered with the writes), so the optimizer seals or places its rows; the
   * next write starts a new one. A re-partitioning does this so that every acknowledged row is laid out.
   */
  freezeGrowing(): Promise<void> {
    return this.serialize(() => {
      const growing = this.segments.at(-1);
      if (growing !== undefined && growing.sealedId === null && !growing.frozen && growing.count > 0) {
        growing.frozen = true;
      }
    });
  }

  /** Largest segment a merge may produce, in points (optimizers_config.max_segment_size, else 100,000). */
  get maxSegmentRows(): number {
    const configured = this.config.optimizer_config.max_segment_size;
    const rows = typeof configured === 'number' && configured > 0 ? configured : DEFAULT_MAX_SEGMENT_ROWS;
    return Math.min(rows, Math.floor(SEGMENT_VECTOR_BYTES / (this.dim * 4)));
  }

  /**
   * A new unsealed segment holding copies of the live rows of `sources` (a merge or vacuum), with `origins[i]`
   * the source row of new row i, so rows deleted while it is being built can be tombstoned at commit.
   */
  copyLiveRows(sources: readonly Segment[]): MergeCopy {
    const rows: RowRef[] = [];
    for (const source of sources) {
      for (let row = 0; row < source.count; row++) if (source.isLive(row)) rows.push({ segment: source, offset: row });
    }
    return this.copyRows(rows, sources);
  }

  /** A new unsealed segment holding copies of `rows` (taken from `sources`), in that order. */
  copyRows(rows: readonly RowRef[], sources: readonly Segment[]): MergeCopy {
    const segment = new Segment(this.dim, Math.max(1, rows.length));
    for (const [field, schema] of this.payloadIndexes)
      segment.addColumn(parseKey(field), COLUMN_KIND[schema], this.codeOf);
    for (const { segment: source, offset: row } of rows) {
      segment.append(
        source.ids[row]!,
        source.vectorView(row),
        source.payloadBytesOf(row),
        () => source.payload(row),
        this.codeOf,
      );
    }
    segment.frozen = true;
    return { segment, origins: rows, sources };
  }

  /**
   * The commit point of a merge, ordered with the writes: rows whose source was deleted meanwhile are
   * tombstoned, `commit` runs the catalog transaction (new segment live, sources dropped, and the live rows
   * copied from a frozen growing segment leave the growing log), then the new segment takes the sources' place
   * and the id map moves to it.
   */
  commitMerged(
    copy: MergeCopy,
    segmentId: number,
    index: SegmentIndex,
    commit: (absorbed: PointId[], dead: number[]) => void,
  ): Promise<void> {
    return this.commitRewrite([{ copy, segmentId, index }], copy.sources, ([out]) => commit(out!.absorbed, out!.dead));
  }

  /**
   * The commit point of a rewrite into several segments (a merge has one output, a partition job one or more
   * per leaf), ordered with the writes: per output, rows whose source was deleted meanwhile are tombstoned and
   * the live rows copied from a frozen growing segment leave the growing log; `commit` runs the one catalog
   * transaction for all outputs; then the outputs take the sources' place and the id map moves to them.
   */
  commitRewrite(
    outputs: readonly { copy: MergeCopy; segmentId: number; index: SegmentIndex }[],
    sources: readonly Segment[],
    commit: (perOutput: { absorbed: PointId[]; dead: number[] }[]) => void,
  ): Promise<void> {
    return this.serialize(() => {
      const perOutput = outputs.map(({ copy }) => {
        const absorbed: PointId[] = [];
        const dead: number[] = [];
        copy.origins.forEach((origin, row) => {
          if (!origin.segment.isLive(origin.offset)) dead.push(row);
          else if (origin.segment.sealedId === null) absorbed.push(copy.segment.ids[row]!);
        });
        return { absorbed, dead };
      });
      commit(perOutput);
      outputs.forEach(({ copy: { segment }, segmentId, index }, i) => {
        for (const row of perOutput[i]!.dead) segment.tombstone(row);
        segment.sealedId = segmentId;
        segment.attachIndex(index);
        for (let row = 0; row < segment.count; row++) {
          if (segment.isLive(row)) this.rows.set(pointIdKey(segment.ids[row]!), { segment, offset: row });
        }
      });
      // In the place of the earliest source: always before the growing segment, which must stay last.
      const first = Math.min(...sources.map((s) => this.segments.indexOf(s)));
      const kept = this.segments.filter((s) => !sources.includes(s));
      kept.splice(first, 0, ...outputs.map((o) => o.copy.segment));
      this.segments.splice(0, this.segments.length, ...kept);
      this.onSegmentsRetired?.(sources.map((s) => s.uid));
    });
  }

  /** Adds a sealed segment loaded from disk (recovery): its live rows join the id map. */
  attachSealed(segment: Segment): void {
    this.segments.push(segment);
    for (const [field, schema] of this.payloadIndexes)
      segment.addColumn(parseKey(field), COLUMN_KIND[schema], this.codeOf);
    for (let row = 0; row < segment.count; row++) {
      if (segment.isLive(row)) this.rows.set(pointIdKey(segment.ids[row]!), { segment, offset: row });
    }
    this.sortedIds = null;
  }

  putPayloadIndex(field: string, schema: PayloadFieldSchema): Promise<void> {
    const path = parseKey(field);
    if (path.length === 0)
      throw new StrataError('STRATA_ERR_VALIDATION', [`field_name ${JSON.stringify(field)} has no key`]);
    return this.serializeClient(() => {
      this.catalog.putPayloadIndex(this.id, field, schema);
      this.payloadIndexes.set(field, schema);
      for (const segment of this.segments) segment.addColumn(path, COLUMN_KIND[schema], this.codeOf);
    });
  }

  deletePayloadIndex(field: string): Promise<void> {
    return this.serializeClient(() => {
      if (!this.catalog.deletePayloadIndex(this.id, field)) {
        throw new StrataError('STRATA_ERR_PAYLOAD_INDEX_NOT_FOUND', [field]);
      }
      this.payloadIndexes.delete(field);
      for (const segment of this.segments) segment.dropColumn(parseKey(field).join('.'));
    });
  }

  // ---- reads --------------------------------------------------------------------------------------------

  resolveFilter(filter: FilterJson): Condition {
    return resolveFilter(filter, {
      locate: (id) => {
        const row = this.locate(id);
        return row && { uid: row.segment.uid, offset: row.offset };
      },
      keywordCodes: (path, values) => {
        if (!this.isKeywordColumn(path.join('.'))) return undefined;
        return values.map((v) =>
          typeof v === 'string' ? (this.keywordCodes.get(v) ?? UNKNOWN_KEYWORD) : UNKNOWN_KEYWORD,
        );
      },
    });
  }

  private isKeywordColumn(path: string): boolean {
    for (const [field, schema] of this.payloadIndexes) {
      if (COLUMN_KIND[schema] === 'keyword' && parseKey(field).join('.') === path) return true;
    }
    return false;
  }

  /** Every live point's row, in no particular order. */
  liveRows(): IterableIterator<RowRef> {
    return this.rows.values();
  }

  /** Segments worth sending to a worker. */
  searchableSegments(): Segment[] {
    return this.segments.filter((s) => s.liveCount > 0);
  }

  async matchingRows(filter: Condition): Promise<RowRef[]> {
    const segments = this.searchableSegments();
    const byUid = new Map(segments.map((s) => [s.uid, s]));
    const hits = await this.scanRunner(segments, filter, false);
    const out: RowRef[] = [];
    hits.uids.forEach((uid, i) => {
      const segment = byUid.get(uid)!;
      const offset = hits.offsets[i]!;
      if (segment.isLive(offset)) out.push({ segment, offset });
    });
    return out;
  }

  private async matchingIds(filter: Condition): Promise<PointId[]> {
    return (await this.matchingRows(filter)).map((r) => r.segment.ids[r.offset]!);
  }

  async count(filter: FilterJson | null | undefined): Promise<number> {
    if (!filter) return this.pointsCount;
    const hits = await this.scanRunner(this.searchableSegments(), this.resolveFilter(filter), true);
    return hits.count;
  }

  record(
    row: RowRef,
    withPayload: WithPayload | null | undefined,
    withVector: boolean | null | undefined,
  ): PointRecord {
    const id = row.segment.ids[row.offset]!;
    const payload = selectPayload(row.segment.payload(row.offset), withPayload);
    return {
      id,
      ...(payload === undefined ? { payload: null } : { payload }),
      ...(withVector ? { vector: Array.from(row.segment.vector(row.offset)) } : { vector: null }),
    };
  }

  retrieve(
    rawIds: readonly unknown[],
    withPayload: WithPayload | null | undefined,
    withVector: boolean | null | undefined,
  ): PointRecord[] {
    const out: PointRecord[] = [];
    const seen = new Set<string>();
    for (const raw of rawIds) {
      const id = parsePointId(raw);
      const key = pointIdKey(id);
      const row = this.rows.get(key);
      if (row === undefined || seen.has(key)) continue;
      seen.add(key);
      out.push(this.record(row, withPayload, withVector));
    }
    return out;
  }

  /**
   * Every live row in id order starting at `from` (scroll without a filter). The sorted id list is built on
   * first use and kept until the set of ids changes, so paging through a collection sorts it once.
   */
  idsFrom(from: PointId | null, limit: number): RowRef[] {
    if (this.sortedIds === null) {
      const keyed = [...this.rows.values()].map((row) => {
        const id = row.segment.ids[row.offset]!;
        return { id, key: encodePointId(id) };
      });
      keyed.sort((a, b) => Buffer.compare(a.key, b.key));
      this.sortedIds = { ids: keyed.map((k) => k.id), keys: keyed.map((k) => k.key) };
    }
    const { ids, keys } = this.sortedIds;
    let start = 0;
    if (from !== null) {
      const target = encodePointId(from);
      let hi = keys.length;
      while (start < hi) {
        const mid = (start + hi) >> 1;
        if (Buffer.compare(keys[mid]!, target) < 0) start = mid + 1;
        else hi = mid;
      }
    }
    return ids.slice(start, start + limit).map((id) => this.rows.get(pointIdKey(id))!);
  }
}
