import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { StrataError } from '../../storage/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** STRATA_REQUEST_TIMEOUT_MS; 0 = no limit. */
    requestTimeoutMs: number;
  }
}

/**
 * Runs a read (search, query, count, scroll) under the request timeout, counted from the request's arrival.
 * Past it, the answer is 408 `STRATA_ERR_TIMEOUT` at once, and `signal` aborts: storage cancels the pool tasks
 * it passed the signal to (queued ones are dropped, running ones stop with their worker, which the pool
 * replaces). Work that does not take the signal runs on in the background, but the client is not held.
 */
export function withDeadline<T>(reply: FastifyReply, run: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  const limit = reply.server.requestTimeoutMs;
  if (!limit) return run(undefined);
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        const error = new StrataError('STRATA_ERR_TIMEOUT', [`the limit of ${limit} ms (STRATA_REQUEST_TIMEOUT_MS)`]);
        controller.abort(error);
        reject(error);
      },
      Math.max(0, limit - reply.elapsedTime),
    );
    const settle = () => clearTimeout(timer);
    try {
      run(controller.signal).then(resolve, reject).finally(settle);
    } catch (e) {
      settle();
      reject(e);
    }
  });
}

/** Holds the request timeout for withDeadline. Writes are never timed out: they commit or fail whole. */
export default fp(
  async (app: FastifyInstance, opts: { requestTimeoutMs: number }) => {
    app.decorate('requestTimeoutMs', opts.requestTimeoutMs);
  },
  { name: 'request-timeout' },
);
