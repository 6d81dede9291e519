/**
 * Recall monitor (ALGORITHMS.md §6): a sample of live searches is run again exactly in the background and the
 * overlap of the two result lists gives a running recall@k per collection. Searches whose segments were all
 * scanned exactly (float32, no graph) have recall 1 by construction and are recorded without a re-run. The
 * re-runs never compete with users: at most one at a time, and only while no task waits for a worker.
 */
import { METRICS } from '../index-engine/index.js';
import type { Collection } from './collection.js';
import type { SearchOutcome } from './search.js';
import type { SearchInput } from './types.js';

/** Samples the running recall is averaged over. */
const WINDOW = 1000;
const EXACT_BRANCHES = new Set(['plain', 'plain_filtered']);

export interface RecallStats {
  /** Mean recall@k over the last samples (up to 1,000); null before the first sample. */
  readonly recall_at_k: number | null;
  /** Samples measured since start. */
  readonly samples: number;
  /** Share of searches sampled (STRATA_RECALL_SAMPLE_RATE). */
  readonly sample_rate: number;
  readonly last_measured_at: string | null;
}

interface Window {
  readonly values: Float64Array;
  next: number;
  filled: number;
  samples: number;
  lastAt: Date | null;
}

export interface RecallMonitorOptions {
  readonly rate: number;
  /** Runs searches exactly (plans not counted as user traffic). */
  readonly exact: (collection: Collection, inputs: readonly SearchInput[]) => Promise<SearchOutcome[]>;
  /** Whether the worker pool has tasks waiting (then the monitor skips the sample). */
  readonly poolBusy: () => boolean;
  readonly random?: () => number;
  readonly log?: (fields: Record<string, unknown>, message: string) => void;
}

export class RecallMonitor {
  private readonly windows = new WeakMap<Collection, Window>();
  private running = 0;
  /** Samples dropped because a re-run was already going or the pool was busy (telemetry). */
  skipped = 0;

  constructor(private readonly options: RecallMonitorOptions) {}

  get rate(): number {
    return this.options.rate;
  }

  /** Called with every finished user search batch; picks samples and measures them in the background. */
  observe(collection: Collection, inputs: readonly SearchInput[], outcomes: readonly SearchOutcome[]): void {
    if (this.options.rate <= 0) return;
    const random = this.options.random ?? Math.random;
    inputs.forEach((input, i) => {
      if (input.params?.exact === true || random() >= this.options.rate) return;
      const outcome = outcomes[i]!;
      if (outcome.points.length === 0) return;
      if (outcome.plans.every((p) => EXACT_BRANCHES.has(p.branch) && !p.quantized)) {
        this.record(collection, 1);
        return;
      }
      if (this.running > 0 || this.options.poolBusy()) {
        this.skipped++;
        return;
      }
      this.running++;
      const exactInput: SearchInput = {
        ...input,
        with_payload: false,
        with_vector: false,
        params: { ...input.params, exact: true, explain: false },
      };
      this.options
        .exact(collection, [exactInput])
        .then(([exact]) => {
          if (exact !== undefined && exact.points.length > 0)
            this.record(collection, recallOf(collection, outcome, exact));
        })
        .catch((err: unknown) => this.options.log?.({ err, collection: collection.name }, 'recall sample failed'))
        .finally(() => {
          this.running--;
        });
    });
  }

  private record(collection: Collection, recall: number): void {
    let w = this.windows.get(collection);
    if (w === undefined) {
      w = { values: new Float64Array(WINDOW), next: 0, filled: 0, samples: 0, lastAt: null };
      this.windows.set(collection, w);
    }
    w.values[w.next] = recall;
    w.next = (w.next + 1) % WINDOW;
    w.filled = Math.min(WINDOW, w.filled + 1);
    w.samples++;
    w.lastAt = new Date();
  }

  of(collection: Collection): RecallStats {
    const w = this.windows.get(collection);
    let sum = 0;
    for (let i = 0; i < (w?.filled ?? 0); i++) sum += w!.values[i]!;
    return {
      recall_at_k: w === undefined || w.filled === 0 ? null : sum / w.filled,
      samples: w?.samples ?? 0,
      sample_rate: this.options.rate,
      last_measured_at: w?.lastAt?.toISOString() ?? null,
    };
  }
}

/**
 * Share of the exact results the approximate search returned. A point counts when its id is among the exact
 * results, or when its score ties the exact list's last score (equal distances make either point correct).
 */
export function recallOf(collection: Collection, approx: SearchOutcome, exact: SearchOutcome): number {
  const metric = METRICS[collection.distance];
  const ids = new Set(exact.points.map((p) => String(p.id)));
  const worst = exact.points.at(-1)!.score;
  const tolerance = 1e-6 * Math.max(1, Math.abs(worst));
  let hits = 0;
  for (const p of approx.points) {
    const tie = metric.higherIsBetter ? p.score >= worst - tolerance : p.score <= worst + tolerance;
    if (ids.has(String(p.id)) || tie) hits++;
  }
  return Math.min(1, hits / exact.points.length);
}
