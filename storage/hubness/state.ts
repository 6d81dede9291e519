import type { NormalizerOutput } from '../../index-engine/hubness/index.js';
import type { NormalizersTask } from '../../workers/protocol.js';
import type { Collection, RowRef } from '../collection.js';
import { decodePointId, encodePointId, type PointId, parsePointIdText, pointIdKey } from '../point-id.js';
import { BANK_SIDES, type BankRow, type BankSide, type BankStore } from './bank-store.js';
import { DEFAULT_HUBNESS, type HubnessConfig } from './config.js';
import { type Bank, Generation, sharedVectors } from './generation.js';

/** Runs one normalizer block on the worker pool. */
export type NormalizerRunner = (task: NormalizersTask) => Promise<NormalizerOutput>;

/** Points per normalizer task: big enough to amortize a task, small enough to spread a job over the workers. */
const BLOCK_ROWS = 1024;

interface PointVector {
  readonly id: PointId;
  readonly key: string;
  readonly vector: Float32Array;
  /** Where the point lived when it was read (a rebuild checks it has not moved or changed since). */
  readonly ref?: RowRef;
}

/** What a write does about normalizers: rows written in its transaction, then memory updated after commit. */
export interface NormalizerWrite {
  readonly inTransaction: () => void;
  readonly apply: () => void;
}

class SideState {
  /** Normalizers in use by searches. */
  live: Generation | null = null;
  /** Normalizers being computed for a new bank or β; writes keep them up to date too. */
  pending: Generation | null = null;
  /** The newest bank stored for this side. */
  latest: Bank | null = null;
  waiters: { version: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
}

export interface BankInfo {
  readonly side: BankSide;
  readonly size: number;
  readonly version: number;
  readonly provenance: Record<string, unknown>;
  readonly created_at: string;
  readonly normalizers: {
    /** Normalizers for this bank version and the configured β are in use. */
    readonly current: boolean;
    /** A background job is computing new normalizers. */
    readonly computing: boolean;
    /** The bank version and β of the normalizers in use (null: none yet; searches score raw). */
    readonly in_use: { readonly version: number; readonly beta: number } | null;
  };
}

/**
 * DBNorm state of one collection (ALGORITHMS.md §2(b)): per side, the normalizers in use and those being
 * computed. Normalizers are keyed by point id, so sealing, merging and vacuuming never touch them; they are
 * persisted in SQLite (the point's write transaction, or one transaction when a rebuild switches over).
 */
export class Hubness {
  private readonly collection: Collection;
  private readonly store: BankStore;
  private readonly run: NormalizerRunner;
  private readonly parallel: number;
  private readonly log: (fields: Record<string, unknown>, message: string) => void;
  private readonly sides: Record<BankSide, SideState> = { query: new SideState(), gallery: new SideState() };
  private refreshing: Promise<void> | null = null;

  constructor(
    collection: Collection,
    store: BankStore,
    run: NormalizerRunner,
    options: { parallel: number; log: (fields: Record<string, unknown>, message: string) => void },
  ) {
    this.collection = collection;
    this.store = store;
    this.run = run;
    this.parallel = Math.max(1, options.parallel);
    this.log = options.log;
  }

  get config(): HubnessConfig {
    return this.collection.config.hubness ?? DEFAULT_HUBNESS;
  }

  private betaOf(side: BankSide): number {
    return side === 'query' ? this.config.beta_q : this.config.beta_g;
  }

  hasBank(side: BankSide): boolean {
    return this.sides[side].latest !== null;
  }

  /** The normalizers searches use now (null: none, so the side cannot rescore yet). */
  live(side: BankSide): Generation | null {
    return this.sides[side].live;
  }

  bankVectors(side: BankSide): Bank | null {
    return this.sides[side].latest;
  }

  describe(side: BankSide): BankInfo | null {
    const state = this.sides[side];
    const bank = state.latest;
    if (bank === null) return null;
    const live = state.live;
    return {
      side,
      size: bank.count,
      version: bank.version,
      provenance: bank.provenance,
      created_at: bank.createdAt,
      normalizers: {
        current: live !== null && live.bank.version === bank.version && live.beta === this.betaOf(side),
        computing: state.pending !== null,
        in_use: live === null ? null : { version: live.bank.version, beta: live.beta },
      },
    };
  }

  // ---- banks ----------------------------------------------------------------------------------------------

  /**
   * Stores a new bank and starts computing its normalizers in the background. The promise resolves once
   * the bank is stored, with `ready`, which resolves once its normalizers are in use.
   */
  setBank(
    side: BankSide,
    vectors: Float32Array,
    count: number,
    members: readonly (string | null)[] | null,
    provenance: unknown,
  ): { info: BankInfo; ready: Promise<void> } {
    const row = this.store.insertBank(this.collection.id, side, vectors, count, members, provenance);
    this.sides[side].latest = toBank(row);
    const ready = this.waitFor(side, row.version);
    this.startRebuild(side);
    return { info: this.describe(side)!, ready };
  }

  /** After a settings change: sides whose β changed get new normalizers; resolves once they are in use. */
  configChanged(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const side of BANK_SIDES) {
      const state = this.sides[side];
      if (state.latest === null) continue;
      const target = state.pending ?? state.live;
      if (target?.beta === this.betaOf(side) && target.bank.version === state.latest.version) continue;
      waits.push(this.waitFor(side, state.latest.version));
      this.startRebuild(side);
    }
    return Promise.all(waits).then(() => undefined);
  }

  private waitFor(side: BankSide, version: number): Promise<void> {
    return new Promise((resolve, reject) => this.sides[side].waiters.push({ version, resolve, reject }));
  }

  private settle(side: BankSide, error?: unknown): void {
    const state = this.sides[side];
    const inUse = state.live?.bank.version ?? 0;
    const keep: SideState['waiters'] = [];
    for (const w of state.waiters) {
      if (error !== undefined) w.reject(error);
      else if (w.version <= inUse && state.pending === null) w.resolve();
      else keep.push(w);
    }
    state.waiters = keep;
  }

  private startRebuild(side: BankSide): void {
    this.rebuild(side).catch((e: unknown) => {
      this.log({ collection: this.collection.name, side, err: String(e) }, 'hubness normalizer job failed');
      this.sides[side].pending = null;
      this.settle(side, e);
    });
  }

  /**
   * Background job: normalizers of every point for the side's newest bank and β. Writes made meanwhile
   * compute theirs for the new generation too; the switch happens in one catalog transaction, ordered with
   * the writes, and only if no newer job has started since.
   */
  private async rebuild(side: BankSide): Promise<void> {
    const state = this.sides[side];
    const gen = new Generation(state.latest!, this.betaOf(side));
    const rows = await this.collection.serialize(() => {
      state.pending = gen;
      return this.snapshot();
    });
    const started = Date.now();
    const out = await this.compute(gen, rows, () => state.pending !== gen);
    if (out === null) return;
    await this.collection.serialize(() => {
      if (state.pending !== gen) return;
      rows.forEach((row, i) => {
        if (!gen.norms.has(row.key) && this.collection.locate(row.id) !== undefined)
          gen.norms.set(row.key, out.logZ[i]!);
      });
      for (const [m, row, score] of gen.improvements(out, (r) => this.unchanged(rows[r]!)))
        gen.setTop1(m, rows[row]!.key, score);
      this.store.replaceLive(
        this.collection.id,
        side,
        gen.bank.version,
        gen.beta,
        [...gen.norms].map(([key, v]) => [encodeKey(key), v]),
        gen.top1Key.map((key, m) => [m, key === null ? null : encodeKey(key), gen.top1Score[m]!]),
      );
      state.live = gen;
      state.pending = null;
      this.settle(side);
    });
    this.log(
      { collection: this.collection.name, side, points: rows.length, bank: gen.bank.count, ms: Date.now() - started },
      'hubness normalizers in use',
    );
    this.scheduleRefresh();
  }

  /** Whether a point read by a snapshot still has the same row (so the same vector). */
  private unchanged(row: PointVector): boolean {
    const now = this.collection.locate(row.id);
    return now !== undefined && now.segment === row.ref?.segment && now.offset === row.ref.offset;
  }

  private snapshot(): PointVector[] {
    const out: PointVector[] = [];
    for (const ref of this.collection.liveRows()) {
      const id = ref.segment.ids[ref.offset]!;
      out.push({ id, key: pointIdKey(id), vector: ref.segment.vector(ref.offset), ref });
    }
    return out;
  }

  /**
   * Normalizers of `rows` against a generation's bank, in blocks on the pool (at most `parallel` at once);
   * null when `cancelled` turns true between blocks.
   */
  private async compute(
    gen: Generation,
    rows: readonly PointVector[],
    cancelled: () => boolean = () => false,
    bank: Bank = gen.bank,
    memberOf: (key: string) => number = (key) => bank.memberIndex?.get(key) ?? -1,
  ): Promise<NormalizerOutput | null> {
    const dim = this.collection.dim;
    const logZ = new Float32Array(rows.length);
    const bestScore = new Float64Array(bank.count).fill(Number.NEGATIVE_INFINITY);
    const bestRow = new Int32Array(bank.count).fill(-1);
    const blocks: number[] = [];
    for (let from = 0; from < rows.length; from += BLOCK_ROWS) blocks.push(from);
    const results: NormalizerOutput[] = new Array(blocks.length);
    let next = 0;
    let stop = false;
    const worker = async () => {
      while (next < blocks.length && !stop) {
        if (cancelled()) {
          stop = true;
          return;
        }
        const b = next++;
        const from = blocks[b]!;
        const count = Math.min(BLOCK_ROWS, rows.length - from);
        const vectors = new Float32Array(count * dim);
        const selfMember = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          vectors.set(rows[from + i]!.vector, i * dim);
          selfMember[i] = memberOf(rows[from + i]!.key);
        }
        results[b] = await this.run({
          kind: 'dbnorm_normalizers',
          distance: this.collection.distance,
          dim,
          vectors,
          count,
          bank: bank.vectors,
          bankCount: bank.count,
          beta: gen.beta,
          selfMember: bank.memberIndex === null ? null : selfMember,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.parallel, blocks.length) }, worker));
    if (stop) return null;
    // merged in block order, so ties go to the earlier row, as within one block
    results.forEach((r, b) => {
      logZ.set(r.logZ, blocks[b]!);
      for (let m = 0; m < bank.count; m++) {
        if (r.bestRow[m]! >= 0 && r.bestScore[m]! > bestScore[m]!) {
          bestScore[m] = r.bestScore[m]!;
          bestRow[m] = r.bestRow[m]! + blocks[b]!;
        }
      }
    });
    return { logZ, bestScore, bestRow };
  }

  // ---- writes ---------------------------------------------------------------------------------------------

  /**
   * Called inside the collection's write queue before points are written: computes their normalizers for
   * every generation in use or being built (on the pool), and returns what to persist and apply.
   */
  async beforeWrite(points: readonly { id: PointId; vector: Float32Array }[]): Promise<NormalizerWrite | null> {
    const gens: { side: BankSide; gen: Generation; isLive: boolean }[] = [];
    for (const side of BANK_SIDES) {
      const { live, pending } = this.sides[side];
      if (live) gens.push({ side, gen: live, isLive: true });
      if (pending) gens.push({ side, gen: pending, isLive: false });
    }
    if (gens.length === 0 || points.length === 0) return null;
    const rows = points.map((p) => ({ id: p.id, key: pointIdKey(p.id), vector: p.vector }));
    const outs = await Promise.all(gens.map(({ gen }) => this.compute(gen, rows)));
    const pids = rows.map((r) => encodePointId(r.id));
    // the last write of a repeated id wins, as in the points table
    const lastOf = new Map(rows.map((r, i) => [r.key, i]));
    const plans = gens.map(({ side, gen, isLive }, g) => {
      const out = outs[g]!;
      return { side, gen, isLive, out };
    });
    return {
      inTransaction: () => {
        for (const { side, gen, isLive, out } of plans) {
          if (!isLive) continue;
          this.store.putNorms(
            this.collection.id,
            side,
            [...lastOf.values()].map((i) => [pids[i]!, out.logZ[i]!]),
          );
          const changes = gen.improvements(out, (r) => lastOf.get(rows[r]!.key) === r);
          this.store.putTop1(
            this.collection.id,
            side,
            changes.map(([m, r, score]) => [m, pids[r]!, score]),
          );
        }
      },
      apply: () => {
        let stale = false;
        for (const { side, gen, isLive, out } of plans) {
          const touched = gen.forget(lastOf.keys());
          if (touched.length > 0) {
            stale = true;
            if (isLive) this.persistTop1(side, gen, touched);
          }
          for (const [key, i] of lastOf) gen.norms.set(key, out.logZ[i]!);
          for (const [m, r, score] of gen.improvements(out, (r) => lastOf.get(rows[r]!.key) === r))
            gen.setTop1(m, rows[r]!.key, score);
        }
        if (stale) this.scheduleRefresh();
      },
    };
  }

  /** After points were deleted: their normalizers go, and members whose top-1 they were are re-found. */
  afterDelete(ids: readonly PointId[]): void {
    if (ids.length === 0) return;
    const keys = ids.map(pointIdKey);
    let stale = false;
    for (const side of BANK_SIDES) {
      for (const gen of [this.sides[side].live, this.sides[side].pending]) {
        if (gen === null) continue;
        const touched = gen.forget(keys);
        if (touched.length > 0) {
          stale = true;
          if (gen === this.sides[side].live) this.persistTop1(side, gen, touched);
        }
      }
    }
    if (this.sides.query.latest !== null || this.sides.gallery.latest !== null)
      this.store.deleteNorms(this.collection.id, ids.map(encodePointId));
    if (stale) this.scheduleRefresh();
  }

  private persistTop1(side: BankSide, gen: Generation, members: readonly number[]): void {
    this.store.putTop1(
      this.collection.id,
      side,
      members.map((m) => [m, gen.top1Key[m] == null ? null : encodeKey(gen.top1Key[m]!), gen.top1Score[m]!]),
    );
  }

  /** Re-finds the top-1 of stale members (their top-1 was deleted or changed) over all points, soon. */
  private scheduleRefresh(): void {
    if (this.refreshing !== null) return;
    this.refreshing = new Promise<void>((resolve) => setTimeout(resolve, 50).unref())
      .then(() => this.refreshStale())
      .catch((e: unknown) => this.log({ collection: this.collection.name, err: String(e) }, 'hubness refresh failed'))
      .finally(() => {
        this.refreshing = null;
      });
  }

  /** Waits for background top-1 refreshes (tests and shutdown). */
  async settled(): Promise<void> {
    while (this.refreshing !== null) await this.refreshing;
  }

  private async refreshStale(): Promise<void> {
    for (const side of BANK_SIDES) {
      const gen = this.sides[side].live;
      if (gen === null || gen.stale.size === 0 || this.collection.dropped) continue;
      const members = [...gen.stale];
      gen.stale.clear();
      const dim = this.collection.dim;
      const vectors = new Float32Array(new SharedArrayBuffer(members.length * dim * 4));
      members.forEach((m, j) => {
        vectors.set(gen.bank.vectors.subarray(m * dim, (m + 1) * dim), j * dim);
      });
      const position = new Map(members.map((m, j) => [m, j]));
      const sub: Bank = { ...gen.bank, count: members.length, vectors, memberIndex: null };
      const rows = await this.collection.serialize(() => this.snapshot());
      const memberOf = (key: string) => position.get(gen.bank.memberIndex?.get(key) ?? -1) ?? -1;
      const out = await this.compute(gen, rows, () => this.sides[side].live !== gen, sub, memberOf);
      if (out === null) continue;
      await this.collection.serialize(() => {
        if (this.sides[side].live !== gen) return;
        const changed: number[] = [];
        members.forEach((m, j) => {
          const r = out.bestRow[j]!;
          if (r < 0 || out.bestScore[j]! <= gen.top1Score[m]!) return;
          if (!this.unchanged(rows[r]!)) {
            gen.stale.add(m);
            return;
          }
          gen.setTop1(m, rows[r]!.key, out.bestScore[j]!);
          changed.push(m);
        });
        this.persistTop1(side, gen, changed);
      });
      if (gen.stale.size > 0) this.scheduleRefresh();
    }
  }

  // ---- recovery -------------------------------------------------------------------------------------------

  /**
   * Recovery, after the collection's points are loaded: the banks and the normalizers in use come back from
   * SQLite; points without a normalizer get one; a job whose switch never happened (a crash) starts again.
   */
  async load(): Promise<void> {
    const id = this.collection.id;
    for (const row of this.store.latestBanks(id)) this.sides[row.side].latest = toBank(row);
    for (const live of this.store.live(id)) {
      const row = this.store.bank(id, live.side, live.bank_version);
      if (row === undefined) continue;
      const gen = new Generation(toBank(row), live.beta);
      for (const n of this.store.norms(id, live.side)) gen.norms.set(pointIdKey(decodePointId(n.pid)), n.log_z);
      for (const t of this.store.top1(id, live.side)) {
        const key = t.pid === null ? null : pointIdKey(decodePointId(t.pid));
        if (key === null || !gen.norms.has(key)) gen.stale.add(t.member);
        else gen.setTop1(t.member, key, t.score);
      }
      this.sides[live.side].live = gen;
      await this.catchUp(live.side, gen);
    }
    for (const side of BANK_SIDES) {
      const state = this.sides[side];
      if (state.latest === null) continue;
      if (state.live?.bank.version !== state.latest.version || state.live.beta !== this.betaOf(side))
        this.startRebuild(side);
    }
    this.scheduleRefresh();
  }

  /** Normalizers for live points that have none (written before a crash cut a job short, say). */
  private async catchUp(side: BankSide, gen: Generation): Promise<void> {
    const missing = this.snapshot().filter((r) => !gen.norms.has(r.key));
    if (missing.length === 0) return;
    const out = (await this.compute(gen, missing))!;
    this.store.putNorms(
      this.collection.id,
      side,
      missing.map((r, i) => [encodePointId(r.id), out.logZ[i]!]),
    );
    missing.forEach((r, i) => {
      gen.norms.set(r.key, out.logZ[i]!);
    });
    const changes = gen.improvements(out);
    for (const [m, r, score] of changes) gen.setTop1(m, missing[r]!.key, score);
    this.persistTop1(
      side,
      gen,
      changes.map(([m]) => m),
    );
  }

  /** Test hook: a copy of the side's normalizers in use and its members' top-1 keys. */
  inspect(side: BankSide): { norms: Map<string, number>; top1: (string | null)[] } | null {
    const gen = this.sides[side].live;
    return gen === null ? null : { norms: new Map(gen.norms), top1: [...gen.top1Key] };
  }
}

function toBank(row: BankRow): Bank {
  const floats = new Float32Array(row.vectors.buffer, row.vectors.byteOffset, row.vectors.byteLength / 4);
  const members = row.members === null ? null : (JSON.parse(row.members) as (string | null)[]);
  const memberIndex = new Map<string, number>();
  members?.forEach((key, m) => {
    if (key !== null) memberIndex.set(key, m);
  });
  return {
    version: row.version,
    count: row.count,
    vectors: sharedVectors(floats),
    memberIndex: members === null ? null : memberIndex,
    provenance: JSON.parse(row.provenance) as Record<string, unknown>,
    createdAt: row.created_at,
  };
}

function encodeKey(key: string): Buffer {
  return encodePointId(parsePointIdText(key));
}
