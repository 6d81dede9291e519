import type { TreeColumnKind } from '../index-engine/hqi/description.js';
import { leafDescriptions } from '../index-engine/hqi/tree.js';
import { describeLeaf, type TreeJson } from '../index-engine/hqi/tree-codec.js';
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
  treeColumnsOf,
} from './partitioning.js';
import type { QueryLog } from './query-log.js';

/** Distinct logged filters a re-partitioning learns from at most (the most recent ones). */
export const MAX_WORKLOAD_FILTERS = 20_000;

/** POST /collections/{name}/partitioning, as storage takes it. */
export interface RepartitionInput {
  readonly workload?: readonly { readonly filter: FilterJson; readonly weight?: number }[] | undefined;
  readonly min_leaf_points?: number | undefined;
  readonly max_leaves?: number | undefined;
  readonly flat_leaf_points?: number | undefined;
}

/** GET /collections/{name}/partitioning: the job and the live tree. */
export interface PartitionReport {
  readonly state: PartitionStatus['state'];
  readonly progress: number;
  readonly error: string | null;
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
  private readonly catalog: Catalog;
  private readonly queryLog: QueryLog;
  private readonly schedule: (collection: Collection) => void;

  constructor(catalog: Catalog, queryLog: QueryLog, schedule: (collection: Collection) => void) {
    this.catalog = catalog;
    this.queryLog = queryLog;
    this.schedule = schedule;
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
    if (row !== null) collection.partition = layoutOf(row.version, JSON.parse(row.tree) as TreeJson, row.created_at);
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
    if (treeColumnsOf(collection).length === 0)
      throw new StrataError('STRATA_ERR_PARTITIONING_NO_COLUMNS', [collection.name]);
    const workload =
      input.workload !== undefined
        ? input.workload.map((w) => ({ filter: collection.resolveFilter(w.filter), weight: w.weight ?? 1 }))
        : this.queryLog.filters(collection.id, MAX_WORKLOAD_FILTERS).map((r) => ({
            filter: collection.resolveFilter(JSON.parse(r.filter) as FilterJson),
            weight: r.count,
          }));
    if (workload.length === 0) {
      throw new StrataError('STRATA_ERR_PARTITIONING_NO_WORKLOAD', [
        input.workload !== undefined ? 'the workload is empty' : 'the query log holds no filtered search yet',
      ]);
    }
    const points = collection.pointsCount;
    const request: PartitionRequest = {
      workload,
      minLeafRows: input.min_leaf_points ?? Math.max(1_000, Math.ceil(points / 256)),
      maxLeaves: Math.min(MAX_LEAVES, input.max_leaves ?? DEFAULT_MAX_LEAVES),
      flatLeafRows: input.flat_leaf_points ?? DEFAULT_FLAT_LEAF_ROWS,
    };
    status.begin(); // from here a second request is refused
    await collection.freezeGrowing();
    status.request = request; // only now may the optimizer take it: the growing rows are frozen
    this.schedule(collection);
    return status;
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
    return { state: status.state, progress: status.progress, error: status.error, tree };
  }
}
