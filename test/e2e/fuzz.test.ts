import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deepFilter, type FuzzRequest, HOSTILE_BODIES, requestsFor, routesOf } from '../helpers/fuzz.js';
import { api, observableState, ROOT, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

/**
 * Thousands of malformed and hostile requests, generated from the OpenAPI document so that every route (new
 * ones included) is covered: each gets a 4xx (never a 5xx or a dropped connection), the server and its workers
 * stay up, and the data is exactly as before.
 */
const SEED = 20_251_106;
const TOTAL_REQUESTS = 2_100;
const DIM = 4;
const spec = JSON.parse(fs.readFileSync(path.join(ROOT, 'openapi/openapi.json'), 'utf8'));
const routes = routesOf(spec);
let server: RunningServer;

const vector = [0.1, 0.2, 0.3, 0.4];
const filter = { must: [{ key: 'city', match: { value: 'Berlin' } }] };
/** Valid bodies on collection `fz`, which the generators break. */
const templates: Record<string, unknown> = {
  'PUT /collections/{collection_name}': {
    vectors: { size: DIM, distance: 'Cosine' },
    optimizers_config: { indexing_threshold: 100 },
    hnsw_config: { m: 8, ef_construct: 50 },
  },
  'PUT /collections/{collection_name}/index': { field_name: 'price', field_schema: 'float' },
  'PUT /collections/{collection_name}/points': { points: [{ id: 1, vector, payload: { city: 'Rome', n: 1 } }] },
  'POST /collections/{collection_name}/points': { ids: [1, 2], with_payload: true, with_vector: true },
  'POST /collections/{collection_name}/points/delete': { points: [1, 2] },
  'POST /collections/{collection_name}/points/payload': { points: [1], payload: { city: 'Rome' } },
  'PUT /collections/{collection_name}/points/payload': { points: [1], payload: { city: 'Rome' } },
  'POST /collections/{collection_name}/points/payload/delete': { points: [1], keys: ['city'] },
  'POST /collections/{collection_name}/points/payload/clear': { points: [1] },
  'POST /collections/{collection_name}/points/scroll': { limit: 10, offset: 1, filter, with_payload: true },
  'POST /collections/{collection_name}/points/count': { filter, exact: true },
  'POST /collections/{collection_name}/points/search': {
    vector,
    limit: 5,
    offset: 1,
    filter,
    params: { hnsw_ef: 32 },
  },
  'POST /collections/{collection_name}/points/search/batch': { searches: [{ vector, limit: 3, filter }] },
  'POST /collections/{collection_name}/points/query': { query: vector, limit: 5, filter },
  'POST /collections/{collection_name}/points/query/batch': { searches: [{ query: vector, limit: 3 }] },
  'PATCH /collections/{collection_name}': { hubness: { method: 'is', beta_q: 10, candidates: 50 } },
  'PUT /collections/{collection_name}/banks/query': { vectors: [vector] },
  'PUT /collections/{collection_name}/banks/gallery': { sample: 2 },
  'PUT /collections/{collection_name}/snapshots/recover': { location: 'missing-1.snapshot', checksum: 'a'.repeat(64) },
};
/** Valid for the schema, refused by the server's own checks (each one a documented limit or error). */
const badFilters = [
  { filter: deepFilter(33) },
  { filter: deepFilter(60) },
  { filter: { should: Array.from({ length: 1025 }, (_, i) => ({ has_id: [i] })) } },
];
const semantic: Record<string, unknown[]> = {
  'PUT /collections/{collection_name}/points': [
    { points: [{ id: 1, vector: [1, 2, 3] }] },
    { points: [{ id: 1, vector: [1e39, 0, 0, 0] }] },
    { points: [{ id: 1, vector, payload: HOSTILE_BODIES.deepPayload(65) }] },
    { points: [{ id: 1, vector, payload: { big: 'x'.repeat(1_100_000) } }] },
    { batch: { ids: [1, 2], vectors: [vector] } },
    {
      points: [
        { id: 1, vector },
        { id: 2, vector: [0, 0] },
      ],
    },
  ],
  'POST /collections/{collection_name}/points/payload': [
    { points: [1], payload: HOSTILE_BODIES.deepPayload(100) },
    { points: [999_999], payload: { a: 1 } },
  ],
  'PUT /collections/{collection_name}/points/payload': [{ points: [1, 424_242], payload: { a: 1 } }],
  'POST /collections/{collection_name}/points/search': [
    { vector, limit: 9000, offset: 5000 },
    { vector: [1, 2], limit: 3 },
  ],
  'POST /collections/{collection_name}/points/query': [{ query: vector, limit: 10_000, offset: 1 }],
  // the delete's filter form alone, so the refusal comes from the filter itself
  'POST /collections/{collection_name}/points/delete': [...badFilters],
};
for (const route of ['points/scroll', 'points/count', 'points/search', 'points/query']) {
  const key = `POST /collections/{collection_name}/${route}`;
  const base = templates[key] as Record<string, unknown>;
  semantic[key] = [...(semantic[key] ?? []), ...badFilters.map((f) => ({ ...base, ...f }))];
}

function send(req: FuzzRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (req.contentType !== undefined) headers['content-type'] = req.contentType;
    // explicit: Node sends a GET or DELETE body with neither a length nor chunking, which is not HTTP
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    // the path as is: a URL object would resolve `%2e%2e` segments before sending
    const { hostname, port } = new URL(server.url);
    const r = http.request({ hostname, port, path: req.path, method: req.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

const state = () => observableState(server.url);

beforeAll(async () => {
  server = await startServer();
  await api(server.url, 'PUT', '/collections/fz', templates['PUT /collections/{collection_name}']);
  await api(server.url, 'PUT', '/collections/fz/index', { field_name: 'city', field_schema: 'keyword' });
  const next = rng(11);
  const cities = ['Berlin', 'Rome', 'Oslo'];
  const points = Array.from({ length: 250 }, (_, i) => ({
    id: i + 1,
    vector: randomVector(next, DIM),
    payload: { city: cities[i % 3], price: i, rooms: [{ beds: i % 4 }], __proto__: { kept: true } },
  }));
  expect((await api(server.url, 'PUT', '/collections/fz/points', { points })).status).toBe(200);
  await api(server.url, 'PUT', '/collections/other', { vectors: { size: 2, distance: 'Dot' } });
  await api(server.url, 'PUT', '/collections/other/points', { points: [{ id: 7, vector: [1, 2] }] });
});

afterAll(async () => {
  await server?.stop();
});

it(`answers ${TOTAL_REQUESTS} hostile requests over every route with 4xx and changes nothing`, async () => {
  expect(routes.length).toBeGreaterThanOrEqual(20);
  const before = await state();
  const target = { collection: 'fz', templates, semantic };
  const perRoute = Math.ceil(TOTAL_REQUESTS / routes.length);
  const statuses = new Map<number, number>();
  let sent = 0;
  for (const [i, route] of routes.entries()) {
    // parameterless GET routes (health, metrics, the collection list) may answer 200: they have nothing to refuse
    const mayAnswer200 = route.method === 'GET' && route.params.length === 0;
    await fc.assert(
      fc.asyncProperty(requestsFor(spec, route, target), async (req) => {
        const res = await send(req);
        sent++;
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const label = `${req.kind}: ${req.method} ${req.path.slice(0, 200)} ${String(req.body ?? '').slice(0, 200)} -> ${res.status} ${res.text.slice(0, 300)}`;
        if (mayAnswer200) expect(res.status, label).toBeLessThan(500);
        else {
          expect(res.status, label).toBeGreaterThanOrEqual(400);
          expect(res.status, label).toBeLessThan(500);
          if (res.status !== 414) expect(JSON.parse(res.text).status.code, label).toMatch(/^STRATA_ERR_/);
        }
      }),
      { seed: SEED + i, numRuns: perRoute, endOnFailure: true },
    );
  }
  expect(sent).toBeGreaterThanOrEqual(2000);
  // still up, still serving, no worker lost, nothing logged as a failure
  expect((await api(server.url, 'GET', '/healthz')).status).toBe(200);
  const search = await api(server.url, 'POST', '/collections/fz/points/search', { vector, limit: 3, filter });
  expect(search.status).toBe(200);
  expect(search.body.result).toHaveLength(3);
  const metrics = (await api(server.url, 'GET', '/metrics')).text;
  expect(metrics).toMatch(/^strata_pool_threads 2$/m);
  expect(metrics).not.toMatch(/strata_http_requests_total\{[^}]*status="5\d\d"/);
  const failures = server
    .output()
    .split('\n')
    .filter((line) => /"level":(50|60)/.test(line) || /worker (exited|failed)/i.test(line));
  expect(failures).toEqual([]);
  expect(await state()).toBe(before);
  console.log(`fuzz: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
});

it('keeps `__proto__` and `constructor` payload keys as data, and no key path reaches Object.prototype', async () => {
  const put = await api(server.url, 'PUT', '/collections/other/points', {
    points: [{ id: 9, vector: [1, 1], payload: JSON.parse('{"__proto__": {"x": 1}, "constructor": 2}') }],
  });
  expect(put.status).toBe(200);
  // a dotted key through `__proto__` used to walk into Object.prototype and delete from it
  const del = await api(server.url, 'POST', '/collections/other/points/payload/delete', {
    points: [9],
    keys: ['__proto__.hasOwnProperty', 'constructor.name', 'toString.x'],
  });
  expect(del.status).toBe(200);
  const got = await api(server.url, 'GET', '/collections/other/points/9');
  expect(got.text).toContain('"payload":{"__proto__":{"x":1},"constructor":2}');
  // the server still works: routes that call hasOwnProperty-based code answer normally
  const scroll = await api(server.url, 'POST', '/collections/other/points/scroll', { with_payload: ['__proto__'] });
  expect(scroll.status).toBe(200);
  expect(scroll.text).toContain('"__proto__":{"x":1}');
  await api(server.url, 'POST', '/collections/other/points/delete', { points: [9] });
});
