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
        "SELECT id, row_count FROM segments WHERE collection_id = ? AND state = 'live' ORDER BY id",
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
  ): void {
    this.db.transaction(() => {
      for (const pid of absorbed) this.stmts.deletePoint.run(collectionId, pid);
      for (const row of deadRows) this.stmts.insertTombstone.run(segmentId, row);
      for (const old of replaces) this.stmts.deleteSegment.run(old);
      this.stmts.markSegmentLive.run(segmentId);
    })();
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

  close(): void {
    if (this.db.open) this.db.close();
  }
}
