import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { ERROR_RESPONSES } from '../schemas/common.js';

const routes: FastifyPluginAsyncTypebox<{ version: string }> = async (app, opts) => {
  app.get(
    '/',
    {
      schema: {
        tags: ['service'],
        summary: 'Name and version',
        response: { 200: Type.Object({ title: Type.String(), version: Type.String() }) },
      },
    },
    async () => ({ title: 'strata - vector search engine', version: opts.version }),
  );
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['service'],
        summary: 'Liveness: the process answers',
        security: [],
        response: { 200: Type.String() },
      },
    },
    async (_req, reply) => reply.type('text/plain').send('healthz check passed'),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['service'],
        summary: 'Readiness: recovery has finished',
        security: [],
        response: { 200: Type.String(), 503: ERROR_RESPONSES[503] },
      },
    },
    async (_req, reply) => {
      if (!app.db.ready) {
        return reply
          .code(503)
          .header('retry-after', '1')
          .send({ status: { error: 'recovering', code: 'STRATA_ERR_NOT_READY' }, time: 0 });
      }
      return reply.type('text/plain').send('all shards are ready');
    },
  );
};

export default routes;
