import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Collection } from '../../storage/index.js';
import { CollectionNameParams, ERROR_RESPONSES } from '../schemas/common.js';
import { PartitioningResponseSchema, RepartitionQuery, RepartitionRequestSchema } from '../schemas/partitioning.js';
import { ok } from './envelope.js';

/** HQI: the logged workload, the partition tree, and re-partitioning as a background job. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const view = (collection: Collection) => {
    const { searches, templates } = app.db.queryLog.summary(collection.id);
    return {
      ...app.db.partitions.report(collection),
      logged_searches: searches,
      templates: templates.map((t) => ({ ...t, share: searches > 0 ? t.count / searches : 0 })),
    };
  };
  app.get(
    '/collections/:collection_name/partitioning',
    {
      schema: {
        tags: ['partitioning'],
        summary: 'The logged workload by predicate template, the partition tree and the re-partitioning job',
        params: CollectionNameParams,
        response: { 200: PartitioningResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => ok(reply, view(app.db.get(req.params.collection_name))),
  );
  app.post(
    '/collections/:collection_name/partitioning',
    {
      schema: {
        tags: ['partitioning'],
        summary:
          'Re-partition the collection along a workload (the logged one by default): a background job that builds a ' +
          'partition tree and rewrites the sealed segments by leaf; reads and writes continue, the switch is atomic',
        params: CollectionNameParams,
        querystring: RepartitionQuery,
        body: RepartitionRequestSchema,
        response: { 200: PartitioningResponseSchema, 202: PartitioningResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const status = await app.db.partitions.start(collection, req.body ?? {});
      req.log.info({ collection: collection.name }, 're-partitioning started');
      if (req.query.wait === true) {
        await status.ended();
        return ok(reply, view(collection));
      }
      reply.code(202);
      return ok(reply, view(collection));
    },
  );
};

export default routes;
