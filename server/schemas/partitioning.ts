import { Type } from '@sinclair/typebox';
import { Envelope } from './common.js';
import { FilterRef } from './filter.js';

const Selectivity = Type.Union([Type.Number(), Type.Null()]);

export const PredicateTemplateSchema = Type.Object(
  {
    template: Type.Union([Type.String(), Type.Null()], {
      description:
        'The filter with every literal replaced by "?" (keys sorted, condition lists in one order); null = no filter',
    }),
    count: Type.Integer({ description: 'Logged searches with this template' }),
    share: Type.Number({ description: 'count / all logged searches' }),
    selectivity: Type.Object(
      { mean: Selectivity, min: Selectivity, max: Selectivity },
      { description: 'Share of the searched rows the filter matched, over the searches where it was counted' },
    ),
    last_seen: Type.String({ format: 'date-time' }),
  },
  { additionalProperties: false },
);

const TreeSchema = Type.Object(
  {
    version: Type.Integer({ description: 'Tree version; every re-partitioning makes the next one live atomically' }),
    built_at: Type.String({ format: 'date-time' }),
    columns: Type.Array(
      Type.Object({
        key: Type.String(),
        kind: Type.Union([Type.Literal('number'), Type.Literal('keyword'), Type.Literal('tags')]),
      }),
      { description: 'Payload indexes the tree cuts on' },
    ),
    leaves: Type.Array(
      Type.Object({
        leaf: Type.Integer(),
        points: Type.Integer({ description: 'Live points in the leaf' }),
        segments: Type.Integer({ description: 'Sealed segments holding the leaf' }),
        description: Type.String({ description: 'The predicate every point of the leaf satisfies' }),
      }),
    ),
    overflow_points: Type.Integer({
      description:
        'Live points whose payload fits no tree column (e.g. a list in a number field): every query visits them',
    }),
  },
  { additionalProperties: false },
);

const AutoRepartitionResult = Type.Object({ drift_threshold: Type.Number(), min_searches: Type.Integer() });

export const PartitioningSchema = Type.Object(
  {
    state: Type.Union([Type.Literal('idle'), Type.Literal('building'), Type.Literal('done'), Type.Literal('failed')], {
      description: 'The re-partitioning job since the server started: idle (none), building, done or failed',
    }),
    progress: Type.Number({ minimum: 0, maximum: 1, description: 'Share of the job done (1 once done)' }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'Why the last job failed' }),
    logged_searches: Type.Integer({
      description: 'Searches in the workload log (at most 100,000, oldest dropped first)',
    }),
    templates: Type.Array(PredicateTemplateSchema, { description: 'Most frequent first' }),
    auto_repartition: Type.Union([AutoRepartitionResult, Type.Null()], {
      description: 'Whether a drifting workload re-partitions the collection by itself (null: never)',
    }),
    drift: Type.Union(
      [
        Type.Object({
          searches: Type.Integer({ description: 'Filtered searches since the live tree went live (this server run)' }),
          unseen_share: Type.Number({
            description: 'Share of them whose predicate template the tree was not built for',
          }),
        }),
        Type.Null(),
      ],
      { description: 'Workload drift against the live tree (null without a tree)' },
    ),
    tree: Type.Union([TreeSchema, Type.Null()], { description: 'The live partition tree, or null' }),
  },
  { additionalProperties: false },
);

export const PartitioningResponseSchema = Envelope(PartitioningSchema);

export const RepartitionQuery = Type.Object({
  wait: Type.Optional(
    Type.Boolean({ description: 'Answer once the job ended (200) instead of once it is queued (202)' }),
  ),
});

export const RepartitionRequestSchema = Type.Object(
  {
    workload: Type.Optional(
      Type.Array(
        Type.Object(
          {
            filter: FilterRef,
            weight: Type.Optional(Type.Number({ minimum: 0, maximum: 1e9 })),
          },
          { additionalProperties: false },
        ),
        {
          minItems: 1,
          maxItems: 100_000,
          description: 'Filters to partition for, instead of the logged workload',
        },
      ),
    ),
    min_leaf_points: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Smallest leaf (default max(1,000, points / 256))' }),
    ),
    max_leaves: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, description: 'Most leaves (default 8)' })),
    flat_leaf_points: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Leaves with fewer points get no HNSW graph (default 2,000)' }),
    ),
    auto_repartition: Type.Optional(
      Type.Union(
        [
          Type.Object(
            {
              drift_threshold: Type.Optional(
                Type.Number({ minimum: 0, maximum: 1, description: 'Share of unseen templates (default 0.25)' }),
              ),
              min_searches: Type.Optional(
                Type.Integer({
                  minimum: 1,
                  maximum: 100_000_000,
                  description: 'Searches observed first (default 1,000)',
                }),
              ),
            },
            { additionalProperties: false },
          ),
          Type.Null(),
        ],
        {
          description:
            'Re-partition from the query log by itself once the filtered searches since the tree went live use more ' +
            'than drift_threshold predicate templates it was not built for (null: never). Kept in the collection config',
        },
      ),
    ),
  },
  { additionalProperties: false },
);
