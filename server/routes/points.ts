import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  deletePayloadKeys,
  type PointInput,
  parsePointIdText,
  StrataError,
  scrollCollection,
} from '../../storage/index.js';
import { withDeadline } from '../plugins/request-timeout.js';
import { CollectionNameParams, ERROR_RESPONSES, UpdateResultSchema, WaitQuery } from '../schemas/common.js';
import {
  CountResponseSchema,
  CountSchema,
  DeletePayloadSchema,
  PointIdParams,
  PointResponseSchema,
  PointSelectorSchema,
  RetrieveResponseSchema,
  RetrieveSchema,
  ScrollResponseSchema,
  ScrollSchema,
  SetPayloadSchema,
  UpsertPointsSchema,
} from '../schemas/points.js';
import { completed, ok } from './envelope.js';

type UpsertBody =
  | { points: PointInput[] }
  | { batch: { ids: unknown[]; vectors: number[][]; payloads?: unknown[] | null } };

/** Both upsert forms as a list of points; a batch whose lists differ in length is rejected whole. */
function pointsOf(body: UpsertBody): PointInput[] {
  if ('points' in body) return body.points;
  const { ids, vectors, payloads } = body.batch;
  if (vectors.length !== ids.length || (payloads && payloads.length !== ids.length)) {
    throw new StrataError('STRATA_ERR_BATCH_SHAPE', [
      `${ids.length} ids, ${vectors.length} vectors, ${payloads ? payloads.length : 'no'} payloads`,
    ]);
  }
  return ids.map((id, i) => ({
    id,
    vector: vectors[i]!,
    payload: (payloads?.[i] ?? null) as Record<string, unknown> | null,
  }));
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['points'];
  const write = {
    params: CollectionNameParams,
    querystring: WaitQuery,
    response: { 200: UpdateResultSchema, ...ERROR_RESPONSES },
  };

  app.put(
    '/collections/:collection_name/points',
    { schema: { tags, summary: 'Upsert points (all or none)', ...write, body: UpsertPointsSchema } },
    async (req, reply) => {
      await app.db.get(req.params.collection_name).upsert(pointsOf(req.body as UpsertBody));
      return completed(reply);
    },
  );
  app.post(
    '/collections/:collection_name/points',
    {
      schema: {
        tags,
        summary: 'Retrieve points by id',
        params: CollectionNameParams,
        body: RetrieveSchema,
        response: { 200: RetrieveResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const { ids, with_payload, with_vector } = req.body;
      return ok(
        reply,
        app.db.get(req.params.collection_name).retrieve(ids, with_payload ?? true, with_vector ?? false),
      );
    },
  );
  app.get(
    '/collections/:collection_name/points/:id',
    {
      schema: {
        tags,
        summary: 'Retrieve one point',
        params: PointIdParams,
        response: { 200: PointResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const id = parsePointIdText(req.params.id);
      const [record] = collection.retrieve([id], true, true);
      if (record === undefined) throw new StrataError('STRATA_ERR_POINT_NOT_FOUND', [req.params.id]);
      return ok(reply, record);
    },
  );
  app.post(
    '/collections/:collection_name/points/delete',
    { schema: { tags, summary: 'Delete points by id or filter', ...write, body: PointSelectorSchema } },
    async (req, reply) => {
      await app.db.get(req.params.collection_name).deletePoints(req.body);
      return completed(reply);
    },
  );
  app.post(
    '/collections/:collection_name/points/payload',
    { schema: { tags, summary: 'Set payload keys (merge)', ...write, body: SetPayloadSchema } },
    async (req, reply) => {
      const { payload } = req.body;
      await app.db.get(req.params.collection_name).editPayload(req.body, (old) => ({ ...old, ...payload }));
      return completed(reply);
    },
  );
  app.put(
    '/collections/:collection_name/points/payload',
    { schema: { tags, summary: 'Overwrite the payload', ...write, body: SetPayloadSchema } },
    async (req, reply) => {
      const { payload } = req.body;
      await app.db.get(req.params.collection_name).editPayload(req.body, () => ({ ...payload }));
      return completed(reply);
    },
  );
  app.post(
    '/collections/:collection_name/points/payload/delete',
    { schema: { tags, summary: 'Delete payload keys', ...write, body: DeletePayloadSchema } },
    async (req, reply) => {
      const { keys } = req.body;
      await app.db.get(req.params.collection_name).editPayload(req.body, (old) => deletePayloadKeys(old, keys));
      return completed(reply);
    },
  );
  app.post(
    '/collections/:collection_name/points/payload/clear',
    { schema: { tags, summary: 'Clear the payload', ...write, body: PointSelectorSchema } },
    async (req, reply) => {
      await app.db.get(req.params.collection_name).editPayload(req.body, () => ({}));
      return completed(reply);
    },
  );
  app.post(
    '/collections/:collection_name/points/scroll',
    {
      schema: {
        tags,
        summary: 'Page through points in id order',
        params: CollectionNameParams,
        body: ScrollSchema,
        response: { 200: ScrollResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      // the request timeout answers 408 without cancelling the filter scan, which runs to its end on the pool
      return ok(reply, await withDeadline(reply, () => scrollCollection(collection, req.body ?? {})));
    },
  );
  app.post(
    '/collections/:collection_name/points/count',
    {
      schema: {
        tags,
        summary: 'Count points, optionally with a filter',
        params: CollectionNameParams,
        body: CountSchema,
        response: { 200: CountResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      return ok(reply, { count: await withDeadline(reply, () => collection.count(req.body?.filter)) });
    },
  );
};

export default routes;
