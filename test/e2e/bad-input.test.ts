import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, observableState, type RunningServer, startServer } from '../helpers/server.js';

/**
 * Every kind of bad input gets a 4xx with a stable code, and nothing changes: the full observable state is the
 * same before and after each rejected request.
 */
let server: RunningServer;

function rawRequest(method: string, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}${path}`,
      { method, path, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const state = () => observableState(server.url);

async function expectRejected(method: string, route: string, body: unknown, status: number, code: string | string[]) {
  const before = await state();
  const res = await api(server.url, method, route, body);
  expect(res.status, `${method} ${route} ${res.text}`).toBe(status);
  expect(res.body.status, res.text).toBeTypeOf('object');
  expect(typeof res.body.status.error).toBe('string');
  expect(Array.isArray(code) ? code : [code]).toContain(res.body.status.code);
  expect(typeof res.body.time).toBe('number');
  expect(await state()).toBe(before);
  return res;
}

beforeAll(async () => {
  server = await startServer({ env: { STRATA_MAX_BODY_MB: '1' } });
  await api(server.url, 'PUT', '/collections/good', { vectors: { size: 3, distance: 'Dot' } });
  await api(server.url, 'PUT', '/collections/good/points', {
    points: [
      { id: 1, vector: [1, 2, 3], payload: { a: 1 } },
      { id: 2, vector: [3, 2, 1], payload: { a: 2 } },
    ],
  });
});
afterAll(async () => {
  await server?.stop();
});

const upsert = (points: unknown) => ['PUT', '/collections/good/points?wait=true', { points }] as const;
const ok = (id: unknown = 5) => ({ id, vector: [0, 0, 1] });

describe('vectors', () => {
  it('rejects a wrong vector length on upsert and on search', async () => {
    await expectRejected(...upsert([{ id: 5, vector: [1, 2] }]), 400, 'STRATA_ERR_DIM_MISMATCH');
    await expectRejected(
      'POST',
      '/collections/good/points/search',
      { vector: [1, 2, 3, 4], limit: 1 },
      400,
      'STRATA_ERR_DIM_MISMATCH',
    );
    await expectRejected(
      'PUT',
      '/collections/good/points',
      { batch: { ids: [5], vectors: [[1]] } },
      400,
      'STRATA_ERR_DIM_MISMATCH',
    );
  });

  it('rejects missing and non-numeric components', async () => {
    await expectRejected(...upsert([{ id: 5 }]), 400, 'STRATA_ERR_VALIDATION');
    await expectRejected(...upsert([{ id: 5, vector: [1, 'x', 3] }]), 400, 'STRATA_ERR_VALIDATION');
    await expectRejected(...upsert([{ id: 5, vector: [1, null, 3] }]), 400, 'STRATA_ERR_VALIDATION');
    await expectRejected(...upsert([{ id: 5, vector: [] }]), 400, 'STRATA_ERR_VALIDATION');
    await expectRejected(...upsert([{ id: 5, vector: 'abc' }]), 400, 'STRATA_ERR_VALIDATION');
    await expectRejected(
      'PUT',
      '/collections/good/points',
      '{"points":[{"id":5,"vector":[1,2,1e39]}]}',
      400,
      'STRATA_ERR_VECTOR_VALUE',
    );
    await expectRejected(
      'POST',
      '/collections/good/points/search',
      { vector: [1, true, 3], limit: 1 },
      400,
      'STRATA_ERR_VALIDATION',
    );
  });
});

describe('ids', () => {
  it.each([
    ['negative', '-1'],
    ['fractional', '1.5'],
    ['above 2^64-1', '18446744073709551616'],
    ['far above 2^64-1', '1e30'],
    ['malformed UUID', '"550e8400-e29b-41d4-a716-44665544000Z"'],
    ['short UUID', '"550e8400-e29b-41d4"'],
    ['numeric string', '"123"'],
    ['null', 'null'],
    ['object', '{"id":1}'],
  ])('rejects a %s id in upsert, retrieve and delete', async (_name, raw) => {
    await expectRejected(
      'PUT',
      '/collections/good/points',
      `{"points":[{"id":${raw},"vector":[1,2,3]}]}`,
      400,
      'STRATA_ERR_VALIDATION',
    );
    await expectRejected('POST', '/collections/good/points', `{"ids":[${raw}]}`, 400, 'STRATA_ERR_VALIDATION');
    await expectRejected(
      'POST',
      '/collections/good/points/delete',
      `{"points":[1,${raw}]}`,
      400,
      'STRATA_ERR_VALIDATION',
    );
  });

  it('rejects bad ids in the URL', async () => {
    for (const raw of ['-1', '1.5', '18446744073709551616', 'not-a-uuid', '%20']) {
      await expectRejected('GET', `/collections/good/points/${raw}`, undefined, 400, 'STRATA_ERR_POINT_ID');
    }
  });

  it('rejects a whole batch when one point is bad', async () => {
    await expectRejected(
      ...upsert([ok(10), ok(11), { id: -3, vector: [1, 2, 3] }, ok(12)]),
      400,
      'STRATA_ERR_VALIDATION',
    );
    await expectRejected(
      ...upsert([ok(10), ok(11), { id: 3, vector: [1, 2] }, ok(12)]),
      400,
      'STRATA_ERR_DIM_MISMATCH',
    );
    await expectRejected(
      'PUT',
      '/collections/good/points',
      { batch: { ids: [10, 11], vectors: [[1, 2, 3]] } },
      400,
      'STRATA_ERR_BATCH_SHAPE',
    );
    await expectRejected(
      'PUT',
      '/collections/good/points',
      { batch: { ids: [10], vectors: [[1, 2, 3]], payloads: [{}, {}] } },
      400,
      'STRATA_ERR_BATCH_SHAPE',
    );
  });
});

describe('collections', () => {
  it('answers 404 for an unknown collection on every collection route', async () => {
    const routes: [string, string, unknown][] = [
      ['GET', '/collections/nope', undefined],
      ['PUT', '/collections/nope/points', { points: [ok()] }],
      ['POST', '/collections/nope/points', { ids: [1] }],
      ['GET', '/collections/nope/points/1', undefined],
      ['POST', '/collections/nope/points/delete', { points: [1] }],
      ['POST', '/collections/nope/points/payload', { payload: {}, points: [1] }],
      ['PUT', '/collections/nope/points/payload', { payload: {}, points: [1] }],
      ['POST', '/collections/nope/points/payload/delete', { keys: ['a'], points: [1] }],
      ['POST', '/collections/nope/points/payload/clear', { points: [1] }],
      ['POST', '/collections/nope/points/scroll', {}],
      ['POST', '/collections/nope/points/count', {}],
      ['POST', '/collections/nope/points/search', { vector: [1, 2, 3], limit: 1 }],
      ['POST', '/collections/nope/points/search/batch', { searches: [{ vector: [1, 2, 3], limit: 1 }] }],
      ['POST', '/collections/nope/points/query', { query: [1, 2, 3] }],
      ['POST', '/collections/nope/points/query/batch', { searches: [{ query: [1, 2, 3] }] }],
      ['PUT', '/collections/nope/index', { field_name: 'a', field_schema: 'keyword' }],
      ['DELETE', '/collections/nope/index/a', undefined],
    ];
    for (const [method, route, body] of routes)
      await expectRejected(method, route, body, 404, 'STRATA_ERR_COLLECTION_NOT_FOUND');
  });

  it('answers 409 when the collection exists', async () => {
    await expectRejected(
      'PUT',
      '/collections/good',
      { vectors: { size: 3, distance: 'Dot' } },
      409,
      'STRATA_ERR_COLLECTION_EXISTS',
    );
  });

  it('rejects invalid names', async () => {
    const body = { vectors: { size: 3, distance: 'Dot' } };
    // fetch resolves '..' and '%2E%2E' itself; a raw request sends them as they are
    for (const name of ['..', '%2E%2E', '.']) {
      const res = await rawRequest('PUT', `/collections/${name}`, JSON.stringify(body));
      expect([400, 404]).toContain(res.status);
      expect(['STRATA_ERR_COLLECTION_NAME', 'STRATA_ERR_ROUTE_NOT_FOUND']).toContain(JSON.parse(res.text).status.code);
    }
    for (const name of ['a%2Fb', 'a.b', 'a%20b', 'x'.repeat(129), '%C3%A9t%C3%A9', 'a%5Cb', '%00']) {
      await expectRejected('PUT', `/collections/${name}`, body, 400, 'STRATA_ERR_COLLECTION_NAME');
      await expectRejected('GET', `/collections/${name}`, undefined, 400, 'STRATA_ERR_COLLECTION_NAME');
    }
    await expectRejected('PUT', '/collections/', body, 400, 'STRATA_ERR_COLLECTION_NAME');
    await expectRejected('GET', `/collections/${'y'.repeat(2000)}`, undefined, 414, 'STRATA_ERR_URI_TOO_LONG');
    await expectRejected('GET', '/collections/%zz', undefined, 400, 'STRATA_ERR_BAD_URL');
    await expectRejected('PUT', '/collections/../etc', body, 404, 'STRATA_ERR_ROUTE_NOT_FOUND');
  });

  it('accepts a 128-character name (the documented maximum)', async () => {
    const name = 'n'.repeat(128);
    expect(
      (await api(server.url, 'PUT', `/collections/${name}`, { vectors: { size: 1, distance: 'Dot' } })).status,
    ).toBe(200);
    expect((await api(server.url, 'DELETE', `/collections/${name}`)).body.result).toBe(true);
  });

  it('rejects bad collection configs', async () => {
    for (const vectors of [
      { size: 0, distance: 'Dot' },
      { size: 65537, distance: 'Dot' },
      { size: 3, distance: 'Hamming' },
      { size: 2.5, distance: 'Dot' },
      { distance: 'Dot' },
    ]) {
      await expectRejected('PUT', '/collections/newone', { vectors }, 400, 'STRATA_ERR_VALIDATION');
    }
  });
});

describe('search limits and filters', () => {
  it('rejects limit <= 0 or above 10,000', async () => {
    for (const limit of [0, -1, 10_001, 1.5]) {
      await expectRejected(
        'POST',
        '/collections/good/points/search',
        { vector: [1, 2, 3], limit },
        400,
        'STRATA_ERR_VALIDATION',
      );
      await expectRejected('POST', '/collections/good/points/scroll', { limit }, 400, 'STRATA_ERR_VALIDATION');
    }
    await expectRejected(
      'POST',
      '/collections/good/points/search',
      { vector: [1, 2, 3], limit: 10_000, offset: 1 },
      400,
      'STRATA_ERR_SEARCH_LIMIT',
    );
  });

  it('rejects filters with unknown operators or wrong value types', async () => {
    for (const filter of [
      { must: [{ key: 'a', match: { like: 'x' } }] },
      { must: [{ key: 'a', match: { value: { nested: 1 } } }] },
      { must: [{ key: 'a', range: { gt: [1] } }] },
      { must: [{ key: 'a', range: { gt: '2024-13-45' } }] },
      { must: [{ key: '', match: { value: 1 } }] },
      { should: [{ has_id: [-1] }] },
      { bogus: [] },
    ]) {
      await expectRejected('POST', '/collections/good/points/search', { vector: [1, 2, 3], limit: 1, filter }, 400, [
        'STRATA_ERR_VALIDATION',
        'STRATA_ERR_FILTER',
      ]);
      await expectRejected('POST', '/collections/good/points/delete', { filter }, 400, [
        'STRATA_ERR_VALIDATION',
        'STRATA_ERR_FILTER',
      ]);
    }
    let deep: Record<string, unknown> = { must: [{ key: 'a', match: { value: 1 } }] };
    for (let i = 0; i < 40; i++) deep = { must: [deep] };
    await expectRejected('POST', '/collections/good/points/count', { filter: deep }, 400, 'STRATA_ERR_FILTER');
  });
});

describe('bodies', () => {
  it('rejects bodies over the limit with 413', async () => {
    const huge = JSON.stringify({ points: [{ id: 1, vector: [1, 2, 3], payload: { s: 'x'.repeat(1_100_000) } }] });
    await expectRejected('PUT', '/collections/good/points', huge, 413, 'STRATA_ERR_BODY_TOO_LARGE');
  });

  it('rejects malformed JSON, empty bodies and other content types', async () => {
    await expectRejected('PUT', '/collections/good/points', '{"points":[', 400, 'STRATA_ERR_BAD_JSON');
    await expectRejected('PUT', '/collections/good/points', '', 400, ['STRATA_ERR_BAD_JSON', 'STRATA_ERR_VALIDATION']);
    const before = await state();
    const res = await fetch(`${server.url}/collections/good/points`, {
      method: 'PUT',
      body: 'id=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(415);
    const text = await fetch(`${server.url}/collections/good/points/count`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(((await res.json()) as { status: { code: string } }).status.code).toBe('STRATA_ERR_UNSUPPORTED_MEDIA_TYPE');
    expect(await state()).toBe(before);
  });

  it('rejects a payload that is not an object', async () => {
    await expectRejected(...upsert([{ id: 5, vector: [1, 2, 3], payload: [1, 2] }]), 400, 'STRATA_ERR_VALIDATION');
    await expectRejected(...upsert([{ id: 5, vector: [1, 2, 3], payload: 'text' }]), 400, 'STRATA_ERR_VALIDATION');
  });
});

it('keeps serving after all of that', async () => {
  const res = await api(server.url, 'POST', '/collections/good/points/search', { vector: [1, 0, 0], limit: 1 });
  expect(res.status).toBe(200);
  expect(res.body.result[0].id).toBe(2);
});
