import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ApiResponse, api, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

/**
 * A flood of concurrent searches and writes beyond both bounds (worker queue STRATA_QUEUE_SIZE, write queue
 * STRATA_WRITE_QUEUE_SIZE): the excess is refused at once with 503 and `Retry-After`, everything else succeeds,
 * and the server's memory stays bounded from one flood to the next.
 */
const DIM = 128;
let server: RunningServer;

async function rss(): Promise<number> {
  const metrics = await api(server.url, 'GET', '/metrics');
  const m = /^strata_process_resident_memory_bytes (\d+)/m.exec(metrics.text);
  expect(m, 'resident memory metric').not.toBeNull();
  return Number(m![1]);
}

beforeAll(async () => {
  server = await startServer({
    // the optimizer backlog bound is off: this test is about the queues (optimizer-backlog.test.ts covers it)
    env: {
      STRATA_WORKERS: '1',
      STRATA_QUEUE_SIZE: '2',
      STRATA_WRITE_QUEUE_SIZE: '3',
      STRATA_OPTIMIZER_BACKLOG_RATIO: '0',
    },
    waitReady: true,
  });
  await api(server.url, 'PUT', '/collections/flood', { vectors: { size: DIM, distance: 'Dot' } });
  const next = rng(8);
  for (let b = 0; b < 4; b++) {
    const points = Array.from({ length: 1000 }, (_, i) => ({
      id: b * 1000 + i,
      vector: randomVector(next, DIM),
      payload: { i: b * 1000 + i, tag: `t${i % 10}` },
    }));
    expect((await api(server.url, 'PUT', '/collections/flood/points', { points })).status).toBe(200);
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

/** One flood: searches, upserts and filter-based payload edits (which wait for a scan) all at once. */
async function flood(wave: number): Promise<ApiResponse[]> {
  const next = rng(1000 + wave);
  const requests: Promise<ApiResponse>[] = [];
  for (let i = 0; i < 40; i++) {
    requests.push(
      api(server.url, 'POST', '/collections/flood/points/search', {
        vector: randomVector(next, DIM),
        limit: 10,
        filter: { must: [{ key: 'i', range: { gte: i } }] },
        params: { exact: true },
      }),
    );
    if (i % 2 === 0) {
      const points = Array.from({ length: 100 }, (_, j) => ({
        id: (i * 100 + j) % 4000,
        vector: randomVector(next, DIM),
        payload: { i: (i * 100 + j) % 4000, tag: `w${wave}` },
      }));
      requests.push(api(server.url, 'PUT', '/collections/flood/points', { points }));
    } else {
      requests.push(
        api(server.url, 'POST', '/collections/flood/points/payload', {
          payload: { seen: wave },
          filter: { must: [{ key: 'tag', match: { value: `t${i % 10}` } }] },
        }),
      );
    }
  }
  return Promise.all(requests);
}

it('answers a flood beyond the queue bounds with 200 or 503 + Retry-After, and memory stays bounded', async () => {
  const codes = new Map<string, number>();
  const peaks: number[] = [];
  const WAVES = 6;
  for (let wave = 0; wave < WAVES; wave++) {
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await rss());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const results = await flood(wave);
    sampling = false;
    await sampler;
    peaks.push(Math.max(peak, await rss()));
    for (const r of results) {
      expect([200, 503], r.text).toContain(r.status);
      if (r.status === 503) {
        expect(r.headers.get('retry-after')).toBe('1');
        expect(['STRATA_ERR_OVERLOADED', 'STRATA_ERR_WRITE_OVERLOADED']).toContain(r.body.status.code);
        codes.set(r.body.status.code, (codes.get(r.body.status.code) ?? 0) + 1);
      } else {
        codes.set('ok', (codes.get('ok') ?? 0) + 1);
      }
    }
  }
  // both bounds were reached, and work still got done
  expect(codes.get('STRATA_ERR_OVERLOADED') ?? 0).toBeGreaterThan(0);
  expect(codes.get('STRATA_ERR_WRITE_OVERLOADED') ?? 0).toBeGreaterThan(0);
  expect(codes.get('ok') ?? 0).toBeGreaterThan(0);
  // the last floods need no more memory than the first ones (generous: allocator and GC timing vary)
  const early = Math.max(peaks[0]!, peaks[1]!);
  const late = Math.max(...peaks.slice(-2));
  console.log(
    `back-pressure: ${JSON.stringify(Object.fromEntries(codes))}, RSS peaks MiB ${peaks.map((p) => Math.round(p / 2 ** 20)).join(' ')}`,
  );
  expect(late).toBeLessThan(early * 1.3 + 64 * 2 ** 20);
  expect(late).toBeLessThan(1024 * 2 ** 20);
  // and once the flood is over, the server answers normally
  const after = await api(server.url, 'POST', '/collections/flood/points/search', {
    vector: new Array(DIM).fill(1),
    limit: 3,
  });
  expect(after.status).toBe(200);
  const metrics = (await api(server.url, 'GET', '/metrics')).text;
  expect(metrics).toMatch(/^strata_write_queue_depth 0$/m);
});
