import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { type SearchSignal, StrataError } from '../../storage/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** STRATA_REQUEST_TIMEOUT_MS; 0 = no limit. */
    requestTimeoutMs: number;
  }
}

/**
 * Runs a read (search, query, count, scroll) under the request timeout, counted from the request's arrival.
 * Past it, the answer is 408 `STRATA_ERR_TIMEOUT` at once, and the signal aborts: storage cancels the pool tasks
 * it passed the signal to (queued ones are dropped, running ones stop with their worker, which the pool
 * replaces). Work that does not take the signal runs on in the background, but the client is not held.
 *
 * The signal is made only when storage asks for it (when it hands work to the pool): a search answered on the
 * event loop, most single searches, allocates no AbortController. Asked for after the deadline, it is already
 * aborted.
 */
export function withDeadline<T>(
  reply: FastifyReply,
  run: (signal: SearchSignal | undefined) => Promise<T>,
): Promise<T> {
  const limit = reply.server.requestTimeoutMs;
  if (!limit) return run(undefined);
  let controller: AbortController | null = null;
  let expired: StrataError | null = null;
  const signal = (): AbortSignal => {
    if (controller === null) {
      controller = new AbortController();
      if (expired !== null) controller.abort(expired);
    }
    return controller.signal;
  };
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        expired = new StrataError('STRATA_ERR_TIMEOUT', [`the limit of ${limit} ms (STRATA_REQUEST_TIMEOUT_MS)`]);
        controller?.abort(expired);
        reject(expired);
      },
      Math.max(0, limit - reply.elapsedTime),
    );
    try {
      run(signal).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    } catch (e) {
      clearTimeout(timer);
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
