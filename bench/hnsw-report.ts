/** Result types and the Markdown tables of `npm run bench:hnsw`. */
import fs from 'node:fs';
import path from 'node:path';
import type { HttpResult } from './hnsw-http.js';
import type { Restart, StrataBuild } from './hnsw-strata.js';
import type { Machine } from './report.js';

/** One measured search figure: QPS of every repetition (run order), their median, recall@10 of the last. */
export interface Figure {
  readonly reps: number[];
  readonly median: number;
  readonly recall: number;
  /** 1-minute load average right after the figure. */
  readonly load: number;
}

export interface SweepRow {
  readonly ef: number;
  readonly strata: Figure;
  /** The same searches with a one-thread worker pool (measured after the restart). */
  readonly strata1: Figure | null;
  readonly hnswlib: Figure;
}

export interface FilteredRow {
  readonly selectivity: number;
  readonly ef: number;
  readonly queries: number;
  readonly strata: Figure & {
    /** Planner branch of every segment search in the last repetition, counted. */
    readonly branches: Record<string, number>;
    /** Mean distance evaluations per query (explain's distance_evaluations, summed over segments). */
    readonly evaluations: number;
  };
  readonly hnswlib: Figure;
}

export interface Best {
  readonly ef: number;
  readonly qps: number;
  readonly recall: number;
}

export interface DatasetResult {
  readonly name: string;
  readonly n: number;
  readonly dim: number;
  readonly distance: string;
  readonly queries: number;
  readonly collection: unknown;
  readonly build: {
    readonly strata: StrataBuild;
    readonly hnswlib: { readonly seconds: number; readonly rssDeltaBytes: number; readonly indexBytes: number };
    readonly strataDiskBytes: number;
  };
  readonly sweep: SweepRow[];
  readonly best: { strata: Best | null; strata1: Best | null; hnswlib: Best | null };
  readonly filtered: FilteredRow[];
  readonly exact: Figure & { readonly queries: number; readonly gbPerSecond: number };
  readonly restart: { readonly reps: Restart[]; readonly medianSeconds: number; readonly shareOfBuild: number };
}

export interface HnswEnvironment extends Machine {
  readonly hnswlib: string;
  readonly threads: number;
  readonly reps: number;
  readonly loadAverage: { start: number; end: number | null };
}

/** pgvector over its socket on this machine, one connection, one query at a time (issue 3). */
export const PGVECTOR_QPS = 670;

export const bestOf = (figures: readonly { ef: number; fig: Figure | null }[], minRecall: number): Best | null => {
  let best: Best | null = null;
  for (const { ef, fig } of figures) {
    if (fig === null || fig.recall < minRecall) continue;
    if (best === null || fig.median > best.qps) best = { ef, qps: fig.median, recall: fig.recall };
  }
  return best;
};

export function rate(x: number): string {
  if (!Number.isFinite(x)) return '—';
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

const mb = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 1e6).toFixed(1)}` : '—');
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—');
const recall = (f: Figure | null) => (f === null ? '—' : f.recall.toFixed(4));
const spread = (f: Figure) => f.reps.map(rate).join(' / ');

function table(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[]): string {
  const align = header.map((_, i) => (numeric.includes(i) ? '--:' : '---'));
  return [header, align, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export function formatEnvironment(env: HnswEnvironment, datasets: readonly DatasetResult[]): string {
  return [
    `date: ${env.date}`,
    `node ${env.node} on ${env.platform}`,
    `cpu: ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB RAM`,
    `git: ${env.git}; hnswlib-node ${env.hnswlib}`,
    ...datasets.map(
      (d) =>
        `dataset: ${d.name}, ${d.n.toLocaleString('en-US')} × ${d.dim} float32 (${d.distance}), ` +
        `${d.queries} queries, k = 10`,
    ),
    `HNSW m = 16, ef_construct = 100 on both sides; Strata workers: ${env.threads}; ` +
      `median of ${env.reps} repetitions, one query at a time`,
    `load average (1 min): ${env.loadAverage.start} at start` +
      (env.loadAverage.end === null ? '' : `, ${env.loadAverage.end} at end`),
  ].join('\n');
}

export function buildTable(datasets: readonly DatasetResult[]): string {
  const rows: string[][] = [];
  for (const d of datasets) {
    const s = d.build.strata;
    const sz = s.sizes;
    rows.push([
      d.name,
      'Strata',
      s.upsertSeconds.toFixed(1),
      s.buildSeconds.toFixed(1),
      mb(s.rssDeltaBytes),
      `${mb(sz.vectorMemory)} + ${mb(sz.graph)} graph + ${mb(sz.payloads + sz.columns)} payload`,
      mb(d.build.strataDiskBytes),
      s.segments.join(', '),
    ]);
    const h = d.build.hnswlib;
    rows.push([
      d.name,
      'hnswlib-node',
      h.seconds.toFixed(1),
      h.seconds.toFixed(1),
      mb(h.rssDeltaBytes),
      `${mb(h.indexBytes)} (vectors + graph)`,
      '—',
      'one index, 1 thread',
    ]);
  }
  return table(
    [
      'dataset',
      'engine',
      'load s',
      'build s (to green)',
      'RSS Δ MB',
      'index structures MB',
      'on disk MB',
      'layout at green',
    ],
    rows,
    [2, 3, 4, 6],
  );
}

export function sweepTable(datasets: readonly DatasetResult[], threads: number): string {
  const rows: string[][] = [];
  for (const d of datasets) {
    for (const r of d.sweep) {
      rows.push([
        d.name,
        String(r.ef),
        rate(r.strata.median),
        recall(r.strata),
        r.strata1 === null ? '—' : rate(r.strata1.median),
        recall(r.strata1),
        rate(r.hnswlib.median),
        recall(r.hnswlib),
        ratio(r.strata.median, r.hnswlib.median),
        `${spread(r.strata)}; ${spread(r.hnswlib)}`,
        Math.max(r.strata.load, r.hnswlib.load).toFixed(1),
      ]);
    }
  }
  return table(
    [
      'dataset',
      'hnsw_ef',
      `Strata QPS (${threads} workers)`,
      'recall@10',
      'Strata QPS (1 worker)',
      'recall@10',
      'hnswlib QPS',
      'recall@10',
      'Strata ÷ hnswlib',
      'reps: Strata; hnswlib',
      'load',
    ],
    rows,
    [1, 2, 3, 4, 5, 6, 7, 8, 10],
  );
}

export function bestTable(datasets: readonly DatasetResult[], threads: number): string {
  const cell = (b: Best | null) =>
    b === null ? 'never ≥ 0.95' : `${rate(b.qps)} (ef ${b.ef}, ${b.recall.toFixed(3)})`;
  const rows = datasets.map((d) => {
    const { strata, strata1, hnswlib } = d.best;
    const r = strata && hnswlib ? strata.qps / hnswlib.qps : Number.NaN;
    return [
      d.name,
      cell(strata),
      cell(strata1),
      cell(hnswlib),
      Number.isFinite(r) ? `${r.toFixed(2)}×` : '—',
      Number.isFinite(r) ? (r >= 1 ? 'met' : 'not met') : 'not met',
    ];
  });
  return table(
    [
      'dataset',
      `Strata (${threads} workers)`,
      'Strata (1 worker)',
      'hnswlib-node',
      'Strata ÷ hnswlib',
      'target ≥ 1.0×',
    ],
    rows,
    [4],
  );
}

/** Issue 3: filtered QPS ≥ 1× hnswlib at 10 %, ≥ 10× at 1 % and 0.1 %; recall ≥ 0.95 everywhere. */
export function filteredTarget(selectivity: number): number | null {
  if (selectivity === 0.1) return 1;
  if (selectivity === 0.01 || selectivity === 0.001) return 10;
  return null;
}

export function filteredTable(d: DatasetResult): string {
  const rows = d.filtered.map((r) => {
    const x = r.strata.median / r.hnswlib.median;
    const want = filteredTarget(r.selectivity);
    const branches = Object.entries(r.strata.branches)
      .map(([b, c]) => `${b} ${c}`)
      .join(', ');
    const ok = r.strata.recall >= 0.95 && (want === null || x >= want);
    return [
      String(r.selectivity),
      String(r.ef),
      String(r.queries),
      rate(r.strata.median),
      recall(r.strata),
      branches,
      rate(r.strata.evaluations),
      rate(r.hnswlib.median),
      recall(r.hnswlib),
      ratio(r.strata.median, r.hnswlib.median),
      `${want === null ? 'recall ≥ 0.95' : `≥ ${want}×, recall ≥ 0.95`}: ${ok ? 'met' : 'not met'}`,
      Math.max(r.strata.load, r.hnswlib.load).toFixed(1),
    ];
  });
  return table(
    [
      'selectivity',
      'hnsw_ef',
      'queries',
      'Strata QPS',
      'recall@10',
      'Strata planner branches',
      'distance evals / query',
      'hnswlib QPS',
      'recall@10',
      'Strata ÷ hnswlib',
      'target',
      'load',
    ],
    rows,
    [0, 1, 2, 3, 4, 6, 7, 8, 9, 11],
  );
}

export function otherTable(
  datasets: readonly DatasetResult[],
  http: (HttpResult & { readonly dataset: string }) | null,
  kernels: (distance: string) => string,
): string {
  const rows: string[][] = [];
  for (const d of datasets) {
    const e = d.exact;
    rows.push([
      d.name,
      `flat scan: exact search (params.exact), ${e.queries} queries`,
      `${rate(e.median)} QPS = ${e.gbPerSecond.toFixed(2)} GB/s (recall ${e.recall.toFixed(4)})`,
      `kernel alone, 1 core: ${kernels(d.distance)}; issue: ~7-8 GB/s per core`,
      `${spread(e)}; load ${e.load.toFixed(1)}`,
    ]);
    const r = d.restart;
    rows.push([
      d.name,
      'restart: new Database + recover()',
      `${r.medianSeconds.toFixed(2)} s = ${(100 * r.shareOfBuild).toFixed(1)} % of the ${d.build.strata.buildSeconds.toFixed(1)} s build`,
      `target < 10 %: ${r.shareOfBuild < 0.1 ? 'met' : 'not met'}`,
      `${r.reps.map((x) => x.seconds.toFixed(2)).join(' / ')} s; first search ${r.reps.map((x) => x.firstSearchMs.toFixed(0)).join(' / ')} ms`,
    ]);
  }
  if (http !== null) rows.push(...httpRows(http));
  return table(['dataset', 'figure', 'Strata', 'reference / target', 'reps, notes'], rows, []);
}

/** One row per HTTP client: search QPS against pgvector's, the empty round trip and the server's CPU per search. */
export function httpRows(http: HttpResult & { readonly dataset: string }): string[][] {
  return http.clients.map((c, i) => {
    const median = medianOf(c.reps);
    const cpu = c.serverCpuMicrosPerSearch;
    const notes = [
      c.reps.map(rate).join(' / '),
      `empty GET /readyz ${rate(medianOf(c.emptyRoundTrips))}/s`,
      ...(cpu === null ? [] : [`server CPU ${rate(medianOf(cpu))} µs/search`]),
      `load ${c.load.toFixed(1)}`,
      ...(i === 0
        ? [`loaded over REST in ${http.upsertSeconds.toFixed(1)} s, green after ${http.buildSeconds.toFixed(1)} s`]
        : []),
    ];
    return [
      http.dataset,
      `HTTP (${c.label}): one connection, one search at a time, hnsw_ef ${http.ef}`,
      `${rate(median)} QPS, recall ${c.recall.toFixed(4)}`,
      `pgvector ~${PGVECTOR_QPS} QPS: ${(median / PGVECTOR_QPS).toFixed(2)}×; target ≥ 3×: ${median >= 3 * PGVECTOR_QPS ? 'met' : 'not met'}`,
      notes.join('; '),
    ];
  });
}

export function medianOf(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The WASM scan figure of bench/KERNELS.md for dim 128 (l2sq for Euclid, dot for Cosine), not re-measured:
 * `npm run bench:kernels` measures it.
 */
export function kernelReference(root: string): (distance: string) => string {
  let text = '';
  try {
    text = fs.readFileSync(path.join(root, 'bench', 'KERNELS.md'), 'utf8');
  } catch {
    // no reference
  }
  return (distance) => {
    const kernel = distance === 'Euclid' ? 'l2sq' : 'dot';
    const line = text.split('\n').find((l) => /^\|\s*128 × \d+\s*\|/.test(l) && l.split('|')[2]?.trim() === kernel);
    const scan = line?.split('|')[5]?.trim().split(' (')[0];
    return scan ? `WASM ${kernel} scan ${scan} (bench/KERNELS.md)` : 'see bench/KERNELS.md';
  };
}
