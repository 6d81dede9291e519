import { spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { createSegmentMemory, SCRATCH_SLOTS, vectorsView } from '../../dist/index-engine/index.js';
// @ts-expect-error compiled JavaScript without a declaration next to the test
import { SearchPool } from '../../dist/workers/pool.js';
import {
  type ApiResponse,
  api,
  ROOT,
  type RunningServer,
  randomVector,
  rng,
  startServer,
  tempDir,
} from '../helpers/server.js';

/**
 * A JSON request on a connection of its own (no keep-alive reuse). The burst of 408s below once failed in CI with
 * "other side closed" on a reused keep-alive connection, not reproduced since (cause unknown; the server now logs
 * any connection Node closes on a client error, and a failure here prints that log). A fresh connection per
 * request takes connection reuse out of what this test checks, which is that the server keeps serving.
 */
function apiOnce(base: string, method: string, route: string, body?: unknown): Promise<ApiResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${route}`,
      {
        method,
        agent: false,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: new Headers() });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (e) => reject(new Error(`${method} ${route}: ${e.message}\nserver log tail:\n${serverLogTail()}`)));
    req.end(payload);
  });
}

let serverLogTail = () => '';

const MAIN = path.join(ROOT, 'dist/server/main.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('request timeout configuration', () => {
  it.each([['abc'], ['-1'], ['1.5'], ['3600001']])('stops the start on STRATA_REQUEST_TIMEOUT_MS=%s', (value) => {
    const run = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, STRATA_DATA_DIR: tempDir(), STRATA_REQUEST_TIMEOUT_MS: value },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`invalid STRATA_REQUEST_TIMEOUT_MS="${value}": must be an integer from 0 to 3600000`);
  });

  it('takes --request-timeout-ms over the environment', () => {
    const run = spawnSync(process.execPath, [MAIN, '--request-timeout-ms', 'x'], {
      env: { ...process.env, STRATA_DATA_DIR: tempDir(), STRATA_REQUEST_TIMEOUT_MS: '100' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('invalid --request-timeout-ms="x"');
  });
});

describe('cancelling a pool task', () => {
  it('stops the worker running it, frees the scratch slots it held, and the pool keeps serving', async () => {
    const dim = 128;
    const rows = 100_000;
    const memory = createSegmentMemory(dim, rows, rows);
    const vectors = vectorsView(memory, dim, rows);
    const next = rng(21);
    for (let i = 0; i < vectors.length; i++) vectors[i] = next() - 0.5;
    const handle = {
      uid: 1,
      dim,
      count: rows,
      memory,
      tombstones: new SharedArrayBuffer(4 * Math.ceil(rows / 32)),
      payloadOffsets: new SharedArrayBuffer(8 * (rows + 1)),
      payloadBytes: new SharedArrayBuffer(8),
      columns: [],
      graph: null,
      sq8: null,
    };
    const query = (vector: Float32Array) => ({
      vector,
      k: 10,
      filter: null,
      scoreThreshold: null,
      exact: true,
      ef: 10,
      plainThreshold: 100,
      quantization: { ignore: false, rescore: true, oversampling: 4 },
    });
    const queries = Array.from({ length: 5000 }, () => query(Float32Array.from(randomVector(next, dim))));
    const locks = new Int32Array(memory.buffer, 0, SCRATCH_SLOTS);
    const pool = new SearchPool({ threads: 1 });
    try {
      const controller = new AbortController();
      const started = performance.now();
      const long = pool.run({ kind: 'search', distance: 'Dot', segments: [handle], queries }, controller.signal);
      long.catch(() => undefined);
      // wait until the worker holds a scratch slot (it leases one per query while it scans)
      let leased = false;
      for (let i = 0; i < 400 && !leased; i++) {
        await sleep(5);
        leased = locks.some((w) => w !== 0);
      }
      expect(leased).toBe(true);
      controller.abort(new Error('deadline'));
      await expect(long).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(4000);
      // the worker is terminated, not left to finish: its slot comes back once it has exited
      for (let i = 0; i < 200 && locks.some((w) => w !== 0); i++) await sleep(10);
      expect(Array.from(locks)).toEqual(new Array(SCRATCH_SLOTS).fill(0));
      const after = await pool.run({
        kind: 'search',
        distance: 'Dot',
        segments: [handle],
        queries: queries.slice(0, 2),
      });
      expect(after).toHaveLength(2);
      expect(after[0].offsets).toHaveLength(10);
      expect(pool.stats()).toMatchObject({ threads: 1, queued: 0 });
    } finally {
      await pool.close();
    }
  });
});

describe('request timeout over HTTP', () => {
  const TIMEOUT_MS = 100;
  let server: RunningServer;
  const dim = 8;
  const next = rng(31);
  /** Exact searches with a range filter on an unindexed payload field: every row's payload is read. */
  const heavy = () =>
    Array.from({ length: 1000 }, () => ({
      vector: randomVector(next, dim),
      limit: 10,
      filter: { must: [{ key: 'g', range: { gte: 3 } }] },
      params: { exact: true },
    }));
  const poolStats = async () => {
    const text = (await api(server.url, 'GET', '/metrics')).text;
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    return { threads: value('strata_pool_threads'), busy: value('strata_pool_busy_workers') };
  };

  beforeAll(async () => {
    server = await startServer({ env: { STRATA_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS), STRATA_WORKERS: '2' } });
    serverLogTail = () => server.output().split('\n').slice(-30).join('\n');
    // one growing segment (no background sealing to keep workers busy), 40,000 rows
    const body = { vectors: { size: dim, distance: 'Dot' }, optimizers_config: { indexing_threshold: 100_000 } };
    expect((await api(server.url, 'PUT', '/collections/big', body)).status).toBe(200);
    expect((await api(server.url, 'PUT', '/collections/small', body)).status).toBe(200);
    for (let b = 0; b < 20; b++) {
      const points = Array.from({ length: 2000 }, (_, i) => ({
        id: b * 2000 + i,
        vector: randomVector(next, dim),
        payload: { g: i % 10 },
      }));
      expect((await api(server.url, 'PUT', '/collections/big/points', { points })).status).toBe(200);
    }
    const few = Array.from({ length: 10 }, (_, id) => ({ id, vector: randomVector(next, dim), payload: { g: id } }));
    expect((await api(server.url, 'PUT', '/collections/small/points', { points: few })).status).toBe(200);
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** A small search, retried a few times: a loaded machine may take longer than 100 ms for one now and then. */
  const smallSearch = async () => {
    let res = await api(server.url, 'POST', '/collections/small/points/search', {
      vector: randomVector(next, dim),
      limit: 3,
    });
    for (let i = 0; i < 10 && res.status === 408; i++) {
      await sleep(50);
      res = await api(server.url, 'POST', '/collections/small/points/search', {
        vector: randomVector(next, dim),
        limit: 3,
      });
    }
    return res;
  };

  it('a search that finishes in time answers normally', async () => {
    const res = await smallSearch();
    expect(res.status).toBe(200);
    expect(res.body.result).toHaveLength(3);
  });

  it.each([
    ['search/batch', (s: ReturnType<typeof heavy>) => ({ searches: s })],
    [
      'query/batch',
      (s: ReturnType<typeof heavy>) => ({ searches: s.map(({ vector, ...r }) => ({ ...r, query: vector })) }),
    ],
  ])('a %s past the limit answers 408 STRATA_ERR_TIMEOUT at once, and its workers are freed', async (route, body) => {
    const started = performance.now();
    const res = await api(server.url, 'POST', `/collections/big/points/${route}`, body(heavy()));
    const elapsed = performance.now() - started;
    expect(res.status).toBe(408);
    expect(res.body.status.code).toBe('STRATA_ERR_TIMEOUT');
    expect(res.body.status.error).toContain(`${TIMEOUT_MS} ms`);
    // the same batch takes seconds to run; the client is answered at the deadline
    expect(elapsed).toBeLessThan(2000);
    // the pool tasks were cancelled (their workers replaced), not left to run on: the pool is idle again soon
    let stats = await poolStats();
    for (let i = 0; i < 80 && (stats.busy !== 0 || stats.threads !== 2); i++) {
      await sleep(25);
      stats = await poolStats();
    }
    expect(stats).toEqual({ threads: 2, busy: 0 });
    const small = await smallSearch();
    expect(small.status).toBe(200);
  });

  it('keeps serving after repeated timeouts: writes, reads and searches work, no worker failed', async () => {
    for (let i = 0; i < 20; i++) {
      const res = await apiOnce(server.url, 'POST', '/collections/big/points/search/batch', { searches: heavy() });
      expect(res.status).toBe(408);
    }
    const upsert = await apiOnce(server.url, 'PUT', '/collections/small/points', {
      points: [{ id: 99, vector: randomVector(next, dim), payload: { g: 99 } }],
    });
    expect(upsert.status).toBe(200);
    const info = await apiOnce(server.url, 'GET', '/collections/big');
    expect(info.status).toBe(200);
    expect(info.body.result.points_count).toBe(40_000);
    const retrieved = await apiOnce(server.url, 'POST', '/collections/big/points', { ids: [1, 2, 3] });
    expect(retrieved.body.result).toHaveLength(3);
    expect((await smallSearch()).status).toBe(200);
    expect((await apiOnce(server.url, 'GET', '/healthz')).status).toBe(200);
    const log = server.output();
    expect(log).toContain('"code":"STRATA_ERR_TIMEOUT"');
    expect(log).not.toContain('STRATA_ERR_WORKER_FAILED');
    expect(log).not.toContain('"level":50');
  });
});
