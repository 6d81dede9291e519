/**
 * The HTTP part of `npm run bench:hnsw`: the real server process, clustered-128 loaded over REST, then one
 * connection sending one search at a time at a given hnsw_ef, with each client of http-clients.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Dataset } from './dataset.js';
import { collectionInput, pointBatches, SENTINEL_ID, waitIndexed } from './hnsw-strata.js';
import { freePort, ServerProcess } from './http.js';
import { fetchClient, type HttpClient, nodeHttpClient } from './http-clients.js';
import { loadAverage } from './measure.js';

const NAME = 'bench_hnsw';

export interface HttpResult {
  readonly dataset: string;
  readonly ef: number;
  /** Upsert of every point (1,000 per request, ?wait=true, one request at a time). */
  readonly upsertSeconds: number;
  /** First upsert until GET /collections/{name} says green with every point indexed. */
  readonly buildSeconds: number;
  readonly incomplete: string | null;
  /** One entry per client, in the order they ran in each round. */
  readonly clients: HttpClientResult[];
  readonly exitCode: number | null;
}

export interface HttpClientResult {
  readonly client: string;
  readonly label: string;
  /** Search QPS of each repetition (one connection, one search at a time), and recall@10 of the last. */
  readonly reps: number[];
  readonly recall: number;
  /** `GET /readyz` round trips per second in each repetition: the client's and the server's floor. */
  readonly emptyRoundTrips: number[];
  /** The server process's CPU time per search in each repetition (all threads), µs; null off Linux. */
  readonly serverCpuMicrosPerSearch: number[] | null;
  /** 1-minute load average after the last round. */
  readonly load: number;
}

/** Empty round trips timed per client and repetition. */
const EMPTY_ROUND_TRIPS = 1000;

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
    const clients = [fetchClient(server.base), nodeHttpClient(server.base)];
    opts.progress(`http: search, one connection, hnsw_ef ${opts.ef}: ${clients.map((c) => c.name).join(' and ')}`);
    try {
      const figures = await measureClients(server, clients, route, bodiesQ, opts);
      const exitCode = await server.stop();
      return { dataset: ds.name, ef: opts.ef, upsertSeconds, buildSeconds, incomplete, clients: figures, exitCode };
    } finally {
      for (const c of clients) c.close();
    }
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Every client runs its warm-up, then `reps` rounds in which each client in turn times EMPTY_ROUND_TRIPS
 * `GET /readyz` and then all the searches (so the clients share the machine's noise). The server's CPU time
 * over each client's searches gives its cost per search whatever the load from other processes.
 */
async function measureClients(
  server: ServerProcess,
  clients: readonly HttpClient[],
  route: string,
  bodies: readonly string[],
  opts: { reps: number; warmup: number; recall: (i: number, ids: readonly number[]) => number },
): Promise<HttpClientResult[]> {
  const results = clients.map(() => new Array<number[]>(bodies.length));
  const search = async (client: HttpClient, i: number, out: number[][]): Promise<void> => {
    const res = await client.call('POST', `${route}/points/search`, bodies[i]);
    if (res.status !== 200)
      throw new Error(`${client.name}: search answered HTTP ${res.status}: ${res.text.slice(0, 300)}`);
    out[i] = (JSON.parse(res.text) as SearchResponse).result.map((h) => Number(h.id));
  };
  for (const [j, client] of clients.entries()) {
    for (let i = 0; i < opts.warmup; i++) await client.call('GET', '/readyz');
    for (let i = 0; i < Math.min(opts.warmup, bodies.length); i++) await search(client, i, results[j]!);
  }
  const figures = clients.map(() => ({ empty: [] as number[], reps: [] as number[], cpu: [] as number[] }));
  for (let r = 0; r < opts.reps; r++) {
    for (const [j, client] of clients.entries()) {
      let started = performance.now();
      for (let i = 0; i < EMPTY_ROUND_TRIPS; i++) await client.call('GET', '/readyz');
      figures[j]!.empty.push((EMPTY_ROUND_TRIPS * 1000) / (performance.now() - started));
      const cpuBefore = server.cpuSeconds();
      started = performance.now();
      for (let i = 0; i < bodies.length; i++) await search(client, i, results[j]!);
      figures[j]!.reps.push((bodies.length * 1000) / (performance.now() - started));
      const cpuAfter = server.cpuSeconds();
      if (cpuBefore !== null && cpuAfter !== null) figures[j]!.cpu.push(((cpuAfter - cpuBefore) * 1e6) / bodies.length);
    }
  }
  const load = loadAverage();
  return clients.map((client, j) => {
    const ids = results[j]!;
    const recall = ids.reduce((s, hit, i) => s + opts.recall(i, hit), 0) / ids.length;
    const f = figures[j]!;
    return {
      client: client.name,
      label: client.label,
      reps: f.reps,
      recall,
      emptyRoundTrips: f.empty,
      serverCpuMicrosPerSearch: f.cpu.length === f.reps.length ? f.cpu : null,
      load,
    };
  });
}
