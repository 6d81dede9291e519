/**
 * The HTTP part of `npm run bench:hnsw`: the real server process, clustered-128 loaded over REST, then one
 * connection sending one search at a time at a given hnsw_ef.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Dataset } from './dataset.js';
import { collectionInput, pointBatches, SENTINEL_ID, waitIndexed } from './hnsw-strata.js';
import { freePort, ServerProcess } from './http.js';

const NAME = 'bench_hnsw';

export interface HttpResult {
  readonly dataset: string;
  readonly ef: number;
  /** Upsert of every point (1,000 per request, ?wait=true, one request at a time). */
  readonly upsertSeconds: number;
  /** First upsert until GET /collections/{name} says green with every point indexed. */
  readonly buildSeconds: number;
  readonly incomplete: string | null;
  /** Search QPS of each repetition, and recall@10 of the last. */
  readonly reps: number[];
  readonly recall: number;
  readonly exitCode: number | null;
}

type Info = { result: { status: 'green' | 'yellow'; indexed_vectors_count: number } };
type SearchResponse = { result: { id: unknown }[] };

export async function benchHttpHnsw(
  root: string,
  ds: Dataset,
  rows: readonly number[][],
  threads: number,
  opts: {
    ef: number;
    reps: number;
    queries: readonly number[][];
    warmup: number;
    recall: (i: number, ids: readonly number[]) => number;
    progress: (line: string) => void;
  },
): Promise<HttpResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-hnsw-http-'));
  const server = new ServerProcess(root, await freePort(), dataDir, threads);
  try {
    await server.waitReady();
    const route = `/collections/${NAME}`;
    await server.call('PUT', route, JSON.stringify(collectionInput(ds)));
    if (ds.payloads.length > 0) {
      for (const [field_name, field_schema] of [
        ['category', 'integer'],
        ['price', 'float'],
      ])
        await server.call('PUT', `${route}/index?wait=true`, JSON.stringify({ field_name, field_schema }));
    }
    // Bodies are serialized before the clock starts.
    const bodies = pointBatches(ds, rows, 1000).map((points) => JSON.stringify({ points }));
    opts.progress(`http: upsert ${ds.n} points over REST`);
    const started = performance.now();
    for (const body of bodies) await server.call('PUT', `${route}/points?wait=true`, body);
    // Same workaround as in process: freeze a growing segment left full at exactly indexing_threshold rows.
    const sentinel = { id: SENTINEL_ID, vector: rows[0]! };
    await server.call('PUT', `${route}/points?wait=true`, JSON.stringify({ points: [sentinel] }));
    await server.call('POST', `${route}/points/delete?wait=true`, JSON.stringify({ points: [SENTINEL_ID] }));
    const upsertSeconds = (performance.now() - started) / 1000;
    opts.progress(`http: upserted in ${upsertSeconds.toFixed(1)} s; waiting for green`);
    let info: Info | null = null;
    const refresh = async (): Promise<Info> => {
      info = (await server.call('GET', route)) as Info;
      return info;
    };
    const incomplete = await waitIndexed(
      async () => (await refresh()).result.status,
      () => info?.result.indexed_vectors_count ?? 0,
      ds.n,
    );
    const buildSeconds = (performance.now() - started) / 1000;

    const bodiesQ = opts.queries.map((vector) => JSON.stringify({ vector, limit: 10, params: { hnsw_ef: opts.ef } }));
    const results: number[][] = new Array(bodiesQ.length);
    const one = async (i: number): Promise<void> => {
      const res = (await server.call('POST', `${route}/points/search`, bodiesQ[i])) as SearchResponse;
      results[i] = res.result.map((h) => Number(h.id));
    };
    for (let i = 0; i < Math.min(opts.warmup, bodiesQ.length); i++) await one(i);
    opts.progress(`http: search, one connection, hnsw_ef ${opts.ef}`);
    const reps: number[] = [];
    for (let r = 0; r < opts.reps; r++) {
      const t = performance.now();
      for (let i = 0; i < bodiesQ.length; i++) await one(i);
      reps.push((bodiesQ.length * 1000) / (performance.now() - t));
    }
    const recall = results.reduce((s, ids, i) => s + opts.recall(i, ids), 0) / results.length;
    const exitCode = await server.stop();
    return { dataset: ds.name, ef: opts.ef, upsertSeconds, buildSeconds, incomplete, reps, recall, exitCode };
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
