import { type TSchema, Type } from '@sinclair/typebox';
import { Envelope, PayloadSchema, PointIdSchema, VectorSchema, WithPayloadSchema } from './common.js';
import { FilterRef } from './filter.js';

/** Documented limit: searches in one batch request. */
export const MAX_BATCH_SEARCHES = 1_000;

export const SearchParamsSchema = Type.Object({
  hnsw_ef: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  explain: Type.Optional(
    Type.Boolean({ description: 'Strata: add `explain` to the response, the plan of every segment searched' }),
  ),
  exact: Type.Optional(Type.Boolean()),
  rescore: Type.Optional(
    Type.String({
      description:
        'Strata: hubness rescoring for this search: none, is, dis, dual_is or dual_dis (default: the collection setting)',
    }),
  ),
  indexed_only: Type.Optional(Type.Boolean()),
  quantization: Type.Optional(
    Type.Object({
      ignore: Type.Optional(Type.Boolean()),
      rescore: Type.Optional(Type.Boolean()),
      oversampling: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
    }),
  ),
});

const common = {
  filter: Type.Optional(Type.Union([FilterRef, Type.Null()])),
  limit: Type.Integer({ minimum: 1, maximum: 10_000 }),
  offset: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 10_000 }), Type.Null()])),
  with_payload: Type.Optional(Type.Union([WithPayloadSchema, Type.Null()])),
  with_vector: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  score_threshold: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  params: Type.Optional(Type.Union([SearchParamsSchema, Type.Null()])),
  with_raw_score: Type.Optional(
    Type.Union([
      Type.Boolean({ description: 'Strata: add `raw_score`, the similarity before rescoring' }),
      Type.Null(),
    ]),
  ),
};

export const SearchRequestSchema = Type.Object({ vector: VectorSchema, ...common });

export const SearchBatchSchema = Type.Object({
  searches: Type.Array(SearchRequestSchema, { minItems: 1, maxItems: MAX_BATCH_SEARCHES }),
});

/** `query` is a vector, or a point id whose stored vector is used (the point itself is left out of results). */
export const QueryRequestSchema = Type.Object({
  query: Type.Optional(
    Type.Union([VectorSchema, PointIdSchema, Type.Object({ nearest: Type.Union([VectorSchema, PointIdSchema]) })]),
  ),
  ...common,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
});

export const QueryBatchSchema = Type.Object({
  searches: Type.Array(QueryRequestSchema, { minItems: 1, maxItems: MAX_BATCH_SEARCHES }),
});

export const ScoredPointSchema = Type.Object({
  id: PointIdSchema,
  version: Type.Integer(),
  score: Type.Number(),
  raw_score: Type.Optional(Type.Number()),
  payload: Type.Union([PayloadSchema, Type.Null()]),
  vector: Type.Union([Type.Array(Type.Number()), Type.Null()]),
});

/** One segment's plan: which branch searched it, how many rows matched the filter, how many distances it cost. */
export const PlanReportSchema = Type.Object({
  segment: Type.Union([Type.Integer(), Type.String()]),
  rows: Type.Integer(),
  branch: Type.Union(
    ['plain', 'plain_filtered', 'graph', 'filtered_graph', 'graph_fallback', 'pruned'].map((b) => Type.Literal(b)),
    { description: '`pruned`: the partition tree ruled the segment out for this filter (HQI), nothing was searched' },
  ),
  leaf: Type.Union([Type.Integer(), Type.Null()], {
    description: 'The partition-tree leaf the segment holds (null: not partitioned, or the overflow part)',
  }),
  filtered: Type.Boolean({
    description: 'Whether the filter was tested per row (false: no filter, or a leaf that implies the filter)',
  }),
  estimated_matches: Type.Object({ min: Type.Integer(), exp: Type.Integer(), max: Type.Integer() }),
  matches: Type.Union([Type.Integer(), Type.Null()]),
  distance_evaluations: Type.Integer(),
  quantized: Type.Boolean(),
});

function Explained<T extends TSchema>(result: T, explain: TSchema) {
  return Type.Composite([Envelope(result), Type.Object({ explain: Type.Optional(explain) })]);
}

export const SearchResponseSchema = Explained(Type.Array(ScoredPointSchema), Type.Array(PlanReportSchema));
export const SearchBatchResponseSchema = Explained(
  Type.Array(Type.Array(ScoredPointSchema)),
  Type.Array(Type.Array(PlanReportSchema)),
);
export const QueryResponseSchema = Explained(
  Type.Object({ points: Type.Array(ScoredPointSchema) }),
  Type.Array(PlanReportSchema),
);
export const QueryBatchResponseSchema = Explained(
  Type.Array(Type.Object({ points: Type.Array(ScoredPointSchema) })),
  Type.Array(Type.Array(PlanReportSchema)),
);
