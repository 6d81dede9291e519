import { Kind, type TSchema, Type, TypeRegistry } from '@sinclair/typebox';

/**
 * Point ids: an unsigned 64-bit integer or a UUID. Integers above 2^53 reach validation as bigint (the body
 * parser keeps them exact), which JSON Schema's `integer` cannot express, so the id is a TypeBox kind of its
 * own whose check runs in validation and whose JSON Schema (below) is what the OpenAPI document shows.
 */
const U64_MAX = (1n << 64n) - 1n;
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
TypeRegistry.Set('PointId', (_schema, value) => {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0;
  if (typeof value === 'bigint') return value >= 0n && value <= U64_MAX;
  return typeof value === 'string' && UUID_RE.test(value);
});

export const PointIdSchema = Type.Unsafe<number | bigint | string>({
  [Kind]: 'PointId',
  description: 'An unsigned 64-bit integer (exact above 2^53) or a UUID string',
  anyOf: [
    { type: 'integer', minimum: 0, format: 'uint64' },
    { type: 'string', format: 'uuid' },
  ],
});

export const DistanceSchema = Type.Union([
  Type.Literal('Cosine'),
  Type.Literal('Dot'),
  Type.Literal('Euclid'),
  Type.Literal('Manhattan'),
]);

export const CollectionNameParams = Type.Object({
  collection_name: Type.String({ description: 'Collection name: 1-128 of A-Z a-z 0-9 _ -' }),
});

export const WaitQuery = Type.Object({
  wait: Type.Optional(Type.Boolean({ description: 'Answer once the change is applied (always true in Strata)' })),
  ordering: Type.Optional(Type.String()),
  timeout: Type.Optional(Type.Integer({ minimum: 1 })),
});

export const VectorSchema = Type.Array(Type.Number(), { minItems: 1, maxItems: 65536 });

export const PayloadSchema = Type.Record(Type.String(), Type.Unknown(), { description: 'JSON object' });

export const WithPayloadSchema = Type.Union([
  Type.Boolean(),
  Type.Array(Type.String()),
  Type.Object({ include: Type.Array(Type.String()) }, { additionalProperties: false }),
  Type.Object({ exclude: Type.Array(Type.String()) }, { additionalProperties: false }),
]);

/** Qdrant's envelope: `{result, status: "ok", time}`. */
export function Envelope<T extends TSchema>(result: T) {
  return Type.Object({ result, status: Type.Literal('ok'), time: Type.Number() });
}

export const ErrorResponseSchema = Type.Object(
  {
    status: Type.Object({
      error: Type.String(),
      code: Type.String({ description: 'Stable STRATA_ERR_* code (README: error codes)' }),
    }),
    time: Type.Number(),
  },
  { $id: 'ErrorResponse' },
);

export const ERROR_RESPONSES = {
  400: Type.Ref(ErrorResponseSchema),
  404: Type.Ref(ErrorResponseSchema),
  409: Type.Ref(ErrorResponseSchema),
  413: Type.Ref(ErrorResponseSchema),
  503: Type.Ref(ErrorResponseSchema),
} as const;

export const OkResult = Envelope(Type.Boolean());

export const UpdateResultSchema = Envelope(
  Type.Object({
    operation_id: Type.Integer(),
    status: Type.Union([Type.Literal('acknowledged'), Type.Literal('completed')]),
  }),
);
