/**
 * `npm run bench:hnsw`: Strata's HNSW against hnswlib-node in the same run, same m / ef_construct, on
 * clustered-128 (100k, Euclid, filtered sets) and hubs-ood (50k, cosine) from ../shared/datasets: build time and
 * memory, recall@10 and single-query QPS per hnsw_ef, filtered recall and QPS per selectivity, flat-scan GB/s,
 * restart time, and search over HTTP. Prints Markdown tables with the environment and writes
 * bench/results/hnsw.json. Flags: --small, --reps N, --queries N, --filtered-queries N, --dataset NAME, --no-http,
 * --only filtered (the filtered part alone, into bench/results/hnsw-filtered.json), --only http (the HTTP part alone,
 * into bench/results/hnsw-http.json), --http-ef N.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { type Collection, Database } from '../storage/index.js';
import {
  ALL_FILTER_SELECTIVITIES,
  type Dataset,
  type DatasetName,
  ensureDataset,
  loadDataset,
  recallAt,
  row,
} from './dataset.js';
import { benchHttpHnsw, type HttpResult } from './hnsw-http.js';
import { attributesOf, buildHnswlib, checkFilterFunction, filterFunction, searchHnswlib } from './hnsw-lib.js';
import {
  bestOf,
  bestTable,
  buildTable,
  type DatasetResult,
  type Figure,
  type FilteredRow,
  filteredTable,
  formatEnvironment,
  type HnswEnvironment,
  kernelReference,
  medianOf,
  otherTable,
  type SweepRow,
  sweepTable,
} from './hnsw-report.js';
import {
  buildStrata,
  collectionInput,
  directoryBytes,
  HNSW_EF_CONSTRUCT,
  HNSW_M,
  pointBatches,
  type Restart,
  reopen,
  searchStrata,
} from './hnsw-strata.js';
import { loadAverage, positiveInt } from './measure.js';
import { machine } from './report.js';

/** The repository root (this file runs as dist/bench/hnsw.js). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * hnsw_ef values of the unfiltered sweep. hubs-ood's queries come from another distribution than its gallery
 * (the DBNorm dataset's modality gap): both engines need ef ≈ 2,048 for recall@10 ≥ 0.95 there.
 */
const EFS: Record<DatasetName, readonly number[]> = {
  'clustered-128': [16, 32, 64, 128, 256],
  'hubs-ood': [16, 32, 64, 128, 256, 512, 1024, 2048],
};
const FILTERED_EFS = [64, 128] as const;
const K = 10;
const WARMUP = 20;
const EXACT_QUERIES = 200;
const RESTARTS = 3;
const RECALL_TARGET = 0.95;
const DATASETS: readonly DatasetName[] = ['clustered-128', 'hubs-ood'];
/** The dataset the HTTP part runs on (issue 3's comparison with pgvector). */
const HTTP_DATASET: DatasetName = 'clustered-128';
/**
 * hnsw_ef of the HTTP part with --only http (no in-process sweep to pick it from): the ef at which Strata first
 * reached recall@10 ≥ 0.95 on clustered-128 since the graph build selects neighbours as hnswlib does (ef 16 gives
 * 0.933-0.943 now, as hnswlib's own 0.935-0.940).
 */
const HTTP_EF = 32;

interface Args {
  readonly small: boolean;
  readonly reps: number;
  readonly queries: number;
  readonly filteredQueries: number;
  readonly datasets: readonly DatasetName[];
  readonly http: boolean;
  /** `--only filtered`: skip the unfiltered sweeps (two- and one-thread pools) and the HTTP part. */
  readonly filteredOnly: boolean;
  /** --only http: skip hnswlib and the in-process figures, run the HTTP part alone. */
  readonly onlyHttp: boolean;
  /** --http-ef N: the HTTP part's hnsw_ef (default: the first swept ef reaching recall 0.95; HTTP_EF with --only http). */
  readonly httpEf: number | null;
  /** Internal: run the one --dataset in this process and write its results to this file (see main). */
  readonly child: string | null;
}

function parseArgs(argv: readonly string[]): Args {
  let small = false;
  let reps = 3;
  let queries = 1000;
  let filteredQueries = 100;
  let http = true;
  let onlyHttp = false;
  let httpEf: number | null = null;
  let child: string | null = null;
  let filteredOnly = false;
  const datasets: DatasetName[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--small') small = true;
    else if (arg === '--no-http') http = false;
    else if (arg === '--only') {
      const part = argv[++i];
      if (part === 'http') onlyHttp = true;
      else if (part === 'filtered') {
        filteredOnly = true;
        http = false;
      } else throw new Error('--only takes one of: http, filtered');
    } else if (arg === '--http-ef') httpEf = positiveInt(arg, argv[++i]);
    else if (arg === '--child') child = argv[++i] ?? null;
    else if (arg === '--reps') reps = positiveInt(arg, argv[++i]);
    else if (arg === '--queries') queries = positiveInt(arg, argv[++i]);
    else if (arg === '--filtered-queries') filteredQueries = positiveInt(arg, argv[++i]);
    else if (arg === '--dataset') {
      const name = argv[++i] as DatasetName;
      if (!DATASETS.includes(name)) throw new Error(`--dataset takes one of ${DATASETS.join(', ')}`);
      datasets.push(name);
    } else
      throw new Error(
        `unknown argument ${arg}; known: --small, --reps N, --queries N, --filtered-queries N, --dataset NAME, --no-http, --only http|filtered, --http-ef N`,
      );
  }
  if (onlyHttp && (!http || datasets.some((d) => d !== HTTP_DATASET)))
    throw new Error(`--only http runs the HTTP part, on ${HTTP_DATASET} only`);
  const chosen = onlyHttp ? [HTTP_DATASET] : datasets.length > 0 ? datasets : DATASETS;
  return { small, reps, queries, filteredQueries, datasets: chosen, http, filteredOnly, onlyHttp, httpEf, child };
}

/** The GC, to take RSS figures without garbage (exposed at run time: the npm script passes no flags). */
function exposeGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  return typeof gc === 'function' ? gc : () => undefined;
}

const progress = (line: string) => process.stderr.write(`  ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A timed pass over every query of a figure; `run` returns the result ids of query i. */
interface Pass {
  readonly count: number;
  /** Untimed, before the warm-up and before every timed pass (hnswlib's setEf). */
  readonly setup?: () => void;
  readonly run: (i: number) => number[] | Promise<number[]>;
  readonly recall: (i: number, ids: readonly number[]) => number;
}

/**
 * Runs the passes' warm-up queries, then `reps` rounds in which every pass runs once, in turn (the engines
 * share the machine's noise). Returns one Figure per pass; recall is over the last round's results.
 */
async function interleaved(reps: number, passes: readonly Pass[]): Promise<Figure[]> {
  const results = passes.map((p) => new Array<number[]>(p.count));
  for (const p of passes) {
    p.setup?.();
    for (let i = 0; i < Math.min(WARMUP, p.count); i++) await p.run(i);
  }
  const rates = passes.map(() => [] as number[]);
  for (let r = 0; r < reps; r++) {
    for (const [j, p] of passes.entries()) {
      const out = results[j]!;
      p.setup?.();
      const started = performance.now();
      for (let i = 0; i < p.count; i++) out[i] = await p.run(i);
      rates[j]!.push((p.count * 1000) / (performance.now() - started));
    }
  }
  const load = loadAverage();
  return passes.map((p, j) => {
    const out = results[j]!;
    let sum = 0;
    for (let i = 0; i < p.count; i++) sum += p.recall(i, out[i] ?? []);
    return { reps: rates[j]!, median: medianOf(rates[j]!), recall: sum / p.count, load };
  });
}

interface Run {
  readonly result: DatasetResult;
  readonly problems: string[];
  /** Kept for the HTTP part. */
  readonly ds: Dataset;
  readonly rows: number[][];
  readonly queries: number[][];
}

/** The dataset with its rows and queries as plain number arrays (what both engines' APIs and JSON take). */
function loadRows(name: DatasetName, args: Args): { ds: Dataset; rows: number[][]; queries: number[][] } {
  process.stderr.write(`\n${name}${args.small ? ' (small)' : ''}:\n`);
  const dir = ensureDataset(ROOT, args.small, name);
  const ds =
    name === 'hubs-ood'
      ? loadDataset(dir, { metric: 'cos', selectivities: [] })
      : loadDataset(dir, { metric: 'l2', selectivities: ALL_FILTER_SELECTIVITIES });
  // converted once before any clock
  const rows = Array.from({ length: ds.n }, (_, i) => row(ds.base, ds.dim, i));
  const nq = Math.min(args.queries, ds.nq);
  const queries = Array.from({ length: nq }, (_, i) => row(ds.queries, ds.dim, i));
  return { ds, rows, queries };
}

async function runDataset(name: DatasetName, args: Args, threads: number, gc: () => void): Promise<Run> {
  const { ds, rows, queries } = loadRows(name, args);
  const problems: string[] = [];
  const nq = queries.length;
  const recallOf = (i: number, ids: readonly number[]) => recallAt(K, ids, ds.gt, ds.gtK, i);

  progress(`hnswlib-node: build (m ${HNSW_M}, ef_construct ${HNSW_EF_CONSTRUCT}, one thread)`);
  const lib = buildHnswlib(ds, rows, HNSW_M, HNSW_EF_CONSTRUCT, gc);
  progress(`hnswlib-node: built in ${lib.seconds.toFixed(1)} s`);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-hnsw-'));
  const collectionName = 'bench_hnsw';
  let db = new Database({ dataDir, pool: { threads } });
  try {
    await db.recover();
    await sleep(300); // let the pool's workers start before the RSS baseline
    progress(`Strata: upsert, then wait for green (${JSON.stringify(collectionInput(ds).optimizers_config)})`);
    const built = await buildStrata(db, collectionName, ds, pointBatches(ds, rows, 1000), gc, progress);
    let collection: Collection = built.collection;
    const build = built.build;
    progress(`Strata: green after ${build.buildSeconds.toFixed(1)} s, layout ${build.segments.join(', ')}`);
    if (build.incomplete !== null) problems.push(`${name}: ${build.incomplete}`);
    const strataDiskBytes = directoryBytes(dataDir);

    const strataPass = (ef: number): Pass => ({
      count: nq,
      run: async (i) => (await searchStrata(db, collection, queries[i]!, K, { ef })).ids,
      recall: recallOf,
    });
    const libPass = (ef: number): Pass => ({
      count: nq,
      setup: () => lib.index.setEf(ef),
      run: (i) => searchHnswlib(lib.index, queries[i]!, K),
      recall: recallOf,
    });

    const sweep: { ef: number; strata: Figure; hnswlib: Figure }[] = [];
    for (const ef of args.filteredOnly ? [] : EFS[name]) {
      progress(`unfiltered, hnsw_ef ${ef}: Strata and hnswlib, ${nq} queries × ${args.reps}`);
      const [strata, hnswlib] = await interleaved(args.reps, [strataPass(ef), libPass(ef)]);
      sweep.push({ ef, strata: strata!, hnswlib: hnswlib! });
    }

    const filtered: FilteredRow[] = [];
    if (ds.filtered.length > 0) {
      const attrs = attributesOf(ds);
      for (const set of ds.filtered) {
        const list = set.queries.slice(0, args.filteredQueries);
        for (const q of list) checkFilterFunction(q, attrs);
        const predicates = list.map((q) => filterFunction(q, attrs));
        const vectors = list.map((q) => row(ds.queries, ds.dim, q.qi));
        const setRecall = (j: number, ids: readonly number[]) => recallAt(K, ids, set.gt, ds.gtK, j);
        for (const ef of FILTERED_EFS) {
          progress(`filtered, selectivity ${set.selectivity}, hnsw_ef ${ef}: ${list.length} queries × ${args.reps}`);
          const branches: Record<string, number> = {};
          let evaluations = 0;
          let round = 0;
          const strataFiltered: Pass = {
            count: list.length,
            run: async (j) => {
              if (j === 0) {
                round++;
                for (const b of Object.keys(branches)) delete branches[b];
                evaluations = 0;
              }
              const hit = await searchStrata(db, collection, vectors[j]!, K, { ef, filter: list[j]!.filter });
              for (const p of hit.plans) {
                branches[p.branch] = (branches[p.branch] ?? 0) + 1;
                evaluations += p.distance_evaluations;
              }
              return hit.ids;
            },
            recall: setRecall,
          };
          const libFiltered: Pass = {
            count: list.length,
            setup: () => lib.index.setEf(ef),
            run: (j) => searchHnswlib(lib.index, vectors[j]!, K, predicates[j]),
            recall: setRecall,
          };
          const [strata, hnswlib] = await interleaved(args.reps, [strataFiltered, libFiltered]);
          if (round === 0) throw new Error('no Strata filtered search ran');
          filtered.push({
            selectivity: set.selectivity,
            ef,
            queries: list.length,
            strata: { ...strata!, branches: { ...branches }, evaluations: evaluations / list.length },
            hnswlib: hnswlib!,
          });
        }
      }
    }

    const exactCount = Math.min(EXACT_QUERIES, nq);
    progress(`flat scan: exact search, ${exactCount} queries × ${args.reps}`);
    const [exactFig] = await interleaved(args.reps, [
      {
        count: exactCount,
        run: async (i) => (await searchStrata(db, collection, queries[i]!, K, { exact: true })).ids,
        recall: recallOf,
      },
    ]);
    const exact = { ...exactFig!, queries: exactCount, gbPerSecond: (exactFig!.median * ds.n * ds.dim * 4) / 1e9 };
    if (exact.recall < 0.9999) problems.push(`${name}: exact search recall@10 ${exact.recall.toFixed(4)} < 1`);

    progress(`restart: close, then new Database + recover() × ${RESTARTS}`);
    await db.close();
    const restarts: Restart[] = [];
    for (let r = 0; r < RESTARTS; r++) {
      gc();
      const opened = await reopen(dataDir, collectionName, threads, queries[0]!);
      restarts.push(opened.restart);
      await opened.db.close();
    }
    const restartSeconds = medianOf(restarts.map((r) => r.seconds));

    progress(`unfiltered with a one-thread pool: ${sweep.length} hnsw_ef values`);
    const single = await reopen(dataDir, collectionName, 1, queries[0]!);
    db = single.db;
    collection = single.collection;
    const rowsOut: SweepRow[] = [];
    for (const s of args.filteredOnly ? [] : sweep) {
      const [strata1] = await interleaved(args.reps, [strataPass(s.ef)]);
      rowsOut.push({ ...s, strata1: strata1! });
    }
    const best = {
      strata: bestOf(
        sweep.map((s) => ({ ef: s.ef, fig: s.strata })),
        RECALL_TARGET,
      ),
      strata1: bestOf(
        rowsOut.map((s) => ({ ef: s.ef, fig: s.strata1 })),
        RECALL_TARGET,
      ),
      hnswlib: bestOf(
        sweep.map((s) => ({ ef: s.ef, fig: s.hnswlib })),
        RECALL_TARGET,
      ),
    };
    const result: DatasetResult = {
      name: ds.name,
      n: ds.n,
      dim: ds.dim,
      distance: ds.distance,
      queries: nq,
      collection: collectionInput(ds),
      build: {
        strata: build,
        hnswlib: { seconds: lib.seconds, rssDeltaBytes: lib.rssDeltaBytes, indexBytes: lib.indexBytes },
        strataDiskBytes,
      },
      sweep: rowsOut,
      best,
      filtered,
      exact,
      restart: { reps: restarts, medianSeconds: restartSeconds, shareOfBuild: restartSeconds / build.buildSeconds },
    };
    return { result, problems, ds, rows, queries };
  } finally {
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function environment(reps: number, threads: number): HnswEnvironment {
  let hnswlib = 'unknown';
  try {
    const pkg = createRequire(import.meta.url)('hnswlib-node/package.json') as { version: string };
    hnswlib = pkg.version;
  } catch {
    // reported when the build fails
  }
  return { ...machine(ROOT), hnswlib, threads, reps, loadAverage: { start: loadAverage(), end: null } };
}

/** What one dataset's process hands back to the parent. */
interface ChildOutput {
  /** null with --only http. */
  readonly result: DatasetResult | null;
  readonly problems: string[];
  readonly http: (HttpResult & { dataset: string }) | null;
}

/** The child: one dataset in process (and the HTTP part for clustered-128), results written to `file`. */
async function runChild(args: Args, file: string): Promise<void> {
  const name = args.datasets[0]!;
  const threads = os.availableParallelism();
  const run = args.onlyHttp
    ? { ...loadRows(name, args), result: null, problems: [] }
    : await runDataset(name, args, threads, exposeGc());
  const problems = [...run.problems];
  let http: ChildOutput['http'] = null;
  if (name === HTTP_DATASET && args.http) {
    process.stderr.write(`\nHTTP (${run.ds.name}):\n`);
    // The in-process ef that first reaches recall 0.95 (the comparison point with pgvector).
    const ef =
      args.httpEf ??
      (run.result === null
        ? HTTP_EF
        : (run.result.sweep.find((s) => s.strata.recall >= RECALL_TARGET)?.ef ?? EFS[name].at(-1)!));
    http = await benchHttpHnsw(ROOT, run.ds, run.rows, threads, {
      ef,
      reps: args.reps,
      queries: run.queries,
      warmup: WARMUP,
      recall: (i, ids) => recallAt(K, ids, run.ds.gt, run.ds.gtK, i),
      progress,
    });
    if (http.exitCode !== 0) problems.push(`the server exited with code ${http.exitCode} after SIGTERM`);
    if (http.incomplete !== null) problems.push(`HTTP: ${http.incomplete}`);
  }
  const out: ChildOutput = { result: run.result, problems, http };
  fs.writeFileSync(file, JSON.stringify(out));
}

/**
 * Each dataset runs in its own process (this file with --child): memory figures start from a fresh heap, and
 * the first dataset's hnswlib index and worker caches are gone before the second one starts.
 */
function spawnChild(name: DatasetName, argv: readonly string[]): ChildOutput {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-hnsw-child-'));
  const file = path.join(dir, 'out.json');
  try {
    const self = fileURLToPath(import.meta.url);
    const forwarded = argv.filter((a, i) => a !== '--dataset' && argv[i - 1] !== '--dataset');
    execFileSync(process.execPath, [self, ...forwarded, '--dataset', name, '--child', file], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ChildOutput;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  if (args.child !== null) return runChild(args, args.child);
  const threads = os.availableParallelism();
  const env = environment(args.reps, threads);
  const started = performance.now();
  process.stderr.write(`bench:hnsw, ${threads} cores, load average ${env.loadAverage.start}\n`);
  const results: DatasetResult[] = [];
  const problems: string[] = [];
  let http: ChildOutput['http'] = null;
  for (const name of args.datasets) {
    let out: ChildOutput;
    try {
      out = spawnChild(name, argv);
    } catch (e) {
      problems.push(`${name}: the run failed (${(e as Error).message.split('\n')[0]}); see the output above`);
      continue;
    }
    if (out.result !== null) results.push(out.result);
    problems.push(...out.problems);
    http ??= out.http;
  }
  env.loadAverage.end = loadAverage();
  const kernels = kernelReference(ROOT);
  const clustered = results.find((r) => r.filtered.length > 0);
  const sections = args.onlyHttp
    ? [formatEnvironment(env, results), `### HTTP\n\n${otherTable(results, http, kernels)}`]
    : [
        formatEnvironment(env, results),
        `### Build and memory\n\n${buildTable(results)}`,
        `### Unfiltered: recall@10 and QPS, one query at a time\n\n${sweepTable(results, threads)}`,
        `### Best QPS at recall@10 ≥ ${RECALL_TARGET}\n\n${bestTable(results, threads)}`,
        ...(clustered ? [`### Filtered (${clustered.name}), one query at a time\n\n${filteredTable(clustered)}`] : []),
        `### Flat scan, restart, HTTP\n\n${otherTable(results, http, kernels)}`,
      ];
  const minutes = (performance.now() - started) / 60_000;
  process.stdout.write(`\n${sections.join('\n\n')}\n\ntotal time: ${minutes.toFixed(1)} min\n`);
  for (const p of problems) process.stdout.write(`\nPROBLEM: ${p}\n`);
  const outDir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const part = args.onlyHttp ? '-http' : args.filteredOnly ? '-filtered' : '';
  const file = path.join(outDir, `hnsw${part}${args.small ? '-small' : ''}.json`);
  const round = (_key: string, value: unknown) =>
    typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 10_000) / 10_000 : value;
  const json = {
    command: `npm run bench:hnsw${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    environment: env,
    config: { m: HNSW_M, ef_construct: HNSW_EF_CONSTRUCT, k: K, warmup: WARMUP, efs: EFS, filteredEfs: FILTERED_EFS },
    datasets: results,
    http,
    problems,
    minutes,
  };
  fs.writeFileSync(file, `${JSON.stringify(json, round, 2)}\n`);
  process.stdout.write(`\nwrote ${path.relative(ROOT, file)}\n`);
  if (problems.length > 0) process.exitCode = 1;
}

await main();
