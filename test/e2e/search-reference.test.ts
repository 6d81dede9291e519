import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTERED, readJson, readVecs } from '../helpers/dataset.js';
import { api, type RunningServer, startServer } from '../helpers/server.js';

/**
 * Search equals an independent brute-force reference, written here, for all four distances, with and without
 * filters, over HTTP on the 10,000-point clustered dataset (../shared/datasets, seed 1234).
 */
type Distance = 'Cosine' | 'Dot' | 'Euclid' | 'Manhattan';
type Attrs = { category: number[]; price: number[]; ts: number[]; tags: string[][] };
type Hit = { id: number; score: number; payload: Record<string, unknown> | null };

const base = readVecs(path.join(CLUSTERED, 'base.fvecs'), 'f');
const queries = readVecs(path.join(CLUSTERED, 'query.fvecs'), 'f').slice(0, 25);
const attrs = readJson<Attrs>(path.join(CLUSTERED, 'attrs.json'));
const filterSets = readJson<{ sets: { sel: number; queries: { qi: number; filter: unknown }[] }[] }>(
  path.join(CLUSTERED, 'filters.json'),
).sets;

function reference(distance: Distance, q: number[], x: number[]): number {
  let dot = 0;
  let nq = 0;
  let nx = 0;
  let l2 = 0;
  let l1 = 0;
  for (let i = 0; i < q.length; i++) {
    const a = Math.fround(q[i]!);
    const b = Math.fround(x[i]!);
    dot += a * b;
    nq += a * a;
    nx += b * b;
    l2 += (a - b) ** 2;
    l1 += Math.abs(a - b);
  }
  switch (distance) {
    case 'Cosine':
      return nq === 0 || nx === 0 ? 0 : dot / Math.sqrt(nq * nx);
    case 'Dot':
      return dot;
    case 'Euclid':
      return Math.sqrt(l2);
    case 'Manhattan':
      return l1;
  }
}

const higherIsBetter = (d: Distance) => d === 'Cosine' || d === 'Dot';

function bruteForce(
  distance: Distance,
  q: number[],
  k: number,
  keep: (i: number) => boolean,
): { id: number; score: number }[] {
  const scored: { id: number; score: number }[] = [];
  base.forEach((x, id) => {
    if (keep(id)) scored.push({ id, score: reference(distance, q, x) });
  });
  scored.sort((a, b) => (higherIsBetter(distance) ? b.score - a.score : a.score - b.score) || a.id - b.id);
  return scored.slice(0, k);
}

/** Same ranking, scores within float32 precision; a swap is allowed only between (near-)equal scores. */
function expectSameRanking(distance: Distance, q: number[], got: Hit[], want: { id: number; score: number }[]): void {
  expect(got.map((h) => h.id).length).toBe(want.length);
  const tolerance = (s: number) => 1e-4 * Math.max(1, Math.abs(s));
  got.forEach((hit, rank) => {
    const expected = want[rank]!;
    expect(Math.abs(hit.score - expected.score)).toBeLessThan(tolerance(expected.score));
    if (hit.id !== expected.id) {
      expect(Math.abs(reference(distance, q, base[hit.id]!) - expected.score)).toBeLessThan(tolerance(expected.score));
    }
  });
}

/** Filters built here, each with its own JS predicate over the attributes. */
const OWN_FILTERS: { name: string; filter: unknown; keep: (i: number) => boolean }[] = [
  {
    name: 'tags any + must_not category',
    filter: {
      must: [{ key: 'tags', match: { any: ['red', 'bulk'] } }],
      must_not: [{ key: 'category', match: { value: 3 } }],
    },
    keep: (i) => attrs.tags[i]!.some((t) => t === 'red' || t === 'bulk') && attrs.category[i] !== 3,
  },
  {
    name: 'should of ranges',
    filter: {
      should: [
        { key: 'price', range: { lt: 5 } },
        { key: 'ts', range: { gte: 1730000000 } },
      ],
    },
    keep: (i) => attrs.price[i]! < 5 || attrs.ts[i]! >= 1730000000,
  },
];

let server: RunningServer;
const DISTANCES: Distance[] = ['Cosine', 'Dot', 'Euclid', 'Manhattan'];

beforeAll(async () => {
  server = await startServer();
  for (const distance of DISTANCES) {
    const name = distance.toLowerCase();
    await api(server.url, 'PUT', `/collections/${name}`, { vectors: { size: 128, distance } });
    for (let from = 0; from < base.length; from += 1000) {
      const points = base.slice(from, from + 1000).map((vector, j) => {
        const id = from + j;
        return {
          id,
          vector,
          payload: { category: attrs.category[id], price: attrs.price[id], ts: attrs.ts[id], tags: attrs.tags[id] },
        };
      });
      const res = await api(server.url, 'PUT', `/collections/${name}/points?wait=true`, { points });
      expect(res.status).toBe(200);
    }
  }
}, 300_000);

afterAll(async () => {
  await server?.stop();
});

describe.each(DISTANCES)('%s', (distance) => {
  const name = distance.toLowerCase();

  it('has all 10,000 points', async () => {
    const res = await api(server.url, 'POST', `/collections/${name}/points/count`, {});
    expect(res.body.result.count).toBe(10_000);
  });

  it('matches brute force without a filter (single searches)', async () => {
    for (const q of queries.slice(0, 10)) {
      const res = await api<{ result: Hit[] }>(server.url, 'POST', `/collections/${name}/points/search`, {
        vector: q,
        limit: 10,
      });
      expect(res.status).toBe(200);
      expectSameRanking(
        distance,
        q,
        res.body.result,
        bruteForce(distance, q, 10, () => true),
      );
    }
  });

  it('matches brute force with the dataset filters at 50 %, 10 %, 1 % and 0.1 % selectivity (batch)', async () => {
    for (const set of filterSets) {
      const picked = set.queries.slice(0, 8);
      const res = await api<{ result: Hit[][] }>(server.url, 'POST', `/collections/${name}/points/search/batch`, {
        searches: picked.map((fq) => ({ vector: queries[fq.qi % queries.length], filter: fq.filter, limit: 10 })),
      });
      expect(res.status).toBe(200);
      picked.forEach((fq, j) => {
        const f = fq.filter as {
          must: { key: string; match?: { value: number }; range?: { gte: number; lt: number } }[];
        };
        const keep = (i: number) =>
          f.must.every((c) =>
            c.match
              ? attrs.category[i] === c.match.value
              : attrs.price[i]! >= c.range!.gte && attrs.price[i]! < c.range!.lt,
          );
        const q = queries[fq.qi % queries.length]!;
        expectSameRanking(distance, q, res.body.result[j]!, bruteForce(distance, q, 10, keep));
      });
    }
  });

  it.each(OWN_FILTERS)('matches brute force with filter: $name', async ({ filter, keep }) => {
    for (const q of queries.slice(10, 15)) {
      const res = await api<{ result: Hit[] }>(server.url, 'POST', `/collections/${name}/points/search`, {
        vector: q,
        filter,
        limit: 25,
        with_payload: true,
      });
      expect(res.status).toBe(200);
      for (const hit of res.body.result) expect(keep(hit.id)).toBe(true);
      expectSameRanking(distance, q, res.body.result, bruteForce(distance, q, 25, keep));
    }
  });
});

it('agrees with the dataset ground truth (Euclid and Cosine, top 10)', async () => {
  const gtL2 = readVecs(path.join(CLUSTERED, 'gt.l2.ivecs'), 'i');
  const gtCos = readVecs(path.join(CLUSTERED, 'gt.cos.ivecs'), 'i');
  let overlap = 0;
  let total = 0;
  for (const [name, gt] of [
    ['euclid', gtL2],
    ['cosine', gtCos],
  ] as const) {
    const res = await api<{ result: Hit[][] }>(server.url, 'POST', `/collections/${name}/points/search/batch`, {
      searches: queries.map((vector) => ({ vector, limit: 10 })),
    });
    res.body.result.forEach((hits, qi) => {
      const want = new Set(gt[qi]!.slice(0, 10));
      overlap += hits.filter((h) => want.has(h.id)).length;
      total += 10;
    });
  }
  expect(overlap / total).toBeGreaterThanOrEqual(0.999);
});
