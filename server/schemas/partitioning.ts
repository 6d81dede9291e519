import { Type } from '@sinclair/typebox';
import { Envelope } from './common.js';

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

export const PartitioningSchema = Type.Object(
  {
    state: Type.Literal('idle', { description: 'No partition tree has been built for this collection yet' }),
    logged_searches: Type.Integer({
      description: 'Searches in the workload log (at most 100,000, oldest dropped first)',
    }),
    templates: Type.Array(PredicateTemplateSchema, { description: 'Most frequent first' }),
    tree: Type.Null(),
  },
  { additionalProperties: false },
);

export const PartitioningResponseSchema = Envelope(PartitioningSchema);
