import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { StrataError } from '../../storage/index.js';

/**
 * Routes anyone may call, key or not: the liveness and readiness probes, and the web console's static files
 * (the page asks for the key and sends it with its API calls).
 */
const OPEN_ROUTES = new Set([
  'GET /healthz',
  'HEAD /healthz',
  'GET /readyz',
  'HEAD /readyz',
  'GET /console',
  'GET /console/*',
  'HEAD /console/*',
]);

/**
 * Routes the read-only key may call besides GET and HEAD: the POST routes that only read (retrieve, search,
 * query, scroll, count). Every other route, and every route added later, counts as a write until listed here.
 */
export const READ_ONLY_POST_ROUTES: ReadonlySet<string> = new Set([
  '/collections/:collection_name/points',
  '/collections/:collection_name/points/search',
  '/collections/:collection_name/points/search/batch',
  '/collections/:collection_name/points/query',
  '/collections/:collection_name/points/query/batch',
  '/collections/:collection_name/points/scroll',
  '/collections/:collection_name/points/count',
]);

export type Access = 'full' | 'read';

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The key a request presents: the `api-key` header, else `Authorization: Bearer <key>`. */
export function presentedKey(request: FastifyRequest): string | null {
  const header = request.headers['api-key'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = request.headers.authorization;
  if (typeof authorization !== 'string') return null;
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return m ? m[1]! : null;
}

/** Whether the route changes data (so the read-only key may not call it). Unmatched routes change nothing. */
export function isWrite(method: string, route: string | undefined): boolean {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return false;
  if (route === undefined) return false;
  return !(method === 'POST' && READ_ONLY_POST_ROUTES.has(route));
}

/**
 * Checks keys against the configured ones in constant time: both sides are hashed to SHA-256 first, so the
 * comparison never depends on the keys' lengths or contents, and every configured key is compared each time.
 */
export function keyChecker(keys: { full: string | null; read: string | null }): (presented: string) => Access | null {
  const full = keys.full === null ? null : digest(keys.full);
  const read = keys.read === null ? null : digest(keys.read);
  return (presented) => {
    const given = digest(presented);
    const isFull = full !== null && timingSafeEqual(given, full);
    const isRead = read !== null && timingSafeEqual(given, read);
    return isFull ? 'full' : isRead ? 'read' : null;
  };
}

/**
 * API keys. With STRATA_API_KEY or STRATA_READ_ONLY_API_KEY set, every request but the health probes needs a
 * valid key (401 `STRATA_ERR_UNAUTHORIZED` with `WWW-Authenticate: Bearer` otherwise), and the read-only key
 * gets 403 `STRATA_ERR_FORBIDDEN` on writes. The check runs first in `onRequest`, before readiness, body
 * parsing and validation, so nothing about the data leaks to a caller without a key. Keys are never logged.
 */
export default fp(
  async (app: FastifyInstance, opts: { apiKey: string | null; readOnlyApiKey: string | null }) => {
    if (opts.apiKey === null && opts.readOnlyApiKey === null) return;
    const check = keyChecker({ full: opts.apiKey, read: opts.readOnlyApiKey });
    app.addHook('onRequest', async (request, reply) => {
      const route = request.routeOptions.url;
      if (OPEN_ROUTES.has(`${request.method} ${route}`)) return;
      const presented = presentedKey(request);
      const access = presented === null ? null : check(presented);
      if (access === null) {
        reply.header(
          'www-authenticate',
          presented === null ? 'Bearer realm="strata"' : 'Bearer realm="strata", error="invalid_token"',
        );
        throw new StrataError('STRATA_ERR_UNAUTHORIZED', [presented === null ? 'no API key' : 'invalid API key']);
      }
      if (access === 'read' && isWrite(request.method, route)) {
        throw new StrataError('STRATA_ERR_FORBIDDEN', [`${request.method} ${route}`]);
      }
    });
  },
  { name: 'auth' },
);
