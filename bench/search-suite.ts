import type { FilterJson } from '../storage/index.js';
import { recallAt, row } from './dataset.js';
import { type Measurement, mean, measure, runConcurrent } from './measure.js';
import { type BenchConfig, makeRow, type Row } from './rows.js';

/** How a suite reaches Strata: one search per call, or a batch of searches per call. Both return point ids. */
export interface SearchTarget {
  one(vector: readonly number[], filter: FilterJson | null, k: number): Promise<number[]>;
  batch(vectors: readonly (readonly number[])[], k: number): Promise<number[][]>;
}

export interface SuiteOptions {
  readonly section: Row['section'];
  /** Prefix of row ids and labels ("inproc", "http"). */
  readonly prefix: string;
  readonly concurrencyLabel: string;
  readonly batchLabel: string;
  readonly filtered: boolean;
}

interface Job {
  readonly vector: readonly number[];
  readonly filter: FilterJson | null;
  readonly gt: Int32Array;
  readonly gtRow: number;
}

/** Times `jobs` run one at a time or with `concurrency` in flight, `reps` times, plus recall of the last pass. */
async function timeSearches(
  cfg: BenchConfig,
  target: SearchTarget,
  jobs: readonly Job[],
  concurrency: number,
): Promise<Measurement> {
  const results: number[][] = new Array(jobs.length);
  const runOne = async (i: number): Promise<void> => {
    const job = jobs[i]!;
    results[i] = await target.one(job.vector, job.filter, cfg.k);
  };
  await runConcurrent(Math.min(cfg.warmup, jobs.length), concurrency, runOne);
  const reps = await measure(cfg.reps, jobs.length, () => runConcurrent(jobs.length, concurrency, runOne));
  return { reps, recall: recallOf(cfg, jobs, results) };
}

function recallOf(cfg: BenchConfig, jobs: readonly Job[], results: readonly number[][]): number {
  const gtK = cfg.dataset.gtK;
  return mean(jobs.map((job, i) => recallAt(cfg.k, results[i] ?? [], job.gt, gtK, job.gtRow)));
}

/** Unfiltered jobs: the first `cfg.queries` query rows. */
export function unfilteredJobs(cfg: BenchConfig): Job[] {
  const ds = cfg.dataset;
  return Array.from({ length: cfg.queries }, (_, i) => ({
    vector: row(ds.queries, ds.dim, i),
    filter: null,
    gt: ds.gt,
    gtRow: i,
  }));
}

/** The search figures of one target: sequential, concurrent, batched, and (optionally) filtered sequential. */
export async function searchSuite(cfg: BenchConfig, target: SearchTarget, opts: SuiteOptions): Promise<Row[]> {
  const ds = cfg.dataset;
  const { section, prefix } = opts;
  const jobs = unfilteredJobs(cfg);
  const rows: Row[] = [];
  const progress = (label: string) => process.stderr.write(`  ${prefix}: ${label}\n`);

  progress('search, sequential');
  const seq = await timeSearches(cfg, target, jobs, 1);
  rows.push(makeRow(`${prefix}.search.seq`, section, 'search, sequential', 'queries/s', seq, true));

  progress(`search, ${opts.concurrencyLabel}`);
  const conc = await timeSearches(cfg, target, jobs, cfg.concurrency);
  rows.push(
    makeRow(`${prefix}.search.concurrent`, section, `search, ${opts.concurrencyLabel}`, 'queries/s', conc, true),
  );

  progress(`search, ${opts.batchLabel}`);
  const batches: Job[][] = [];
  for (let i = 0; i < jobs.length; i += cfg.searchBatch) batches.push(jobs.slice(i, i + cfg.searchBatch));
  const batchResults: number[][] = [];
  const runBatches = async (list: readonly Job[][]): Promise<void> => {
    batchResults.length = 0;
    for (const b of list)
      batchResults.push(
        ...(await target.batch(
          b.map((j) => j.vector),
          cfg.k,
        )),
      );
  };
  await runBatches(batches.slice(0, 1));
  const batchReps = await measure(cfg.reps, jobs.length, () => runBatches(batches));
  const batch: Measurement = { reps: batchReps, recall: recallOf(cfg, jobs, batchResults) };
  rows.push(makeRow(`${prefix}.search.batch`, section, `search, ${opts.batchLabel}`, 'queries/s', batch, true));

  if (opts.filtered) {
    for (const set of ds.filtered) {
      const label = `filtered search (selectivity ${set.selectivity}), sequential`;
      progress(label);
      const setJobs = set.queries
        .slice(0, cfg.queries)
        .map((q, j): Job => ({ vector: row(ds.queries, ds.dim, q.qi), filter: q.filter, gt: set.gt, gtRow: j }));
      const m = await timeSearches(cfg, target, setJobs, 1);
      rows.push(makeRow(`${prefix}.filtered.s${set.selectivity}.seq`, section, label, 'queries/s', m, false));
    }
  }
  return rows;
}
