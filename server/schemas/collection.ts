import { Type } from '@sinclair/typebox';
import { DistanceSchema, Envelope, PayloadSchema } from './common.js';
import { HubnessSettingResultSchema, HubnessSettingSchema } from './hubness.js';

const Config = Type.Record(Type.String(), Type.Unknown());

export const HnswConfigSchema = Type.Object({
  m: Type.Optional(Type.Integer({ minimum: 0, maximum: 512 })),
  ef_construct: Type.Optional(Type.Integer({ minimum: 4, maximum: 4096 })),
  full_scan_threshold: Type.Optional(Type.Integer({ minimum: 0 })),
  max_indexing_threads: Type.Optional(Type.Integer({ minimum: 0 })),
  on_disk: Type.Optional(Type.Boolean()),
  payload_m: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const OptimizersConfigSchema = Type.Object({
  indexing_threshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
  deleted_threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  vacuum_min_vector_number: Type.Optional(Type.Integer({ minimum: 0 })),
  default_segment_number: Type.Optional(Type.Integer({ minimum: 0 })),
  max_segment_size: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  memmap_threshold: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
  flush_interval_sec: Type.Optional(Type.Integer({ minimum: 0 })),
  max_optimization_threads: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
});

export const QuantizationConfigSchema = Type.Object({
  scalar: Type.Object({
    type: Type.Literal('int8'),
    quantile: Type.Optional(Type.Number({ minimum: 0.5, maximum: 1 })),
    always_ram: Type.Optional(Type.Boolean()),
  }),
});

export const CreateCollectionSchema = Type.Object({
  vectors: Type.Object({
    size: Type.Integer({ minimum: 1, maximum: 65536 }),
    distance: DistanceSchema,
    on_disk: Type.Optional(Type.Boolean()),
  }),
  hnsw_config: Type.Optional(Type.Union([HnswConfigSchema, Type.Null()])),
  optimizers_config: Type.Optional(Type.Union([OptimizersConfigSchema, Type.Null()])),
  quantization_config: Type.Optional(Type.Union([QuantizationConfigSchema, Type.Null()])),
  hubness: Type.Optional(Type.Union([HubnessSettingSchema, Type.Null()])),
  // Accepted for Qdrant compatibility and ignored: Strata runs one shard on one node.
  shard_number: Type.Optional(Type.Integer({ minimum: 1 })),
  replication_factor: Type.Optional(Type.Integer({ minimum: 1 })),
  write_consistency_factor: Type.Optional(Type.Integer({ minimum: 1 })),
  on_disk_payload: Type.Optional(Type.Boolean()),
});

export const CollectionInfoSchema = Envelope(
  Type.Object({
    status: Type.Union([Type.Literal('green'), Type.Literal('yellow'), Type.Literal('red')]),
    optimizer_status: Type.Union([Type.Literal('ok'), Type.Object({ error: Type.String() })]),
    points_count: Type.Integer(),
    vectors_count: Type.Integer(),
    indexed_vectors_count: Type.Integer(),
    segments_count: Type.Integer(),
    config: Type.Object({
      params: Type.Object({
        vectors: Type.Object({ size: Type.Integer(), distance: DistanceSchema }),
        shard_number: Type.Integer(),
        replication_factor: Type.Integer(),
        write_consistency_factor: Type.Integer(),
        on_disk_payload: Type.Boolean(),
      }),
      hnsw_config: Config,
      optimizer_config: Config,
      wal_config: Config,
      quantization_config: Type.Union([Config, Type.Null()]),
      hubness: Type.Optional(HubnessSettingResultSchema),
      partitioning: Type.Optional(Config),
    }),
    payload_schema: Type.Record(
      Type.String(),
      Type.Object({ data_type: Type.String(), params: Type.Optional(PayloadSchema), points: Type.Integer() }),
    ),
    recall: Type.Object(
      {
        recall_at_k: Type.Union([Type.Number(), Type.Null()], {
          description: 'Mean recall@k of the last (up to 1,000) sampled searches against an exact re-run',
        }),
        samples: Type.Integer({ description: 'Searches measured since the server started' }),
        sample_rate: Type.Number({ description: 'Share of searches sampled (STRATA_RECALL_SAMPLE_RATE)' }),
        last_measured_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      },
      { description: "Strata's recall monitor (not in Qdrant)" },
    ),
  }),
);

export const CollectionsListSchema = Envelope(
  Type.Object({ collections: Type.Array(Type.Object({ name: Type.String() })) }),
);

export const CollectionExistsSchema = Envelope(Type.Object({ exists: Type.Boolean() }));

export const PayloadFieldSchemaSchema = Type.Union([
  Type.Literal('keyword'),
  Type.Literal('integer'),
  Type.Literal('float'),
  Type.Literal('bool'),
  Type.Literal('datetime'),
  Type.Literal('uuid'),
]);

export const CreateIndexSchema = Type.Object({
  field_name: Type.String({ minLength: 1, maxLength: 1024 }),
  field_schema: Type.Union([PayloadFieldSchemaSchema, Type.Object({ type: PayloadFieldSchemaSchema })]),
});
