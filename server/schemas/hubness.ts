import { Type } from '@sinclair/typebox';
import { Envelope, PointIdSchema, VectorSchema } from './common.js';

const METHODS = 'none, is, dis, dual_is or dual_dis';

/** A collection's `hubness` setting; ranges are checked by storage (400 STRATA_ERR_HUBNESS_CONFIG). */
export const HubnessSettingSchema = Type.Object(
  {
    method: Type.Optional(Type.String({ description: `Rescoring method: ${METHODS} (default none)` })),
    beta_q: Type.Optional(Type.Number({ description: 'β of the query bank, in (0, 1000] (default 20)' })),
    beta_g: Type.Optional(Type.Number({ description: 'β of the gallery bank, in (0, 1000] (default 5)' })),
    candidates: Type.Optional(
      Type.Union([Type.Integer(), Type.Null()], {
        description: "K': candidates rescored per search, 1-10,000 (null: max(100, 10 × (limit + offset)))",
      }),
    ),
  },
  { additionalProperties: false },
);

export const HubnessSettingResultSchema = Type.Object({
  method: Type.String(),
  beta_q: Type.Number(),
  beta_g: Type.Number(),
  candidates: Type.Union([Type.Integer(), Type.Null()]),
});

/** PATCH /collections/{name}: Strata applies `hubness`; Qdrant's other update fields are accepted and ignored. */
export const UpdateCollectionSchema = Type.Object({
  hubness: Type.Optional(HubnessSettingSchema),
  optimizers_config: Type.Optional(Type.Unknown()),
  params: Type.Optional(Type.Unknown()),
  hnsw_config: Type.Optional(Type.Unknown()),
  vectors: Type.Optional(Type.Unknown()),
  quantization_config: Type.Optional(Type.Unknown()),
});

const BankVectors = Type.Array(VectorSchema, { minItems: 1, maxItems: 10_000 });
const BankSize = Type.Integer({ minimum: 1, maximum: 10_000 });

export const QueryBankSchema = Type.Union([
  Type.Object({ vectors: BankVectors }, { additionalProperties: false }),
  Type.Object(
    { from_log: Type.Object({ size: BankSize }, { additionalProperties: false }) },
    { additionalProperties: false },
  ),
]);

export const GalleryBankSchema = Type.Union([
  Type.Object({ vectors: BankVectors }, { additionalProperties: false }),
  Type.Object({ sample: BankSize }, { additionalProperties: false }),
]);

export const BankSideParams = Type.Object({
  collection_name: Type.String(),
  side: Type.Union([Type.Literal('query'), Type.Literal('gallery')]),
});

export const BankWaitQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ description: 'Answer once the new normalizers are in use (default false)' })),
  timeout: Type.Optional(Type.Integer({ minimum: 1, description: 'Accepted for Qdrant compatibility' })),
});

const BankInfoSchema = Type.Object({
  side: Type.Union([Type.Literal('query'), Type.Literal('gallery')]),
  size: Type.Integer(),
  version: Type.Integer(),
  provenance: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String(),
  normalizers: Type.Object({
    current: Type.Boolean(),
    computing: Type.Boolean(),
    in_use: Type.Union([Type.Object({ version: Type.Integer(), beta: Type.Number() }), Type.Null()]),
  }),
});

export const BankInfoResponseSchema = Envelope(BankInfoSchema);
export const BankInfoOrNullResponseSchema = Envelope(Type.Union([BankInfoSchema, Type.Null()]));

export const HubnessQuery = Type.Object({
  k: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
});

const HubnessStatsSchema = Type.Object({
  k: Type.Integer(),
  queries: Type.Integer(),
  points: Type.Integer(),
  skewness: Type.Number(),
  max: Type.Integer(),
  hub_occupancy: Type.Number(),
  anti_hub_rate: Type.Number(),
  hubs: Type.Array(Type.Object({ id: PointIdSchema, count: Type.Integer() })),
  histogram: Type.Array(Type.Object({ from: Type.Integer(), to: Type.Integer(), points: Type.Integer() })),
});

export const HubnessReportResponseSchema = Envelope(
  Type.Object({
    k: Type.Integer(),
    query_source: Type.Union([Type.Literal('query_bank'), Type.Literal('stored_points')]),
    queries: Type.Integer(),
    method: Type.String(),
    raw: HubnessStatsSchema,
    rescored: Type.Union([HubnessStatsSchema, Type.Null()]),
  }),
);

export const HubnessSettingResponseSchema = Envelope(HubnessSettingResultSchema);
