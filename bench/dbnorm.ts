/**
 * `npm run bench` (part 3): what DBNorm costs. (1) The rescoring step alone per query at K' = 100 and 1,000
 * (normalizer lookups, gate, dual_dis formula, sort), and the whole in-process search with and without
 * rescoring at the same K'; (2) the latency of a one-point upsert with no banks and with banks of 1,000 +
 * 1,000 vectors (its normalizers are computed on the pool inside the write). Random unit vectors, dim 128,
 * 20,000 points (--small: 5,000). Medians over several runs; results go to bench/results/dbnorm.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { uniformRandom } from '../index-engine/random.js';
import { applyRescore, planRescore } from '../storage/hubness/rescore-step.js';
import { type Collection, Database } from '../storage/index.js';
import { loadAverage, median } from './measure.js';
import { machine } from './report.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIM = 128;
const BANK = 1000;

const args = process.argv.slice(2);
const small = args.includes('--small');
const N = small ? 5000 : 20_000;
const RUNS = small ? 3 : 5;
const QUERIES = small ? 100 : 300;
const rng = uniformRandom(5);
const unit = (): number[] => {
  const v = Array.from({ length: DIM }, () => rng() * 2 - 1);
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
};

/** Median over RUNS of the mean time per item, in microseconds. */
async function perItemUs(items: number, run: () => Promise<void> | void): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const started = performance.now();
    await run();
    times.push(((performance.now() - started) * 1000) / items);
  }
  return median(times);
}

async function main(): Promise<void> {
  const threads = Math.min(4, os.availableParallelism());
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-dbnorm-'));
  const db = new Database({ dataDir, pool: { threads }, queryLogSample: 0 });
  const loadStart = loadAverage();
  try {
    await db.recover();
    const c: Collection = db.create('dbnorm', {
      vectors: { size: DIM, distance: 'Cosine' },
      optimizers_config: { indexing_threshold: 100_000 },
    });
    for (let from = 0; from < N; from += 2000)
      await c.upsert(Array.from({ length: Math.min(2000, N - from) }, (_, i) => ({ id: from + i, vector: unit() })));
    const queries = Array.from({ length: QUERIES }, unit);

    // insert latency without banks, then with banks of 1,000 + 1,000
    let nextId = N;
    const oneInsert = async () => {
      for (let i = 0; i < 50; i++) await c.upsert([{ id: nextId++, vector: unit() }]);
    };
    process.stderr.write('  dbnorm: inserts without banks\n');
    const insertNoBanksUs = await perItemUs(50, oneInsert);
    const started = performance.now();
    await db.hubness.putQueryBank(c, { vectors: Array.from({ length: BANK }, unit) }, true);
    await db.hubness.putGalleryBank(c, { vectors: Array.from({ length: BANK }, unit) }, true);
    const bankJobMs = performance.now() - started;
    process.stderr.write('  dbnorm: inserts with banks of 1,000 + 1,000\n');
    const insertBanksUs = await perItemUs(50, oneInsert);
    // the normalizer part of one insert alone: two pool tasks of 1,000 dot products each
    const hooks = db.hubness.of(c)!;
    const normalizersUs = await perItemUs(50, async () => {
      for (let i = 0; i < 50; i++) await hooks.beforeWrite([{ id: 0, vector: Float32Array.from(unit()) }]);
    });

    const rescoring: Record<string, unknown>[] = [];
    for (const candidates of [100, 1000]) {
      process.stderr.write(`  dbnorm: K' = ${candidates}\n`);
      const hubness = db.hubness.of(c);
      const input = { vector: queries[0]!, limit: 10, params: { rescore: 'dual_dis' } };
      const plan = planRescore(c.name, { ...hubness!.config, candidates }, hubness, input)!;
      // the candidate lists the step receives: the raw top-K' of each query
      const lists = await db.search(
        c,
        queries.map((vector) => ({ vector, limit: candidates, params: { rescore: 'none' } })),
      );
      const refs = lists.map((o) => o.points.map((p) => ({ ref: c.locate(p.id)!, score: p.score })));
      const stepUs = await perItemUs(QUERIES, () => {
        for (const rows of refs) applyRescore(plan, c.distance, rows);
      });
      const search = (rescore: string) =>
        perItemUs(QUERIES, async () => {
          for (const vector of queries) await db.search(c, [{ vector, limit: 10, params: { rescore } }]);
        });
      await db.hubness.updateSettings(c, { candidates }, true);
      const rawUs = await perItemUs(QUERIES, async () => {
        for (const vector of queries) await db.search(c, [{ vector, limit: candidates, params: { rescore: 'none' } }]);
      });
      const rescoredUs = await search('dual_dis');
      rescoring.push({
        candidates,
        rescore_step_us_per_query: round(stepUs),
        search_raw_top_k_prime_us: round(rawUs),
        search_dual_dis_us: round(rescoredUs),
      });
    }
    const result = {
      ...machine(ROOT),
      threads,
      points: N,
      dim: DIM,
      runs: RUNS,
      queries: QUERIES,
      loadAverage: { start: loadStart, end: loadAverage() },
      rescoring,
      insert: {
        banks: `${BANK} query + ${BANK} gallery`,
        one_point_upsert_no_banks_us: round(insertNoBanksUs),
        one_point_upsert_with_banks_us: round(insertBanksUs),
        normalizers_per_insert_us: round(normalizersUs),
        bank_job_ms_both_banks: round(bankJobMs),
      },
    };
    const out = path.join(ROOT, 'bench/results', small ? 'dbnorm-small.json' : 'dbnorm.json');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      `${[
        `DBNorm (${N} points, dim ${DIM}, ${threads} threads, median of ${RUNS} runs)`,
        ...rescoring.map(
          (r) =>
            `  K' = ${r.candidates}: rescoring step ${r.rescore_step_us_per_query} µs/query; search top-K' raw ${r.search_raw_top_k_prime_us} µs, dual_dis top-10 ${r.search_dual_dis_us} µs`,
        ),
        `  one-point upsert: ${result.insert.one_point_upsert_no_banks_us} µs without banks, ${result.insert.one_point_upsert_with_banks_us} µs with ${result.insert.banks} (its normalizers alone: ${result.insert.normalizers_per_insert_us} µs)`,
        `  normalizers for both banks over ${N} points: ${result.insert.bank_job_ms_both_banks} ms`,
        `  written to ${path.relative(ROOT, out)}`,
      ].join('\n')}\n`,
    );
  } finally {
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

await main();
