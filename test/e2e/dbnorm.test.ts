import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUBS_OOD, readVecs } from '../helpers/dataset.js';
import { api, type RunningServer, startServer } from '../helpers/server.js';

const NAME = 'hubs';
const K = 10;
const base = readVecs(path.join(HUBS_OOD, 'base.fvecs'), 'f');
const queries = readVecs(path.join(HUBS_OOD, 'query.fvecs'), 'f');
const pairs = readVecs(path.join(HUBS_OOD, 'gt.pair.ivecs'), 'i').map((r) => r[0]!);
const bank = (file: string) => readVecs(path.join(HUBS_OOD, file), 'f');

interface Quality {
  r1: number;
  skew: number;
}

/** Skewness of N_k over every stored point (ALGORITHMS.md §2(c)), computed directly. */
function skewness(counts: number[]): number {
  const n = counts.length;
  const mean = counts.reduce((a, b) => a + b, 0) / n;
  const m2 = counts.reduce((a, c) => a + (c - mean) ** 2, 0) / n;
  const m3 = counts.reduce((a, c) => a + (c - mean) ** 3, 0) / n;
  return m3 / m2 ** 1.5;
}

describe('DBNorm over HTTP on hubs-ood (20k gallery, 1,000 out-of-distribution queries)', () => {
  let server: RunningServer;
  const call = (method: string, route: string, body?: unknown) => api(server.url, method, route, body);

  async function quality(rescore: string): Promise<Quality> {
    const counts = new Array(base.length).fill(0);
    let hits = 0;
    for (let from = 0; from < queries.length; from += 250) {
      const searches = queries.slice(from, from + 250).map((vector) => ({ vector, limit: K, params: { rescore } }));
      const res = await call('POST', `/collections/${NAME}/points/search/batch`, { searches });
      expect(res.status, res.text).toBe(200);
      res.body.result.forEach((list: { id: number }[], j: number) => {
        if (list[0]?.id === pairs[from + j]) hits++;
        for (const p of list) counts[p.id]++;
      });
    }
    return { r1: (100 * hits) / queries.length, skew: skewness(counts) };
  }

  beforeAll(async () => {
    server = await startServer({ env: { STRATA_QUERY_LOG_SAMPLE: '1' } });
    const created = await call('PUT', `/collections/${NAME}`, {
      vectors: { size: 128, distance: 'Cosine' },
      // one growing segment: exact search, so the figures compare with the dataset's brute-force reference
      optimizers_config: { indexing_threshold: 50_000 },
      hubness: { method: 'dual_dis' },
    });
    expect(created.status, created.text).toBe(200);
    for (let from = 0; from < base.length; from += 2000) {
      const points = base.slice(from, from + 2000).map((vector, i) => ({ id: from + i, vector }));
      expect((await call('PUT', `/collections/${NAME}/points`, { points })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('bad hubness input answers 4xx with stable codes', async () => {
    const v = queries[0]!;
    const search = (params: unknown) =>
      call('POST', `/collections/${NAME}/points/search`, { vector: v, limit: 3, params });
    // no bank yet: the configured dual_dis and an explicit is both need one
    expect((await search({})).body.status.code).toBe('STRATA_ERR_BANK_MISSING');
    expect((await search({ rescore: 'is' })).status).toBe(409);
    expect((await search({ rescore: 'none' })).status).toBe(200);
    const unknown = await search({ rescore: 'csls' });
    expect([unknown.status, unknown.body.status.code]).toEqual([400, 'STRATA_ERR_HUBNESS_CONFIG']);
    const beta = await call('PATCH', `/collections/${NAME}`, { hubness: { beta_q: 0 } });
    expect([beta.status, beta.body.status.code]).toEqual([400, 'STRATA_ERR_HUBNESS_CONFIG']);
    const huge = await call('PATCH', `/collections/${NAME}`, { hubness: { beta_g: 1e6 } });
    expect(huge.body.status.code).toBe('STRATA_ERR_HUBNESS_CONFIG');
    const created = await call('PUT', '/collections/bad-hubness', {
      vectors: { size: 4, distance: 'Cosine' },
      hubness: { method: 'qb_norm' },
    });
    expect(created.body.status.code).toBe('STRATA_ERR_HUBNESS_CONFIG');
    const dim = await call('PUT', `/collections/${NAME}/banks/gallery`, { vectors: [[1, 2, 3]] });
    expect(dim.body.status.code).toBe('STRATA_ERR_DIM_MISMATCH');
    expect((await call('GET', `/collections/${NAME}/banks/query`)).body.result).toBeNull();
    expect((await call('GET', `/collections/${NAME}/banks/other`)).status).toBe(400);
  });

  it('a matched query bank raises R@1 by >= 2 points and cuts N10 skewness by >= 50 %; a mismatched one costs dual_dis <= 0.5 points', async () => {
    const put = await call('PUT', `/collections/${NAME}/banks/query?wait=true`, { vectors: bank('bank-query.fvecs') });
    expect(put.status, put.text).toBe(200);
    expect(put.body.result).toMatchObject({ side: 'query', size: 2000, provenance: { source: 'vectors' } });
    expect(put.body.result.normalizers).toMatchObject({ current: true, computing: false });
    const gallery = await call('PUT', `/collections/${NAME}/banks/gallery?wait=true`, {
      vectors: bank('bank-gallery.fvecs'),
    });
    expect(gallery.body.result.normalizers.current).toBe(true);

    const raw = await quality('none');
    const matched: Record<string, Quality> = {};
    for (const method of ['is', 'dis', 'dual_is', 'dual_dis']) matched[method] = await quality(method);
    const best = Object.entries(matched).sort((a, b) => b[1].r1 - a[1].r1)[0]!;
    await call('PUT', `/collections/${NAME}/banks/query?wait=true`, { vectors: bank('bank-query-mismatched.fvecs') });
    const mismatched = { is: await quality('is'), dual_dis: await quality('dual_dis') };

    const f = (q: Quality) => `R@1 ${q.r1.toFixed(1)}  N10 skew ${q.skew.toFixed(2)}`;
    console.log(
      [
        "DBNorm on hubs-ood n=20000 nq=1000 (K' = 100, beta_q 20, beta_g 5):",
        `  raw                       ${f(raw)}`,
        ...Object.entries(matched).map(([m, q]) => `  matched ${m.padEnd(18)}${f(q)}`),
        ...Object.entries(mismatched).map(([m, q]) => `  mismatched ${m.padEnd(15)}${f(q)}`),
        `  best matched: ${best[0]} +${(best[1].r1 - raw.r1).toFixed(1)} R@1 points, N10 skew ${((100 * (best[1].skew - raw.skew)) / raw.skew).toFixed(0)} %`,
      ].join('\n'),
    );
    expect(best[1].r1 - raw.r1).toBeGreaterThanOrEqual(2);
    expect(best[1].skew).toBeLessThanOrEqual(raw.skew * 0.5);
    expect(mismatched.dual_dis.r1).toBeGreaterThanOrEqual(raw.r1 - 0.5);
  });

  it('returns rescored scores with the raw ones, keeps filters, and reports hubness with and without rescoring', async () => {
    const v = queries[3]!;
    const res = await call('POST', `/collections/${NAME}/points/query`, {
      query: v,
      limit: 5,
      with_raw_score: true,
      params: { rescore: 'dual_is' },
      filter: { must: [{ has_id: [3, 5, 7, 11, 13, 17, 19, 23] }] },
    });
    expect(res.status, res.text).toBe(200);
    const points = res.body.result.points as { id: number; score: number; raw_score: number }[];
    expect(points).toHaveLength(5);
    for (const p of points) expect([3, 5, 7, 11, 13, 17, 19, 23]).toContain(p.id);
    for (let i = 1; i < points.length; i++) expect(points[i]!.score).toBeLessThanOrEqual(points[i - 1]!.score);
    for (const p of points) expect(Math.abs(p.raw_score)).toBeLessThanOrEqual(1.0001);
    const plain = await call('POST', `/collections/${NAME}/points/search`, {
      vector: v,
      limit: 3,
      params: { rescore: 'none' },
      with_raw_score: true,
    });
    for (const p of plain.body.result) expect(p.score).toBe(p.raw_score);

    const patched = await call('PATCH', `/collections/${NAME}?wait=true`, { hubness: { method: 'is' } });
    expect(patched.body.result).toEqual({ method: 'is', beta_q: 20, beta_g: 5, candidates: null });
    expect((await call('GET', `/collections/${NAME}`)).body.result.config.hubness.method).toBe('is');
    await call('PUT', `/collections/${NAME}/banks/query?wait=true`, {
      vectors: bank('bank-query.fvecs').slice(0, 500),
    });
    const report = await call('GET', `/collections/${NAME}/hubness?k=10`);
    expect(report.status, report.text).toBe(200);
    const r = report.body.result;
    expect(r).toMatchObject({ k: 10, query_source: 'query_bank', queries: 500, method: 'is' });
    expect(r.raw.points).toBe(20_000);
    expect(r.raw.hubs).toHaveLength(20);
    expect(r.rescored.skewness).toBeLessThan(r.raw.skewness);
    expect(r.raw.histogram.reduce((n: number, b: { points: number }) => n + b.points, 0)).toBe(20_000);
    console.log(
      `hubness report over 500 bank queries: N10 skew raw ${r.raw.skewness.toFixed(2)}, is ${r.rescored.skewness.toFixed(2)}; top hub ${r.raw.hubs[0].count} -> ${r.rescored.hubs[0].count}`,
    );
  });

  it('builds a query bank from the query log and a gallery bank from stored points, durably', async () => {
    const fromLog = await call('PUT', `/collections/${NAME}/banks/query?wait=true`, { from_log: { size: 300 } });
    expect(fromLog.status, fromLog.text).toBe(200);
    expect(fromLog.body.result).toMatchObject({ size: 300, provenance: { source: 'from_log', requested: 300 } });
    const sampled = await call('PUT', `/collections/${NAME}/banks/gallery`, { sample: 400 });
    expect(sampled.body.result).toMatchObject({ size: 400, provenance: { source: 'sample', requested: 400 } });
    let info = sampled.body.result;
    for (let i = 0; i < 400 && !info.normalizers.current; i++) {
      await new Promise((r) => setTimeout(r, 50));
      info = (await call('GET', `/collections/${NAME}/banks/gallery`)).body.result;
    }
    expect(info.normalizers).toMatchObject({ current: true, computing: false });
    const before = await call('POST', `/collections/${NAME}/points/search`, {
      vector: queries[9],
      limit: 5,
      params: { rescore: 'dual_dis' },
    });
    await server.stop();
    server = await startServer({ dataDir: server.dataDir });
    const banks = await call('GET', `/collections/${NAME}/banks/gallery`);
    expect(banks.body.result).toMatchObject({ size: 400, version: info.version, normalizers: { current: true } });
    const after = await call('POST', `/collections/${NAME}/points/search`, {
      vector: queries[9],
      limit: 5,
      params: { rescore: 'dual_dis' },
    });
    expect(after.body.result).toEqual(before.body.result);
  });
});
