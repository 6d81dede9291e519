import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

const KEY = 'metrics-full-key-1';
const READ = 'metrics-read-key-1';
const AUTH = { 'api-key': KEY };
const SEARCH_ROUTE = '/collections/:collection_name/points/search';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

interface Scrape {
  readonly samples: Sample[];
  readonly types: Map<string, string>;
  /** The sum of the samples named `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
  has(name: string, labels?: Record<string, string>): boolean;
}

/** Parses the Prometheus text format (no escaped quotes in our label values). */
function parse(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  const matching = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    types,
    value: (name, labels) => matching(name, labels).reduce((sum, s) => sum + s.value, 0),
    has: (name, labels) => matching(name, labels).length > 0,
  };
}

describe('GET /metrics', () => {
  let server: RunningServer;
  const scrape = async (headers: Record<string, string> = AUTH) => {
    const res = await api(server.url, 'GET', '/metrics', undefined, headers);
    expect(res.status).toBe(200);
    return parse(res.text);
  };
  const search = (collection: string, vector: number[]) =>
    api(server.url, 'POST', `/collections/${collection}/points/search`, { vector, limit: 3 }, AUTH);

  beforeAll(async () => {
    server = await startServer({ env: { STRATA_API_KEY: KEY, STRATA_READ_ONLY_API_KEY: READ } });
    const create = (name: string, threshold: number) =>
      api(
        server.url,
        'PUT',
        `/collections/${name}`,
        { vectors: { size: 8, distance: 'Dot' }, optimizers_config: { indexing_threshold: threshold } },
        AUTH,
      );
    expect((await create('metrics_a', 100)).status).toBe(200);
    expect((await create('metrics_b', 20_000)).status).toBe(200);
    const next = rng(11);
    const points = Array.from({ length: 250 }, (_, id) => ({ id, vector: randomVector(next, 8), payload: { id } }));
    expect((await api(server.url, 'PUT', '/collections/metrics_a/points', { points }, AUTH)).status).toBe(200);
    expect(
      (await api(server.url, 'PUT', '/collections/metrics_b/points', { points: points.slice(0, 7) }, AUTH)).status,
    ).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('needs a key when keys are configured (either key), and answers in the Prometheus text format', async () => {
    const anonymous = await api(server.url, 'GET', '/metrics');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.status.code).toBe('STRATA_ERR_UNAUTHORIZED');
    const res = await api(server.url, 'GET', '/metrics', undefined, { authorization: `Bearer ${READ}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toContain('# HELP strata_http_requests_total ');
  });

  it('exposes the request, pool, collection, planner, optimizer and process metrics with their labels', async () => {
    await search('metrics_b', randomVector(rng(1), 8));
    const m = await scrape();
    expect(m.types.get('strata_http_requests_total')).toBe('counter');
    expect(m.types.get('strata_http_request_duration_seconds')).toBe('histogram');
    for (const gauge of ['strata_pool_queue_depth', 'strata_pool_threads', 'strata_pool_busy_workers']) {
      expect(m.types.get(gauge), gauge).toBe('gauge');
    }
    expect(m.types.get('strata_collection_points')).toBe('gauge');
    expect(m.types.get('strata_collection_segments')).toBe('gauge');
    expect(m.types.get('strata_planner_branch_total')).toBe('counter');
    expect(m.types.get('strata_optimizer_jobs_total')).toBe('counter');

    const request = m.samples.find((s) => s.name === 'strata_http_requests_total')!;
    expect(Object.keys(request.labels).sort()).toEqual(['method', 'route', 'status']);
    expect(m.has('strata_http_request_duration_seconds_bucket', { route: SEARCH_ROUTE, le: '+Inf' })).toBe(true);
    expect(m.value('strata_pool_threads')).toBe(2);
    expect(m.value('strata_pool_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(m.value('strata_pool_busy_workers')).toBeGreaterThanOrEqual(0);
    expect(m.value('strata_collection_points', { collection: 'metrics_a' })).toBe(250);
    expect(m.value('strata_collection_points', { collection: 'metrics_b' })).toBe(7);
    expect(m.value('strata_collection_segments', { collection: 'metrics_b' })).toBe(1);
    expect(m.value('strata_collection_segments', { collection: 'metrics_a' })).toBeGreaterThanOrEqual(2);
    for (const branch of ['plain', 'plain_filtered', 'graph', 'filtered_graph', 'graph_fallback']) {
      expect(m.has('strata_planner_branch_total', { branch }), branch).toBe(true);
    }
    for (const kind of ['seal', 'merge', 'vacuum', 'failed']) {
      expect(m.has('strata_optimizer_jobs_total', { kind }), kind).toBe(true);
    }
    // default process metrics, with the strata_ prefix
    expect(m.value('strata_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.value('strata_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(m.has('strata_nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('counts requests by route pattern, never by raw URL, and the counters grow with traffic', async () => {
    const labels = { method: 'POST', route: SEARCH_ROUTE, status: '200' };
    const before = await scrape();
    const next = rng(5);
    for (let i = 0; i < 5; i++) expect((await search('metrics_b', randomVector(next, 8))).status).toBe(200);
    expect((await search('metrics_nope', randomVector(next, 8))).status).toBe(404);
    expect((await api(server.url, 'GET', '/no/such/route/metrics_b', undefined, AUTH)).status).toBe(404);
    expect((await api(server.url, 'GET', '/collections/metrics_b')).status).toBe(401);
    const after = await scrape();

    expect(after.value('strata_http_requests_total', labels)).toBe(
      before.value('strata_http_requests_total', labels) + 5,
    );
    expect(after.value('strata_http_request_duration_seconds_count', labels)).toBe(
      before.value('strata_http_request_duration_seconds_count', labels) + 5,
    );
    expect(after.value('strata_http_request_duration_seconds_sum', labels)).toBeGreaterThan(
      before.value('strata_http_request_duration_seconds_sum', labels),
    );
    expect(after.value('strata_http_requests_total', { route: SEARCH_ROUTE, status: '404' })).toBe(1);
    expect(after.value('strata_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(
      after.value('strata_http_requests_total', { route: '/collections/:collection_name', status: '401' }),
    ).toBeGreaterThanOrEqual(1);
    expect(after.value('strata_http_requests_total', { route: '/metrics', status: '200' })).toBeGreaterThan(0);
    // 5 searches on one growing segment: 5 plain scans more
    expect(after.value('strata_planner_branch_total')).toBe(before.value('strata_planner_branch_total') + 5);
    for (const s of after.samples.filter((x) => x.labels.route !== undefined)) {
      expect(s.labels.route === 'unmatched' || s.labels.route!.startsWith('/'), s.labels.route).toBe(true);
      expect(s.labels.route).not.toContain('metrics_');
    }
    // buckets are cumulative
    const buckets = after.samples
      .filter((s) => s.name === 'strata_http_request_duration_seconds_bucket')
      .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(buckets.at(-1)!.labels.le).toBe('+Inf');
    expect(buckets.at(-1)!.value).toBe(after.value('strata_http_request_duration_seconds_count', labels));
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
  });

  it('reports optimizer jobs and pool tasks, and forgets a dropped collection', async () => {
    // metrics_a has 250 points over segments of 100 rows: the optimizer seals the full ones in the background
    let m = await scrape();
    for (let i = 0; i < 300 && m.value('strata_optimizer_jobs_total', { kind: 'seal' }) < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      m = await scrape();
    }
    expect(m.value('strata_optimizer_jobs_total', { kind: 'seal' })).toBeGreaterThanOrEqual(2);
    expect(m.value('strata_pool_tasks_completed_total')).toBeGreaterThan(0);
    const sealed = await search('metrics_a', randomVector(rng(8), 8));
    expect(sealed.status).toBe(200);
    const after = await scrape();
    expect(after.value('strata_planner_branch_total', { branch: 'graph' })).toBeGreaterThan(
      m.value('strata_planner_branch_total', { branch: 'graph' }),
    );

    expect((await api(server.url, 'DELETE', '/collections/metrics_b', undefined, AUTH)).status).toBe(200);
    const dropped = await scrape();
    expect(dropped.has('strata_collection_points', { collection: 'metrics_b' })).toBe(false);
    expect(dropped.has('strata_collection_points', { collection: 'metrics_a' })).toBe(true);
  });
});
