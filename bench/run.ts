/**
 * `npm run bench`: upsert throughput and exact-search QPS, in-process and over HTTP, next to a naive brute-force
 * reference, on clustered-128 from ../shared/datasets. Prints a Markdown table with the environment and writes
 * bench/results/latest.json. Flags: --small, --queries N, --reps N, --concurrency N, --no-http.
 * `npm run bench` runs this file, then hnsw.ts (`npm run bench:hnsw`) through all.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDataset, loadDataset, recallAt } from './dataset.js';
import { benchHttp } from './http.js';
import { benchInProcess } from './in-process.js';
import { loadAverage, mean, measure, positiveInt } from './measure.js';
import { naiveTopK } from './reference.js';
import { environment, formatEnvironment, formatTable } from './report.js';
import { type BenchConfig, makeRow, type Row } from './rows.js';

/** The repository root (this file runs as dist/bench/run.js). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEFAULT_QUERIES = 200;

interface Args {
  readonly small: boolean;
  readonly queries: number | null;
  readonly reps: number;
  readonly concurrency: number | null;
  readonly http: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const out = { small: false, queries: null as number | null, reps: 3, concurrency: null as number | null, http: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--small') out.small = true;
    else if (arg === '--no-http') out.http = false;
    else if (arg === '--queries') out.queries = positiveInt(arg, argv[++i]);
    else if (arg === '--reps') out.reps = positiveInt(arg, argv[++i]);
    else if (arg === '--concurrency') out.concurrency = positiveInt(arg, argv[++i]);
    else throw new Error(`unknown argument ${arg}; known: --small, --queries N, --reps N, --concurrency N, --no-http`);
  }
  return out;
}

/** The naive single-threaded brute force on the same queries (see reference.ts). */
async function benchReference(cfg: BenchConfig): Promise<Row> {
  const ds = cfg.dataset;
  const vectors = Array.from({ length: cfg.queries }, (_, i) => ds.queries.subarray(i * ds.dim, (i + 1) * ds.dim));
  const results: number[][] = [];
  const pass = () => {
    results.length = 0;
    for (const q of vectors) results.push(naiveTopK(ds.base, ds.dim, q, cfg.k));
  };
  for (const q of vectors.slice(0, cfg.warmup)) naiveTopK(ds.base, ds.dim, q, cfg.k);
  const reps = await measure(cfg.reps, vectors.length, pass);
  const recall = mean(results.map((ids, i) => recallAt(cfg.k, ids, ds.gt, ds.gtK, i)));
  return makeRow('reference.naive', 'reference', 'naive JS brute force, 1 thread', 'queries/s', { reps, recall }, true);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dataset = loadDataset(ensureDataset(ROOT, args.small));
  const threads = os.availableParallelism();
  const cfg: BenchConfig = {
    dataset,
    queries: Math.min(args.queries ?? DEFAULT_QUERIES, dataset.nq),
    reps: args.reps,
    threads,
    concurrency: args.concurrency ?? 2 * threads,
    upsertBatch: 1000,
    searchBatch: 100,
    k: 10,
    warmup: 20,
  };
  const env = environment(cfg, ROOT);
  process.stderr.write(`${formatEnvironment(env, cfg)}\n\nreference: naive brute force\n`);
  const rows: Row[] = [await benchReference(cfg)];
  process.stderr.write('in-process:\n');
  rows.push(...(await benchInProcess(cfg)));
  const problems: string[] = [];
  if (args.http) {
    process.stderr.write('HTTP:\n');
    const http = await benchHttp(cfg, ROOT);
    rows.push(...http.rows);
    if (http.exitCode !== 0) problems.push(`the server exited with code ${http.exitCode} after SIGTERM (expected 0)`);
  }
  for (const r of rows) {
    if (r.recall !== null && r.recall < 0.99) problems.push(`${r.id}: recall@10 ${r.recall.toFixed(4)} < 0.99`);
  }
  env.loadAverage.end = loadAverage();
  const table = formatTable(rows, cfg);
  process.stdout.write(`\n${formatEnvironment(env, cfg)}\n\n${table}\n`);
  for (const p of problems) process.stdout.write(`\nPROBLEM: ${p}\n`);
  const outDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const round = (x: number) => Math.round(x * 100) / 100;
  const json = {
    environment: env,
    config: { k: cfg.k, upsertBatch: cfg.upsertBatch, searchBatch: cfg.searchBatch, warmup: cfg.warmup },
    rows: rows.map((r) => ({ ...r, reps: r.reps.map(round), median: round(r.median) })),
    problems,
  };
  fs.writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
  process.stdout.write(`\nwrote ${path.relative(ROOT, path.join(outDir, 'latest.json'))}\n`);
  if (problems.length > 0) process.exitCode = 1;
}

await main();
