import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

export interface CollectionRow {
  readonly id: number;
  readonly name: string;
  readonly config: string;
}

export interface PointRow {
  readonly pid: Buffer;
  readonly vector: Buffer;
  readonly payload: string;
}

export interface PointWrite {
  readonly pid: Buffer;
  readonly vector: Float32Array;
  readonly payload: string;
}

/** A row of a sealed segment that a write deletes or replaces. */
export interface Tombstone {
  readonly segmentId: number;
  readonly row: number;
}

export interface SegmentRow {
  readonly id: number;
  readonly row_count: number;
  /** The partition tree version and leaf the segment was built for (null: not partitioned). */
  readonly tree_version?: number | null;
  readonly leaf?: number | null;
}

/** The live partition tree of a collection (its JSON: index-engine/hqi/tree-codec.ts). */
export interface TreeRow {
  readonly version: number;
  readonly tree: string;
  readonly created_at: string;
}

/** One segment a partition job makes live: like sealSegment's arguments, plus its leaf. */
export interface PartitionedSegment {
  readonly segmentId: number;
  readonly leaf: number | null;
  readonly absorbed: readonly Buffer[];
  readonly deadRows: readonly number[];
}

/**
 * The SQLite catalog and durable write log. WAL journal with synchronous=FULL: when a write method returns,
 * its transaction is on disk, and only then does the caller acknowledge the request.
 */
export class Catalog {
  readonly file: string;
  private readonly db: BetterSqlite3.Database;
  private readonly stmts;

  constructor(dataDir: string) {
    fs.mkdirSync(dataDir, { recursive: true });
    this.file = path.join(dataDir, 'catalog.sqlite');
    this.db = new BetterSqlite3(this.file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    const db = this.db;
    this.stmts = {
      listCollections: db.prepare<[], CollectionRow>('SELECT id, name, config FROM collections ORDER BY name'),
      insertCollection: db.prepare<[string, string, string]>(
        'INSERT INTO collections (name, config, created_at) VALUES (?, ?, ?)',
      ),
      deleteCollection: db.prepare<[number]>('DELETE FROM collections WHERE id = ?'),
      deletePointsOf: db.prepare<[number]>('DELETE FROM points WHERE collection_id = ?'),
      updateConfig: db.prepare<[string, number]>('UPDATE collections SET config = ? WHERE id = ?'),
      upsertPoint: db.prepare<[number, Buffer, Buffer, string]>(
        'INSERT OR REPLACE INTO points (collection_id, pid, vector, payload) VALUES (?, ?, ?, ?)',
      ),
      deletePoint: db.prepare<[number, Buffer]>('DELETE FROM points WHERE collection_id = ? AND pid = ?'),
      firstPoints: db.prepare<[number, number], PointRow>(
        'SELECT pid, vector, payload FROM points WHERE collection_id = ? ORDER BY pid LIMIT ?',
      ),
      pointsAfter: db.prepare<[number, Buffer, number], PointRow>(
        'SELECT pid, vector, payload FROM points WHERE collection_id = ? AND pid > ? ORDER BY pid LIMIT ?',
      ),
      insertSegment: db.prepare<[number, number, string]>(
        "INSERT INTO segments (collection_id, state, row_count, created_at) VALUES (?, 'building', ?, ?)",
      ),
      markSegmentLive: db.prepare<[number]>("UPDATE segments SET state = 'live' WHERE id = ?"),
      deleteSegment: db.prepare<[number]>('DELETE FROM segments WHERE id = ?'),
      liveSegments: db.prepare<[number], SegmentRow>(
        "SELECT id, row_count, tree_version, leaf FROM segments WHERE collection_id = ? AND state = 'live' ORDER BY id",
      ),
      setSegmentLeaf: db.prepare<[number | null, number | null, number]>(
        'UPDATE segments SET tree_version = ?, leaf = ? WHERE id = ?',
      ),
      liveTree: db.prepare<[number], TreeRow>(
        'SELECT version, tree, created_at FROM partition_trees WHERE collection_id = ?',
      ),
      putTree: db.prepare<[number, number, string, string]>(
        'INSERT OR REPLACE INTO partition_trees (collection_id, version, tree, created_at) VALUES (?, ?, ?, ?)',
      ),
      buildingSegments: db.prepare<[], { id: number }>("SELECT id FROM segments WHERE state = 'building'"),
      insertTombstone: db.prepare<[number, number]>('INSERT OR IGNORE INTO tombstones (segment_id, row) VALUES (?, ?)'),
      tombstonesOf: db.prepare<[number], { row: number }>('SELECT row FROM tombstones WHERE segment_id = ?'),
      listIndexes: db.prepare<[number], { field: string; field_schema: string }>(
        'SELECT field, field_schema FROM payload_indexes WHERE collection_id = ? ORDER BY field',
      ),
      upsertIndex: db.prepare<[number, string, string]>(
        'INSERT OR REPLACE INTO payload_indexes (collection_id, field, field_schema) VALUES (?, ?, ?)',
      ),
      deleteIndex: db.prepare<[number, string]>('DELETE FROM payload_indexes WHERE collection_id = ? AND field = ?'),
    };
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  /** The connection, for storage modules that keep their own tables (hubness banks, query log). */
  get sqlite(): BetterSqlite3.Database {
    return this.db;
  }

  /** Runs `fn` in one transaction. */
  transaction(fn: () => void): void {
    this.db.transaction(fn)();
  }

  /**
   * Runs `fn` in one transaction committed without an fsync (synchronous NORMAL, WAL): a power loss may lose
   * it, never corrupt the file, and the next ordinary (FULL) commit syncs it along. For data that may be lost
   * (the sampled query log), so that writing it does not hold the event loop for an fsync (~10 ms here).
   */
  unsyncedTransaction(fn: () => void): void {
    this.db.pragma('synchronous = NORMAL');
    try {
      this.db.transaction(fn)();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  listCollections(): CollectionRow[] {
    return this.stmts.listCollections.all();
  }

  createCollection(name: string, config: string): number {
    const info = this.stmts.insertCollection.run(name, config, new Date().toISOString());
    return Number(info.lastInsertRowid);
  }

  deleteCollection(id: number): void {
    this.db.transaction(() => {
      this.stmts.deletePointsOf.run(id);
      this.stmts.deleteCollection.run(id);
    })();
  }

  updateCollectionConfig(id: number, config: string): void {
    this.stmts.updateConfig.run(config, id);
  }

  /**
   * One transaction: every point is written and every replaced sealed row tombstoned, or nothing is. `also`
   * runs inside it (the points' DBNorm normalizers).
   */
  writePoints(
    collectionId: number,
    points: readonly PointWrite[],
    tombstones: readonly Tombstone[] = [],
    also?: () => void,
  ): void {
    this.db.transaction(() => {
      also?.();
      for (const p of points) {
        const blob = Buffer.from(p.vector.buffer, p.vector.byteOffset, p.vector.byteLength);
        this.stmts.upsertPoint.run(collectionId, p.pid, blob, p.payload);
      }
      for (const t of tombstones) this.stmts.insertTombstone.run(t.segmentId, t.row);
    })();
  }

  /** One transaction: rows of growing segments are deleted, rows of sealed segments tombstoned. */
  deletePoints(collectionId: number, pids: readonly Buffer[], tombstones: readonly Tombstone[] = []): void {
    this.db.transaction(() => {
      for (const pid of pids) this.stmts.deletePoint.run(collectionId, pid);
      for (const t of tombstones) this.stmts.insertTombstone.run(t.segmentId, t.row);
    })();
  }

  /** Registers a segment being built (its id names its directory); `live` happens in sealSegment. */
  beginSegment(collectionId: number, rowCount: number): number {
    return Number(this.stmts.insertSegment.run(collectionId, rowCount, new Date().toISOString()).lastInsertRowid);
  }

  /**
   * Makes a built segment live in one transaction: its live rows leave `points` (the segment files hold them
   * now), its rows deleted meanwhile become tombstones, and segments it replaces (a merge) are dropped.
   */
  sealSegment(
    segmentId: number,
    collectionId: number,
    absorbed: readonly Buffer[],
    deadRows: readonly number[],
    replaces: readonly number[] = [],
    placement: { treeVersion: number | null; leaf: number | null } = { treeVersion: null, leaf: null },
  ): void {
    this.db.transaction(() => {
      for (const pid of absorbed) this.stmts.deletePoint.run(collectionId, pid);
      for (const row of deadRows) this.stmts.insertTombstone.run(segmentId, row);
      for (const old of replaces) this.stmts.deleteSegment.run(old);
      this.stmts.markSegmentLive.run(segmentId);
      if (placement.treeVersion !== null)
        this.stmts.setSegmentLeaf.run(placement.treeVersion, placement.leaf, segmentId);
    })();
  }

  /**
   * The commit point of a partition job, one transaction: the segments built for it go live with their leaves
   * (their live rows leave `points`, rows deleted meanwhile become tombstones), the segments they replace are
   * dropped, and, for a re-partitioning, the new tree replaces the old one. A crash before it leaves the old
   * layout and tree; after it, the new ones: never a mix.
   */
  commitPartition(
    collectionId: number,
    treeVersion: number,
    newTree: { json: string; createdAt: string } | null,
    outputs: readonly PartitionedSegment[],
    replaces: readonly number[],
  ): void {
    this.db.transaction(() => {
      if (newTree !== null) this.stmts.putTree.run(collectionId, treeVersion, newTree.json, newTree.createdAt);
      for (const out of outputs) {
        for (const pid of out.absorbed) this.stmts.deletePoint.run(collectionId, pid);
        for (const row of out.deadRows) this.stmts.insertTombstone.run(out.segmentId, row);
        this.stmts.markSegmentLive.run(out.segmentId);
        this.stmts.setSegmentLeaf.run(treeVersion, out.leaf, out.segmentId);
      }
      for (const old of replaces) this.stmts.deleteSegment.run(old);
    })();
  }

  /** The collection's live partition tree, or null. */
  liveTree(collectionId: number): TreeRow | null {
    return this.stmts.liveTree.get(collectionId) ?? null;
  }

  dropSegment(segmentId: number): void {
    this.stmts.deleteSegment.run(segmentId);
  }

  liveSegments(collectionId: number): SegmentRow[] {
    return this.stmts.liveSegments.all(collectionId);
  }

  /** Segments whose build never finished (a crash): their rows are still in `points`. */
  abandonBuildingSegments(): number[] {
    const ids = this.stmts.buildingSegments.all().map((r) => r.id);
    for (const id of ids) this.stmts.deleteSegment.run(id);
    return ids;
  }

  tombstonesOf(segmentId: number): number[] {
    return this.stmts.tombstonesOf.all(segmentId).map((r) => r.row);
  }

  /** One page of a collection's points in id order, after `after` (recovery reads in pages to stay responsive). */
  pointsPage(collectionId: number, after: Buffer | null, limit: number): PointRow[] {
    return after === null
      ? this.stmts.firstPoints.all(collectionId, limit)
      : this.stmts.pointsAfter.all(collectionId, after, limit);
  }

  listPayloadIndexes(collectionId: number): { field: string; field_schema: string }[] {
    return this.stmts.listIndexes.all(collectionId);
  }

  putPayloadIndex(collectionId: number, field: string, schema: string): void {
    this.stmts.upsertIndex.run(collectionId, field, schema);
  }

  deletePayloadIndex(collectionId: number, field: string): boolean {
    return this.stmts.deleteIndex.run(collectionId, field).changes > 0;
  }

  /**
   * Copies one collection's catalog rows (config, payload indexes, growing points, live segments and their
   * tombstones) into a new SQLite file, the catalog part of a snapshot. Synchronous on purpose: no write can
   * land between this copy and the caller's hard links of the same segments' files.
   */
  exportCollection(collectionId: number, file: string): SegmentRow[] {
    this.db.prepare('ATTACH DATABASE ? AS snap').run(file);
    try {
      this.db.transaction(() => {
        this.db.exec(SNAPSHOT_SCHEMA);
        this.db
          .prepare("INSERT INTO snap.meta (key, value) SELECT 'config', config FROM collections WHERE id = ?")
          .run(collectionId);
        this.db
          .prepare(
            'INSERT INTO snap.payload_indexes SELECT field, field_schema FROM payload_indexes WHERE collection_id = ?',
          )
          .run(collectionId);
        this.db
          .prepare('INSERT INTO snap.points SELECT pid, vector, payload FROM points WHERE collection_id = ?')
          .run(collectionId);
        this.db
          .prepare(
            "INSERT INTO snap.segments SELECT id, row_count FROM segments WHERE collection_id = ? AND state = 'live'",
          )
          .run(collectionId);
        this.db
          .prepare(
            'INSERT INTO snap.tombstones SELECT segment_id, row FROM tombstones WHERE segment_id IN (SELECT id FROM snap.segments)',
          )
          .run();
        for (const table of COLLECTION_TABLES) {
          this.db
            .prepare(`CREATE TABLE snap.${table} AS SELECT * FROM main.${table} WHERE collection_id = ?`)
            .run(collectionId);
        }
      })();
      return this.db.prepare<[], SegmentRow>('SELECT id, row_count FROM snap.segments ORDER BY id').all();
    } finally {
      this.db.prepare('DETACH DATABASE snap').run();
    }
  }

  /**
   * First step of a restore: a hidden collection row (its name cannot be a user's) and `building` segment rows
   * reserve ids for the snapshot's segments. A crash after this leaves rows the next start discards.
   */
  reserveRestore(config: string, rowCounts: readonly number[]): { collectionId: number; segmentIds: number[] } {
    return this.db.transaction(() => {
      const collectionId = this.createCollection(`${RESTORE_PREFIX}${randomUUID()}`, config);
      return { collectionId, segmentIds: rowCounts.map((n) => this.beginSegment(collectionId, n)) };
    })();
  }

  /**
   * Second step, one transaction: the collection being replaced (if any) goes, the reserved one takes its
   * name with the snapshot's points, payload indexes and tombstones, and its segments become live. A crash
   * leaves the old collection or the restored one, never a mix.
   */
  commitRestore(
    reservedId: number,
    name: string,
    replacedId: number | null,
    snapshotFile: string,
    segmentIds: ReadonlyMap<number, number>,
  ): void {
    this.db.prepare('ATTACH DATABASE ? AS snap').run(snapshotFile);
    try {
      this.db.transaction(() => {
        if (replacedId !== null) this.deleteCollection(replacedId);
        this.db.prepare('UPDATE collections SET name = ? WHERE id = ?').run(name, reservedId);
        this.db
          .prepare(
            'INSERT INTO points (collection_id, pid, vector, payload) SELECT ?, pid, vector, payload FROM snap.points',
          )
          .run(reservedId);
        this.db
          .prepare(
            'INSERT INTO payload_indexes (collection_id, field, field_schema) SELECT ?, field, field_schema FROM snap.payload_indexes',
          )
          .run(reservedId);
        for (const table of COLLECTION_TABLES) this.importCollectionTable(table, reservedId);
        const tombstones = this.db.prepare(
          'INSERT INTO tombstones (segment_id, row) SELECT ?, row FROM snap.tombstones WHERE segment_id = ?',
        );
        for (const [oldId, newId] of segmentIds) {
          tombstones.run(newId, oldId);
          this.stmts.markSegmentLive.run(newId);
        }
      })();
    } finally {
      this.db.prepare('DETACH DATABASE snap').run();
    }
  }

  /**
   * Copies a snapshot's rows of one per-collection table into the catalog under the new collection id. A
   * rowid key (`id`) is renumbered, since other collections may use the snapshot's numbers; a table the
   * snapshot predates is skipped, and so are columns it predates.
   */
  private importCollectionTable(table: string, collectionId: number): void {
    const present = this.db
      .prepare<[string], { n: number }>(
        "SELECT count(*) AS n FROM snap.sqlite_master WHERE type = 'table' AND name = ?",
      )
      .get(table)!.n;
    if (present === 0) return;
    const columns = this.db
      .prepare<[], { name: string; pk: number; type: string }>(`PRAGMA main.table_info(${table})`)
      .all();
    const renumbered = (c: { name: string; pk: number; type: string }) =>
      c.pk === 1 && c.type.toUpperCase() === 'INTEGER' && columns.filter((x) => x.pk > 0).length === 1;
    // a snapshot from before a column was added (query_log's filter, template...) leaves it null
    const inSnapshot = new Set(
      this.db
        .prepare<[], { name: string }>(`PRAGMA snap.table_info(${table})`)
        .all()
        .map((c) => c.name),
    );
    const names = columns.filter((c) => !renumbered(c) && inSnapshot.has(c.name)).map((c) => c.name);
    const values = names.map((n) => (n === 'collection_id' ? '?' : n));
    this.db
      .prepare(`INSERT INTO main.${table} (${names.join(', ')}) SELECT ${values.join(', ')} FROM snap.${table}`)
      .run(collectionId);
  }

  /** Undoes reserveRestore after a restore failed without a crash. */
  abandonRestore(reservedId: number): void {
    this.deleteCollection(reservedId);
  }

  /** Hidden collections of restores that never committed (a crash); their building segments go with them. */
  discardUnfinishedRestores(): string[] {
    const rows = this.db
      .prepare<[string], { id: number; name: string }>('SELECT id, name FROM collections WHERE name LIKE ?')
      .all(`${RESTORE_PREFIX}%`);
    for (const row of rows) this.deleteCollection(row.id);
    return rows.map((r) => r.name);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/** Tables whose rows belong to one collection (by `collection_id`) besides the core ones: DBNorm and the query log. */
const COLLECTION_TABLES = ['dbnorm_banks', 'dbnorm_live', 'dbnorm_norms', 'dbnorm_top1', 'query_log'] as const;

/** Names of collections being restored; '.' is not allowed in user collection names, so they cannot clash. */
const RESTORE_PREFIX = '.restore-';

/** The catalog part of a snapshot: one collection's rows, without collection ids. */
const SNAPSHOT_SCHEMA = `
  CREATE TABLE snap.meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE snap.payload_indexes (field TEXT PRIMARY KEY, field_schema TEXT NOT NULL);
  CREATE TABLE snap.points (pid BLOB PRIMARY KEY, vector BLOB NOT NULL, payload TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE snap.segments (id INTEGER PRIMARY KEY, row_count INTEGER NOT NULL);
  CREATE TABLE snap.tombstones (segment_id INTEGER NOT NULL, row INTEGER NOT NULL, PRIMARY KEY (segment_id, row))
    WITHOUT ROWID;`;

/** Reads the collection config and segment list of a snapshot's catalog file (read-only). */
export function readSnapshotCatalog(file: string): { config: string; segments: SegmentRow[]; points: number } {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const config = db.prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'config'").get()?.value;
    if (config === undefined) throw new Error('no collection config');
    const segments = db.prepare<[], SegmentRow>('SELECT id, row_count FROM segments ORDER BY id').all();
    const points = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM points').get()!.n;
    return { config, segments, points };
  } finally {
    db.close();
  }
}
