import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** Builds the OpenAPI 3 document from the route schemas; serves it at /openapi.json and a browsable UI at /docs. */
export default fp(
  async (app: FastifyInstance, opts: { version: string }) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Strata',
          description:
            'Vector database with a Qdrant-compatible REST API, hybrid-query partitioning and hubness-aware rescoring.',
          version: opts.version,
        },
        tags: [
          { name: 'service', description: 'Version, health and readiness' },
          { name: 'collections', description: 'Collections and payload indexes' },
          { name: 'points', description: 'Points and payloads' },
          { name: 'search', description: 'Filtered k-NN search' },
          { name: 'partitioning', description: 'HQI: the logged hybrid-query workload and the partition tree' },
        ],
        // Only when the server has keys configured (STRATA_API_KEY, STRATA_READ_ONLY_API_KEY); README: API keys.
        components: {
          securitySchemes: {
            apiKey: { type: 'apiKey', in: 'header', name: 'api-key' },
            bearer: { type: 'http', scheme: 'bearer' },
          },
        },
        security: [{ apiKey: [] }, { bearer: [] }],
      },
      refResolver: {
        buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'openapi' },
);
