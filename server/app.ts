import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { TSchema } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from 'fastify';
import { StrataError } from '../storage/index.js';
import { DEFAULT_CONFIG, type ServerConfig } from './config.js';
import { MAX_JSON_DEPTH, parseJson, stringifyJson, TooDeepError } from './json.js';
import auth from './plugins/auth.js';
import webConsole from './plugins/console.js';
import errorHandler, {
  errorBody,
  MAX_PATH_SEGMENT,
  STATUS_BY_KIND,
  sendError,
  toStrataError,
} from './plugins/error-handler.js';
import metrics from './plugins/metrics.js';
import openapi from './plugins/openapi.js';
import requestLog from './plugins/request-log.js';
import requestTimeout from './plugins/request-timeout.js';
import storage from './plugins/storage.js';
import { typeboxValidatorCompiler } from './plugins/validator.js';
import collectionRoutes from './routes/collections.js';
import hubnessRoutes from './routes/hubness.js';
import partitioningRoutes from './routes/partitioning.js';
import pointRoutes from './routes/points.js';
import searchRoutes from './routes/search.js';
import serviceRoutes from './routes/service.js';
import snapshotRoutes from './routes/snapshots.js';
import { ErrorResponseSchema } from './schemas/common.js';
import { FilterSchema } from './schemas/filter.js';

export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Schemas referenced by `$ref` from routes: registered once, shared by validation and the OpenAPI document. */
const SHARED_SCHEMAS: TSchema[] = [FilterSchema, ErrorResponseSchema];

/** Composes the app; never listens (server/main.ts does), so tests may also use inject(). */
export async function buildApp(
  config: Pick<ServerConfig, 'dataDir' | 'workers' | 'maxBodyMb'> &
    Partial<
      Pick<
        ServerConfig,
        | 'queueSize'
        | 'writeQueueSize'
        | 'optimizerBacklogRatio'
        | 'optimizerBacklogRows'
        | 'apiKey'
        | 'readOnlyApiKey'
        | 'tlsCert'
        | 'tlsKey'
        | 'requestTimeoutMs'
        | 'maxSnapshotMb'
        | 'recallSampleRate'
        | 'queryLogSample'
        | 'batchWindowMs'
      >
    >,
  logger: FastifyServerOptions['logger'] = false,
): Promise<FastifyInstance> {
  const bodyLimit = config.maxBodyMb * 1024 * 1024;
  // With a certificate and key the server speaks HTTPS only (server/config.ts checked that they match).
  const https =
    config.tlsCert && config.tlsKey
      ? { https: { cert: fs.readFileSync(config.tlsCert), key: fs.readFileSync(config.tlsKey) } }
      : {};
  // Fastify's own request lines are off: plugins/request-log.ts writes one line per request instead.
  const app = Fastify({
    ...https,
    logger,
    bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    routerOptions: {
      maxParamLength: MAX_PATH_SEGMENT,
      onMaxParamLength: (_path, _req, res) => {
        const error = new StrataError('STRATA_ERR_URI_TOO_LONG', [MAX_PATH_SEGMENT]);
        res.writeHead(STATUS_BY_KIND[error.kind], { 'content-type': 'application/json; charset=utf-8' });
        res.end(errorBody(error));
      },
    },
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, toStrataError(error, bodyLimit));
    },
  });
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  app.setValidatorCompiler(typeboxValidatorCompiler(SHARED_SCHEMAS));
  // Response schemas document the API; bodies are written by one serializer that keeps 64-bit ids exact.
  app.setSerializerCompiler(() => stringifyJson);
  // JSON only: any other content type is answered 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, (body as string).length === 0 ? undefined : parseJson(body as string));
    } catch (e) {
      if (e instanceof TooDeepError)
        return done(new StrataError('STRATA_ERR_JSON_TOO_DEEP', [MAX_JSON_DEPTH]), undefined);
      done(
        Object.assign(new Error((e as Error).message), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }),
        undefined,
      );
    }
  });
  // A POST or PUT without a body is an empty object: `count` and `scroll` need nothing else, and routes with
  // required fields say which one is missing.
  app.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && (request.method === 'POST' || request.method === 'PUT')) request.body = {};
    done();
  });
  await app.register(errorHandler, { bodyLimit });
  await app.register(requestLog);
  // First among the request hooks: a caller without a valid key learns nothing, not even readiness.
  await app.register(auth, { apiKey: config.apiKey ?? null, readOnlyApiKey: config.readOnlyApiKey ?? null });
  await app.register(requestTimeout, { requestTimeoutMs: config.requestTimeoutMs ?? DEFAULT_CONFIG.requestTimeoutMs });
  await app.register(openapi, { version: VERSION });
  await app.register(storage, {
    dataDir: config.dataDir,
    workers: config.workers,
    queueSize: config.queueSize ?? 0,
    recallSampleRate: config.recallSampleRate ?? DEFAULT_CONFIG.recallSampleRate,
    queryLogSample: config.queryLogSample ?? DEFAULT_CONFIG.queryLogSample,
    batchWindowMs: config.batchWindowMs ?? DEFAULT_CONFIG.batchWindowMs,
    writeQueueSize: config.writeQueueSize ?? DEFAULT_CONFIG.writeQueueSize,
    optimizerBacklog: {
      ratio: config.optimizerBacklogRatio ?? DEFAULT_CONFIG.optimizerBacklogRatio,
      maxRows: config.optimizerBacklogRows ?? DEFAULT_CONFIG.optimizerBacklogRows,
    },
  });
  await app.register(metrics);
  await app.register(serviceRoutes, { version: VERSION });
  await app.register(collectionRoutes);
  await app.register(pointRoutes);
  await app.register(searchRoutes);
  await app.register(snapshotRoutes, { maxSnapshotMb: config.maxSnapshotMb ?? DEFAULT_CONFIG.maxSnapshotMb });
  await app.register(hubnessRoutes);
  await app.register(partitioningRoutes);
  await app.register(webConsole);
  // Node closes a connection on a malformed request or a header timeout before any route sees it; say so, or an
  // operator only hears of it as a client's "socket closed".
  app.server.on('clientError', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET')
      app.log.warn({ code: err.code, reason: err.message }, 'connection closed on a client error');
  });
  return app;
}
