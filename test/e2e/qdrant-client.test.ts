import { QdrantClient } from '@qdrant/js-client-rest';
// The last client release whose `search`/`searchBatch` call /points/search and /points/search/batch
// (1.16 and later only have `query`): installed under an alias so both run in one suite.
import { QdrantClient as LegacyQdrantClient } from 'qdrant-js-client-rest-1.15';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../helpers/server.js';

/**
 * Strata driven by the unmodified official Qdrant JavaScript client: every call below goes through the client's
 * own request building and response parsing, so a difference in routes, query strings or envelopes fails here.
 */
let server: RunningServer;
let client: QdrantClient;
let legacy: LegacyQdrantClient;

const UUID_A = '5c56c793-69f3-4fbf-87e6-c4bf54c28c26';
const UUID_B = '9a1f3e2d-0c4b-4d5e-8f6a-7b8c9d0e1f2a';

beforeAll(async () => {
  server = await startServer();
  // The client compares its version with the server's (Strata is 0.x) and only warns; the check is off here.
  client = new QdrantClient({ url: server.url, checkCompatibility: false });
  legacy = new LegacyQdrantClient({ url: server.url, checkCompatibility: false });
});
afterAll(async () => {
  await server?.stop();
});

/** The HTTP status the client's error carries (its errors expose `status`). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (e) {
    return (e as { status: number }).status;
  }
  throw new Error('the call succeeded');
}

describe('@qdrant/js-client-rest 1.19 against Strata', () => {
  it('manages collections', async () => {
    expect(await client.collectionExists('books')).toEqual({ exists: false });
    expect(await client.createCollection('books', { vectors: { size: 4, distance: 'Cosine' } })).toBe(true);
    expect(await client.collectionExists('books')).toEqual({ exists: true });
    const { collections } = await client.getCollections();
    expect(collections).toContainEqual({ name: 'books' });
    const info = await client.getCollection('books');
    expect(info.status).toBe('green');
    expect(info.points_count).toBe(0);
    expect(info.config.params.vectors).toMatchObject({ size: 4, distance: 'Cosine' });
    const indexed = await client.createPayloadIndex('books', {
      field_name: 'genre',
      field_schema: 'keyword',
      wait: true,
    });
    expect(indexed.status).toBe('completed');
    expect((await client.getCollection('books')).payload_schema.genre).toMatchObject({ data_type: 'keyword' });
  });

  it('upserts points and batches with integer and UUID ids, retrieves and sets payloads', async () => {
    const upserted = await client.upsert('books', {
      wait: true,
      points: [
        { id: 1, vector: [1, 0, 0, 0], payload: { genre: 'sf', year: 1965 } },
        { id: 2, vector: [0.9, 0.1, 0, 0], payload: { genre: 'fantasy', year: 1954 } },
        { id: UUID_A, vector: [0, 1, 0, 0], payload: { genre: 'sf', year: 1985 } },
      ],
    });
    expect(upserted.status).toBe('completed');
    await client.upsert('books', {
      wait: true,
      batch: {
        ids: [3, UUID_B],
        vectors: [
          [0, 0, 1, 0],
          [0.8, 0, 0.2, 0],
        ],
        payloads: [
          { genre: 'poetry', year: 1800 },
          { genre: 'sf', year: 2001 },
        ],
      },
    });
    const records = await client.retrieve('books', { ids: [1, UUID_A], with_payload: true, with_vector: true });
    expect(records.map((r) => r.id).sort()).toEqual([1, UUID_A].sort());
    expect(records.find((r) => r.id === 1)?.payload).toEqual({ genre: 'sf', year: 1965 });
    expect(records.find((r) => r.id === UUID_A)?.vector).toHaveLength(4);

    await client.setPayload('books', { payload: { read: true }, points: [1, 2], wait: true });
    const [one] = await client.retrieve('books', { ids: [1] });
    expect(one?.payload).toEqual({ genre: 'sf', year: 1965, read: true });
    expect(await client.count('books', { exact: true })).toEqual({ count: 5 });
    expect(
      await client.count('books', { filter: { must: [{ key: 'genre', match: { value: 'sf' } }] }, exact: true }),
    ).toEqual({ count: 3 });
  });

  it('queries, with filters and in batches', async () => {
    const sf = { must: [{ key: 'genre', match: { value: 'sf' } }] };
    const { points } = await client.query('books', { query: [1, 0, 0, 0], limit: 3, with_payload: true });
    expect(points.map((p) => p.id)).toEqual([1, 2, UUID_B]);
    expect(points[0]?.score).toBeCloseTo(1, 5);
    const filtered = await client.query('books', { query: [1, 0, 0, 0], filter: sf, limit: 10 });
    expect(filtered.points.map((p) => p.id)).toEqual([1, UUID_B, UUID_A]);
    const byId = await client.query('books', { query: 1, limit: 1 });
    expect(byId.points.map((p) => p.id)).toEqual([2]);
    const batch = await client.queryBatch('books', {
      searches: [
        { query: [0, 0, 1, 0], limit: 1 },
        { query: [0, 1, 0, 0], filter: sf, limit: 2, with_payload: ['year'] },
      ],
    });
    expect(batch.map((b) => b.points.map((p) => p.id))).toEqual([[3], [UUID_A, UUID_B]]);
    expect(batch[1]?.points[0]?.payload).toEqual({ year: 1985 });
  });

  it('scrolls all points in pages', async () => {
    const first = await client.scroll('books', { limit: 2, with_payload: false });
    expect(first.points).toHaveLength(2);
    expect(first.next_page_offset).not.toBeNull();
    const rest = await client.scroll('books', { limit: 10, offset: first.next_page_offset as number | string });
    expect(first.points.length + rest.points.length).toBe(5);
    expect(rest.next_page_offset ?? null).toBeNull();
    const filtered = await client.scroll('books', {
      filter: { must: [{ key: 'year', range: { gte: 1960 } }] },
      limit: 10,
    });
    expect(filtered.points.map((p) => p.id).sort()).toEqual([1, UUID_A, UUID_B].sort());
  });

  it('serves the search and searchBatch of older clients (1.15)', async () => {
    const hits = await legacy.search('books', {
      vector: [1, 0, 0, 0],
      limit: 2,
      filter: { must_not: [{ key: 'genre', match: { value: 'fantasy' } }] },
    });
    expect(hits.map((h) => h.id)).toEqual([1, UUID_B]);
    expect(hits[0]?.payload).toMatchObject({ genre: 'sf' });
    const batches = await legacy.searchBatch('books', {
      searches: [
        { vector: [0, 0, 1, 0], limit: 1 },
        { vector: [0, 1, 0, 0], limit: 1, filter: { must: [{ key: 'genre', match: { any: ['poetry'] } }] } },
      ],
    });
    expect(batches.map((b) => b.map((h) => h.id))).toEqual([[3], [3]]);
    // the rest of the old client's surface still agrees too
    expect((await legacy.getCollection('books')).points_count).toBe(5);
  });

  it('deletes points by id and by filter, then the collection', async () => {
    expect((await client.delete('books', { points: [UUID_A], wait: true })).status).toBe('completed');
    await client.delete('books', { filter: { must: [{ key: 'genre', match: { value: 'poetry' } }] }, wait: true });
    const left = await client.scroll('books', { limit: 10 });
    expect(left.points.map((p) => p.id).sort()).toEqual([1, 2, UUID_B].sort());
    expect(await client.deleteCollection('books')).toBe(true);
    expect(await client.collectionExists('books')).toEqual({ exists: false });
  });

  it('reports errors with the status Qdrant uses', async () => {
    expect(await statusOf(client.getCollection('missing'))).toBe(404);
    expect(await statusOf(client.upsert('missing', { points: [{ id: 1, vector: [1] }] }))).toBe(404);
    await client.createCollection('dup', { vectors: { size: 2, distance: 'Dot' } });
    expect(await statusOf(client.createCollection('dup', { vectors: { size: 2, distance: 'Dot' } }))).toBe(409);
    expect(await statusOf(client.upsert('dup', { wait: true, points: [{ id: 1, vector: [1, 2, 3] }] }))).toBe(400);
    expect(await statusOf(client.query('dup', { query: [1, 2, 3], limit: 1 }))).toBe(400);
  });
});
