import { DEFAULT_HUBNESS, mergeHubnessConfig } from './hubness/config.js';
import type { CollectionConfig, CreateCollectionInput } from './types.js';

/** Qdrant's defaults for the parts of the config Strata keeps (HNSW and quantization are used by the index). */
export const DEFAULT_HNSW_CONFIG = {
  m: 16,
  ef_construct: 100,
  full_scan_threshold: 10000,
  max_indexing_threads: 0,
  on_disk: false,
} as const;

export const DEFAULT_OPTIMIZER_CONFIG = {
  deleted_threshold: 0.2,
  vacuum_min_vector_number: 1000,
  default_segment_number: 0,
  max_segment_size: null,
  memmap_threshold: null,
  indexing_threshold: 20000,
  flush_interval_sec: 5,
  max_optimization_threads: null,
} as const;

export function buildCollectionConfig(input: CreateCollectionInput): CollectionConfig {
  return {
    params: {
      vectors: { size: input.vectors.size, distance: input.vectors.distance },
      shard_number: 1,
      replication_factor: 1,
      write_consistency_factor: 1,
      on_disk_payload: true,
    },
    hnsw_config: { ...DEFAULT_HNSW_CONFIG, ...(input.hnsw_config ?? {}) },
    optimizer_config: { ...DEFAULT_OPTIMIZER_CONFIG, ...(input.optimizers_config ?? {}) },
    wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
    quantization_config: input.quantization_config ?? null,
    ...(input.hubness ? { hubness: mergeHubnessConfig(DEFAULT_HUBNESS, input.hubness) } : {}),
  };
}

const DISTANCES = new Set(['Cosine', 'Euclid', 'Dot', 'Manhattan']);
const MAX_DIM = 65_536;

function positiveInt(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) > 0;
}

/**
 * Checks a stored config that did not come through the request schema (a snapshot's): null when it is safe to
 * load, else what is wrong.
 */
export function checkStoredConfig(config: CollectionConfig): string | null {
  const vectors = config?.params?.vectors;
  if (!vectors || !positiveInt(vectors.size) || vectors.size > MAX_DIM) return 'params.vectors.size';
  if (!DISTANCES.has(vectors.distance)) return 'params.vectors.distance';
  const hnsw = config.hnsw_config;
  if (
    !hnsw ||
    !Number.isSafeInteger(hnsw.m) ||
    hnsw.m < 0 ||
    !positiveInt(hnsw.ef_construct) ||
    !Number.isSafeInteger(hnsw.full_scan_threshold)
  )
    return 'hnsw_config';
  const opt = config.optimizer_config;
  if (!opt || !positiveInt(opt.indexing_threshold) || typeof opt.deleted_threshold !== 'number')
    return 'optimizer_config';
  return null;
}
