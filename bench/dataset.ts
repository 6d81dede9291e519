import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { FilterJson } from '../storage/index.js';

/** One base row's payload, as the benchmark stores it. */
export type BenchPayload = { readonly category: number; readonly price: number };

/** One filtered query of clustered-128: `category = c AND priceLo <= price < priceHi` (no category: the range alone). */
export interface FilteredQuery {
  readonly qi: number;
  readonly filter: FilterJson;
  readonly category?: number;
  readonly priceLo: number;
  readonly priceHi: number;
  /** Exact number of matching base rows. */
  readonly count: number;
}

export interface FilteredSet {
  readonly selectivity: number;
  readonly queries: readonly FilteredQuery[];
  /** Exact filtered top-k ids, row j = queries[j]; padded with -1. */
  readonly gt: Int32Array;
}

/** A dataset from ../shared/datasets in memory: flat row-major vectors and top-k ground truth. */
export interface Dataset {
  readonly name: string;
  readonly dir: string;
  /** The ground truth's metric: `l2` (squared Euclid) or `cos`; Strata's distance is `distance`. */
  readonly metric: DatasetMetric;
  readonly distance: 'Euclid' | 'Cosine';
  readonly n: number;
  readonly nq: number;
  readonly dim: number;
  readonly base: Float32Array;
  readonly queries: Float32Array;
  /** One payload per base row; empty for datasets without attributes (hubs-ood). */
  readonly payloads: readonly BenchPayload[];
  /** Unfiltered exact top-k (`gt.<metric>.ivecs`), `gtK` ids per query row, best first. */
  readonly gt: Int32Array;
  readonly gtK: number;
  readonly filtered: readonly FilteredSet[];
}

/** Selectivities of the filtered sets the benchmark runs (the dataset also has 0.5 and 0.001). */
export const FILTER_SELECTIVITIES = [0.1, 0.01] as const;

/** Every filtered set of clustered-128 (bench/hnsw.ts runs them all). */
export const ALL_FILTER_SELECTIVITIES = [0.5, 0.1, 0.01, 0.001] as const;

export type DatasetMetric = 'l2' | 'cos';

/** Datasets of ../shared/datasets the benchmarks use. */
export type DatasetName = 'clustered-128' | 'hubs-ood';

/** Every dataset a benchmark generates: DatasetName's, and hybrid-workload (bench/hqi.ts loads it itself). */
export type GeneratedDataset = DatasetName | 'hybrid-workload';

/** How long the shared generator takes for each (full size, 2 cores), for the progress line. */
const GENERATION_TIME: Record<GeneratedDataset, string> = {
  'clustered-128': 'about 35 s',
  'hubs-ood': 'about 1 min',
  'hybrid-workload': 'about 45 s',
};

/** Reads a .fvecs/.ivecs file (per row: int32 dim, then dim 4-byte values) as raw words, headers dropped. */
function readVecWords(file: string): { n: number; dim: number; words: Int32Array } {
  const buf = fs.readFileSync(file);
  const dim = buf.readInt32LE(0);
  const rowBytes = (dim + 1) * 4;
  if (buf.byteLength % rowBytes !== 0)
    throw new Error(`${file}: ${buf.byteLength} bytes is not a multiple of ${rowBytes}`);
  const n = buf.byteLength / rowBytes;
  const raw = new Int32Array(n * (dim + 1)); // aligned copy (the platform is little-endian, like the files)
  new Uint8Array(raw.buffer).set(buf);
  const words = new Int32Array(n * dim);
  for (let i = 0; i < n; i++) {
    if (raw[i * (dim + 1)] !== dim) throw new Error(`${file}: row ${i} has another dimension`);
    words.set(raw.subarray(i * (dim + 1) + 1, (i + 1) * (dim + 1)), i * dim);
  }
  return { n, dim, words };
}

export function readFvecs(file: string): { n: number; dim: number; data: Float32Array } {
  const { n, dim, words } = readVecWords(file);
  return { n, dim, data: new Float32Array(words.buffer) };
}

export function readIvecs(file: string): { n: number; dim: number; data: Int32Array } {
  const { n, dim, words } = readVecWords(file);
  return { n, dim, data: words };
}

/**
 * Generates the dataset (clustered-128 unless named) into `<root>/.datasets/` with the shared generator unless
 * its manifest is there, and returns its directory.
 */
export function ensureDataset(root: string, small: boolean, dataset: GeneratedDataset = 'clustered-128'): string {
  const name = small ? `${dataset}-small` : dataset;
  const dir = path.join(root, '.datasets', name);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return dir;
  const generator = path.resolve(root, '../shared/datasets/generate.mjs');
  if (!fs.existsSync(generator)) throw new Error(`dataset ${dir} is missing and ${generator} does not exist`);
  process.stderr.write(`generating ${name} (full size takes ${GENERATION_TIME[dataset]})...\n`);
  const args = [generator, dataset, ...(small ? ['--small'] : [])];
  execFileSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (!fs.existsSync(path.join(dir, 'manifest.json'))) throw new Error(`the generator did not write ${dir}`);
  return dir;
}

interface FiltersFile {
  readonly sets: readonly { readonly sel: number; readonly queries: readonly FilteredQuery[] }[];
}

export interface LoadOptions {
  /** Ground truth to read: `gt.<metric>.ivecs` and `gt.filtered.<metric>.s<sel>.ivecs` (default l2). */
  readonly metric?: DatasetMetric;
  /** Filtered sets to load (default FILTER_SELECTIVITIES; none for a dataset without filters.json). */
  readonly selectivities?: readonly number[];
}

export function loadDataset(dir: string, options: LoadOptions = {}): Dataset {
  const metric = options.metric ?? 'l2';
  const selectivities = options.selectivities ?? FILTER_SELECTIVITIES;
  const base = readFvecs(path.join(dir, 'base.fvecs'));
  const queries = readFvecs(path.join(dir, 'query.fvecs'));
  const gt = readIvecs(path.join(dir, `gt.${metric}.ivecs`));
  if (queries.dim !== base.dim) throw new Error(`${dir}: query and base dimensions differ`);
  if (gt.n !== queries.n) throw new Error(`${dir}: gt.${metric}.ivecs has ${gt.n} rows for ${queries.n} queries`);
  const payloads: BenchPayload[] = [];
  const attrsFile = path.join(dir, 'attrs.json');
  if (fs.existsSync(attrsFile)) {
    const attrs = JSON.parse(fs.readFileSync(attrsFile, 'utf8')) as { category: number[]; price: number[] };
    for (let i = 0; i < base.n; i++) payloads.push({ category: attrs.category[i]!, price: attrs.price[i]! });
  }
  const filters: FiltersFile =
    selectivities.length === 0
      ? { sets: [] }
      : (JSON.parse(fs.readFileSync(path.join(dir, 'filters.json'), 'utf8')) as FiltersFile);
  const filtered = selectivities.map((selectivity): FilteredSet => {
    const set = filters.sets.find((s) => s.sel === selectivity);
    if (set === undefined) throw new Error(`${dir}/filters.json has no set with selectivity ${selectivity}`);
    const setGt = readIvecs(path.join(dir, `gt.filtered.${metric}.s${selectivity}.ivecs`));
    if (setGt.dim !== gt.dim || setGt.n !== set.queries.length)
      throw new Error(`${dir}: filtered ground truth s${selectivity} does not match filters.json`);
    const list = set.queries.map(({ qi, filter, category, priceLo, priceHi, count }) => ({
      qi,
      filter,
      ...(category === undefined ? {} : { category }),
      priceLo,
      priceHi,
      count,
    }));
    return { selectivity, queries: list, gt: setGt.data };
  });
  return {
    name: path.basename(dir),
    dir,
    metric,
    distance: metric === 'cos' ? 'Cosine' : 'Euclid',
    n: base.n,
    nq: queries.n,
    dim: base.dim,
    base: base.data,
    queries: queries.data,
    payloads,
    gt: gt.data,
    gtK: gt.dim,
    filtered,
  };
}

/** Row `i` of a flat row-major array as a plain number array (what the APIs take). */
export function row(flat: Float32Array, dim: number, i: number): number[] {
  return Array.from(flat.subarray(i * dim, (i + 1) * dim));
}

/**
 * Recall@k of one result list against one ground-truth row (`gtK` ids, -1 = padding): the overlap with the
 * first k true ids, over the number of true ids (k, or fewer when fewer points match).
 */
export function recallAt(k: number, found: readonly number[], gt: Int32Array, gtK: number, rowIndex: number): number {
  const truth = new Set<number>();
  for (let j = 0; j < k; j++) {
    const id = gt[rowIndex * gtK + j]!;
    if (id >= 0) truth.add(id);
  }
  if (truth.size === 0) return found.length === 0 ? 1 : 0;
  let hit = 0;
  for (const id of found.slice(0, k)) if (truth.has(id)) hit++;
  return hit / truth.size;
}
