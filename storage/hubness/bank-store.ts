import type BetterSqlite3 from 'better-sqlite3';
import type { Catalog } from '../catalog.js';

export type BankSide = 'query' | 'gallery';
export const BANK_SIDES: readonly BankSide[] = ['query', 'gallery'];

export interface BankRow {
  readonly side: BankSide;
  readonly version: number;
  readonly count: number;
  readonly vectors: Buffer;
  /** JSON: per member, the point key it was sampled from, or null. */
  readonly members: string | null;
  readonly provenance: string;
  readonly created_at: string;
}

export interface LiveRow {
  readonly side: BankSide;
  readonly bank_version: number;
  readonly beta: number;
}

export interface NormRow {
  readonly pid: Buffer;
  readonly log_z: number;
}

export interface Top1Row {
  readonly member: number;
  readonly pid: Buffer | null;
  readonly score: number;
}

/** The DBNorm tables (migration 3): banks by version, the normalizers in use per side, and members' top-1. */
export class BankStore {
  private readonly catalog: Catalog;
  private readonly stmts;

  constructor(catalog: Catalog) {
    this.catalog = catalog;
    const db: BetterSqlite3.Database = catalog.sqlite;
    this.stmts = {
      insertBank: db.prepare<[number, string, number, number, Buffer, string | null, string, string]>(
        `INSERT INTO dbnorm_banks (collection_id, side, version, count, vectors, members, provenance, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      latestBanks: db.prepare<[number], BankRow>(
        `SELECT side, version, count, vectors, members, provenance, created_at FROM dbnorm_banks b
         WHERE collection_id = ? AND version = (SELECT MAX(version) FROM dbnorm_banks
           WHERE collection_id = b.collection_id AND side = b.side)`,
      ),
      bank: db.prepare<[number, string, number], BankRow>(
        `SELECT side, version, count, vectors, members, provenance, created_at FROM dbnorm_banks
         WHERE collection_id = ? AND side = ? AND version = ?`,
      ),
      maxVersion: db.prepare<[number, string], { v: number | null }>(
        'SELECT MAX(version) AS v FROM dbnorm_banks WHERE collection_id = ? AND side = ?',
      ),
      dropOldBanks: db.prepare<[number, string, number]>(
        'DELETE FROM dbnorm_banks WHERE collection_id = ? AND side = ? AND version < ?',
      ),
      live: db.prepare<[number], LiveRow>('SELECT side, bank_version, beta FROM dbnorm_live WHERE collection_id = ?'),
      setLive: db.prepare<[number, string, number, number]>(
        'INSERT OR REPLACE INTO dbnorm_live (collection_id, side, bank_version, beta) VALUES (?, ?, ?, ?)',
      ),
      norms: db.prepare<[number, string], NormRow>(
        'SELECT pid, log_z FROM dbnorm_norms WHERE collection_id = ? AND side = ?',
      ),
      clearNorms: db.prepare<[number, string]>('DELETE FROM dbnorm_norms WHERE collection_id = ? AND side = ?'),
      putNorm: db.prepare<[number, string, Buffer, number]>(
        'INSERT OR REPLACE INTO dbnorm_norms (collection_id, side, pid, log_z) VALUES (?, ?, ?, ?)',
      ),
      deleteNorm: db.prepare<[number, Buffer]>('DELETE FROM dbnorm_norms WHERE collection_id = ? AND pid = ?'),
      top1: db.prepare<[number, string], Top1Row>(
        'SELECT member, pid, score FROM dbnorm_top1 WHERE collection_id = ? AND side = ? ORDER BY member',
      ),
      clearTop1: db.prepare<[number, string]>('DELETE FROM dbnorm_top1 WHERE collection_id = ? AND side = ?'),
      putTop1: db.prepare<[number, string, number, Buffer | null, number]>(
        'INSERT OR REPLACE INTO dbnorm_top1 (collection_id, side, member, pid, score) VALUES (?, ?, ?, ?, ?)',
      ),
    };
  }

  /** Stores a new bank version (the previous ones stay until normalizers for this one are in use). */
  insertBank(
    collectionId: number,
    side: BankSide,
    vectors: Float32Array,
    count: number,
    members: readonly (string | null)[] | null,
    provenance: unknown,
  ): BankRow {
    const version = (this.stmts.maxVersion.get(collectionId, side)?.v ?? 0) + 1;
    const row: BankRow = {
      side,
      version,
      count,
      vectors: Buffer.from(vectors.buffer, vectors.byteOffset, vectors.byteLength),
      members: members === null ? null : JSON.stringify(members),
      provenance: JSON.stringify(provenance),
      created_at: new Date().toISOString(),
    };
    this.stmts.insertBank.run(
      collectionId,
      side,
      version,
      count,
      row.vectors,
      row.members,
      row.provenance,
      row.created_at,
    );
    return row;
  }

  latestBanks(collectionId: number): BankRow[] {
    return this.stmts.latestBanks.all(collectionId);
  }

  bank(collectionId: number, side: BankSide, version: number): BankRow | undefined {
    return this.stmts.bank.get(collectionId, side, version);
  }

  live(collectionId: number): LiveRow[] {
    return this.stmts.live.all(collectionId);
  }

  norms(collectionId: number, side: BankSide): NormRow[] {
    return this.stmts.norms.all(collectionId, side);
  }

  top1(collectionId: number, side: BankSide): Top1Row[] {
    return this.stmts.top1.all(collectionId, side);
  }

  /** Inside a transaction: the given normalizers and top-1s of the side's live generation. */
  putNorms(collectionId: number, side: BankSide, norms: Iterable<[Buffer, number]>): void {
    for (const [pid, value] of norms) this.stmts.putNorm.run(collectionId, side, pid, value);
  }

  putTop1(collectionId: number, side: BankSide, top1: Iterable<[number, Buffer | null, number]>): void {
    for (const [member, pid, score] of top1) this.stmts.putTop1.run(collectionId, side, member, pid, score);
  }

  deleteNorms(collectionId: number, pids: readonly Buffer[]): void {
    this.catalog.transaction(() => {
      for (const pid of pids) this.stmts.deleteNorm.run(collectionId, pid);
    });
  }

  /** One transaction: the side's normalizers and top-1s become `norms`/`top1`, of bank `version` with `beta`. */
  replaceLive(
    collectionId: number,
    side: BankSide,
    version: number,
    beta: number,
    norms: Iterable<[Buffer, number]>,
    top1: Iterable<[number, Buffer | null, number]>,
  ): void {
    this.catalog.transaction(() => {
      this.stmts.clearNorms.run(collectionId, side);
      this.stmts.clearTop1.run(collectionId, side);
      this.putNorms(collectionId, side, norms);
      this.putTop1(collectionId, side, top1);
      this.stmts.setLive.run(collectionId, side, version, beta);
      this.stmts.dropOldBanks.run(collectionId, side, version);
    });
  }
}
