import type { Distance } from '../index-engine/index.js';
import type { FilterJson } from './filter-json.js';
import type { HubnessConfig, HubnessConfigInput } from './hubness/config.js';
import type { PointId } from './point-id.js';

/** Qdrant-shaped collection configuration, as stored in the catalog and returned by GET /collections/{name}. */
export interface CollectionConfig {
  readonly params: {
    readonly vectors: { readonly size: number; readonly distance: Distance };
    readonly shard_number: number;
    readonly replication_factor: number;
    readonly write_consistency_factor: number;
    readonly on_disk_payload: boolean;
  };
  readonly hnsw_config: Readonly<Record<string, unknown>> & {
    readonly m: number;
    readonly ef_construct: number;
    readonly full_scan_threshold: number;
  };
  readonly optimizer_config: Readonly<Record<string, unknown>> & {
    readonly indexing_threshold: number;
    readonly deleted_threshold: number;
    readonly vacuum_min_vector_number: number;
    readonly max_segment_size: number | null;
  };
  readonly wal_config: { readonly wal_capacity_mb: number; readonly wal_segments_ahead: number };
  readonly quantization_config: Readonly<Record<string, unknown>> | null;
  /** DBNorm hubness-aware rescoring (absent: method none with the default βs). */
  readonly hubness?: HubnessConfig;
  /** HQI: the settings of the last re-partitioning, and whether a drifting workload re-partitions by itself. */
  readonly partitioning?: PartitioningConfig;
}

/** HQI settings kept in the collection config (POST /collections/{name}/partitioning sets them). */
export type PartitioningConfig = {
  readonly min_leaf_points: number | null;
  readonly max_leaves: number;
  readonly flat_leaf_points: number;
  /**
   * Re-partition from the query log once `min_searches` filtered searches since the tree went live include more
   * than `drift_threshold` of searches whose predicate template the tree was not built for; null = never.
   */
  readonly auto_repartition: { readonly drift_threshold: number; readonly min_searches: number } | null;
};

export interface CreateCollectionInput {
  readonly vectors: { readonly size: number; readonly distance: Distance };
  readonly hnsw_config?: Readonly<Record<string, unknown>> | null | undefined;
  readonly optimizers_config?: Readonly<Record<string, unknown>> | null | undefined;
  readonly quantization_config?: Readonly<Record<string, unknown>> | null | undefined;
  readonly hubness?: HubnessConfigInput | null | undefined;
}

/**
 * Cancels a search: an AbortSignal, or a function that makes one when first asked. Storage asks only when it
 * hands work to the pool, so a search answered on the calling thread (most single searches) costs no signal.
 */
export type SearchSignal = AbortSignal | (() => AbortSignal);

export type PayloadFieldSchema = 'keyword' | 'integer' | 'float' | 'bool' | 'datetime' | 'uuid';

export interface PointInput {
  readonly id: unknown;
  readonly vector: readonly number[];
  readonly payload?: Readonly<Record<string, unknown>> | null | undefined;
}

/** Which payload fields to return: all, none, only some keys, or all but some keys. */
export type WithPayload =
  | boolean
  | readonly string[]
  | { readonly include: readonly string[] }
  | { readonly exclude: readonly string[] };

export interface PointRecord {
  readonly id: PointId;
  readonly payload: Record<string, unknown> | null;
  readonly vector: number[] | null;
}

export interface ScoredPoint extends PointRecord {
  readonly version: number;
  readonly score: number;
  readonly raw_score?: number;
}

export interface SearchInput {
  readonly vector: readonly number[];
  readonly filter?: FilterJson | null | undefined;
  readonly limit: number;
  readonly offset?: number | null | undefined;
  readonly with_payload?: WithPayload | null | undefined;
  readonly with_vector?: boolean | null | undefined;
  readonly score_threshold?: number | null | undefined;
  readonly params?: SearchParams | null | undefined;
  /** Strata: add `raw_score`, the similarity before hubness rescoring. */
  readonly with_raw_score?: boolean | null | undefined;
}

/** Qdrant's search params; `explain` is Strata's: return the plan of every segment with the results. */
export interface SearchParams {
  readonly hnsw_ef?: number | undefined;
  readonly exact?: boolean | undefined;
  readonly explain?: boolean | undefined;
  /** Strata: hubness rescoring method for this search (overrides the collection's `hubness.method`). */
  readonly rescore?: string | undefined;
  readonly quantization?:
    | {
        readonly ignore?: boolean | undefined;
        readonly rescore?: boolean | undefined;
        readonly oversampling?: number | undefined;
      }
    | null
    | undefined;
}

/** Points chosen by id or by filter (delete and payload edits). */
export type PointSelector = { readonly points: readonly unknown[] } | { readonly filter: FilterJson };

export interface ScrollInput {
  readonly filter?: FilterJson | null | undefined;
  readonly limit?: number | null | undefined;
  readonly offset?: unknown;
  readonly with_payload?: WithPayload | null | undefined;
  readonly with_vector?: boolean | null | undefined;
}
