import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type RunningServer, startServer } from '../helpers/server.js';

let server: RunningServer;
const call = <T = any>(method: string, route: string, body?: unknown) => api<T>(server.url, method, route, body);

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('service routes', () => {
  it('answers GET / with title and version, and the health probes', async () => {
    const root = await call('GET', '/');
    expect(root.status).toBe(200);
    expect(root.body.title).toContain('strata');
    expect(root.body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
  });

  it('serves the OpenAPI document and the docs UI', async () => {
    const spec = await call('GET', '/openapi.json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.body.paths)).toContain('/collections/{collection_name}/points/search');
    const docs = await fetch(`${server.url}/docs/`);
    expect(docs.status).toBe(200);
  });

  it('answers unknown routes with 404 and a code', async () => {
    const res = await call('GET', '/nope');
    expect(res.status).toBe(404);
    expect(res.body.status.code).toBe('STRATA_ERR_ROUTE_NOT_FOUND');
  });
});

describe('collections', () => {
  it('creates, lists, describes, checks and deletes collections', async () => {
    const created = await call('PUT', '/collections/c1', {
      vectors: { size: 4, distance: 'Dot' },
      shard_number: 3,
      replication_factor: 2,
      write_consistency_factor: 1,
      on_disk_payload: false,
      hnsw_config: { m: 32 },
      optimizers_config: { indexing_threshold: 5000 },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ result: true, status: 'ok' });
    expect(typeof created.body.time).toBe('number');

    const list = await call('GET', '/collections');
    expect(list.body.result.collections).toContainEqual({ name: 'c1' });

    const info = await call('GET', '/collections/c1');
    expect(info.status).toBe(200);
    expect(info.body.result).toMatchObject({
      status: 'green',
      points_count: 0,
      segments_count: 0,
      config: {
        params: { vectors: { size: 4, distance: 'Dot' }, shard_number: 1 },
        hnsw_config: { m: 32, ef_construct: 100 },
        optimizer_config: { indexing_threshold: 5000 },
      },
      payload_schema: {},
    });
    expect((await call('GET', '/collections/c1/exists')).body.result).toEqual({ exists: true });
    expect((await call('GET', '/collections/zz/exists')).body.result).toEqual({ exists: false });
    expect((await call('DELETE', '/collections/c1')).body.result).toBe(true);
    expect((await call('DELETE', '/collections/c1')).body.result).toBe(false);
    expect((await call('GET', '/collections/c1')).status).toBe(404);
  });

  it('creates and deletes payload indexes, reported in payload_schema', async () => {
    await call('PUT', '/collections/idx', { vectors: { size: 2, distance: 'Euclid' } });
    await call('PUT', '/collections/idx/points', {
      points: [
        { id: 1, vector: [0, 0], payload: { color: 'red' } },
        { id: 2, vector: [1, 1], payload: { color: 'blue', n: 3 } },
        { id: 3, vector: [2, 2], payload: {} },
      ],
    });
    const put = await call('PUT', '/collections/idx/index', { field_name: 'color', field_schema: 'keyword' });
    expect(put.status).toBe(200);
    expect(put.body.result.status).toBe('completed');
    await call('PUT', '/collections/idx/index', { field_name: 'n', field_schema: { type: 'integer' } });
    const info = await call('GET', '/collections/idx');
    expect(info.body.result.payload_schema).toEqual({
      color: { data_type: 'keyword', params: {}, points: 2 },
      n: { data_type: 'integer', params: {}, points: 1 },
    });
    expect((await call('DELETE', '/collections/idx/index/color')).status).toBe(200);
    expect(Object.keys((await call('GET', '/collections/idx')).body.result.payload_schema)).toEqual(['n']);
    const missing = await call('DELETE', '/collections/idx/index/color');
    expect(missing.status).toBe(404);
    expect(missing.body.status.code).toBe('STRATA_ERR_PAYLOAD_INDEX_NOT_FOUND');
  });
});

describe('points', () => {
  const big = '18446744073709551615';
  const uuid = '550e8400-e29b-41d4-a716-446655440000';

  beforeAll(async () => {
    await call('PUT', '/collections/p', { vectors: { size: 3, distance: 'Euclid' } });
  });

  it('upserts points and batches, with integer, 64-bit and UUID ids kept exact', async () => {
    const body = `{"points":[{"id":1,"vector":[1,0,0],"payload":{"city":"Berlin","tags":["a","b"]}},
      {"id":${big},"vector":[0,1,0],"payload":{"city":"Paris"}},
      {"id":9007199254740993,"vector":[0,0,2]},
      {"id":"${uuid.toUpperCase()}","vector":[0,0,1],"payload":null}]}`;
    expect((await call('PUT', '/collections/p/points?wait=true', body)).status).toBe(200);
    const batch = await call('PUT', '/collections/p/points', {
      batch: {
        ids: [10, 11],
        vectors: [
          [5, 5, 5],
          [6, 6, 6],
        ],
        payloads: [{ n: 10 }, { n: 11 }],
      },
    });
    expect(batch.status).toBe(200);
    const one = await call('GET', `/collections/p/points/${big}`);
    expect(one.status).toBe(200);
    expect(one.text).toContain(`"id":${big}`);
    expect(one.body.result.payload).toEqual({ city: 'Paris' });
    expect(one.body.result.vector).toEqual([0, 1, 0]);
    const exact = await call('GET', '/collections/p/points/9007199254740993');
    expect(exact.text).toContain('"id":9007199254740993');
    const byUuid = await call('GET', `/collections/p/points/${uuid}`);
    expect(byUuid.body.result.id).toBe(uuid);
    expect(byUuid.body.result.payload).toEqual({});
    expect((await call('POST', '/collections/p/points/count', {})).body.result.count).toBe(6);
  });

  it('retrieves by ids with with_payload and with_vector choices', async () => {
    const res = await call('POST', '/collections/p/points', {
      ids: [1, 10, 404],
      with_payload: ['city'],
      with_vector: true,
    });
    expect(res.body.result).toEqual([
      { id: 1, payload: { city: 'Berlin' }, vector: [1, 0, 0] },
      { id: 10, payload: {}, vector: [5, 5, 5] },
    ]);
    const bare = await call('POST', '/collections/p/points', { ids: [1], with_payload: false });
    expect(bare.body.result).toEqual([{ id: 1, payload: null, vector: null }]);
    const excl = await call('POST', '/collections/p/points', { ids: [1], with_payload: { exclude: ['city'] } });
    expect(excl.body.result[0].payload).toEqual({ tags: ['a', 'b'] });
    const missing = await call('GET', '/collections/p/points/404');
    expect(missing.status).toBe(404);
    expect(missing.body.status.code).toBe('STRATA_ERR_POINT_NOT_FOUND');
  });

  it('edits payloads: set, overwrite, delete keys, clear, by ids and by filter', async () => {
    expect(
      (await call('POST', '/collections/p/points/payload', { payload: { x: 1, city: 'Rome' }, points: [1] })).status,
    ).toBe(200);
    let p1 = (await call('GET', '/collections/p/points/1')).body.result;
    expect(p1.payload).toEqual({ city: 'Rome', tags: ['a', 'b'], x: 1 });
    expect(p1.vector).toEqual([1, 0, 0]);
    await call('PUT', '/collections/p/points/payload', { payload: { only: true }, points: [1] });
    p1 = (await call('GET', '/collections/p/points/1')).body.result;
    expect(p1.payload).toEqual({ only: true });
    await call('POST', '/collections/p/points/payload/delete', {
      keys: ['n'],
      filter: { must: [{ key: 'n', range: { gte: 11 } }] },
    });
    expect((await call('GET', '/collections/p/points/11')).body.result.payload).toEqual({});
    expect((await call('GET', '/collections/p/points/10')).body.result.payload).toEqual({ n: 10 });
    await call('POST', '/collections/p/points/payload/clear', { points: [10] });
    expect((await call('GET', '/collections/p/points/10')).body.result.payload).toEqual({});
    const missing = await call('POST', '/collections/p/points/payload', { payload: { a: 1 }, points: [12345] });
    expect(missing.status).toBe(404);
    expect((await call('POST', '/collections/p/points/count', {})).body.result.count).toBe(6);
  });

  it('scrolls in id order with next_page_offset, with and without a filter', async () => {
    const page1 = await call('POST', '/collections/p/points/scroll', { limit: 2 });
    expect(page1.body.result.points.map((p: { id: unknown }) => p.id)).toEqual([1, 10]);
    expect(page1.body.result.next_page_offset).toBe(11);
    const page2 = await call('POST', '/collections/p/points/scroll', { limit: 2, offset: 11 });
    expect(page2.text).toContain(`"next_page_offset":${big}`);
    expect(page2.body.result.points.map((p: { id: unknown }) => p.id)).toEqual([11, 9007199254740992]); // JSON.parse rounds; text is exact
    expect(page2.text).toContain('"id":9007199254740993');
    const page3 = await api(server.url, 'POST', '/collections/p/points/scroll', `{"limit":2,"offset":${big}}`);
    expect(page3.body.result.points.map((p: { id: unknown }) => p.id)).toEqual([expect.any(Number), uuid]);
    expect(page3.body.result.next_page_offset).toBeNull();
    const filtered = await call('POST', '/collections/p/points/scroll', {
      filter: { must: [{ key: 'city', match: { any: ['Paris', 'Berlin'] } }] },
      limit: 10,
      with_payload: true,
    });
    expect(filtered.text).toContain(`"id":${big}`);
    expect(filtered.body.result.points).toHaveLength(1);
  });

  it('treats a missing body as {} for count and scroll', async () => {
    const res = await fetch(`${server.url}/collections/p/points/count`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result: { count: number } }).result.count).toBe(6);
  });

  it('counts with a filter and deletes by ids and by filter', async () => {
    expect(
      (await call('POST', '/collections/p/points/count', { filter: { must: [{ has_id: [1, 10, 77] }] } })).body.result
        .count,
    ).toBe(2);
    await call('POST', '/collections/p/points/delete', { points: [1] });
    expect((await call('GET', '/collections/p/points/1')).status).toBe(404);
    await call('POST', '/collections/p/points/delete', {
      filter: { must: [{ key: 'city', match: { value: 'Paris' } }] },
    });
    expect((await api(server.url, 'GET', `/collections/p/points/${big}`)).status).toBe(404);
    expect((await call('POST', '/collections/p/points/count', {})).body.result.count).toBe(4);
  });
});

describe('search and query', () => {
  beforeAll(async () => {
    await call('PUT', '/collections/s', { vectors: { size: 2, distance: 'Euclid' } });
    await call('PUT', '/collections/s/points', {
      points: [0, 1, 2, 3, 4, 5].map((i) => ({ id: i, vector: [i, 0], payload: { even: i % 2 === 0, i } })),
    });
  });

  it('searches with limit, offset, score_threshold, filter, with_payload and with_vector', async () => {
    const res = await call('POST', '/collections/s/points/search', { vector: [0.1, 0], limit: 3, with_payload: true });
    expect(res.body.result.map((r: { id: number }) => r.id)).toEqual([0, 1, 2]);
    expect(res.body.result[1].score).toBeCloseTo(0.9, 5);
    expect(res.body.result[0].payload).toEqual({ even: true, i: 0 });
    const off = await call('POST', '/collections/s/points/search', {
      vector: [0, 0],
      limit: 2,
      offset: 2,
      with_vector: true,
    });
    expect(off.body.result.map((r: { id: number }) => r.id)).toEqual([2, 3]);
    expect(off.body.result[0].vector).toEqual([2, 0]);
    const thr = await call('POST', '/collections/s/points/search', { vector: [0, 0], limit: 10, score_threshold: 2.5 });
    expect(thr.body.result.map((r: { id: number }) => r.id)).toEqual([0, 1, 2]);
    const filtered = await call('POST', '/collections/s/points/search', {
      vector: [0, 0],
      limit: 10,
      filter: { must: [{ key: 'even', match: { value: true } }], must_not: [{ key: 'i', range: { lt: 1 } }] },
    });
    expect(filtered.body.result.map((r: { id: number }) => r.id)).toEqual([2, 4]);
  });

  it('runs batch search and the query API (vector, point id, nearest, batch)', async () => {
    const batch = await call('POST', '/collections/s/points/search/batch', {
      searches: [
        { vector: [5, 0], limit: 1 },
        { vector: [0, 0], limit: 2, filter: { must: [{ key: 'even', match: { value: false } }] } },
      ],
    });
    expect(batch.body.result.map((r: { id: number }[]) => r.map((h) => h.id))).toEqual([[5], [1, 3]]);
    const byVector = await call('POST', '/collections/s/points/query', { query: [3, 0], limit: 2 });
    expect(byVector.body.result.points.map((r: { id: number }) => r.id)).toEqual([3, 2]);
    const byId = await call('POST', '/collections/s/points/query', { query: 3, limit: 2 });
    expect(byId.body.result.points.map((r: { id: number }) => r.id)).toEqual([2, 4]);
    const nearest = await call('POST', '/collections/s/points/query', { query: { nearest: [0, 0] }, limit: 1 });
    expect(nearest.body.result.points[0].id).toBe(0);
    const qb = await call('POST', '/collections/s/points/query/batch', {
      searches: [
        { query: [0, 0], limit: 1 },
        { query: 5, limit: 1, with_payload: true },
      ],
    });
    expect(qb.body.result.map((r: { points: { id: number }[] }) => r.points.map((p) => p.id))).toEqual([[0], [4]]);
    expect(qb.body.result[1].points[0].payload).toEqual({ even: true, i: 4 });
    const paged = await call('POST', '/collections/s/points/query', { query: 3, limit: 2, offset: 1 });
    expect(paged.body.result.points.map((r: { id: number }) => r.id)).toEqual([4, 1]);
    const scrolled = await call('POST', '/collections/s/points/query', { limit: 2, offset: 3 });
    expect(scrolled.body.result.points.map((r: { id: number; score: number }) => [r.id, r.score])).toEqual([
      [3, 0],
      [4, 0],
    ]);
    const missing = await call('POST', '/collections/s/points/query', { query: 999, limit: 1 });
    expect(missing.status).toBe(404);
  });

  it('logs one line per request with route, status, duration and collection, and never a vector', async () => {
    await call('POST', '/collections/s/points/search', { vector: [123.456, 789.012], limit: 1 });
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'));
    const search = lines.find((l) => l.includes('/points/search"') && l.includes('"collection":"s"'));
    expect(search).toBeDefined();
    expect(JSON.parse(search!)).toMatchObject({
      route: '/collections/:collection_name/points/search',
      status: 200,
      method: 'POST',
    });
    expect(server.output()).not.toContain('789.012');
  });
});
