import { Type } from '@sinclair/typebox';
import { Envelope, PayloadSchema, PointIdSchema, VectorSchema, WithPayloadSchema } from './common.js';
import { FilterRef } from './filter.js';

/** Documented limit: points in one upsert, ids in one retrieve or delete. */
export const MAX_BATCH_POINTS = 10_000;

export const PointStructSchema = Type.Object({
  id: PointIdSchema,
  vector: VectorSchema,
  payload: Type.Optional(Type.Union([PayloadSchema, Type.Null()])),
});

export const UpsertPointsSchema = Type.Union([
  Type.Object({ points: Type.Array(PointStructSchema, { maxItems: MAX_BATCH_POINTS }) }),
  Type.Object({
    batch: Type.Object({
      ids: Type.Array(PointIdSchema, { maxItems: MAX_BATCH_POINTS }),
      vectors: Type.Array(VectorSchema, { maxItems: MAX_BATCH_POINTS }),
      payloads: Type.Optional(Type.Union([Type.Array(Type.Union([PayloadSchema, Type.Null()])), Type.Null()])),
    }),
  }),
]);

const IdList = Type.Array(PointIdSchema, { maxItems: MAX_BATCH_POINTS });

export const PointSelectorSchema = Type.Union([Type.Object({ points: IdList }), Type.Object({ filter: FilterRef })]);

export const RetrieveSchema = Type.Object({
  ids: IdList,
  with_payload: Type.Optional(WithPayloadSchema),
  with_vector: Type.Optional(Type.Boolean()),
});

export const RecordSchema = Type.Object({
  id: PointIdSchema,
  payload: Type.Union([PayloadSchema, Type.Null()]),
  vector: Type.Union([Type.Array(Type.Number()), Type.Null()]),
});

export const RetrieveResponseSchema = Envelope(Type.Array(RecordSchema));
export const PointResponseSchema = Envelope(RecordSchema);

export const SetPayloadSchema = Type.Union([
  Type.Object({ payload: PayloadSchema, points: IdList }),
  Type.Object({ payload: PayloadSchema, filter: FilterRef }),
]);

export const DeletePayloadSchema = Type.Union([
  Type.Object({ keys: Type.Array(Type.String()), points: IdList }),
  Type.Object({ keys: Type.Array(Type.String()), filter: FilterRef }),
]);

export const ScrollSchema = Type.Object({
  filter: Type.Optional(Type.Union([FilterRef, Type.Null()])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  offset: Type.Optional(Type.Union([PointIdSchema, Type.Null()])),
  with_payload: Type.Optional(WithPayloadSchema),
  with_vector: Type.Optional(Type.Boolean()),
});

export const ScrollResponseSchema = Envelope(
  Type.Object({ points: Type.Array(RecordSchema), next_page_offset: Type.Union([PointIdSchema, Type.Null()]) }),
);

export const CountSchema = Type.Object({
  filter: Type.Optional(Type.Union([FilterRef, Type.Null()])),
  exact: Type.Optional(Type.Boolean()),
});

export const CountResponseSchema = Envelope(Type.Object({ count: Type.Integer() }));

export const PointIdParams = Type.Object({ collection_name: Type.String(), id: Type.String() });
