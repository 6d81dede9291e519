/**
 * Issue 4 (HQI) acceptance on the small hybrid-workload set (5,000 points × 128, cosine), against the real server
 * over HTTP: batch = one-by-one, exact = brute force, recall@10 ≥ 0.95 with default parameters, before and after a
 * partition tree built from the train set's filters; routing soundness (a pruned leaf holds no match, a complete
 * leaf holds nothing else) checked against a brute-force match set; the tree's GET, its survival across a restart,
 * 409 while building and 400s for bad bodies.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bruteForce,
  createHybridCollection,
  differsFromExact,
  type Filter,
  filterHolds,
  type Hit,
  type HybridQuery,
  type HybridSet,
  hitsOf,
  layoutOfPlans,
  loadHybrid,
  type PartitioningState,
  type Plan,
  recallAt10,
  waitGreen,
  waitPartitioned,
} from '../helpers/hybrid.js';
import { api, type RunningServer, startServer, tempDir } from '../helpers/server.js';

const NAME = 'hybrid';
const ROUTE = `/collections/${NAME}`;
const ds = loadHybrid();
const N = ds.base.length;
const points = new Map(ds.base.map((vector, id) => [id, { vector, payload: ds.payloads[id]! }]));
/** Small leaves so that 5,000 points give a tree of several leaves (the default minimum is 10,000 rows). */
const MIN_LEAF = 300;
const MAX_LEAVES = 16;
/** Batch-vs-single tolerance: the same float32 arithmetic may be blocked differently in a shared-work batch. */
const SAME_TOLERANCE = 1e-6;
const RECALL_TARGET = 0.95;
/** The batch endpoint's documented maximum is 1,000 searches; smaller chunks keep each response modest. */
const CHUNK = 250;

type Params = Record<string, unknown>;

interface SearchBody {
  vector: number[];
  filter?: Filter;
  limit: number;
  params?: Params;
}

const bodyOf = (q: HybridQuery, params?: Params, limit = 10): SearchBody => ({
  vector: ds.pool[q.vector_index]!,
  filter: q.filter,
  limit,
  ...(params ? { params } : {}),
});

describe('HQI: partition tree, routing and batch execution (issue 4)', () => {
  const dataDir = tempDir('strata-hqi-');
  let server: RunningServer;
  let url: string;
  let tree: NonNullable<PartitioningState['tree']>;

  async function one(body: SearchBody): Promise<{ hits: Hit[]; explain: Plan[] | undefined }> {
    const res = await api(url, 'POST', `${ROUTE}/points/search`, body);
    if (res.status !== 200) throw new Error(`search: ${res.status} ${res.text.slice(0, 300)}`);
    return { hits: hitsOf(res.body.result), explain: res.body.explain };
  }

  async function batch(bodies: SearchBody[]): Promise<{ hits: Hit[][]; explain: Plan[][] | undefined }> {
    const hits: Hit[][] = [];
    const explain: Plan[][] = [];
    for (let at = 0; at < bodies.length; at += CHUNK) {
      const res = await api(url, 'POST', `${ROUTE}/points/search/batch`, { searches: bodies.slice(at, at + CHUNK) });
      if (res.status !== 200) throw new Error(`search/batch: ${res.status} ${res.text.slice(0, 300)}`);
      hits.push(...(res.body.result as { id: unknown; score: number }[][]).map(hitsOf));
      if (res.body.explain) explain.push(...res.body.explain);
    }
    return { hits, explain: explain.length > 0 ? explain : undefined };
  }

  /** The /points/query/batch form of the same searches (the universal query API takes `query`). */
  async function queryBatch(bodies: SearchBody[]): Promise<Hit[][]> {
    const searches = bodies.map(({ vector, ...rest }) => ({ query: vector, ...rest }));
    const res = await api(url, 'POST', `${ROUTE}/points/query/batch`, { searches });
    if (res.status !== 200) throw new Error(`query/batch: ${res.status} ${res.text.slice(0, 300)}`);
    return (res.body.result as { points: { id: unknown; score: number }[] }[]).map((r) => hitsOf(r.points));
  }

  async function partitioning(): Promise<PartitioningState> {
    const res = await api(url, 'GET', `${ROUTE}/partitioning`);
    expect(res.status).toBe(200);
    return res.body.result;
  }

  /** Every segment's plan for an unfiltered search: nothing can be pruned, so each segment is listed once. */
  async function segmentPlans(): Promise<Plan[]> {
    const { explain } = await one({ vector: ds.pool[0]!, limit: 1, params: { explain: true } });
    expect(explain).toBeDefined();
    return explain!;
  }

  /**
   * Batch results equal one-by-one results (ids and scores), on /points/search/batch and /points/query/batch.
   * Returns the mean recall@10 of the one-by-one answers against the dataset's ground truth (NaN without one).
   */
  async function expectBatchEqualsSingle(set: HybridSet, params?: Params): Promise<number> {
    const bodies = set.queries.map((q) => bodyOf(q, params));
    const singles: Hit[][] = [];
    for (const b of bodies) singles.push((await one(b)).hits);
    const batched = (await batch(bodies)).hits;
    const viaQuery = await queryBatch(bodies.slice(0, 100));
    const diffs: string[] = [];
    bodies.forEach((_, i) => {
      const d = differsFromExact(batched[i]!, singles[i]!, SAME_TOLERANCE);
      if (d !== null) diffs.push(`search/batch query ${i}: ${d}`);
    });
    viaQuery.forEach((hits, i) => {
      const d = differsFromExact(hits, singles[i]!, SAME_TOLERANCE);
      if (d !== null) diffs.push(`query/batch query ${i}: ${d}`);
    });
    expect(diffs.slice(0, 5)).toEqual([]);
    // not vacuous: most of these filters have at least 10 matches, so the lists are not empty
    expect(singles.filter((h) => h.length === 10).length).toBeGreaterThan(set.queries.length / 2);
    if (set.gt === null) return Number.NaN;
    return (
      singles.reduce(
        (s, hits, i) =>
          s +
          recallAt10(
            hits.map((h) => h.id),
            set.gt![i]!,
          ),
        0,
      ) / singles.length
    );
  }

  /** `params.exact: true` equals the brute force of helpers/hybrid.ts, through the batch endpoint. */
  async function expectExact(set: HybridSet): Promise<void> {
    const got = (await batch(set.queries.map((q) => bodyOf(q, { exact: true })))).hits;
    const diffs: string[] = [];
    set.queries.forEach((q, i) => {
      const d = differsFromExact(got[i]!, bruteForce(points, ds.pool[q.vector_index]!, q.filter, 10));
      if (d !== null) diffs.push(`query ${i} (template ${q.template}): ${d}`);
    });
    expect(diffs.slice(0, 5)).toEqual([]);
  }

  beforeAll(async () => {
    server = await startServer({ dataDir });
    url = server.url;
    // sealed segments of 1,000 rows with an HNSW graph; filtered searches matching ≤ 200 rows of a segment are
    // scored exactly (so both the graph and the exact branches run)
    await createHybridCollection(url, NAME, ds, { indexingThreshold: 1000, fullScanThreshold: 200 });
    await waitGreen(url, NAME);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("the test's own filter evaluator agrees with the generator's match counts", () => {
    // the brute force below is only as good as this evaluator: check it on every query of every set
    for (const set of [ds.train, ds.seen, ds.unseen]) {
      for (const q of set.queries) {
        let count = 0;
        for (const p of ds.payloads) if (filterHolds(q.filter, p)) count++;
        expect(count, JSON.stringify(q.filter)).toBe(q.count);
      }
    }
    expect(ds.unseen.queries.every((q) => typeof q.unseen === 'string')).toBe(true);
  });

  describe('without a tree', () => {
    it('batch results equal one-by-one results, seen and unseen; recall@10 ≥ 0.95 with default parameters', async () => {
      expect(await expectBatchEqualsSingle(ds.seen)).toBeGreaterThanOrEqual(RECALL_TARGET);
      expect(await expectBatchEqualsSingle(ds.unseen)).toBeGreaterThanOrEqual(RECALL_TARGET);
    });
    it('exact searches equal brute force', async () => {
      await expectExact(ds.seen);
      await expectExact(ds.unseen);
    });
    it('every segment is unrouted: leaf null, nothing pruned', async () => {
      const plans = await segmentPlans();
      expect(plans.reduce((s, p) => s + p.rows, 0)).toBe(N);
      for (const p of plans) {
        expect(p.branch).not.toBe('pruned');
        expect(p.leaf ?? null).toBeNull();
      }
    });
  });

  describe('POST /partitioning rejects what it cannot build from', () => {
    const bad: [string, unknown][] = [
      ['workload not an array', { workload: 'train' }],
      ['a workload entry without a filter', { workload: [{ weight: 1 }] }],
      ['a filter that is not a filter', { workload: [{ filter: { must: 'category' } }] }],
      ['a weight that is not a number', { workload: [{ filter: { must: [] }, weight: 'heavy' }] }],
      ['a negative min_leaf_points', { min_leaf_points: -5 }],
      ['a fractional max_leaves', { max_leaves: 2.5 }],
      ['min_leaf_points not a number', { min_leaf_points: 'ten' }],
    ];
    it.each(bad)('%s: 400 with a code, nothing built', async (_label, body) => {
      const res = await api(url, 'POST', `${ROUTE}/partitioning?wait=true`, body);
      expect(res.status, res.text).toBe(400);
      expect(res.body.status.code).toMatch(/^STRATA_ERR_/);
      const state = await partitioning();
      expect(state.tree).toBeNull();
      expect(state.state).not.toBe('building');
    });
    it('malformed JSON: 400 STRATA_ERR_BAD_JSON', async () => {
      const res = await api(url, 'POST', `${ROUTE}/partitioning`, '{"workload": [');
      expect(res.status).toBe(400);
      expect(res.body.status.code).toBe('STRATA_ERR_BAD_JSON');
    });
    it('no filtered query to learn from: 400 STRATA_ERR_PARTITIONING_NO_WORKLOAD', async () => {
      // an empty explicit workload, and a fresh collection whose log holds no filtered search
      // (an empty list may as well be refused by the request schema)
      const empty = await api(url, 'POST', `${ROUTE}/partitioning?wait=true`, { workload: [] });
      expect(empty.status, empty.text).toBe(400);
      expect(['STRATA_ERR_PARTITIONING_NO_WORKLOAD', 'STRATA_ERR_VALIDATION']).toContain(empty.body.status.code);
      await api(url, 'PUT', '/collections/no_log', { vectors: { size: ds.dim, distance: 'Cosine' } });
      // a payload index gives the tree a column, so the missing workload is what is reported
      await api(url, 'PUT', '/collections/no_log/index?wait=true', { field_name: 'category', field_schema: 'integer' });
      await api(url, 'PUT', '/collections/no_log/points?wait=true', {
        points: [{ id: 1, vector: ds.base[0], payload: ds.payloads[0] }],
      });
      // an unfiltered search is logged but gives nothing to cut on
      await api(url, 'POST', '/collections/no_log/points/search', { vector: ds.pool[0], limit: 1 });
      for (const body of [undefined, {}]) {
        const res = await api(url, 'POST', '/collections/no_log/partitioning?wait=true', body);
        expect(res.status, res.text).toBe(400);
        expect(res.body.status.code).toBe('STRATA_ERR_PARTITIONING_NO_WORKLOAD');
      }
      const missing = await api(url, 'POST', '/collections/nope/partitioning', {});
      expect(missing.status).toBe(404);
      expect(missing.body.status.code).toBe('STRATA_ERR_COLLECTION_NOT_FOUND');
    });
  });

  describe('with a tree built from the train set', () => {
    it('builds in the background (202 building), refuses a second build meanwhile (409), then is done', async () => {
      const body = {
        workload: ds.train.queries.map((q) => ({ filter: q.filter })),
        min_leaf_points: MIN_LEAF,
        max_leaves: MAX_LEAVES,
      };
      // both requests are in flight together: the first starts the job before answering, so the second finds
      // it building whatever the job's speed
      const [first, second] = await Promise.all([
        api(url, 'POST', `${ROUTE}/partitioning?wait=false`, body),
        new Promise((r) => setTimeout(r, 5)).then(() => api(url, 'POST', `${ROUTE}/partitioning?wait=false`, body)),
      ]);
      expect(first.status, first.text).toBe(202);
      expect(first.body.result.state).toBe('building');
      expect(second.status, second.text).toBe(409);
      expect(second.body.status.code).toBe('STRATA_ERR_PARTITIONING_BUSY');

      const done = await waitPartitioned(url, NAME);
      expect(done.state, done.error ?? '').toBe('done');
      expect(done.error).toBeNull();
      expect(done.progress).toBe(1);
      tree = done.tree!;
      expect(tree).not.toBeNull();
      expect(Number.isInteger(tree.version) && tree.version >= 1).toBe(true);
      expect(Date.parse(tree.built_at)).not.toBeNaN();
      // the columns come from the payload indexes the workload cuts on
      const kinds = Object.fromEntries(tree.columns.map((c) => [c.key, c.kind]));
      for (const key of ['category', 'price', 'ts', 'year']) expect(kinds[key]).toBe('number');
      expect(kinds.tags).toBe('tags');
      expect(tree.leaves.length).toBeGreaterThan(1);
      expect(tree.leaves.length).toBeLessThanOrEqual(MAX_LEAVES);
      expect(new Set(tree.leaves.map((l) => l.leaf)).size).toBe(tree.leaves.length);
      for (const leaf of tree.leaves) {
        expect(leaf.points).toBeGreaterThanOrEqual(MIN_LEAF);
        expect(leaf.segments).toBeGreaterThanOrEqual(1);
        expect(typeof leaf.description).toBe('string');
        expect(leaf.description.length).toBeGreaterThan(0);
      }
      expect(tree.leaves.reduce((s, l) => s + l.points, 0) + tree.overflow_points).toBe(N);
      const info = await api(url, 'GET', ROUTE);
      expect(info.body.result.points_count).toBe(N);
    });

    it('the sealed segments are the leaves: per leaf, the segment count and rows the tree reports', async () => {
      await expectSegmentsMatchTree(tree);
    });

    it('batch results equal one-by-one results, seen and unseen, default and exact; recall@10 ≥ 0.95', async () => {
      // default parameters: leaves may be indexed (approximate), so the bar is recall, and batch = one-by-one
      expect(await expectBatchEqualsSingle(ds.seen)).toBeGreaterThanOrEqual(RECALL_TARGET);
      expect(await expectBatchEqualsSingle(ds.unseen)).toBeGreaterThanOrEqual(RECALL_TARGET);
      await expectBatchEqualsSingle({ queries: ds.seen.queries.slice(0, 100), gt: null }, { exact: true });
    });

    it('exact searches equal brute force', async () => {
      await expectExact(ds.seen);
      await expectExact(ds.unseen);
    });

    it('routing: a pruned leaf holds no match and a complete leaf nothing but matches; seen templates prune', async () => {
      const all = new Set((await segmentPlans()).map((p) => String(p.segment)));
      let pruning = 0;
      let complete = 0;
      const problems: string[] = [];
      for (const [setName, set] of [
        ['seen', ds.seen],
        ['unseen', ds.unseen],
      ] as const) {
        // asking for every match (limit ≥ count) with exact scoring: a match in a wrongly pruned leaf would be
        // missing from the answer, a non-match in a wrongly complete (unfiltered) leaf would appear in it
        const bodies = set.queries.map((q) =>
          bodyOf(q, { exact: true, explain: true }, Math.min(10_000, q.count + 10)),
        );
        const { hits, explain } = await batch(bodies);
        expect(explain).toBeDefined();
        set.queries.forEach((q, i) => {
          const want = [...points.keys()].filter((id) => filterHolds(q.filter, ds.payloads[id]!)).sort((a, b) => a - b);
          const got = hits[i]!.map((h) => h.id).sort((a, b) => a - b);
          if (JSON.stringify(got) !== JSON.stringify(want))
            problems.push(`${setName} ${i} (template ${q.template}): ${got.length} ids, ${want.length} matches`);
          const plans = explain![i]!;
          // pruned segments are listed too, so every segment appears once
          const listed = plans.map((p) => String(p.segment));
          if (new Set(listed).size !== listed.length || listed.length !== all.size || !listed.every((s) => all.has(s)))
            problems.push(`${setName} ${i}: explain lists segments ${listed}, not each of ${[...all]} once`);
          const pruned = plans.filter((p) => p.branch === 'pruned');
          for (const p of pruned) {
            if (p.distance_evaluations !== 0) problems.push(`${setName} ${i}: pruned ${p.segment} computed distances`);
            if (p.leaf === null || p.leaf === undefined) problems.push(`${setName} ${i}: pruned a segment of no leaf`);
          }
          // every row of a complete leaf matches (no deleted rows here), so they cannot outnumber the matches
          const completeRows = plans
            .filter((p) => p.branch !== 'pruned' && p.filtered === false)
            .reduce((s, p) => s + p.rows, 0);
          if (completeRows > q.count)
            problems.push(`${setName} ${i}: complete leaves hold ${completeRows} > ${q.count}`);
          if (setName === 'seen') {
            if (pruned.length > 0) pruning++;
            if (plans.some((p) => p.branch !== 'pruned' && p.filtered === false)) complete++;
          }
        });
      }
      expect(problems.slice(0, 5)).toEqual([]);
      // the tree was cut on these templates' atoms: most seen queries skip some leaf, some need no row filter
      expect(pruning).toBeGreaterThanOrEqual(ds.seen.queries.length / 2);
      expect(complete).toBeGreaterThan(0);
    });

    it('the tree survives a restart: same version and leaves, same segments, same answers', async () => {
      const before = await partitioning();
      const probe = ds.seen.queries.slice(0, 50).map((q) => bodyOf(q));
      const answersBefore = (await batch(probe)).hits;
      await server.stop();
      server = await startServer({ dataDir });
      url = server.url;
      const after = await partitioning();
      // the state is the job's since this server started (idle: none); the tree is what must survive
      expect(['idle', 'done']).toContain(after.state);
      expect(after.tree).toEqual(before.tree);
      await expectSegmentsMatchTree(after.tree!);
      const answersAfter = (await batch(probe)).hits;
      for (const [i, hits] of answersAfter.entries())
        expect(differsFromExact(hits, answersBefore[i]!, SAME_TOLERANCE)).toBeNull();
      await expectExact({ queries: ds.unseen.queries, gt: null });
    });

    it('re-partitions from the query log (no body), with wait=true: 200 done, the next version', async () => {
      // the searches above were logged, so the log holds the seen and unseen filters
      const res = await api(url, 'POST', `${ROUTE}/partitioning?wait=true`, {
        min_leaf_points: MIN_LEAF,
        max_leaves: MAX_LEAVES,
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body.result.state).toBe('done');
      const next = res.body.result.tree as typeof tree;
      expect(next.version).toBeGreaterThan(tree.version);
      expect(next.leaves.reduce((s, l) => s + l.points, 0) + next.overflow_points).toBe(N);
      await expectSegmentsMatchTree(next);
      await expectExact({ queries: ds.seen.queries.slice(0, 200), gt: null });
    });
  });

  /**
   * The layout the search path sees equals the tree GET reports: per leaf, as many sealed segments as `segments`
   * and their rows summing to `points` (no row is deleted in this file, so rows are live points); sealed segments
   * of no leaf hold the overflow. Growing segments (leaf null) are outside the tree: a build freezes the growing
   * segment first and nothing is written after, so they are empty here.
   */
  async function expectSegmentsMatchTree(t: NonNullable<PartitioningState['tree']>): Promise<void> {
    const { byLeaf, overflow, growing } = layoutOfPlans(await segmentPlans());
    const reported = new Map(
      t.leaves.filter((l) => l.segments > 0).map((l) => [l.leaf, { segments: l.segments, rows: l.points }]),
    );
    expect(Object.fromEntries(byLeaf)).toEqual(Object.fromEntries(reported));
    expect(overflow).toBe(t.overflow_points);
    expect(growing).toBe(0);
  }
});
