import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { type Collection, Database, type PayloadFieldSchema } from '../../storage/index.js';
import {
  CollectionExistsSchema,
  CollectionInfoSchema,
  CollectionsListSchema,
  CreateCollectionSchema,
  CreateIndexSchema,
} from '../schemas/collection.js';
import { CollectionNameParams, ERROR_RESPONSES, OkResult, UpdateResultSchema, WaitQuery } from '../schemas/common.js';
import { completed, ok } from './envelope.js';

async function describe(db: Database, collection: Collection) {
  const payloadSchema: Record<string, { data_type: string; params: Record<string, unknown>; points: number }> = {};
  for (const [field, dataType] of collection.payloadIndexes) {
    const points = await collection.count({ must_not: [{ is_empty: { key: field } }] });
    payloadSchema[field] = { data_type: dataType, params: {}, points };
  }
  return {
    status: db.status(collection),
    optimizer_status: db.optimizerStatus(collection),
    points_count: collection.pointsCount,
    vectors_count: collection.pointsCount,
    indexed_vectors_count: collection.indexedVectorsCount,
    segments_count: collection.segments.length,
    config: collection.config,
    payload_schema: payloadSchema,
    recall: db.recall.of(collection),
  };
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['collections'];
  app.get(
    '/collections',
    { schema: { tags, summary: 'List collections', response: { 200: CollectionsListSchema } } },
    async (_req, reply) => ok(reply, { collections: app.db.list().map((c) => ({ name: c.name })) }),
  );
  app.put(
    '/collections/:collection_name',
    {
      schema: {
        tags,
        summary: 'Create a collection',
        params: CollectionNameParams,
        querystring: WaitQuery,
        body: CreateCollectionSchema,
        response: { 200: OkResult, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      app.db.create(req.params.collection_name, req.body);
      return ok(reply, true);
    },
  );
  app.get(
    '/collections/:collection_name',
    {
      schema: {
        tags,
        summary: 'Collection info',
        params: CollectionNameParams,
        response: { 200: CollectionInfoSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => ok(reply, await describe(app.db, app.db.get(req.params.collection_name))),
  );
  app.delete(
    '/collections/:collection_name',
    {
      schema: {
        tags,
        summary: 'Delete a collection (result false when it did not exist)',
        params: CollectionNameParams,
        querystring: WaitQuery,
        response: { 200: OkResult, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => ok(reply, app.db.drop(req.params.collection_name)),
  );
  app.get(
    '/collections/:collection_name/exists',
    {
      schema: {
        tags,
        summary: 'Whether a collection exists',
        params: CollectionNameParams,
        response: { 200: CollectionExistsSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      Database.checkName(req.params.collection_name);
      return ok(reply, { exists: app.db.exists(req.params.collection_name) });
    },
  );
  app.put(
    '/collections/:collection_name/index',
    {
      schema: {
        tags,
        summary: 'Create a payload index',
        params: CollectionNameParams,
        querystring: WaitQuery,
        body: CreateIndexSchema,
        response: { 200: UpdateResultSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const schema = req.body.field_schema;
      const fieldSchema: PayloadFieldSchema = typeof schema === 'string' ? schema : schema.type;
      await app.db.get(req.params.collection_name).putPayloadIndex(req.body.field_name, fieldSchema);
      return completed(reply);
    },
  );
  app.delete(
    '/collections/:collection_name/index/:field_name',
    {
      schema: {
        tags,
        summary: 'Delete a payload index',
        params: Type.Object({ collection_name: Type.String(), field_name: Type.String() }),
        querystring: WaitQuery,
        response: { 200: UpdateResultSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      await app.db.get(req.params.collection_name).deletePayloadIndex(req.params.field_name);
      return completed(reply);
    },
  );
};

export default routes;
