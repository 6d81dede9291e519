import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';

/**
 * One log line per request: method, route, status, duration and collection. Bodies are never logged, so no
 * vector or payload reaches the log. Below the info level (STRATA_LOG_LEVEL=warn, or no logger) the hook
 * returns at once: the line's fields are not even gathered.
 */
export default fp(
  async (app: FastifyInstance) => {
    app.addHook('onResponse', (request, reply, done) => {
      // pino's request logger; Fastify's null logger (logging off) has no isLevelEnabled and logs nothing
      if ((request.log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled?.('info') === true) {
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
      }
      done();
    });
  },
  { name: 'request-log' },
);
