import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { QueryInput } from '../../storage/index.js';
import { withDeadline } from '../plugins/request-timeout.js';
import { CollectionNameParams, ERROR_RESPONSES } from '../schemas/common.js';
import {
  QueryBatchResponseSchema,
  QueryBatchSchema,
  QueryRequestSchema,
  QueryResponseSchema,
  SearchBatchResponseSchema,
  SearchBatchSchema,
  SearchRequestSchema,
  SearchResponseSchema,
} from '../schemas/search.js';
import { okExplained } from './envelope.js';

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['search'];
  const params = CollectionNameParams;
  app.post(
    '/collections/:collection_name/points/search',
    {
      schema: {
        tags,
        summary: 'Filtered k-NN search',
        params,
        body: SearchRequestSchema,
        response: { 200: SearchResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const [outcome] = await withDeadline(reply, (signal) => app.db.search(collection, [req.body], signal));
      return okExplained(reply, outcome!.points, outcome!.plans, req.body.params?.explain === true);
    },
  );
  app.post(
    '/collections/:collection_name/points/search/batch',
    {
      schema: {
        tags,
        summary: 'Several searches in one request',
        params,
        body: SearchBatchSchema,
        response: { 200: SearchBatchResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const outcomes = await withDeadline(reply, (signal) => app.db.search(collection, req.body.searches, signal));
      const explain = req.body.searches.some((s) => s.params?.explain === true);
      return okExplained(
        reply,
        outcomes.map((o) => o.points),
        outcomes.map((o) => o.plans),
        explain,
      );
    },
  );
  app.post(
    '/collections/:collection_name/points/query',
    {
      schema: {
        tags,
        summary: 'Universal query (vector or point id)',
        params,
        body: QueryRequestSchema,
        response: { 200: QueryResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const [outcome] = await withDeadline(reply, (signal) =>
        app.db.query(collection, [req.body as QueryInput], signal),
      );
      return okExplained(reply, { points: outcome!.points }, outcome!.plans, req.body.params?.explain === true);
    },
  );
  app.post(
    '/collections/:collection_name/points/query/batch',
    {
      schema: {
        tags,
        summary: 'Several universal queries',
        params,
        body: QueryBatchSchema,
        response: { 200: QueryBatchResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const outcomes = await withDeadline(reply, (signal) =>
        app.db.query(collection, req.body.searches as QueryInput[], signal),
      );
      const explain = req.body.searches.some((s) => s.params?.explain === true);
      return okExplained(
        reply,
        outcomes.map((o) => ({ points: o.points })),
        outcomes.map((o) => o.plans),
        explain,
      );
    },
  );
};

export default routes;
