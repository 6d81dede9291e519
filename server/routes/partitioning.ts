import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CollectionNameParams, ERROR_RESPONSES } from '../schemas/common.js';
import { PartitioningResponseSchema } from '../schemas/partitioning.js';
import { ok } from './envelope.js';

/** HQI: the logged workload a partition tree is built from (the tree itself is not built yet: issue 4). */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/collections/:collection_name/partitioning',
    {
      schema: {
        tags: ['partitioning'],
        summary: 'The logged workload by predicate template (counts, selectivities) and the partition tree state',
        params: CollectionNameParams,
        response: { 200: PartitioningResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const collection = app.db.get(req.params.collection_name);
      const { searches, templates } = app.db.queryLog.summary(collection.id);
      return ok(reply, {
        state: 'idle' as const,
        logged_searches: searches,
        templates: templates.map((t) => ({ ...t, share: searches > 0 ? t.count / searches : 0 })),
        tree: null,
      });
    },
  );
};

export default routes;
