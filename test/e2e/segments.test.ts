import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type RunningServer, randomVector, rng, startServer } from '../helpers/server.js';

/**
 * Segment lifecycle over HTTP: growing segments seal into files with an HNSW graph in the background, searches
 * use the graph (explain shows the branch), deletes and updates go through tombstones, and a restart loads the
 * sealed files instead of rebuilding them.
 */
const DIM = 16;
const N = 2300;
const THRESHOLD = 500;

let server: RunningServer;
const vectors: number[][] = [];

async function waitSealed(url: string, name: string, minIndexed: number): Promise<any> {
  for (let i = 0; i < 600; i++) {
    const info = (await api(url, 'GET', `/collections/${name}`)).body.result;
    if (info.status === 'green' && info.indexed_vectors_count >= minIndexed) return info;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('segments were not sealed in time');
}

/** Log lines reach the test through a pipe, a moment after the state they describe. */
async function waitForLog(s: RunningServer, text: string): Promise<void> {
  for (let i = 0; i < 300 && !s.output().includes(text); i++) await new Promise((r) => setTimeout(r, 100));
  expect(s.output()).toContain(text);
}

beforeAll(async () => {
  server = await startServer();
  await api(server.url, 'PUT', '/collections/seg', {
    vectors: { size: DIM, distance: 'Euclid' },
    // max_segment_size keeps the optimizer from merging here; merges have their own test below
    optimizers_config: { indexing_threshold: THRESHOLD, max_segment_size: THRESHOLD },
    hnsw_config: { m: 16, ef_construct: 64, full_scan_threshold: 50 },
  });
  const next = rng(11);
  for (let i = 0; i < N; i++) vectors.push(randomVector(next, DIM));
  for (let from = 0; from < N; from += 400) {
    const points = vectors
      .slice(from, from + 400)
      .map((vector, j) => ({ id: from + j, vector, payload: { g: (from + j) % 10, i: from + j } }));
    expect((await api(server.url, 'PUT', '/collections/seg/points', { points })).status).toBe(200);
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('sealing', () => {
  it('seals full segments into files with a graph, in the background', async () => {
    const info = await waitSealed(server.url, 'seg', 4 * THRESHOLD);
    expect(info.points_count).toBe(N);
    expect(info.segments_count).toBe(5);
    expect(info.indexed_vectors_count).toBe(4 * THRESHOLD);
    const dir = path.join(server.dataDir, 'collections/seg/segments');
    const sealed = fs.readdirSync(dir).filter((d) => !d.startsWith('.'));
    expect(sealed).toHaveLength(4);
    for (const d of sealed) {
      expect(fs.readdirSync(path.join(dir, d)).sort()).toEqual([
        'hnsw.graph',
        'ids.bin',
        'manifest.json',
        'payloads.bin',
        'vectors.f32',
      ]);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir, d, 'manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({
        format: 'strata-segment',
        version: 1,
        dim: DIM,
        count: THRESHOLD,
        hnsw: { m: 16, efConstruct: 64 },
      });
      expect(manifest.files['vectors.f32'].sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    await waitForLog(server, 'segment sealed');
  });

  it('seals a segment as soon as it is full, without waiting for one more point', async () => {
    await api(server.url, 'PUT', '/collections/exact-fill', {
      vectors: { size: 4, distance: 'Dot' },
      optimizers_config: { indexing_threshold: 200, max_segment_size: 200 },
    });
    const next = rng(5);
    const points = Array.from({ length: 400 }, (_, id) => ({ id, vector: randomVector(next, 4) }));
    await api(server.url, 'PUT', '/collections/exact-fill/points', { points });
    const info = await waitSealed(server.url, 'exact-fill', 400);
    expect(info.indexed_vectors_count).toBe(400);
  });

  it('searches sealed segments through the graph and the growing one exactly, with recall >= 0.95', async () => {
    const next = rng(12);
    let overlap = 0;
    for (let q = 0; q < 30; q++) {
      const vector = randomVector(next, DIM);
      const approx = await api(server.url, 'POST', '/collections/seg/points/search', {
        vector,
        limit: 10,
        params: { explain: true },
      });
      const exact = await api(server.url, 'POST', '/collections/seg/points/search', {
        vector,
        limit: 10,
        params: { exact: true, explain: true },
      });
      const branches = approx.body.explain.map((p: { branch: string }) => p.branch).sort();
      expect(branches).toEqual(['graph', 'graph', 'graph', 'graph', 'plain']);
      expect(exact.body.explain.every((p: { branch: string }) => p.branch === 'plain')).toBe(true);
      const want = new Set(exact.body.result.map((h: { id: number }) => h.id));
      overlap += approx.body.result.filter((h: { id: number }) => want.has(h.id)).length;
    }
    expect(overlap / 300).toBeGreaterThanOrEqual(0.95);
  });

  it('plans filtered searches by match count: exact scoring for few matches, filtered graph for many', async () => {
    const vector = vectors[7]!;
    const few = await api(server.url, 'POST', '/collections/seg/points/search', {
      vector,
      limit: 5,
      filter: { must: [{ key: 'i', range: { lt: 40 } }] },
      params: { explain: true },
    });
    const sealedPlans = few.body.explain.filter((p: { segment: unknown }) => typeof p.segment === 'number');
    expect(sealedPlans.map((p: { branch: string }) => p.branch)).toContain('plain_filtered');
    const many = await api(server.url, 'POST', '/collections/seg/points/search', {
      vector,
      limit: 5,
      filter: { must: [{ key: 'g', match: { any: [1, 2, 3, 4, 5] } }] },
      params: { explain: true },
    });
    expect(many.body.explain.filter((p: { branch: string }) => p.branch === 'filtered_graph').length).toBe(4);
    for (const hit of many.body.result) expect([1, 2, 3, 4, 5]).toContain(hit.id % 10);
    const plan = many.body.explain.find((p: { branch: string }) => p.branch === 'filtered_graph');
    expect(plan.estimated_matches).toEqual({ min: 250, exp: 250, max: 250 }); // 500-row segments are counted exactly
    expect(plan.matches).toBeNull();
    expect(plan.distance_evaluations).toBeGreaterThan(0);
  });

  it('never returns a deleted point, and a replaced point once, with its new data', async () => {
    await api(server.url, 'POST', '/collections/seg/points/delete', { points: [7, 8, 9] });
    await api(server.url, 'PUT', '/collections/seg/points', {
      points: [{ id: 100, vector: vectors[7], payload: { moved: true } }],
    });
    const res = await api(server.url, 'POST', '/collections/seg/points/search', {
      vector: vectors[7],
      limit: 20,
      with_payload: true,
    });
    const ids = res.body.result.map((h: { id: number }) => h.id);
    expect(ids).not.toContain(7);
    expect(ids.filter((id: number) => id === 100)).toHaveLength(1);
    expect(res.body.result[0]).toMatchObject({ id: 100, payload: { moved: true } });
    expect((await api(server.url, 'POST', '/collections/seg/points/count', {})).body.result.count).toBe(N - 3);
  });

  it('loads sealed segments from their files after a restart, with the same answers', async () => {
    const before = await api(server.url, 'POST', '/collections/seg/points/search/batch', {
      searches: [0, 1, 2, 3].map((i) => ({ vector: vectors[i * 100], limit: 10, with_payload: true })),
    });
    const scrollBefore = await api(server.url, 'POST', '/collections/seg/points/scroll', { limit: 10_000 });
    await server.stop();
    server = await startServer({ dataDir: server.dataDir });
    const after = await api(server.url, 'POST', '/collections/seg/points/search/batch', {
      searches: [0, 1, 2, 3].map((i) => ({ vector: vectors[i * 100], limit: 10, with_payload: true })),
    });
    expect(after.body.result).toEqual(before.body.result);
    const scrollAfter = await api(server.url, 'POST', '/collections/seg/points/scroll', { limit: 10_000 });
    expect(scrollAfter.body.result).toEqual(scrollBefore.body.result);
    expect(server.output()).not.toContain('segment sealed'); // nothing was rebuilt
    const info = (await api(server.url, 'GET', '/collections/seg')).body.result;
    expect(info.indexed_vectors_count).toBeGreaterThanOrEqual(4 * THRESHOLD - 4);
  });
});

describe('optimizer', () => {
  it('merges small sealed segments and vacuums deleted rows, with correct searches throughout', async () => {
    await api(server.url, 'PUT', '/collections/opt', {
      vectors: { size: DIM, distance: 'Dot' },
      optimizers_config: { indexing_threshold: 300, max_segment_size: 1200, vacuum_min_vector_number: 50 },
      hnsw_config: { full_scan_threshold: 20 },
    });
    const next = rng(21);
    const points = Array.from({ length: 1500 }, (_, id) => ({ id, vector: randomVector(next, DIM), payload: { id } }));
    // the rows the searches below filter for (ids < 40) go in first: the two searches of a pair run concurrently
    // with the upserts, and must not see different sets of matching rows (later upserts only add ids >= 300)
    expect((await api(server.url, 'PUT', '/collections/opt/points', { points: points.slice(0, 300) })).status).toBe(
      200,
    );
    // keep searching while the optimizer seals and merges: every answer must be the exact one's ids
    let searching = true;
    const checks = (async () => {
      let n = 0;
      while (searching) {
        const vector = randomVector(next, DIM);
        const [a, b] = await Promise.all([
          api(server.url, 'POST', '/collections/opt/points/search', {
            vector,
            limit: 5,
            filter: { must: [{ key: 'id', range: { lt: 40 } }] },
          }),
          api(server.url, 'POST', '/collections/opt/points/search', {
            vector,
            limit: 5,
            filter: { must: [{ key: 'id', range: { lt: 40 } }] },
            params: { exact: true },
          }),
        ]);
        expect(a.body.result).toEqual(b.body.result);
        n++;
      }
      return n;
    })();
    for (let from = 300; from < 1500; from += 300) {
      expect(
        (await api(server.url, 'PUT', '/collections/opt/points', { points: points.slice(from, from + 300) })).status,
      ).toBe(200);
    }
    let info = await waitSealed(server.url, 'opt', 1200);
    searching = false;
    expect(await checks).toBeGreaterThan(0);
    await waitForLog(server, 'segments merged');
    expect(info.points_count).toBe(1500);
    expect(info.segments_count).toBeLessThan(5);
    const scroll = await api(server.url, 'POST', '/collections/opt/points/scroll', { limit: 10_000 });
    expect(scroll.body.result.points.map((p: { id: number }) => p.id)).toEqual(points.map((p) => p.id));
    // delete 40 % of the first 1,200 ids: the merged segment passes deleted_threshold and is rewritten
    const doomed = points
      .slice(0, 1200)
      .filter((p) => p.id % 5 < 2)
      .map((p) => p.id);
    await api(server.url, 'POST', '/collections/opt/points/delete', { points: doomed });
    for (let i = 0; i < 300 && !server.output().includes('segment vacuumed'); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(server.output()).toContain('segment vacuumed');
    info = await waitSealed(server.url, 'opt', 1);
    expect(info.points_count).toBe(1500 - doomed.length);
    const dir = path.join(server.dataDir, 'collections/opt/segments');
    expect(fs.readdirSync(dir).filter((d) => !d.startsWith('.')).length).toBe(
      info.segments_count - (info.points_count > info.indexed_vectors_count ? 1 : 0),
    );
    const res = await api(server.url, 'POST', '/collections/opt/points/search', {
      vector: points[0]!.vector,
      limit: 50,
    });
    for (const hit of res.body.result) expect(doomed).not.toContain(hit.id);
    const ids = res.body.result.map((h: { id: number }) => h.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('scalar int8 quantization', () => {
  it('searches int8 codes with oversampling and float rescoring, recall@10 >= 0.97', async () => {
    await api(server.url, 'PUT', '/collections/q8', {
      vectors: { size: 32, distance: 'Cosine' },
      optimizers_config: { indexing_threshold: 1000, max_segment_size: 1000 },
      quantization_config: { scalar: { type: 'int8', quantile: 0.99, always_ram: true } },
    });
    const next = rng(31);
    // clustered data with one outlier dimension, so the outlier split matters
    const centers = Array.from({ length: 20 }, () => randomVector(next, 32));
    const points = Array.from({ length: 2500 }, (_, id) => {
      const c = centers[id % 20]!;
      const vector = c.map((x) => x + (next() - 0.5) * 0.3);
      if (id % 3 === 0) vector[5] = vector[5]! * 20;
      return { id, vector };
    });
    for (let from = 0; from < 2500; from += 500) {
      await api(server.url, 'PUT', '/collections/q8/points', { points: points.slice(from, from + 500) });
    }
    await waitSealed(server.url, 'q8', 2000);
    const dir = path.join(server.dataDir, 'collections/q8/segments');
    for (const d of fs.readdirSync(dir)) expect(fs.readdirSync(path.join(dir, d))).toContain('quantized.sq8');
    let overlap = 0;
    let overlapNoRescore = 0;
    for (let q = 0; q < 30; q++) {
      const vector = points[(q * 37) % 2000]!.vector.map((x) => x + (next() - 0.5) * 0.2);
      const [quant, raw, exact] = await Promise.all([
        api(server.url, 'POST', '/collections/q8/points/search', { vector, limit: 10, params: { explain: true } }),
        api(server.url, 'POST', '/collections/q8/points/search', {
          vector,
          limit: 10,
          params: { quantization: { rescore: false } },
        }),
        api(server.url, 'POST', '/collections/q8/points/search', { vector, limit: 10, params: { exact: true } }),
      ]);
      // sealed segments search their int8 codes; the growing one is searched in float
      const sealed = quant.body.explain.filter((p: { segment: unknown }) => typeof p.segment === 'number');
      expect(sealed.length).toBe(2);
      expect(sealed.every((p: { quantized: boolean }) => p.quantized)).toBe(true);
      const want = new Set(exact.body.result.map((h: { id: number }) => h.id));
      overlap += quant.body.result.filter((h: { id: number }) => want.has(h.id)).length;
      overlapNoRescore += raw.body.result.filter((h: { id: number }) => want.has(h.id)).length;
      // rescored scores are exact float scores
      const exactScores = new Map(exact.body.result.map((h: { id: number; score: number }) => [h.id, h.score]));
      for (const h of quant.body.result)
        if (exactScores.has(h.id)) expect(h.score).toBeCloseTo(exactScores.get(h.id) as number, 5);
    }
    console.log(`int8 recall@10: rescored ${overlap / 300}, codes only ${overlapNoRescore / 300}`);
    expect(overlap / 300).toBeGreaterThanOrEqual(0.97);
    const ignored = await api(server.url, 'POST', '/collections/q8/points/search', {
      vector: points[0]!.vector,
      limit: 1,
      params: { quantization: { ignore: true }, explain: true },
    });
    expect(ignored.body.explain.every((p: { quantized: boolean }) => !p.quantized)).toBe(true);
  });
});

describe('damaged files', () => {
  it('keeps a collection with a corrupt or truncated segment file unavailable (503 naming the file)', async () => {
    await api(server.url, 'PUT', '/collections/other', { vectors: { size: 2, distance: 'Dot' } });
    await api(server.url, 'PUT', '/collections/other/points', { points: [{ id: 1, vector: [1, 0] }] });
    await server.stop();
    const dir = path.join(server.dataDir, 'collections/seg/segments');
    const victim = fs.readdirSync(dir).filter((d) => !d.startsWith('.'))[0]!;
    const file = path.join(dir, victim, 'vectors.f32');
    const bytes = fs.readFileSync(file);
    bytes[100] = bytes[100]! ^ 0xff;
    fs.writeFileSync(file, bytes);
    server = await startServer({ dataDir: server.dataDir });
    const res = await api(server.url, 'POST', '/collections/seg/points/search', { vector: vectors[0], limit: 1 });
    expect(res.status).toBe(503);
    expect(res.body.status.code).toBe('STRATA_ERR_SEGMENT_CORRUPT');
    expect(res.body.status.error).toContain('vectors.f32');
    expect(res.body.status.error).toContain('checksum');
    expect((await api(server.url, 'POST', '/collections/other/points/count', {})).body.result.count).toBe(1);
    // truncation is named as well
    await server.stop();
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    server = await startServer({ dataDir: server.dataDir });
    const truncated = await api(server.url, 'GET', '/collections/seg');
    expect(truncated.status).toBe(503);
    expect(truncated.body.status.error).toContain('truncated');
  });
});
