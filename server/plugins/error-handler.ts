import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { type ErrorCode, type ErrorKind, isStrataError, StrataError } from '../../storage/index.js';

/** The one place an error kind becomes an HTTP status. */
export const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  bad_input: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media: 415,
  uri_too_long: 414,
  unprocessable: 422,
  timeout: 408,
  unavailable: 503,
  internal: 500,
  unauthorized: 401,
  forbidden: 403,
};

/** Fastify's own errors that are the client's fault, mapped onto Strata codes. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'STRATA_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'STRATA_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'STRATA_ERR_BAD_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'STRATA_ERR_BAD_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'STRATA_ERR_BAD_JSON',
  FST_ERR_BAD_URL: 'STRATA_ERR_BAD_URL',
};

/** Longest path segment the router accepts (a collection name is at most 128; ids and fields are short). */
export const MAX_PATH_SEGMENT = 1024;

/** Body of an error answered outside Fastify's reply (the router's own limits). */
export function errorBody(error: StrataError): string {
  return JSON.stringify({ status: { error: error.message, code: error.code }, time: 0 });
}

export function sendError(reply: FastifyReply, error: StrataError): FastifyReply {
  const status = STATUS_BY_KIND[error.kind];
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  const message = status >= 500 && error.code === 'STRATA_ERR_INTERNAL' ? 'Internal error' : error.message;
  return reply.code(status).send({ status: { error: message, code: error.code }, time: reply.elapsedTime / 1000 });
}

/** Turns anything thrown in a request into `{status:{error, code}, time}` with the right status. */
export function toStrataError(error: FastifyError | Error, bodyLimit: number): StrataError {
  if (isStrataError(error)) return error;
  const fe = error as FastifyError;
  if (fe.validation) return new StrataError('STRATA_ERR_VALIDATION', [error.message]);
  const mapped = fe.code ? FASTIFY_CODES[fe.code] : undefined;
  if (mapped === 'STRATA_ERR_BODY_TOO_LARGE') return new StrataError(mapped, [bodyLimit]);
  if (mapped) return new StrataError(mapped, [error.message]);
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new StrataError('STRATA_ERR_VALIDATION', [error.message]);
  }
  return new StrataError('STRATA_ERR_INTERNAL', [], { cause: error });
}

export default fp(
  async (app: FastifyInstance, opts: { bodyLimit: number }) => {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const strata = toStrataError(error, opts.bodyLimit);
      // Failures are errors with a stack; shedding load (503) is expected under pressure and stays one line.
      if (strata.kind === 'internal') request.log.error({ err: error, code: strata.code }, 'request failed');
      else if (strata.kind === 'unavailable')
        request.log.warn({ code: strata.code, reason: strata.message }, 'request shed');
      else request.log.info({ code: strata.code, reason: strata.message }, 'request rejected');
      return sendError(reply, strata);
    });
    app.setNotFoundHandler((request, reply) =>
      sendError(
        reply,
        new StrataError('STRATA_ERR_ROUTE_NOT_FOUND', [`${request.method} ${request.url.split('?')[0]}`]),
      ),
    );
  },
  { name: 'error-handler' },
);
