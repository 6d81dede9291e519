import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { loadAverage } from './measure.js';
import type { BenchConfig, Row } from './rows.js';

/** The machine and the code a benchmark ran on (see machine()). */
export interface Machine {
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly git: string;
}

export interface Environment extends Machine {
  readonly dataset: { readonly name: string; readonly n: number; readonly dim: number; readonly queries: number };
  readonly threads: number;
  readonly concurrency: number;
  readonly reps: number;
  /** 1-minute load average when the run started and when it ended (other processes skew the figures). */
  readonly loadAverage: { start: number; end: number | null };
}

function git(root: string, args: readonly string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The machine and the code a benchmark ran on, shared by every benchmark's result file. */
export function machine(root: string): Machine {
  const sha = git(root, ['rev-parse', '--short', 'HEAD']) || 'unknown';
  const dirty = git(root, ['status', '--porcelain', '--untracked-files=no']) !== '';
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    git: dirty ? `${sha} (uncommitted changes)` : sha,
  };
}

export function environment(cfg: BenchConfig, root: string): Environment {
  return {
    ...machine(root),
    dataset: { name: cfg.dataset.name, n: cfg.dataset.n, dim: cfg.dataset.dim, queries: cfg.queries },
    threads: cfg.threads,
    concurrency: cfg.concurrency,
    reps: cfg.reps,
    loadAverage: { start: loadAverage(), end: null },
  };
}

/** Bytes one unfiltered exact query reads: every stored vector once. */
export function bytesPerQuery(cfg: BenchConfig): number {
  return cfg.dataset.n * cfg.dataset.dim * 4;
}

function rate(x: number): string {
  if (!Number.isFinite(x)) return '—';
  if (x >= 1000) return Math.round(x).toLocaleString('en-US');
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

const SECTION_TITLES: Record<Row['section'], string> = {
  reference: 'reference',
  'in-process': 'in-process',
  http: 'HTTP',
};

/** The result table as Markdown (printed, and pasted into bench/README.md). */
export function formatTable(rows: readonly Row[], cfg: BenchConfig): string {
  const naive = rows.find((r) => r.id === 'reference.naive');
  const bpq = bytesPerQuery(cfg);
  const header = [
    'part',
    'benchmark',
    'median',
    'unit',
    `reps (${cfg.reps})`,
    '× naive',
    'GB/s scanned',
    'recall@10',
    'load',
  ];
  const lines = rows.map((r) => {
    const ratio =
      r.fullScan && naive && r !== naive ? `${(r.median / naive.median).toFixed(2)}×` : r === naive ? '1×' : '';
    const gbs = r.fullScan ? ((r.median * bpq) / 1e9).toFixed(2) : '';
    const recall = r.recall === null ? '' : r.recall.toFixed(4);
    return [
      SECTION_TITLES[r.section],
      r.label,
      rate(r.median),
      r.unit,
      r.reps.map(rate).join(' / '),
      ratio,
      gbs,
      recall,
      r.load.toFixed(1),
    ];
  });
  const numeric = new Set([2, 4, 5, 6, 7, 8]);
  const align = header.map((_, i) => (numeric.has(i) ? '--:' : '---'));
  return [header, align, ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export function formatEnvironment(env: Environment, cfg: BenchConfig): string {
  const mb = (bytesPerQuery(cfg) / 1e6).toFixed(1);
  return [
    `date: ${env.date}`,
    `node ${env.node} on ${env.platform}`,
    `cpu: ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB RAM`,
    `git: ${env.git}`,
    `dataset: ${env.dataset.name}, ${env.dataset.n.toLocaleString('en-US')} × ${env.dataset.dim} float32 (Euclid), ` +
      `${env.dataset.queries} queries (filtered sets: up to ${env.dataset.queries} each), k = ${cfg.k}`,
    `workers: ${env.threads}, concurrency: ${env.concurrency}, median of ${env.reps} repetitions; ` +
      `one exact query scans ${mb} MB`,
    `load average (1 min): ${env.loadAverage.start} at start` +
      (env.loadAverage.end === null ? '' : `, ${env.loadAverage.end} at end`),
  ].join('\n');
}
