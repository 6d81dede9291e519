import type { HubnessStats, NormalizerOutput } from '../../index-engine/hubness/index.js';
import type { HubnessStatsTask, NormalizersTask } from '../../workers/protocol.js';
import type { Catalog } from '../catalog.js';
import type { Collection } from '../collection.js';
import { StrataError } from '../errors.js';
import { type PointId, pointIdKey } from '../point-id.js';
import type { QueryLog } from '../query-log.js';
import type { SearchOutcome } from '../search.js';
import type { SearchInput } from '../types.js';
import { type BankSide, BankStore } from './bank-store.js';
import {
  DEFAULT_HUBNESS,
  type HubnessConfig,
  type HubnessConfigInput,
  MAX_BANK_SIZE,
  mergeHubnessConfig,
} from './config.js';
import { type BankInfo, Hubness } from './state.js';

/** Stored points used as diagnostic queries when the collection has no query bank. */
const DIAGNOSTIC_SAMPLE = 1000;
/** Searches per pool call in diagnostics. */
const DIAGNOSTIC_BATCH = 256;

export interface HubnessManagerOptions {
  readonly normalizers: (task: NormalizersTask) => Promise<NormalizerOutput>;
  readonly stats: (task: HubnessStatsTask) => Promise<HubnessStats>;
  /** Searches that are not query-logged (diagnostics). */
  readonly search: (collection: Collection, inputs: readonly SearchInput[]) => Promise<SearchOutcome[]>;
  /** Normalizer tasks one job keeps in flight (the pool's threads). */
  readonly parallel: number;
  /** The workload log, where `from_log` banks come from (owned by the Database). */
  readonly queryLog: QueryLog;
  readonly log: (fields: Record<string, unknown>, message: string) => void;
}

export type QueryBankInput =
  | { readonly vectors: readonly (readonly number[])[] }
  | { readonly from_log: { readonly size: number } };
export type GalleryBankInput = { readonly vectors: readonly (readonly number[])[] } | { readonly sample: number };

export interface HubnessSideReport extends Omit<HubnessStats, 'hubs'> {
  readonly hubs: { id: PointId; count: number }[];
}

export interface HubnessReport {
  readonly k: number;
  /** `query_bank`, or `stored_points` (a sample; a point never counts as its own neighbour). */
  readonly query_source: 'query_bank' | 'stored_points';
  readonly queries: number;
  readonly method: string;
  readonly raw: HubnessSideReport;
  /** With the collection's rescoring method; null for method none or while its first normalizers compute. */
  readonly rescored: HubnessSideReport | null;
}

/**
 * DBNorm for every collection of a Database: banks, normalizer state, rescoring settings. `from_log` query banks
 * read the Database's query log.
 */
export class HubnessManager {
  readonly queryLog: QueryLog;
  private readonly store: BankStore;
  private readonly catalog: Catalog;
  private readonly options: HubnessManagerOptions;
  private readonly states = new Map<Collection, Hubness>();

  constructor(catalog: Catalog, options: HubnessManagerOptions) {
    this.catalog = catalog;
    this.options = options;
    this.store = new BankStore(catalog);
    this.queryLog = options.queryLog;
  }

  /** Gives a collection its DBNorm state and hooks its writes (new points get normalizers). */
  attach(collection: Collection): Hubness {
    const state = new Hubness(collection, this.store, this.options.normalizers, {
      parallel: this.options.parallel,
      log: this.options.log,
    });
    this.states.set(collection, state);
    collection.writeHooks = state;
    return state;
  }

  detach(collection: Collection): void {
    this.states.delete(collection);
  }

  of(collection: Collection): Hubness | null {
    return this.states.get(collection) ?? null;
  }

  private must(collection: Collection): Hubness {
    return this.of(collection) ?? this.attach(collection);
  }

  /** Recovery, after the collection's points are loaded. */
  load(collection: Collection): Promise<void> {
    return this.must(collection).load();
  }

  bankInfo(collection: Collection, side: BankSide): BankInfo | null {
    return this.must(collection).describe(side);
  }

  async putQueryBank(collection: Collection, input: QueryBankInput, wait: boolean): Promise<BankInfo> {
    if ('vectors' in input)
      return this.putBank(
        collection,
        'query',
        this.given(collection, input.vectors),
        null,
        { source: 'vectors' },
        wait,
      );
    const size = checkSize(input.from_log.size);
    const logged = this.queryLog.size(collection.id);
    const vectors = this.queryLog.sample(collection.id, size);
    if (vectors.length === 0)
      throw new StrataError('STRATA_ERR_BANK_SOURCE', [`the query log of \`${collection.name}\` is empty`]);
    return this.putBank(
      collection,
      'query',
      vectors,
      null,
      { source: 'from_log', requested: size, log_size: logged },
      wait,
    );
  }

  async putGalleryBank(collection: Collection, input: GalleryBankInput, wait: boolean): Promise<BankInfo> {
    if ('vectors' in input)
      return this.putBank(
        collection,
        'gallery',
        this.given(collection, input.vectors),
        null,
        { source: 'vectors' },
        wait,
      );
    const size = checkSize(input.sample);
    const picked = samplePoints(collection, size);
    if (picked.length === 0)
      throw new StrataError('STRATA_ERR_BANK_SOURCE', [`collection \`${collection.name}\` has no points to sample`]);
    return this.putBank(
      collection,
      'gallery',
      picked.map((p) => p.vector),
      picked.map((p) => p.key),
      { source: 'sample', requested: size, points: collection.pointsCount },
      wait,
    );
  }

  private given(collection: Collection, vectors: readonly (readonly number[])[]): Float32Array[] {
    checkSize(vectors.length);
    return vectors.map((v, i) => collection.prepareVector(v, `${i} of the bank`));
  }

  private async putBank(
    collection: Collection,
    side: BankSide,
    vectors: readonly Float32Array[],
    members: readonly string[] | null,
    provenance: Record<string, unknown>,
    wait: boolean,
  ): Promise<BankInfo> {
    const dim = collection.dim;
    const flat = new Float32Array(vectors.length * dim);
    vectors.forEach((v, i) => {
      flat.set(v, i * dim);
    });
    const { info, ready } = this.must(collection).setBank(side, flat, vectors.length, members, provenance);
    if (!wait) {
      ready.catch(() => undefined);
      return info;
    }
    await ready;
    return this.must(collection).describe(side)!;
  }

  /** PATCH: merges the hubness setting, stores it, and recomputes normalizers whose β changed. */
  async updateSettings(collection: Collection, input: HubnessConfigInput, wait: boolean): Promise<HubnessConfig> {
    const hubness = mergeHubnessConfig(collection.config.hubness ?? DEFAULT_HUBNESS, input);
    const config = { ...collection.config, hubness };
    this.catalog.updateCollectionConfig(collection.id, JSON.stringify(config));
    collection.config = config;
    const ready = this.must(collection).configChanged();
    if (wait) await ready;
    else ready.catch(() => undefined);
    return hubness;
  }

  /**
   * k-occurrence over the query bank (or a sample of stored points): N_k skewness, hub occupancy, the largest
   * hubs and a histogram, without and with the collection's rescoring. Searches and statistics run on the pool.
   */
  async diagnostics(collection: Collection, k: number): Promise<HubnessReport> {
    const state = this.must(collection);
    const bank = state.bankVectors('query');
    const dim = collection.dim;
    const queries: { vector: number[]; self: string | null }[] = bank
      ? Array.from({ length: bank.count }, (_, i) => ({
          vector: Array.from(bank.vectors.subarray(i * dim, (i + 1) * dim)),
          self: null,
        }))
      : samplePoints(collection, DIAGNOSTIC_SAMPLE).map((p) => ({ vector: Array.from(p.vector), self: p.key }));
    const numbering = new Map<string, number>();
    const ids: PointId[] = [];
    for (const ref of collection.liveRows()) {
      const id = ref.segment.ids[ref.offset]!;
      numbering.set(pointIdKey(id), ids.length);
      ids.push(id);
    }
    const method = state.config.method;
    const rescoredReady =
      method !== 'none' &&
      state.live('query') !== null &&
      (method.startsWith('dual') ? state.live('gallery') !== null : true);
    const report = async (rescore: string): Promise<HubnessSideReport> => {
      const lists = new Int32Array(queries.length * k).fill(-1);
      for (let from = 0; from < queries.length; from += DIAGNOSTIC_BATCH) {
        const batch = queries.slice(from, from + DIAGNOSTIC_BATCH);
        const outcomes = await this.options.search(
          collection,
          batch.map((q) => ({ vector: q.vector, limit: k + (q.self === null ? 0 : 1), params: { rescore } })),
        );
        outcomes.forEach((o, j) => {
          const self = batch[j]!.self;
          const kept = o.points.filter((p) => pointIdKey(p.id) !== self).slice(0, k);
          kept.forEach((p, slot) => {
            lists[(from + j) * k + slot] = numbering.get(pointIdKey(p.id)) ?? -1;
          });
        });
      }
      const stats = await this.options.stats({ kind: 'hubness_stats', lists, k, points: ids.length });
      return { ...stats, hubs: stats.hubs.map((h) => ({ id: ids[h.index]!, count: h.count })) };
    };
    return {
      k,
      query_source: bank ? 'query_bank' : 'stored_points',
      queries: queries.length,
      method,
      raw: await report('none'),
      rescored: rescoredReady ? await report(method) : null,
    };
  }
}

function checkSize(size: number): number {
  if (!Number.isInteger(size) || size < 1 || size > MAX_BANK_SIZE)
    throw new StrataError('STRATA_ERR_BANK_SOURCE', [`a bank holds 1 to ${MAX_BANK_SIZE} vectors, not ${size}`]);
  return size;
}

/** Up to `size` distinct live points chosen uniformly at random (partial Fisher–Yates). */
function samplePoints(collection: Collection, size: number): { key: string; vector: Float32Array }[] {
  const rows = [...collection.liveRows()];
  const n = Math.min(size, rows.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (rows.length - i));
    [rows[i], rows[j]] = [rows[j]!, rows[i]!];
  }
  return rows.slice(0, n).map((ref) => ({
    key: pointIdKey(ref.segment.ids[ref.offset]!),
    vector: Float32Array.from(ref.segment.vector(ref.offset)),
  }));
}
