import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTERED, readJson, readVecs } from '../helpers/dataset.js';
import { api, type RunningServer, startServer } from '../helpers/server.js';

/**
 * Recall of the indexed paths against the dataset's exact ground truth (clustered-128, 10,000 points, seed 1234),
 * over HTTP, with `explain` showing which planner branch ran on every sealed segment:
 * unfiltered HNSW, filtered HNSW at 50 % and 10 % selectivity, exact scoring of the matches at 1 % and 0.1 %.
 */
type Attrs = { category: number[]; price: number[] };
const base = readVecs(path.join(CLUSTERED, 'base.fvecs'), 'f');
const queries = readVecs(path.join(CLUSTERED, 'query.fvecs'), 'f');
const attrs = readJson<Attrs>(path.join(CLUSTERED, 'attrs.json'));
const sets = readJson<{ sets: { sel: number; queries: { qi: number; filter: unknown }[] }[] }>(
  path.join(CLUSTERED, 'filters.json'),
).sets;

let server: RunningServer;
const Q = 40;

function recall(got: { id: number }[][], gt: number[][]): number {
  let hit = 0;
  got.forEach((hits, i) => {
    const want = new Set(gt[i]!.slice(0, 10).filter((id) => id >= 0));
    hit += hits.filter((h) => want.has(h.id)).length / Math.max(1, Math.min(10, want.size));
  });
  return hit / got.length;
}

beforeAll(async () => {
  server = await startServer();
  await api(server.url, 'PUT', '/collections/clustered', {
    vectors: { size: 128, distance: 'Euclid' },
    // two sealed segments of 5,000 rows; filtered searches matching up to 200 rows of a segment score them exactly
    optimizers_config: { indexing_threshold: 5000, max_segment_size: 5000 },
    hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 200 },
  });
  for (let from = 0; from < base.length; from += 1000) {
    const points = base.slice(from, from + 1000).map((vector, j) => ({
      id: from + j,
      vector,
      payload: { category: attrs.category[from + j], price: attrs.price[from + j] },
    }));
    await api(server.url, 'PUT', '/collections/clustered/points', { points });
  }
  // one more point freezes the second segment; then wait for both to be sealed
  await api(server.url, 'PUT', '/collections/clustered/points', {
    points: [{ id: 10_000, vector: base[0]!.map((x) => x + 1000) }],
  });
  await api(server.url, 'PUT', '/collections/clustered/index', { field_name: 'category', field_schema: 'integer' });
  await api(server.url, 'PUT', '/collections/clustered/index', { field_name: 'price', field_schema: 'float' });
  for (let i = 0; i < 1200; i++) {
    const info = (await api(server.url, 'GET', '/collections/clustered')).body.result;
    if (info.status === 'green' && info.indexed_vectors_count === 10_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 300_000);

afterAll(async () => {
  await server?.stop();
});

async function run(searches: unknown[]) {
  const res = await api(server.url, 'POST', '/collections/clustered/points/search/batch', { searches });
  expect(res.status).toBe(200);
  return res.body as { result: { id: number }[][]; explain: { segment: unknown; branch: string }[][] };
}

function sealedBranches(explain: { segment: unknown; branch: string }[][]): Set<string> {
  return new Set(
    explain
      .flat()
      .filter((p) => typeof p.segment === 'number')
      .map((p) => p.branch),
  );
}

describe('HNSW recall on clustered-128 (10k)', () => {
  it('unfiltered: recall@10 >= 0.95 through the graph', async () => {
    const gt = readVecs(path.join(CLUSTERED, 'gt.l2.ivecs'), 'i');
    const out = await run(
      queries.slice(0, Q).map((vector) => ({ vector, limit: 10, params: { hnsw_ef: 64, explain: true } })),
    );
    const r = recall(out.result, gt);
    console.log(`unfiltered recall@10 = ${r.toFixed(3)}`);
    expect(r).toBeGreaterThanOrEqual(0.95);
    expect(sealedBranches(out.explain)).toEqual(new Set(['graph']));
  });

  it.each([
    [0.5, 'filtered_graph'],
    [0.1, 'filtered_graph'],
    [0.01, 'plain_filtered'],
    [0.001, 'plain_filtered'],
  ])('filtered at selectivity %s: recall@10 >= 0.95, branch %s', async (sel, branch) => {
    const set = sets.find((s) => s.sel === sel)!;
    const gt = readVecs(path.join(CLUSTERED, `gt.filtered.l2.s${sel}.ivecs`), 'i');
    const picked = set.queries.slice(0, Q);
    const out = await run(
      picked.map((q) => ({ vector: queries[q.qi], filter: q.filter, limit: 10, params: { explain: true } })),
    );
    const r = recall(out.result, gt.slice(0, Q));
    console.log(
      `selectivity ${sel}: recall@10 = ${r.toFixed(3)}, branches ${[...sealedBranches(out.explain)].join(',')}`,
    );
    expect(r).toBeGreaterThanOrEqual(0.95);
    expect(sealedBranches(out.explain)).toEqual(new Set([branch]));
    // every result matches its filter
    out.result.forEach((hits, i) => {
      const f = picked[i]!.filter as {
        must: { key: string; match?: { value: number }; range?: { gte: number; lt: number } }[];
      };
      for (const h of hits) {
        for (const c of f.must) {
          if (c.match) expect(attrs.category[h.id]).toBe(c.match.value);
          else expect(attrs.price[h.id]! >= c.range!.gte && attrs.price[h.id]! < c.range!.lt).toBe(true);
        }
      }
    });
  });
});
