import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FilterJson } from '../../storage/index.js';
import { PointIdSchema } from './common.js';

const strict = { additionalProperties: false } as const;
const Key = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: 'Payload key; dots walk into objects, `[]` into arrays',
});
const Scalar = Type.Union([Type.String(), Type.Integer(), Type.Boolean()]);
const ValueList = Type.Union([
  Type.Array(Type.String(), { maxItems: 10000 }),
  Type.Array(Type.Integer(), { maxItems: 10000 }),
]);
const Bound = Type.Optional(
  Type.Union([Type.Number(), Type.String({ description: 'RFC 3339 datetime' }), Type.Null()]),
);
const CountBound = Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]));

export const MatchSchema = Type.Union([
  Type.Object({ value: Scalar }, strict),
  Type.Object({ any: ValueList }, strict),
  Type.Object({ except: ValueList }, strict),
  Type.Object({ text: Type.String() }, strict),
]);

export const RangeSchema = Type.Object({ gt: Bound, gte: Bound, lt: Bound, lte: Bound }, strict);

export const FieldConditionSchema = Type.Object(
  {
    key: Key,
    match: Type.Optional(MatchSchema),
    range: Type.Optional(RangeSchema),
    values_count: Type.Optional(
      Type.Object({ gt: CountBound, gte: CountBound, lt: CountBound, lte: CountBound }, strict),
    ),
  },
  strict,
);

function condition(self: TSchema) {
  return Type.Union([
    FieldConditionSchema,
    Type.Object({ is_empty: Type.Object({ key: Key }, strict) }, strict),
    Type.Object({ is_null: Type.Object({ key: Key }, strict) }, strict),
    Type.Object({ has_id: Type.Array(PointIdSchema, { maxItems: 10000 }) }, strict),
    Type.Object({ nested: Type.Object({ key: Key, filter: self }, strict) }, strict),
    self,
  ]);
}

/** Qdrant's filter: `must`, `should`, `must_not` (a condition or a list) and `min_should`. */
export const FilterSchema = Type.Recursive(
  (self) => {
    const cond = condition(self);
    const clause = Type.Optional(Type.Union([cond, Type.Array(cond), Type.Null()]));
    return Type.Object(
      {
        must: clause,
        should: clause,
        must_not: clause,
        min_should: Type.Optional(
          Type.Union([
            Type.Object({ conditions: Type.Array(cond), min_count: Type.Integer({ minimum: 0 }) }, strict),
            Type.Null(),
          ]),
        ),
      },
      strict,
    );
  },
  { $id: 'Filter' },
);

export type Filter = Static<typeof FilterSchema>;
/** A `$ref` to the shared Filter schema, typed as storage's FilterJson (the recursive Static is opaque). */
export const FilterRef = Type.Unsafe<FilterJson>(Type.Ref(FilterSchema));
