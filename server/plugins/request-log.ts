import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * One log line per request: method, route, status, duration and collection. Bodies are never logged, so no
 * vector or payload reaches the log.
 */
export default fp(
  async (app: FastifyInstance) => {
    app.addHook('onResponse', async (request, reply) => {
      const params = request.params as { collection_name?: string } | undefined;
      request.log.info(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime * 100) / 100,
          ...(params?.collection_name === undefined ? {} : { collection: params.collection_name.slice(0, 128) }),
        },
        'request',
      );
    });
  },
  { name: 'request-log' },
);
