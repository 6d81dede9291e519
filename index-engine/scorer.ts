import type { Metric } from './metric.js';

/**
 * A query bound to a vector store (Lance's DistCalculator): `score(offset)` is the raw kernel value between the
 * query and row `offset`. Larger is better when `higherIsBetter` (dot), smaller otherwise (squared L2). Index
 * structures see only this, so raw floats and quantized codes plug in the same way.
 */
export interface Scorer {
  readonly higherIsBetter: boolean;
  score(offset: number): number;
  /** Optional block form for full scans: raw values of rows [firstRow, firstRow + count) into out. */
  scoreBlock?(firstRow: number, count: number, out: Float32Array): void;
  /** Optional batch form over a list of rows (see ScoreBatch); scoreBatchOf supplies one when absent. */
  readonly batch?: ScoreBatch | undefined;
}

/**
 * Scores a list of rows in one call (graph search scores each expanded node's unvisited neighbours together):
 * write up to `capacity` row offsets into `ids`, call `score(n)`, read `scores[0, n)`. `ids` keeps its content.
 * The values are exactly what `score(offset)` returns for each row.
 */
export interface ScoreBatch {
  readonly capacity: number;
  readonly ids: Uint32Array;
  readonly scores: Float32Array | Float64Array;
  score(count: number): void;
}

/** The scorer's own batch form, or one that calls `score` per row. */
export function scoreBatchOf(scorer: Scorer, capacity = 256): ScoreBatch {
  if (scorer.batch !== undefined) return scorer.batch;
  const ids = new Uint32Array(capacity);
  const scores = new Float64Array(capacity);
  return {
    capacity,
    ids,
    scores,
    score(count) {
      for (let i = 0; i < count; i++) scores[i] = scorer.score(ids[i]!);
    },
  };
}

/** Builds the scorer whose query is row `offset` of the same store (what graph construction needs). */
export type ScorerFactory = (offset: number) => Scorer;

type Kernel = Metric['raw'];

/** One class for every float metric, so call sites that hold a scorer stay monomorphic. */
class FloatScorer implements Scorer {
  readonly higherIsBetter: boolean;
  private readonly kernel: Kernel;
  private readonly vectors: Float32Array;
  private readonly dim: number;
  private readonly query: Float32Array;
  private readonly queryOffset: number;

  constructor(vectors: Float32Array, dim: number, query: Float32Array, queryOffset: number, metric: Metric) {
    this.higherIsBetter = metric.higherIsBetter;
    this.kernel = metric.raw;
    this.vectors = vectors;
    this.dim = dim;
    this.query = query;
    this.queryOffset = queryOffset;
  }

  score(offset: number): number {
    return this.kernel(this.query, this.queryOffset, this.vectors, offset * this.dim, this.dim);
  }
}

/** Scores rows of `vectors` (row-major, `dim` floats per row) against a prepared query (normalized for Cosine). */
export function createFloatScorer(vectors: Float32Array, dim: number, query: Float32Array, metric: Metric): Scorer {
  if (query.length !== dim) throw new RangeError(`query has ${query.length} dimensions, vectors have ${dim}`);
  return new FloatScorer(vectors, dim, query, 0, metric);
}

/** Scorers whose query is a row of `vectors` itself, read in place (no copy per row). */
export function floatScorerFactory(vectors: Float32Array, dim: number, metric: Metric): ScorerFactory {
  if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`dim must be a positive integer, got ${dim}`);
  return (offset) => new FloatScorer(vectors, dim, vectors, offset * dim, metric);
}
