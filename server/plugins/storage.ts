import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type BacklogLimits, Database, StrataError } from '../../storage/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Database;
  }
}

/** Paths served while recovery is still running, besides /docs and /console (everything else answers 503 STRATA_ERR_NOT_READY). */
const ALWAYS_OPEN = new Set(['/', '/healthz', '/readyz', '/openapi.json', '/metrics']);

/**
 * Opens the database on the data directory, starts recovery in the background (the server listens meanwhile,
 * so health probes answer), and closes the pool and SQLite when the app closes.
 */
export default fp(
  async (
    app: FastifyInstance,
    opts: {
      dataDir: string;
      workers: number;
      queueSize: number;
      writeQueueSize: number;
      optimizerBacklog: BacklogLimits;
      recallSampleRate: number;
      queryLogSample: number;
      batchWindowMs: number;
    },
  ) => {
    const db = new Database({
      dataDir: opts.dataDir,
      queryLogSample: opts.queryLogSample,
      batchWindowMs: opts.batchWindowMs,
      pool: { threads: opts.workers, ...(opts.queueSize > 0 ? { maxQueue: opts.queueSize } : {}) },
      recallSampleRate: opts.recallSampleRate,
      writeQueueSize: opts.writeQueueSize,
      optimizerBacklog: opts.optimizerBacklog,
      onRecovered: (collection, points, ms) => app.log.info({ collection, points, ms }, 'collection recovered'),
      log: (level, fields, message) => app.log[level](fields, message),
    });
    app.decorate('db', db);
    app.addHook('onReady', async () => {
      const started = Date.now();
      db.recover().then(
        () => app.log.info({ ms: Date.now() - started, dataDir: db.dataDir }, 'recovery finished; ready'),
        (err: unknown) => app.log.fatal({ err }, 'recovery failed; not ready'),
      );
    });
    // A callback hook (no promise per request) that looks at the path only while recovering.
    app.addHook('onRequest', (request, _reply, done) => {
      if (db.ready) return done();
      const path = request.url.split('?')[0]!;
      if (!ALWAYS_OPEN.has(path) && !path.startsWith('/docs') && !path.startsWith('/console')) {
        return done(new StrataError('STRATA_ERR_NOT_READY', [], { retryAfter: 1 }));
      }
      done();
    });
    app.addHook('onClose', async () => {
      await db.close();
    });
  },
  { name: 'storage' },
);
