import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  type Collection,
  type Database,
  parsePointId,
  type ScoredPoint,
  type SearchInput,
  StrataError,
  scrollCollection,
} from '../../storage/index.js';
import { CollectionNameParams, ERROR_RESPONSES } from '../schemas/common.js';
import {
  QueryBatchResponseSchema,
  QueryBatchSchema,
  QueryRequestSchema,
  QueryResponseSchema,
  SearchBatchResponseSchema,
  SearchBatchSchema,
  SearchRequestSchema,
  SearchResponseSchema,
} from '../schemas/search.js';
import { ok } from './envelope.js';

type QueryRequest = Omit<SearchInput, 'vector' | 'limit'> & { query?: unknown; limit?: number | undefined };

const DEFAULT_QUERY_LIMIT = 10;

/**
 * The universal query form: `query` is a vector, a point id (its stored vector; the point itself is left out)
 * or `{nearest: ...}`; without `query`, points come in id order with score 0.
 */
async function runQueries(
  db: Database,
  collection: Collection,
  requests: readonly QueryRequest[],
): Promise<ScoredPoint[][]> {
  const out: ScoredPoint[][] = new Array(requests.length);
  const searches: SearchInput[] = [];
  const slots: { index: number; exclude: unknown }[] = [];
  for (const [index, r] of requests.entries()) {
    const limit = r.limit ?? DEFAULT_QUERY_LIMIT;
    const target = r.query !== null && typeof r.query === 'object' && 'nearest' in r.query ? r.query.nearest : r.query;
    if (target === undefined || target === null) {
      const page = await scrollCollection(collection, {
        filter: r.filter,
        limit,
        with_payload: r.with_payload,
        with_vector: r.with_vector,
      });
      out[index] = page.points.map((p) => ({ ...p, version: 0, score: 0 }));
      continue;
    }
    let vector: readonly number[];
    let exclude: unknown = null;
    if (Array.isArray(target)) {
      vector = target as number[];
    } else {
      const id = parsePointId(target);
      const [record] = collection.retrieve([id], false, true);
      if (record?.vector == null) throw new StrataError('STRATA_ERR_POINT_NOT_FOUND', [String(target)]);
      vector = record.vector;
      exclude = id;
    }
    searches.push({ ...r, vector, limit: exclude === null ? limit : limit + 1 });
    slots.push({ index, exclude });
  }
  const results = await db.search(collection, searches);
  slots.forEach(({ index, exclude }, i) => {
    const hits = results[i]!;
    const limit = requests[index]!.limit ?? DEFAULT_QUERY_LIMIT;
    out[index] = (exclude === null ? hits : hits.filter((h) => h.id !== exclude)).slice(0, limit);
  });
  return out;
}

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['search'];
  const params = CollectionNameParams;
  app.post(
    '/collections/:collection_name/points/search',
    {
      schema: {
        tags,
        summary: 'Filtered k-NN search',
        params,
        body: SearchRequestSchema,
        response: { 200: SearchResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const [hits] = await app.db.search(app.db.get(req.params.collection_name), [req.body]);
      return ok(reply, hits!);
    },
  );
  app.post(
    '/collections/:collection_name/points/search/batch',
    {
      schema: {
        tags,
        summary: 'Several searches in one request',
        params,
        body: SearchBatchSchema,
        response: { 200: SearchBatchResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => ok(reply, await app.db.search(app.db.get(req.params.collection_name), req.body.searches)),
  );
  app.post(
    '/collections/:collection_name/points/query',
    {
      schema: {
        tags,
        summary: 'Universal query (vector or point id)',
        params,
        body: QueryRequestSchema,
        response: { 200: QueryResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const [points] = await runQueries(app.db, app.db.get(req.params.collection_name), [req.body as QueryRequest]);
      return ok(reply, { points: points! });
    },
  );
  app.post(
    '/collections/:collection_name/points/query/batch',
    {
      schema: {
        tags,
        summary: 'Several universal queries',
        params,
        body: QueryBatchSchema,
        response: { 200: QueryBatchResponseSchema, ...ERROR_RESPONSES },
      },
    },
    async (req, reply) => {
      const results = await runQueries(
        app.db,
        app.db.get(req.params.collection_name),
        req.body.searches as QueryRequest[],
      );
      return ok(
        reply,
        results.map((points) => ({ points })),
      );
    },
  );
};

export default routes;
