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
      updatePayload: db.prepare<[string, number, Buffer]>(
        'UPDATE points SET payload = ? WHERE collection_id = ? AND pid = ?',
      ),
      deletePoint: db.prepare<[number, Buffer]>('DELETE FROM points WHERE collection_id = ? AND pid = ?'),
      firstPoints: db.prepare<[number, number], PointRow>(
        'SELECT pid, vector, payload FROM points WHERE collection_id = ? ORDER BY pid LIMIT ?',
      ),
      pointsAfter: db.prepare<[number, Buffer, number], PointRow>(
        'SELECT pid, vector, payload FROM points WHERE collection_id = ? AND pid > ? ORDER BY pid LIMIT ?',
      ),
      scrollFirst: db.prepare<[number, number], { pid: Buffer }>(
        'SELECT pid FROM points WHERE collection_id = ? ORDER BY pid LIMIT ?',
      ),
      scrollFrom: db.prepare<[number, Buffer, number], { pid: Buffer }>(
        'SELECT pid FROM points WHERE collection_id = ? AND pid >= ? ORDER BY pid LIMIT ?',
      ),
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

  /** One transaction: every point is written, or none. */
  writePoints(collectionId: number, points: readonly PointWrite[]): void {
    this.db.transaction(() => {
      for (const p of points) {
        const blob = Buffer.from(p.vector.buffer, p.vector.byteOffset, p.vector.byteLength);
        this.stmts.upsertPoint.run(collectionId, p.pid, blob, p.payload);
      }
    })();
  }

  updatePayloads(collectionId: number, updates: readonly { pid: Buffer; payload: string }[]): void {
    this.db.transaction(() => {
      for (const u of updates) this.stmts.updatePayload.run(u.payload, collectionId, u.pid);
    })();
  }

  deletePoints(collectionId: number, pids: readonly Buffer[]): void {
    this.db.transaction(() => {
      for (const pid of pids) this.stmts.deletePoint.run(collectionId, pid);
    })();
  }

  /** One page of a collection's points in id order, after `after` (recovery reads in pages to stay responsive). */
  pointsPage(collectionId: number, after: Buffer | null, limit: number): PointRow[] {
    return after === null
      ? this.stmts.firstPoints.all(collectionId, limit)
      : this.stmts.pointsAfter.all(collectionId, after, limit);
  }

  /** Point ids in id order, from `from` (inclusive) on: scroll pages without a filter. */
  scrollIds(collectionId: number, from: Buffer | null, limit: number): Buffer[] {
    const rows =
      from === null
        ? this.stmts.scrollFirst.all(collectionId, limit)
        : this.stmts.scrollFrom.all(collectionId, from, limit);
    return rows.map((r) => r.pid);
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
