/**
 * The peer: hnswlib-node (C++ hnswlib through N-API, in this process, one thread), built with the same m and
 * ef_construct as Strata's collections.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { HierarchicalNSW } from 'hnswlib-node';
import type { Dataset, FilteredQuery } from './dataset.js';

type HnswlibModule = typeof import('hnswlib-node');

/** hnswlib's default random seed (initIndex's fourth argument). */
export const HNSWLIB_SEED = 100;

function loadHnswlib(): HnswlibModule {
  try {
    return createRequire(import.meta.url)('hnswlib-node') as HnswlibModule;
  } catch (e) {
    throw new Error(
      `hnswlib-node is not installed or its addon did not build (it is a devDependency compiled by node-gyp ` +
        `during npm install): ${(e as Error).message}`,
    );
  }
}

export interface HnswlibBuild {
  readonly index: HierarchicalNSW;
  /** Wall time of initIndex plus every addPoint, one thread. */
  readonly seconds: number;
  /** Process RSS growth around the build (the index is allocated by initIndex and touched by addPoint). */
  readonly rssDeltaBytes: number;
  /** Size of the index as hnswlib serializes it (writeIndexSync): its in-memory layout, vectors included. */
  readonly indexBytes: number;
}

/** Builds the index over `rows` (number[] per base row, converted before the clock starts). */
export function buildHnswlib(
  ds: Dataset,
  rows: readonly number[][],
  m: number,
  efConstruct: number,
  gc: () => void,
): HnswlibBuild {
  const { HierarchicalNSW } = loadHnswlib();
  gc();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const index = new HierarchicalNSW(ds.distance === 'Cosine' ? 'cosine' : 'l2', ds.dim);
  index.initIndex(ds.n, m, efConstruct, HNSWLIB_SEED);
  for (let i = 0; i < rows.length; i++) index.addPoint(rows[i] as number[], i);
  const seconds = (performance.now() - started) / 1000;
  const rssDeltaBytes = process.memoryUsage().rss - rssBefore;
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'strata-hnswlib-')), 'index.bin');
  let indexBytes = Number.NaN;
  try {
    index.writeIndexSync(file);
    indexBytes = fs.statSync(file).size;
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
  return { index, seconds, rssDeltaBytes, indexBytes };
}

/** Columnar attributes for hnswlib's JS filter callback (called by the C++ search for every candidate label). */
export interface Attributes {
  readonly category: Int32Array;
  readonly price: Float64Array;
}

export function attributesOf(ds: Dataset): Attributes {
  return {
    category: Int32Array.from(ds.payloads, (p) => p.category),
    price: Float64Array.from(ds.payloads, (p) => p.price),
  };
}

/** The dataset's predicate `category = c AND priceLo <= price < priceHi` (the range alone without a category). */
export function filterFunction(q: FilteredQuery, attrs: Attributes): (label: number) => boolean {
  const { category, price } = attrs;
  const lo = q.priceLo;
  const hi = q.priceHi;
  const c = q.category;
  if (c === undefined) return (label) => price[label]! >= lo && price[label]! < hi;
  return (label) => category[label] === c && price[label]! >= lo && price[label]! < hi;
}

/** Checks the JS predicate against the dataset's exact match count (a wrong predicate would flatter hnswlib). */
export function checkFilterFunction(q: FilteredQuery, attrs: Attributes): void {
  const test = filterFunction(q, attrs);
  let count = 0;
  for (let i = 0; i < attrs.price.length; i++) if (test(i)) count++;
  if (count !== q.count) throw new Error(`filter of query ${q.qi} matches ${count} rows, the dataset says ${q.count}`);
}

/** One search: hnswlib-node's searchKnn, which returns fewer than k labels when fewer pass the filter. */
export function searchHnswlib(
  index: HierarchicalNSW,
  vector: number[],
  k: number,
  filter?: (label: number) => boolean,
): number[] {
  return index.searchKnn(vector, k, filter).neighbors;
}
