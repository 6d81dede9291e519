import type { TreeColumnKind } from '../index-engine/hqi/description.js';
import { leafDescriptions } from '../index-engine/hqi/tree.js';
import { describeLeaf } from '../index-engine/hqi/tree-codec.js';
import type { Catalog } from './catalog.js';
import type { Collection } from './collection.js';
import { StrataError } from './errors.js';
import type { FilterJson } from './filter-json.js';
import {
  DEFAULT_FLAT_LEAF_ROWS,
  DEFAULT_MAX_LEAVES,
  layoutOf,
  MAX_LEAVES,
  type PartitionRequest,
  PartitionStatus,
  type StoredTree,
  treeColumnsOf,
} from './partitioning.js';
import type { QueryLog } from './query-log.js';
import { filterTemplate } from './query-template.js';
import type { PartitioningConfig } from './types.js';

/** Distinct logged filters a re-partitioning learns from at most (the most recent ones). */
export const MAX_WORKLOAD_FILTERS = 20_000;

/** POST /collections/{name}/partitioning, as storage takes it. */
export interface RepartitionInput {
  readonly workload?: readonly { readonly filter: FilterJson; readonly weight?: number }[] | undefined;
  readonly min_leaf_points?: number | undefined;
  readonly max_leaves?: number | undefined;
  readonly flat_leaf_points?: number | undefined;
  readonly auto_repartition?:
    | { readonly drift_threshold?: number | undefined; readonly min_searches?: number | undefined }
    | null
    | undefined;
}

export const DEFAULT_DRIFT_THRESHOLD = 0.25;
export const DEFAULT_DRIFT_MIN_SEARCHES = 1_000;

/** Filtered searches since the live tree went live, and how many used a template it was not built for. */
interface Drift {
  readonly version: number;
  searches: number;
  unseen: number;
}

/** GET /collections/{name}/partitioning: the job and the live tree. */
export interface PartitionReport {
  readonly state: PartitionStatus['state'];
  readonly progress: number;
  readonly error: string | null;
  readonly auto_repartition: PartitioningConfig['auto_repartition'];
  /** Since the live tree went live (counted in memory from the server's start). */
  readonly drift: { readonly searches: number; readonly unseen_share: number } | null;
  readonly tree: null | {
    readonly version: number;
    readonly built_at: string;
    readonly columns: { key: string; kind: TreeColumnKind }[];
    readonly leaves: { leaf: number; points: number; segments: number; description: string }[];
    readonly overflow_points: number;
  };
}

/**
 * HQI's partitioning per collection: starts re-partitionings (the optimizer runs them, storage/optimizer.ts),
 * keeps their state, loads the live tree at recovery and reports it.
 */
export class PartitionManager {
  private readonly states = new WeakMap<Collection, PartitionStatus>();
  private readonly drifts = new WeakMap<Collection, Drift>();
  private readonly catalog: Catalog;
  private readonly queryLog: QueryLog;
  private readonly schedule: (collection: Collection) => void;

  private readonly log: (fields: Record<string, unknown>, message: string) => void;

  constructor(
    catalog: Catalog,
    queryLog: QueryLog,
    schedule: (collection: Collection) => void,
    log: (fields: Record<string, unknown>, message: string) => void = () => undefined,
  ) {
    this.catalog = catalog;
    this.queryLog = queryLog;
    this.schedule = schedule;
    this.log = log;
  }

  /**
   * Counts a search toward the workload drift of the live tree; when the collection asks for it and the drift
   * passes its threshold, re-partitions from the query log (with the last request's settings).
   */
  observe(collection: Collection, template: string | null): void {
    const layout = collection.partition;
    if (layout === null || template === null) return;
    let drift = this.drifts.get(collection);
    if (drift === undefined || drift.version !== layout.version) {
      drift = { version: layout.version, searches: 0, unseen: 0 };
      this.drifts.set(collection, drift);
    }
    drift.searches++;
    if (!layout.templates.has(template)) drift.unseen++;
    const auto = collection.config.partitioning?.auto_repartition ?? null;
    if (auto === null || drift.searches < auto.min_searches || drift.unseen / drift.searches <= auto.drift_threshold)
      return;
    if (this.statusOf(collection).state === 'building') return;
    const share = drift.unseen / drift.searches;
    drift.searches = 0; // one attempt per window of searches, even if this one fails
    drift.unseen = 0;
    this.start(collection, {}).then(
      () => this.log({ collection: collection.name, unseen_share: share }, 'workload drifted; re-partitioning'),
      (err: unknown) =>
        this.log({ collection: collection.name, err: (err as Error).message }, 'automatic re-partitioning not started'),
    );
  }

  statusOf(collection: Collection): PartitionStatus {
    let status = this.states.get(collection);
    if (status === undefined) {
      status = new PartitionStatus();
      this.states.set(collection, status);
    }
    return status;
  }

  /** Recovery: the live tree from the catalog; segments got their placement from their catalog rows. */
  load(collection: Collection): void {
    const row = this.catalog.liveTree(collection.id);
    if (row !== null) collection.partition = layoutOf(row.version, JSON.parse(row.tree) as StoredTree, row.created_at);
  }

  /**
   * Starts a re-partitioning: checks the request, resolves the workload (the body's, else the logged filters),
   * freezes the growing segment so every acknowledged row is laid out, and hands the job to the optimizer.
   * Resolves once the job is queued; `ended` resolves when it is done or failed.
   */
  async start(collection: Collection, input: RepartitionInput): Promise<PartitionStatus> {
    const status = this.statusOf(collection);
    if (status.state === 'building')
      throw new StrataError('STRATA_ERR_PARTITIONING_BUSY', [collection.name, collection.name]);
    const columns = treeColumnsOf(collection);
    if (columns.length === 0) throw new StrataError('STRATA_ERR_PARTITIONING_NO_COLUMNS', [collection.name]);
    const filters: { filter: FilterJson; weight: number }[] =
      input.workload !== undefined
        ? input.workload.map((w) => ({ filter: w.filter, weight: w.weight ?? 1 }))
        : this.queryLog
            .filters(collection.id, MAX_WORKLOAD_FILTERS)
            .map((r) => ({ filter: JSON.parse(r.filter) as FilterJson, weight: r.count }));
    const workload = filters.map((w) => ({ filter: collection.resolveFilter(w.filter), weight: w.weight }));
    if (workload.length === 0) {
      throw new StrataError('STRATA_ERR_PARTITIONING_NO_WORKLOAD', [
        input.workload !== undefined ? 'the workload is empty' : 'the query log holds no filtered search yet',
      ]);
    }
    const settings = this.settingsOf(collection, input);
    const request: PartitionRequest = {
      columns,
      workload,
      templates: [...new Set(filters.map((w) => filterTemplate(w.filter)!))],
      minLeafRows: settings.min_leaf_points ?? Math.max(1_000, Math.ceil(collection.pointsCount / 256)),
      maxLeaves: settings.max_leaves,
      flatLeafRows: settings.flat_leaf_points,
    };
    if (JSON.stringify(settings) !== JSON.stringify(collection.config.partitioning)) {
      const config = { ...collection.config, partitioning: settings };
      this.catalog.updateCollectionConfig(collection.id, JSON.stringify(config));
      collection.config = config;
    }
    status.begin(); // from here a second request is refused
    await collection.freezeGrowing();
    status.request = request; // only now may the optimizer take it: the growing rows are frozen
    this.schedule(collection);
    return status;
  }

  /** The request's settings over the collection's stored ones (a setting left out keeps its last value). */
  private settingsOf(collection: Collection, input: RepartitionInput): PartitioningConfig {
    const last = collection.config.partitioning;
    const auto = input.auto_repartition === undefined ? (last?.auto_repartition ?? null) : input.auto_repartition;
    return {
      min_leaf_points: input.min_leaf_points ?? last?.min_leaf_points ?? null,
      max_leaves: Math.min(MAX_LEAVES, input.max_leaves ?? last?.max_leaves ?? DEFAULT_MAX_LEAVES),
      flat_leaf_points: input.flat_leaf_points ?? last?.flat_leaf_points ?? DEFAULT_FLAT_LEAF_ROWS,
      auto_repartition:
        auto === null
          ? null
          : {
              drift_threshold: auto.drift_threshold ?? DEFAULT_DRIFT_THRESHOLD,
              min_searches: auto.min_searches ?? DEFAULT_DRIFT_MIN_SEARCHES,
            },
    };
  }

  report(collection: Collection): PartitionReport {
    const status = this.statusOf(collection);
    const layout = collection.partition;
    let tree: PartitionReport['tree'] = null;
    if (layout !== null) {
      const descriptions = leafDescriptions(layout.tree);
      const leaves = descriptions.map((d, leaf) => ({ leaf, points: 0, segments: 0, description: describeLeaf(d) }));
      let overflow = 0;
      for (const s of collection.segments) {
        if (s.sealedId === null || s.treeVersion !== layout.version) continue;
        if (s.leaf === null) overflow += s.liveCount;
        else {
          leaves[s.leaf]!.points += s.liveCount;
          leaves[s.leaf]!.segments++;
        }
      }
      tree = {
        version: layout.version,
        built_at: layout.builtAt,
        columns: layout.tree.columns.map((c) => ({ key: c.path, kind: c.kind })),
        leaves,
        overflow_points: overflow,
      };
    }
    const drift = this.drifts.get(collection);
    return {
      state: status.state,
      progress: status.progress,
      error: status.error,
      auto_repartition: collection.config.partitioning?.auto_repartition ?? null,
      drift:
        layout === null
          ? null
          : drift === undefined || drift.version !== layout.version
            ? { searches: 0, unseen_share: 0 }
            : { searches: drift.searches, unseen_share: drift.searches > 0 ? drift.unseen / drift.searches : 0 },
      tree,
    };
  }
}
